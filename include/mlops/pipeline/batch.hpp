// mlops/pipeline/batch.hpp - FittedPipeline's members that are not on the row path:
// binding a frame's columns to the inputs, batch prediction and scores, evaluation, the
// metrics store, the drift profile and the compilation of the row program. Included by
// pipeline.hpp in the header-only mode; in the compiled mode only the library includes
// it (MLOPS_TEMPLATE_BODIES, config.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/detail/parallel.hpp"
#include "mlops/pipeline/fitted.hpp"
#include "mlops/prep/categorical.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
std::vector<T> FittedPipeline<T>::target_values(const DataFrame<T>& frame) const {
  if (frame.kind(target_) == column_kind::numeric) return std::vector<T>(frame.column(target_).begin(), frame.column(target_).end());
  if (labels_.empty())
    MLOPS_THROW(schema_error(errc::schema_column_type,
                             fmt::format("target '{}' is text in the data but the model was trained on numbers", target_)));
  const auto v = frame.categorical(target_);
  const auto at = detail::map_levels(*v.levels, labels_);
  std::vector<T> out(v.size());
  for (std::size_t r = 0; r < v.size(); ++r) {
    if (v.codes[r] < 0) {
      out[r] = std::numeric_limits<T>::quiet_NaN();
      continue;
    }
    const auto k = at[static_cast<std::size_t>(v.codes[r])];
    if (k < 0)
      MLOPS_THROW(schema_error(errc::schema_mismatch, fmt::format("row {}: label '{}' of target '{}' was not seen in training; "
                                                                  "the model knows: {}", r, v.label(r), target_, detail::join_levels(labels_))));
    out[r] = static_cast<T>(k);
  }
  return out;
}

template <scalar T>
void FittedPipeline<T>::set_metrics(std::string_view prefix, const RegressionMetrics& m) {
  const std::string p(prefix);
  metrics_[p + ".mse"] = m.mse;
  metrics_[p + ".rmse"] = m.rmse;
  metrics_[p + ".mae"] = m.mae;
  metrics_[p + ".r2"] = m.r2;
  metrics_[p + ".mape"] = m.mape;
  metrics_[p + ".max_error"] = m.max_error;
  metrics_[p + ".explained_variance"] = m.explained_variance;
  metrics_[p + ".n"] = static_cast<double>(m.n);
}

template <scalar T>
void FittedPipeline<T>::set_metrics(std::string_view prefix, const ClassificationMetrics& m) {
  const std::string p(prefix);
  metrics_[p + ".accuracy"] = m.accuracy;
  metrics_[p + ".balanced_accuracy"] = m.balanced_accuracy;
  metrics_[p + ".precision"] = m.precision;
  metrics_[p + ".recall"] = m.recall;
  metrics_[p + ".f1"] = m.f1;
  metrics_[p + ".f1_macro"] = m.f1_macro;
  if (m.roc_auc) metrics_[p + ".roc_auc"] = *m.roc_auc;
  if (m.log_loss) metrics_[p + ".log_loss"] = *m.log_loss;
  metrics_[p + ".n"] = static_cast<double>(m.n);
}

template <scalar T>
std::optional<RegressionMetrics> FittedPipeline<T>::stored_metrics(std::string_view prefix) const {
  const std::string p(prefix);
  RegressionMetrics m;
  const std::pair<const char*, double*> required[] = {{".mse", &m.mse}, {".rmse", &m.rmse}, {".mae", &m.mae}, {".r2", &m.r2}};
  const std::pair<const char*, double*> optional[] = {
      {".mape", &m.mape}, {".max_error", &m.max_error}, {".explained_variance", &m.explained_variance}};
  for (const auto& [name, field] : required) {
    const auto it = metrics_.find(p + name);
    if (it == metrics_.end()) return std::nullopt;
    *field = it->second;
  }
  for (const auto& [name, field] : optional) {
    const auto it = metrics_.find(p + name);
    *field = it == metrics_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
  }
  const auto n = metrics_.find(p + ".n");
  if (n == metrics_.end()) return std::nullopt;
  m.n = static_cast<std::size_t>(n->second);
  if (m.n < 2) m.note = detail::r2_undefined_note;
  return m;
}

template <scalar T>
void FittedPipeline<T>::set_baseline(const DataFrame<T>& held_out) {
  if (!profile_) (void)drift_profile();
  const auto y = labelled(held_out, [&](const DataFrame<T>& f) {
    return std::pair<std::vector<T>, std::vector<T>>(std::vector<T>(f.column(target_).begin(), f.column(target_).end()), predict(f));
  });
  profile_->baseline = make_baseline(y.first, y.second, "held-out");
}

