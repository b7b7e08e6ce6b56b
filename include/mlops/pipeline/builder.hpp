// mlops/pipeline/builder.hpp - Pipeline<T>, the builder: an ordered list of steps, the
// feature choice and the estimator; fit() makes a FittedPipeline (pipeline/fit.hpp).
// It names no step type: steps are held as Step<T> (prep/step.hpp).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/fwd.hpp"
#include "mlops/monitor/profile.hpp"
#include "mlops/pipeline/estimators.hpp"
#include "mlops/prep/options.hpp"
#include "mlops/prep/step.hpp"

MLOPS_NAMESPACE_BEGIN

/// What happened while fitting: rows entering and leaving each step.
struct FitReport {
  struct step_rows {
    std::string step;
    std::size_t rows_in = 0, rows_out = 0;
  };
  std::size_t rows_in = 0;                 // rows of the training frame
  std::size_t rows_missing_target = 0;     // dropped: the target was missing
  std::vector<step_rows> steps;
  std::size_t rows_used = 0;               // rows the estimator was fitted on
  /// true when fit() fitted from statistics (Pipeline::fit_from_statistics), false on rows.
  /// Not saved in the model file: a loaded pipeline says false.
  bool from_statistics = false;
};

namespace detail {
/// What Pipeline::fit_from_source reads instead of rows: each step's statistics
/// (stats_source), what each fitted step does to its training rows (form_sink, told in
/// step order), and the least-squares statistics of the final design columns.
template <scalar T>
class pipeline_source : public stats_source<T>, public form_sink<T> {
 public:
  /// Statistics of `design` against `target` over the training rows; nothing when they
  /// cannot be given (e.g. a design column still has missing values).
  virtual std::optional<LeastSquaresStats<T>> least_squares(const std::vector<std::string>& design, const std::string& target) = 0;
};
}  // namespace detail

