// mlops/pipeline/fit.hpp - fitting a pipeline: features resolved, rows without a target
// dropped, each step fitted on what the previous ones made, then the estimator, the
// training metrics and the drift profile. Any trainer (the trainer concept) is fitted
// through Estimator<T>, so this is compiled once (in the library, in the compiled mode).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/pipeline/builder.hpp"
#include "mlops/pipeline/fitted.hpp"
#include "mlops/prep/categorical.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
std::vector<std::string> Pipeline<T>::resolve_features(const DataFrame<T>& frame, std::string_view target) const {
  (void)frame.index_of(target);
  std::vector<std::string> features = features_;
  if (features.empty())
    for (const auto& n : frame.names())
      if (n != target && !frame.is_id(n)) features.push_back(n);
  for (const auto& f : features) {
    (void)frame.index_of(f);
    if (f == target) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("the target '{}' cannot also be a feature", target)));
  }
  if (features.empty())
    MLOPS_THROW(schema_error(errc::schema_missing_column,
                             fmt::format("no feature columns: the table has only the target '{}'{}; a model needs at least one feature",
                                         target, frame.cols() > 1 ? " and id columns" : "")));
  if (frame.kind(target) != column_kind::numeric)
    MLOPS_THROW(schema_error(errc::schema_column_type,
                             fmt::format("target '{}' is {}; a target must be numbers (or text, for a classifier)", target,
                                         kind_name(frame.kind(target)))));
  return features;
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit(const DataFrame<T>& train, std::string_view target) const {
  if (!estimator_.has_value())
    MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline::fit: no estimator set; call estimator(...) or pass one to fit"));
  return fit_estimator(estimator_, train, target);
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit_prepared(DataFrame<T> frame, const std::vector<std::string>& features, std::string_view target) const {
  if (!estimator_.has_value())
    MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline: no estimator set; call estimator(...) first"));
  const std::size_t n = frame.rows();
  return fit_prepared(estimator_, std::move(frame), features, target, n, 0);
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit_estimator(const Estimator<T>& estimator, const DataFrame<T>& train, std::string_view target) const {
  if (!estimator.has_value()) MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline::fit: the estimator is empty"));
  if (train.kind(target) == column_kind::categorical) {  // a text classification target: classes are label indices
    if (!estimator.is_classifier())
      MLOPS_THROW(schema_error(errc::schema_column_type, fmt::format("target '{}' is text: a regressor needs numbers (use a classifier, "
                                                                     "or read the column as numeric)", target)));
    auto numeric = train;
    auto labels = encode_labels(numeric, target);
    auto fp = fit_estimator(estimator, numeric, target);
    fp.set_class_labels(std::move(labels));
    return fp;
  }
  const std::size_t ti = train.index_of(target);
  const auto features = resolve_features(train, target);
  // Rows without a target are dropped (and counted): `labelled` is `train` itself when
  // none is missing, else a copy of the rows that have one.
  std::optional<DataFrame<T>> filtered;
  {
    auto present = detail::present_mask(train.column(ti));
    if (std::find(present.begin(), present.end(), std::uint8_t{0}) != present.end()) filtered = train.filter(present);
  }
  const DataFrame<T>& labelled = filtered ? *filtered : train;
  std::optional<FittedPipeline<T>> from_stats;
  if constexpr (std::is_same_v<T, double>) {
    if (statistics_ && statistics_capable(estimator)) {
      if (&estimator == &estimator_) {
        from_stats = detail::fit_pipeline_from_statistics(*this, labelled, features, std::string(target), threads_);
      } else {
        Pipeline<T> with = *this;
        with.estimator_ = estimator;
        from_stats = detail::fit_pipeline_from_statistics(with, labelled, features, std::string(target), threads_);
      }
    }
  }
  FittedPipeline<T> fp;
  if (from_stats) {
    fp = std::move(*from_stats);
    fp.report_.rows_in = train.rows();
    fp.report_.rows_missing_target = train.rows() - labelled.rows();
    fp.report_.from_statistics = true;
  } else {
    // The fit on rows: a copy of the labelled rows holding only features + target, which
    // the steps transform in place.
    auto cols = features;
    cols.emplace_back(target);
    fp = fit_prepared(estimator, labelled.select(cols), features, target, train.rows(), train.rows() - labelled.rows());
  }
  // Training metrics: the whole pipeline on the raw training rows that had a target.
  // The drift profile: those raw rows, the predictions on them, the training error.
  if (fp.is_classifier()) {
    fp.set_metrics("train", fp.evaluate_classifier(labelled));
    if (profile_bins_ > 0) fp.capture_profile(labelled, fp.predict_parallel(labelled, threads_), profile_bins_, threads_);
  } else {
    const auto pred = fp.predict_parallel(labelled, threads_);
    fp.set_metrics("train", regression_metrics<T>(labelled.column(target), pred));
    if (profile_bins_ > 0) fp.capture_profile(labelled, pred, profile_bins_, threads_);
  }
  return fp;
}

template <scalar T>
bool Pipeline<T>::statistics_capable(const Estimator<T>& estimator) const noexcept {
  if (!estimator.has_value() || !estimator.fits_from_statistics()) return false;
  for (const auto& s : steps_)
    if (!s.fits_from_statistics()) return false;
  return true;
}

/// What both fitting cores share, before the steps: the fitted pipeline's inputs (kinds,
/// level lists) and the layout of the features.
template <scalar T>
detail::design_layout Pipeline<T>::begin_fit(FittedPipeline<T>& fp, const Estimator<T>& estimator, const DataFrame<T>& frame,
                                             const std::vector<std::string>& features, std::string_view target) {
  fp.trainer_ = estimator.name();
  fp.trainer_params_ = estimator.params();
  fp.features_ = features;
  fp.target_ = std::string(target);
  std::vector<detail::layout_column> cols;
  for (const auto& f : features) {
    const auto k = frame.kind(f);
    cols.push_back({f, k, false});
    fp.input_kinds_.push_back(k);
    fp.input_levels_.push_back(k == column_kind::categorical ? *frame.categorical(f).levels : std::vector<std::string>{});
    fp.input_has_time_.push_back(k == column_kind::datetime && frame.datetime(f).has_time);
  }
  return detail::design_layout(std::move(cols));
}

/// After the steps: what reaches the model must be numbers (schema_error naming each
/// column no step encoded, and how to encode it); sets the design columns.
template <scalar T>
void Pipeline<T>::check_design(FittedPipeline<T>& fp, const detail::design_layout& layout, const DataFrame<T>& frame) {
  std::vector<std::string> typed;
  for (const auto& c : layout.columns())
    if (c.kind != column_kind::numeric)
      typed.push_back(fmt::format("'{}' ({}{})", c.name, kind_name(c.kind),
                                  c.kind == column_kind::categorical ? fmt::format(", {} levels", frame.categorical(c.name).n_levels())
                                                                     : std::string()));
  if (!typed.empty())
    MLOPS_THROW(schema_error(
        errc::schema_column_type,
        fmt::format("feature column(s) {} are not numeric and no step of the pipeline encodes them: add an encoder "
                    "(OneHotEncoder / OrdinalEncoder for text, DateFeatures for dates; --encode onehot|ordinal, --date-features), "
                    "leave them out (Pipeline::features; --drop COL, --features) or keep them as ids (DataFrame::set_id; --id COL)",
                    fmt::join(typed, ", "))));
  fp.design_ = layout.names();
}

template <scalar T>
void Pipeline<T>::finish_fit(FittedPipeline<T>& fp) {
  fp.compile();
  const auto now = std::chrono::system_clock::now();
  fp.created_at_ = fmt::format("{}", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit_prepared(const Estimator<T>& estimator, DataFrame<T> frame, const std::vector<std::string>& features,
                                            std::string_view target, std::size_t rows_in, std::size_t rows_missing_target) const {
  FittedPipeline<T> fp;
  detail::design_layout layout = begin_fit(fp, estimator, frame, features, target);
  fp.notes_ = notes_;
  fp.report_.rows_in = rows_in;
  fp.report_.rows_missing_target = rows_missing_target;
  if (frame.rows() == 0)
    MLOPS_THROW(data_error(errc::data_empty, fmt::format("no training rows with a value in target '{}'", target)));

  for (const auto& step : steps_) {
    const std::size_t before = frame.rows();
    FittedStep<T> fitted = step.fit_step(frame, layout, target);
    fp.report_.steps.push_back({std::string(fitted.name()), before, frame.rows()});
    if (frame.rows() == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("step '{}' removed every training row; loosen it (e.g. a larger IQR k)",
                                                           fitted.name())));
    fp.steps_.push_back(std::move(fitted));
  }
  fp.report_.rows_used = frame.rows();
  check_design(fp, layout, frame);
  fp.model_ = estimator.fit(frame, fp.design_, target);
  finish_fit(fp);
  return fp;
}

template <scalar T>
std::optional<FittedPipeline<T>> Pipeline<T>::fit_from_source(detail::pipeline_source<T>& src, const DataFrame<T>& schema,
                                                              const std::vector<std::string>& features, std::string_view target,
                                                              std::size_t rows_in) const {
  if (!estimator_.has_value())
    MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline: no estimator set; call estimator(...) first"));
  FittedPipeline<T> fp;
  detail::design_layout layout = begin_fit(fp, estimator_, schema, features, target);
  fp.notes_ = notes_;
  fp.report_.rows_in = rows_in;
  if (src.rows() == 0) return std::nullopt;  // the row path reports it
  for (const auto& step : steps_) {
    const auto before = static_cast<std::size_t>(src.rows());
    auto fitted = step.fit_source(src, layout, target);
    if (!fitted || !fitted->forms(src)) return std::nullopt;
    fp.report_.steps.push_back({std::string(fitted->name()), before, static_cast<std::size_t>(src.rows())});
    if (src.rows() == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("step '{}' removed every training row; loosen it (e.g. a larger IQR k)",
                                                           fitted->name())));
    fp.steps_.push_back(std::move(*fitted));
  }
  fp.report_.rows_used = static_cast<std::size_t>(src.rows());
  check_design(fp, layout, schema);
  auto stats = src.least_squares(fp.design_, std::string(target));
  if (!stats) return std::nullopt;
  auto model = estimator_.fit_from(*stats);
  if (!model) return std::nullopt;
  fp.model_ = std::move(*model);
  finish_fit(fp);
  return fp;
}

MLOPS_NAMESPACE_END