template <scalar T>
std::vector<T> FittedPipeline<T>::predict(const DataFrame<T>& frame) const {
  std::vector<T> out(frame.rows());
  for_each_row(frame, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double*) {
    out[r] = y;
    if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
  });
  return out;
}

template <scalar T>
std::vector<T> FittedPipeline<T>::predict_parallel(const DataFrame<T>& frame, std::size_t threads) const {
  constexpr std::size_t block = 16384;  // rows per task
  const std::size_t n = frame.rows(), blocks = (n + block - 1) / block;
  if (threads == 1 || blocks <= 1) return predict(frame);
  std::vector<T> out(n);
  const auto bound = bind(frame);
  detail::parallel_tasks(blocks, threads, [&](std::size_t b) {
    std::vector<T> row(bound.columns.size());
    std::array<double, max_outputs> s;
    for (std::size_t r = b * block, end = (std::min)(n, r + block); r < end; ++r) {
      for (std::size_t j = 0; j < row.size(); ++j) row[j] = bound.columns[j][r];
      bool outlier = false;
      out[r] = run(row, outlier, s.data());
      if (MLOPS_UNLIKELY(!std::isfinite(out[r]))) explain_non_finite(row, r);
    }
  });
  return out;
}

template <scalar T>
std::vector<T> FittedPipeline<T>::predict(const DataFrame<T>& frame, std::span<const std::size_t> rows) const {
  for (const auto r : rows)
    if (r >= frame.rows())
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("predict: row {} is out of range (frame has {} rows)", r, frame.rows())));
  std::vector<T> out(rows.size());
  for_each_row_at(frame, rows.size(), [&](std::size_t i) { return rows[i]; },
                  [&](std::size_t i, const std::vector<T>& row, T y, bool, const double*) {
                    out[i] = y;
                    if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, rows[i]);
                  });
  return out;
}

template <scalar T>
Eigen::MatrixXd FittedPipeline<T>::decision_function(const DataFrame<T>& frame) const {
  Eigen::MatrixXd S;
  with_classifier("decision_function", [&](const auto& c) {
    S.resize(static_cast<Eigen::Index>(frame.rows()), static_cast<Eigen::Index>(c.n_outputs()));
    for_each_row(frame, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double* s) {
      if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
      for (Eigen::Index k = 0; k < S.cols(); ++k) S(static_cast<Eigen::Index>(r), k) = s[k];
    });
  });
  return S;
}

template <scalar T>
Eigen::MatrixXd FittedPipeline<T>::predict_proba(const DataFrame<T>& frame) const {
  Eigen::MatrixXd P;
  with_classifier("predict_proba", [&](const auto& c) {
    if (!c.has_proba())
      MLOPS_THROW(argument_error(errc::invalid_argument, "predict_proba: a hinge-loss (SVM) model has no probabilities; use decision_function"));
    P.resize(static_cast<Eigen::Index>(frame.rows()), static_cast<Eigen::Index>(c.n_classes()));
    std::array<double, max_outputs> p;
    for_each_row(frame, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double* s) {
      if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
      c.proba_from_scores(s, p.data());
      for (Eigen::Index k = 0; k < P.cols(); ++k) P(static_cast<Eigen::Index>(r), k) = p[static_cast<std::size_t>(k)];
    });
  });
  return P;
}

template <scalar T>
std::vector<std::uint8_t> FittedPipeline<T>::outlier_flags(const DataFrame<T>& frame) const {
  std::vector<std::uint8_t> out(frame.rows());
  for_each_row(frame, [&](std::size_t r, const std::vector<T>&, T, bool outlier, const double*) { out[r] = outlier; });
  return out;
}

template <scalar T>
RegressionMetrics FittedPipeline<T>::evaluate(const DataFrame<T>& frame) const {
  if (is_classifier())
    MLOPS_THROW(argument_error(errc::invalid_argument, "evaluate: this pipeline holds a classifier; use evaluate_classifier"));
  return labelled(frame, [&](const DataFrame<T>& f) { return regression_metrics<T>(f.column(target_), predict(f)); });
}