/// The builder: an ordered list of step options and the feature choice.
template <scalar T>
class Pipeline {
 public:
  /// Appends a step: any type meeting step_options (the library's steps, or your own).
  Pipeline& add(Step<T> s) {
    steps_.push_back(std::move(s));
    return *this;
  }
  /// Shorthands for the library's common steps (their bodies are in
  /// pipeline/steps_builder.hpp, beside the step types).
  Pipeline& impute(impute_strategy s = impute_strategy::mean, T fill_value = T(0));
  Pipeline& impute(SimpleImputer<T> s);
  Pipeline& drop_outliers_iqr(double k = 1.5, outlier_action on_new_data = outlier_action::clip);
  Pipeline& drop_outliers_iqr(IqrOutlierFilter<T> f);
  Pipeline& standardize();
  Pipeline& standardize(StandardScaler<T> s);
  /// Feature columns to use (default: every column but the target), in this order.
  Pipeline& features(std::vector<std::string> names) {
    features_ = std::move(names);
    return *this;
  }
  const std::vector<Step<T>>& steps() const noexcept { return steps_; }
  std::vector<Step<T>>& steps() noexcept { return steps_; }
  const std::vector<std::string>& feature_choice() const noexcept { return features_; }
  /// The trainer `fit(train, target)` uses (and cross_validate / grid_search fit per fold).
  Pipeline& estimator(Estimator<T> e) {
    estimator_ = std::move(e);
    return *this;
  }
  /// The trainer set by estimator(e); nullptr when none is set.
  const Estimator<T>* estimator() const noexcept { return estimator_.has_value() ? &estimator_ : nullptr; }
  Estimator<T>* estimator() noexcept { return estimator_.has_value() ? &estimator_ : nullptr; }
  /// Bins per feature of the drift reference profile fit() captures (default 10;
  /// 0: no profile). See FittedPipeline::drift_profile.
  Pipeline& drift_profile(std::size_t bins) {
    if (bins > max_profile_bins)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("drift_profile: at most {} bins (got {})", max_profile_bins, bins)));
    profile_bins_ = bins;
    return *this;
  }
  std::size_t drift_profile_bins() const noexcept { return profile_bins_; }
  /// Whether fit() may fit from statistics (default true): for double data, when every
  /// step can be fitted from statistics and the trainer from least-squares statistics
  /// (Step / Estimator::fits_from_statistics), the steps and the model are fitted from
  /// sums over the rows (pipeline/fold_stats.hpp) instead of transformed copies of them.
  /// The result equals the fit on rows up to rounding; false always fits on rows.
  Pipeline& fit_from_statistics(bool on) noexcept {
    statistics_ = on;
    return *this;
  }
  bool fit_from_statistics() const noexcept { return statistics_; }
  /// Threads fit() may use (default 1; 0: one per hardware thread): the statistics
  /// engine's passes, the predictions behind the training metrics and the drift
  /// profile's columns. Work is cut into fixed pieces, each written to its own place, so
  /// the fitted pipeline holds the same bits for any count.
  Pipeline& threads(std::size_t n) noexcept {
    threads_ = n;
    return *this;
  }
  std::size_t threads() const noexcept { return threads_; }
  /// A note carried into the fitted pipeline (its file and card): e.g. each choice
  /// auto_pipeline made ("auto.<column>"). A note under an existing key replaces it.
  Pipeline& note(std::string key, std::string text) {
    notes_[std::move(key)] = std::move(text);
    return *this;
  }
  const std::map<std::string, std::string>& notes() const noexcept { return notes_; }

  /// Fits every step on `train` in order (each step sees the output of the previous
  /// one; the IQR filter drops training rows), then the estimator. Only `train` is
  /// seen: split first, and the held-out data never leaks into the statistics.
  /// Rows whose target is missing are dropped and counted in the report.
  /// Any trainer (the library's or your own) goes through fit_estimator: the fitting is
  /// compiled once for all trainers (in the library, in the compiled mode).
  template <trainer<T> E>
  FittedPipeline<T> fit(const E& estimator, const DataFrame<T>& train, std::string_view target) const {
    return fit_estimator(Estimator<T>(estimator), train, target);
  }
  /// The same with the trainer set by estimator() (argument_error when none is set).
  FittedPipeline<T> fit(const DataFrame<T>& train, std::string_view target) const;
  /// The same with a trainer held as an Estimator.
  FittedPipeline<T> fit_estimator(const Estimator<T>& estimator, const DataFrame<T>& train, std::string_view target) const;

  /// The feature columns this pipeline uses on `frame` (the chosen ones, or every column
  /// but the target), checked to exist and not to include the target.
  std::vector<std::string> resolve_features(const DataFrame<T>& frame, std::string_view target) const;
  /// The fitting core, for callers that prepared the rows themselves (cross-validation):
  /// `frame` holds exactly `features` + `target`, every row has a target, and it is
  /// consumed (the steps transform it in place). No training metrics are computed.
  FittedPipeline<T> fit_prepared(const Estimator<T>& estimator, DataFrame<T> frame, const std::vector<std::string>& features,
                                 std::string_view target, std::size_t rows_in, std::size_t rows_missing_target) const;
  FittedPipeline<T> fit_prepared(DataFrame<T> frame, const std::vector<std::string>& features, std::string_view target) const;
  /// The fitting core from statistics (cross-validation's shared-statistics path): each
  /// step by Step::fit_source, its forms told to `src`, the estimator by
  /// Estimator::fit_from on src.least_squares. `schema` gives the features' kinds and
  /// level lists. Nothing when a step or the estimator cannot be fitted this way.
  std::optional<FittedPipeline<T>> fit_from_source(detail::pipeline_source<T>& src, const DataFrame<T>& schema,
                                                   const std::vector<std::string>& features, std::string_view target,
                                                   std::size_t rows_in) const;

  std::vector<Step<T>> steps_;
  std::vector<std::string> features_;
  Estimator<T> estimator_;  // empty: none set
  std::size_t profile_bins_ = 10;
  bool statistics_ = true;
  std::size_t threads_ = 1;
  std::map<std::string, std::string> notes_;

 private:
  /// true when the steps and `estimator` can all be fitted from statistics.
  bool statistics_capable(const Estimator<T>& estimator) const noexcept;
  // The parts fit_prepared and fit_from_source share (pipeline/fit.hpp).
  static detail::design_layout begin_fit(FittedPipeline<T>& fp, const Estimator<T>& estimator, const DataFrame<T>& frame,
                                         const std::vector<std::string>& features, std::string_view target);
  static void check_design(FittedPipeline<T>& fp, const detail::design_layout& layout, const DataFrame<T>& frame);
  static void finish_fit(FittedPipeline<T>& fp);
};

namespace detail {
/// `p` fitted on `data` (every row has a target) from statistics, or nothing when the
/// steps, the trainer or the data need the fit on rows (pipeline/fold_stats.hpp).
MLOPS_FUNC std::optional<FittedPipeline<double>> fit_pipeline_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                              const std::vector<std::string>& features,
                                                                              const std::string& target, std::size_t threads);
}  // namespace detail

template <scalar T>
Pipeline<T> pipeline() {
  return {};
}

MLOPS_NAMESPACE_END