template <scalar T>
ClassificationMetrics FittedPipeline<T>::evaluate_classifier(const DataFrame<T>& frame) const {
  ClassificationMetrics out;
  with_classifier("evaluate_classifier", [&](const auto& c) {
    out = labelled(frame, [&](const DataFrame<T>& f) {
      // One pass through the row program gives labels, scores and probabilities.
      std::vector<T> pred(f.rows());
      Eigen::MatrixXd S(static_cast<Eigen::Index>(f.rows()), static_cast<Eigen::Index>(c.n_outputs()));
      Eigen::MatrixXd P = c.has_proba() ? Eigen::MatrixXd(S.rows(), static_cast<Eigen::Index>(c.n_classes())) : Eigen::MatrixXd();
      std::array<double, max_outputs> p;
      for_each_row(f, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double* s) {
        if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
        pred[r] = y;
        const auto i = static_cast<Eigen::Index>(r);
        for (Eigen::Index k = 0; k < S.cols(); ++k) S(i, k) = s[k];
        if (P.size() > 0) {
          c.proba_from_scores(s, p.data());
          for (Eigen::Index k = 0; k < P.cols(); ++k) P(i, k) = p[static_cast<std::size_t>(k)];
        }
      });
      return classification_metrics<T>(f.column(target_), pred, c.classes(), S, P);
    });
  });
  // A text target: the class indices named by their labels.
  if (!labels_.empty())
    for (const double v : out.labels) {
      const auto k = static_cast<std::size_t>(v);
      out.label_names.push_back(v >= 0 && v == static_cast<double>(k) && k < labels_.size() ? labels_[k] : fmt::format("{:g}", v));
    }
  return out;
}

template <scalar T>
BaselineError FittedPipeline<T>::make_baseline(std::span<const T> y, std::span<const T> pred, std::string source) const {
  BaselineError b;
  b.kind = is_classifier() ? BaselineError::kind_t::misclassification : BaselineError::kind_t::absolute_error;
  b.source = std::move(source);
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double e = is_classifier() ? (y[i] != pred[i] ? 1.0 : 0.0) : std::fabs(static_cast<double>(y[i]) - static_cast<double>(pred[i]));
    sum += e;
    sq += e * e;
  }
  b.n = y.size();
  if (b.n == 0)
    MLOPS_THROW(data_error(errc::data_empty, "set_baseline: no rows with a target to measure the baseline error on"));
  b.mean = sum / static_cast<double>(b.n);
  b.std = std::sqrt((std::max)(0.0, sq / static_cast<double>(b.n) - b.mean * b.mean));
  if (!std::isfinite(b.mean))
    MLOPS_THROW(data_error(errc::data_non_finite, "set_baseline: the error is not finite; check the held-out data"));
  return b;
}

template <scalar T>
std::vector<typename FittedPipeline<T>::unseen_levels_report> FittedPipeline<T>::unseen_levels(const DataFrame<T>& frame) const {
  std::vector<unseen_levels_report> out;
  for (std::size_t j = 0; j < features_.size(); ++j) {
    const auto i = frame.find(features_[j]);
    if (input_kinds_[j] != column_kind::categorical || !i || frame.kind(*i) != column_kind::categorical) continue;
    const auto v = frame.categorical(*i);
    const auto code = detail::map_levels(*v.levels, input_levels_[j]);  // the frame's levels -> the model's (-1: unseen)
    std::vector<std::size_t> count(code.size(), 0);
    for (std::size_t r = 0; r < v.size(); ++r)
      if (v.codes[r] >= 0) ++count[static_cast<std::size_t>(v.codes[r])];
    unseen_levels_report rep;
    rep.column = features_[j];
    for (std::size_t k = 0; k < code.size(); ++k)
      if (code[k] < 0 && count[k] > 0) {
        rep.levels.emplace_back((*v.levels)[k], count[k]);
        rep.rows += count[k];
      }
    if (rep.rows == 0) continue;
    std::stable_sort(rep.levels.begin(), rep.levels.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    out.push_back(std::move(rep));
  }
  return out;
}

template <scalar T>
void FittedPipeline<T>::capture_profile(const DataFrame<T>& raw, std::span<const T> pred, std::size_t bins, std::size_t threads) {
  DriftProfile p;
  p.bins = bins;
  const auto in = bind(raw);
  // One task per feature and one for the predictions, each written to its own place.
  const std::size_t d = features_.size();
  p.features.resize(d);
  detail::parallel_tasks(d + 1, threads, [&](std::size_t j) {
    if (j < d && input_kinds_[j] == column_kind::categorical)  // per level (codes), unseen levels apart
      p.features[j] = FeatureProfile::capture_levels<T>(features_[j], in.columns[j], input_levels_[j], bins);
    else if (j < d && input_kinds_[j] == column_kind::datetime)  // with bins before and after the training range
      p.features[j] = FeatureProfile::capture_range<T>(features_[j], in.columns[j], bins);
    else if (j < d)
      p.features[j] = FeatureProfile::capture<T>(features_[j], in.columns[j], bins);
    else p.prediction = FeatureProfile::capture<T>("prediction", pred, bins);
  });
  p.baseline = make_baseline(raw.column(target_), pred, "train");
  profile_ = std::move(p);
}

template <scalar T>
void FittedPipeline<T>::compile() {
  level_order_.assign(features_.size(), {});
  for (std::size_t j = 0; j < features_.size(); ++j) {
    auto& o = level_order_[j];
    o.resize(input_levels_[j].size());
    for (std::size_t k = 0; k < o.size(); ++k) o[k] = static_cast<std::uint32_t>(k);
    std::sort(o.begin(), o.end(), [&](std::uint32_t a, std::uint32_t b) { return input_levels_[j][a] < input_levels_[j][b]; });
  }
  program_ = {};
  program_.n_inputs = features_.size();
  program_.n_features = design_.size();
  // Typed inputs always take the expansion stage (an ordinal code keeps its column's
  // name, so equal names do not mean equal rows).
  const bool expands = design_ != features_ || std::any_of(input_kinds_.begin(), input_kinds_.end(),
                                                           [](column_kind k) { return k != column_kind::numeric; });
  if (expands) {
    program_.expand.resize(features_.size());
    for (std::size_t j = 0; j < features_.size(); ++j) {
      const auto it = std::find(design_.begin(), design_.end(), features_[j]);
      auto& e = program_.expand[j];
      e.width = 0;  // claimed below: copied, or expanded by a step
      if (it != design_.end() && input_kinds_[j] == column_kind::numeric) e.out = static_cast<std::size_t>(it - design_.begin()), e.width = 1;
    }
  }
  const detail::compile_context ctx{features_, design_, input_levels_};
  for (const auto& s : steps_) s.compile(ctx, program_);
  program_.seal();
  if (expands) {  // every design column written by exactly one input
    std::vector<std::uint8_t> written(design_.size(), 0);
    for (std::size_t j = 0; j < features_.size(); ++j) {
      const auto& e = program_.expand[j];
      if (e.width == 0 || e.out + e.width > design_.size())
        MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("input '{}' reaches no model column", features_[j])));
      for (std::size_t k = e.out; k < e.out + e.width; ++k)
        if (written[k]++) MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("model column '{}' is written twice", design_[k])));
    }
    if (std::find(written.begin(), written.end(), 0) != written.end())
      MLOPS_THROW(format_error(errc::format_corrupt, "a model column is written by no input"));
  }
  if (std::visit([](const auto& m) { return m.n_features(); }, model_) != design_.size())
    MLOPS_THROW(format_error(errc::format_corrupt, "the model's feature count does not match the pipeline's schema"));
}

template <scalar T>
typename FittedPipeline<T>::bound_inputs FittedPipeline<T>::bind(const DataFrame<T>& frame) const {
  std::vector<std::string> missing;
  bound_inputs b;
  b.converted.reserve(features_.size());  // spans point into it: no reallocation
  for (std::size_t j = 0; j < features_.size(); ++j) {
    const auto& f = features_[j];
    const auto i = frame.find(f);
    if (!i) {
      missing.push_back(f);
      continue;
    }
    const column_kind want = input_kinds_[j], have = frame.kind(*i);
    if (have != want)
      MLOPS_THROW(schema_error(errc::schema_column_type,
                               fmt::format("column '{}' is {} in the data but the model was trained on it as {}; read it as {} "
                                           "(CsvOptions::column_types, --{} {})",
                                           f, kind_name(have), kind_name(want), kind_name(want), kind_name(want), f)));
    if (want == column_kind::numeric) {
      b.columns.push_back(frame.column(*i));
      continue;
    }
    auto& out = b.converted.emplace_back(frame.rows());
    if (want == column_kind::categorical) {
      const auto v = frame.categorical(*i);
      const auto code = detail::map_levels(*v.levels, input_levels_[j]);  // the frame's levels -> the model's
      for (std::size_t r = 0; r < v.size(); ++r)
        out[r] = v.codes[r] < 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(code[static_cast<std::size_t>(v.codes[r])]);
    } else {
      const auto v = frame.datetime(*i);
      for (std::size_t r = 0; r < v.size(); ++r) out[r] = detail::days_of<T>(v.values[r]);
    }
    b.columns.emplace_back(out.data(), out.size());
  }
  if (!missing.empty())
    MLOPS_THROW(schema_error(errc::schema_missing_column,
                             fmt::format("the data lacks feature column(s) '{}' that the model was trained on; "
                                         "expected columns: '{}'", fmt::join(missing, "', '"), fmt::join(features_, "', '"))));
  return b;
}

MLOPS_NAMESPACE_END
