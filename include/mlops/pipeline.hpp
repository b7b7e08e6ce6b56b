// mlops/pipeline.hpp - the fluent builder and FittedPipeline<T>.
//
//   auto fitted = mlops::pipeline<double>()
//                     .impute(mlops::impute_strategy::median)
//                     .drop_outliers_iqr(1.5)
//                     .standardize()
//                     .fit(mlops::LinearRegression<double>{}, train, "price");
//   double y = fitted.predict_row(row);   // noexcept, no allocation
//   fitted.save("model.mlops");
//   auto again = mlops::FittedPipeline<double>::load("model.mlops");
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/io/container.hpp"
#include "mlops/learn/classifier.hpp"
#include "mlops/learn/gd.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/online.hpp"
#include "mlops/monitor/drift.hpp"
#include "mlops/prep/steps.hpp"

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
};

/// One value of a row in mixed form, for predict_row(std::span<const input_value>): a
/// number (numeric inputs; for a categorical input, its level's index), a level's text
/// (categorical inputs), an instant (datetime inputs: UTC microseconds since the epoch,
/// see detail::parse_iso8601), or missing. Holds a view: the text must outlive the call.
struct input_value {
  enum class kind_t : std::uint8_t { missing = 0, number = 1, text = 2, instant = 3 };
  kind_t kind = kind_t::missing;
  double number = 0;
  std::string_view text{};
  std::int64_t micros = 0;
  static constexpr input_value of(double v) noexcept { return {kind_t::number, v, {}, 0}; }
  static constexpr input_value of(std::string_view s) noexcept { return {kind_t::text, 0, s, 0}; }
  static constexpr input_value at(std::int64_t us) noexcept { return {kind_t::instant, 0, {}, us}; }
  static constexpr input_value none() noexcept { return {}; }
};

/// Result of try_predict (the non-aborting row path).
enum class predict_status : std::uint8_t { ok = 0, wrong_length = 1, non_finite = 2 };

template <scalar T>
class FittedPipeline;

/// A trainer the pipeline can fit: `fit(frame, features, target)` returns a LinearModel
/// (regressors: LinearRegression, GradientDescentRegressor, RecursiveLeastSquaresTrainer)
/// or a LinearClassifier (LogisticRegression, LinearSVM).
template <class E, class T>
concept trainer = requires(const E& e, const DataFrame<T>& f, const std::vector<std::string>& features, std::string_view target) {
  requires std::same_as<decltype(e.fit(f, features, target)), LinearModel<T>> ||
               std::same_as<decltype(e.fit(f, features, target)), LinearClassifier<T>>;
};
template <class E, class T>
concept linear_trainer = trainer<E, T>;

/// The model types a fitted pipeline can hold (each with a stable format `tag` and an
/// `is_classifier` trait); PipelineModel is generated from this list.
template <scalar T>
using model_types = detail::type_list<LinearModel<T>, LinearClassifier<T>>;
static_assert(detail::distinct_tags(model_types<double>{}), "model format tags must be distinct and non-zero");
/// What a fitted pipeline predicts with.
template <scalar T>
using PipelineModel = detail::variant_of<model_types<T>>;

/// Any of the library's trainers, held by value: what `Pipeline::estimator` stores, what
/// cross_validate and grid_search fit in each fold, and what `set_param` configures.
template <scalar T>
using Estimator = std::variant<LinearRegression<T>, GradientDescentRegressor<T>, RecursiveLeastSquaresTrainer<T>,
                               LogisticRegression<T>, LinearSVM<T>>;

/// The builder: an ordered list of step options and the feature choice.
template <scalar T>
class Pipeline {
 public:
  Pipeline& add(Step<T> s) {
    steps_.push_back(std::move(s));
    return *this;
  }
  Pipeline& impute(impute_strategy s = impute_strategy::mean, T fill_value = T(0)) {
    return add(SimpleImputer<T>{s, fill_value, {}});
  }
  Pipeline& impute(SimpleImputer<T> s) { return add(std::move(s)); }
  Pipeline& drop_outliers_iqr(double k = 1.5, outlier_action on_new_data = outlier_action::clip) {
    IqrOutlierFilter<T> f;
    f.k = k;
    f.on_new_data = on_new_data;
    return add(std::move(f));
  }
  Pipeline& drop_outliers_iqr(IqrOutlierFilter<T> f) { return add(std::move(f)); }
  Pipeline& standardize(StandardScaler<T> s = {}) { return add(std::move(s)); }
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
  const std::optional<Estimator<T>>& estimator() const noexcept { return estimator_; }
  std::optional<Estimator<T>>& estimator() noexcept { return estimator_; }
  /// Bins per feature of the drift reference profile fit() captures (default 10;
  /// 0: no profile). See FittedPipeline::drift_profile.
  Pipeline& drift_profile(std::size_t bins) {
    if (bins > max_profile_bins)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("drift_profile: at most {} bins (got {})", max_profile_bins, bins)));
    profile_bins_ = bins;
    return *this;
  }
  std::size_t drift_profile_bins() const noexcept { return profile_bins_; }

  /// Fits every step on `train` in order (each step sees the output of the previous
  /// one; the IQR filter drops training rows), then the estimator. Only `train` is
  /// seen: split first, and the held-out data never leaks into the statistics.
  /// Rows whose target is missing are dropped and counted in the report.
  /// A trainer of the Estimator list goes through fit_estimator (compiled once, in the
  /// library, in the compiled mode); any other trainer is fitted here.
  template <trainer<T> E>
  FittedPipeline<T> fit(const E& estimator, const DataFrame<T>& train, std::string_view target) const {
    if constexpr (detail::variant_holds<E, Estimator<T>>) return fit_estimator(Estimator<T>(estimator), train, target);
    else return fit_with(estimator, train, target);
  }
  /// The same with the trainer set by estimator() (argument_error when none is set).
  FittedPipeline<T> fit(const DataFrame<T>& train, std::string_view target) const;
  /// The same with any trainer of the Estimator list.
  FittedPipeline<T> fit_estimator(const Estimator<T>& estimator, const DataFrame<T>& train, std::string_view target) const;

  /// The feature columns this pipeline uses on `frame` (the chosen ones, or every column
  /// but the target), checked to exist and not to include the target.
  std::vector<std::string> resolve_features(const DataFrame<T>& frame, std::string_view target) const;
  /// The fitting core, for callers that prepared the rows themselves (cross-validation):
  /// `frame` holds exactly `features` + `target`, every row has a target, and it is
  /// consumed (the steps transform it in place). No training metrics are computed.
  template <trainer<T> E>
  FittedPipeline<T> fit_prepared(const E& estimator, DataFrame<T> frame, const std::vector<std::string>& features,
                                 std::string_view target, std::size_t rows_in, std::size_t rows_missing_target) const;
  FittedPipeline<T> fit_prepared(DataFrame<T> frame, const std::vector<std::string>& features, std::string_view target) const;

 private:
  template <trainer<T> E>
  FittedPipeline<T> fit_with(const E& estimator, const DataFrame<T>& train, std::string_view target) const;

  std::vector<Step<T>> steps_;
  std::vector<std::string> features_;
  std::optional<Estimator<T>> estimator_;
  std::size_t profile_bins_ = 10;
};

template <scalar T>
Pipeline<T> pipeline() {
  return {};
}

template <scalar T>
class FittedPipeline {
 public:
  /// Widest row chunk run through the fused program on the stack.
  static constexpr std::size_t chunk = 64;
  /// Widest design (or mixed input) row converted on the stack; wider rows use a
  /// per-thread buffer, allocated on each thread's first such call.
  static constexpr std::size_t wide_row = 512;

  FittedPipeline() = default;

  /// The input columns, in the order predict_row takes them.
  const std::vector<std::string>& features() const noexcept { return features_; }
  std::size_t n_features() const noexcept { return features_.size(); }
  /// What each input holds. In predict_row's numeric form a categorical input is given as
  /// the index of its level in input_levels(j) (NaN: missing; -1 or any other number: a
  /// level not seen in training) and a datetime input as days since 1970-01-01 UTC.
  column_kind input_kind(std::size_t j) const noexcept { return input_kinds_[j]; }
  /// The levels of a categorical input (empty for other inputs).
  const std::vector<std::string>& input_levels(std::size_t j) const noexcept { return input_levels_[j]; }
  /// The model's columns after the steps (equal to features() unless a step encodes
  /// or expands a column): the names of the coefficients.
  const std::vector<std::string>& design_columns() const noexcept { return design_; }
  /// The index of `level` among the levels of categorical input j (-1: not seen in
  /// training), for building predict_row's numeric form.
  /// Binary search in a table built when the pipeline is fitted or loaded: no allocation.
  T level_code(std::size_t j, std::string_view level) const noexcept {
    const auto& l = input_levels_[j];
    const auto& order = level_order_[j];
    const auto it = std::lower_bound(order.begin(), order.end(), level,
                                     [&](std::uint32_t k, std::string_view v) { return std::string_view(l[k]) < v; });
    return it != order.end() && l[*it] == level ? static_cast<T>(*it) : T(-1);
  }

  /// The rows of `frame` in predict_row's numeric form, column by column (features()
  /// order; numeric columns are read in place, categorical and datetime ones converted).
  struct bound_inputs {
    std::vector<std::span<const T>> columns;
    std::vector<std::vector<T>> converted;
  };
  bound_inputs bind(const DataFrame<T>& frame) const;
  const std::string& target() const noexcept { return target_; }
  const std::vector<FittedStep<T>>& steps() const noexcept { return steps_; }
  bool is_classifier() const noexcept {
    return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::is_classifier; }, model_);
  }
  /// The regression model; argument_error when the pipeline holds a classifier.
  const LinearModel<T>& model() const {
    if (const auto* m = std::get_if<LinearModel<T>>(&model_)) return *m;
    MLOPS_THROW(argument_error(errc::invalid_argument, "this pipeline holds a classifier; use classifier()"));
  }
  /// The classification model; argument_error when the pipeline holds a regressor.
  const LinearClassifier<T>& classifier() const {
    if (const auto* m = std::get_if<LinearClassifier<T>>(&model_)) return *m;
    MLOPS_THROW(argument_error(errc::invalid_argument, "this pipeline holds a regressor; use model()"));
  }
  const PipelineModel<T>& estimator() const noexcept { return model_; }
  /// A classifier trained on a text target: label k names class k (empty for numeric
  /// classes). predict gives class indices; label_of names them.
  const std::vector<std::string>& class_labels() const noexcept { return labels_; }
  std::string_view label_of(T class_value) const noexcept {
    if (!(class_value >= T(0)) || !(class_value < static_cast<T>(labels_.size()))) return {};
    return labels_[static_cast<std::size_t>(class_value)];
  }
  /// Names the classes (argument_error unless a classifier whose classes are indices of `labels`).
  void set_class_labels(std::vector<std::string> labels) {
    const auto& c = classifier();
    for (const auto k : c.classes())
      if (!(k >= 0) || k != std::floor(k) || !(k < static_cast<double>(labels.size())))
        MLOPS_THROW(argument_error(errc::invalid_argument,
                                   fmt::format("set_class_labels: class {} is not an index of the {} labels", k, labels.size())));
    labels_ = std::move(labels);
  }
  /// The target column of `frame` as numbers: a text target mapped onto the class labels
  /// (schema_error for a label never seen in training), a numeric one as it is.
  std::vector<T> target_values(const DataFrame<T>& frame) const;
  /// Sets a classifier's binary decision threshold (see LinearClassifier::set_threshold).
  void set_threshold(double t) {
    auto* m = std::get_if<LinearClassifier<T>>(&model_);
    if (!m) MLOPS_THROW(argument_error(errc::invalid_argument, "set_threshold: this pipeline holds a regressor"));
    m->set_threshold(t);
  }
  const FitReport& report() const noexcept { return report_; }
  /// Named metrics stored with the model ("train.r2", "test.rmse", ...).
  const std::map<std::string, double>& metrics() const noexcept { return metrics_; }
  void set_metric(const std::string& name, double value) { metrics_[name] = value; }
  void set_metrics(std::string_view prefix, const RegressionMetrics& m);
  void set_metrics(std::string_view prefix, const ClassificationMetrics& m);
  /// The regression metrics stored under `prefix` by set_metrics (e.g. "train", set by
  /// fit), if n, mse, rmse, mae and r2 are present. mape, max_error and
  /// explained_variance are NaN when the file predates them.
  std::optional<RegressionMetrics> stored_metrics(std::string_view prefix) const;
  const std::string& created_at() const noexcept { return created_at_; }

  /// The reference profile captured by fit (raw training features, predictions on the
  /// training rows, baseline error); argument_error when the pipeline has none (fitted
  /// with drift_profile(0), or read from a format 1.0 file).
  bool has_drift_profile() const noexcept { return profile_.has_value(); }
  const DriftProfile& drift_profile() const {
    if (!profile_)
      MLOPS_THROW(argument_error(errc::invalid_argument, "this pipeline has no drift profile; fit it with drift_profile(bins > 0)"));
    return *profile_;
  }
  /// Measures the baseline error on held-out rows (regression: absolute error;
  /// classification: misclassification) and stores it in the profile, replacing the
  /// training-rows baseline fit() recorded. Rows with a missing target are skipped.
  void set_baseline(const DataFrame<T>& held_out);
  /// A drift monitor against this pipeline's profile.
  DriftMonitor<T> monitor(DriftConfig config = {}) const { return DriftMonitor<T>(drift_profile(), config); }

  /// Predicts one raw (uncleaned) row, features in features() order, applying exactly
  /// the training-time transformations. noexcept and allocation-free. A row of the
  /// wrong length is a contract violation (see try_predict for a checked path).
  /// A missing value with no imputer in the pipeline yields NaN (try_predict reports it).
  /// For a classifier: the predicted class label.
  T predict_row(std::span<const T> row) const noexcept {
    MLOPS_ASSERT(row.size() == features_.size(), "row length must equal n_features()");
    bool outlier = false;
    std::array<double, max_outputs> s;
    return run(row, outlier, s.data());
  }
  /// Predicts one row given in mixed form (numbers, level texts or codes, instants), in
  /// features() order. noexcept and allocation-free (level texts are found by binary
  /// search; rows of up to `wide_row` inputs are converted on the stack). A value of the
  /// wrong sort for its input (a text for a numeric input) counts as missing.
  T predict_row(std::span<const input_value> row) const noexcept {
    MLOPS_ASSERT(row.size() == features_.size(), "row length must equal n_features()");
    std::array<T, wide_row> small;
    T* x = small.data();
    if (row.size() > wide_row) {
      thread_local std::vector<T> big;
      if (big.size() < row.size()) big.resize(row.size());
      x = big.data();
    }
    numeric_row(row, std::span<T>(x, row.size()));
    bool outlier = false;
    std::array<double, max_outputs> s;
    return run(std::span<const T>(x, row.size()), outlier, s.data());
  }
  /// A mixed-form row in predict_row's numeric form (what the drift monitor observes):
  /// out[j] for input j; out must hold n_features() values. noexcept, allocation-free.
  void numeric_row(std::span<const input_value> row, std::span<T> out) const noexcept {
    MLOPS_ASSERT(row.size() == features_.size() && out.size() >= row.size(), "row length must equal n_features()");
    for (std::size_t j = 0; j < row.size(); ++j) out[j] = numeric_value(j, row[j]);
  }
  /// One value of input j in numeric form: a number as is, a level text as its code, an
  /// instant as days; a value of the wrong sort for its input is NaN (missing).
  T numeric_value(std::size_t j, const input_value& v) const noexcept {
    MLOPS_ASSERT(j < features_.size(), "input index out of range");
    const T nan = std::numeric_limits<T>::quiet_NaN();
    switch (input_kinds_[j]) {
      case column_kind::numeric: return v.kind == input_value::kind_t::number ? static_cast<T>(v.number) : nan;
      case column_kind::categorical:
        return v.kind == input_value::kind_t::text ? level_code(j, v.text) : v.kind == input_value::kind_t::number ? static_cast<T>(v.number) : nan;
      case column_kind::datetime:
        return v.kind == input_value::kind_t::instant ? detail::days_of<T>(v.micros)
               : v.kind == input_value::kind_t::number ? static_cast<T>(v.number)
                                                       : nan;
    }
    return nan;
  }
  /// Classifier scores of one raw row into out[0 .. outputs) (one for two classes).
  /// noexcept, allocation-free; false for a regressor or a wrong length.
  bool decision_row(std::span<const T> row, std::span<double> out) const noexcept {
    const auto* c = std::get_if<LinearClassifier<T>>(&model_);
    if (!c || row.size() != features_.size() || out.size() < c->n_outputs()) return false;
    bool outlier = false;
    (void)run(row, outlier, out.data());
    return true;
  }
  /// Class probabilities of one raw row into out[0 .. n_classes). noexcept,
  /// allocation-free; false for a regressor, an SVM, or a wrong length.
  bool predict_proba_row(std::span<const T> row, std::span<double> out) const noexcept {
    const auto* c = std::get_if<LinearClassifier<T>>(&model_);
    if (!c || !c->has_proba() || row.size() != features_.size() || out.size() < c->n_classes()) return false;
    std::array<double, max_outputs> s;
    bool outlier = false;
    (void)run(row, outlier, s.data());
    return c->proba_from_scores(s.data(), out.data());
  }
  /// Checked row prediction: never aborts. `outlier` (optional) is set when a step in
  /// flag mode saw a value outside its fences.
  predict_status try_predict(std::span<const T> row, T& out, bool* outlier = nullptr) const noexcept {
    if (row.size() != features_.size()) return predict_status::wrong_length;
    bool o = false;
    std::array<double, max_outputs> s;
    out = run(row, o, s.data());
    if (outlier) *outlier = o;
    return std::isfinite(out) ? predict_status::ok : predict_status::non_finite;
  }

  /// Predicts every row of a raw frame. Columns are matched by name (order and extra
  /// columns do not matter); a missing feature column is a schema_error. Produces the
  /// same bits as predict_row. A row that cannot be predicted (missing value with no
  /// imputer, infinite input) is a data_error naming the row, never a silent NaN.
  std::vector<T> predict(const DataFrame<T>& frame) const;
  /// Classifier scores of every row (rows x outputs; one column for two classes).
  Eigen::MatrixXd decision_function(const DataFrame<T>& frame) const;
  /// Class probabilities of every row (rows x n_classes, columns in classes() order);
  /// argument_error for a regressor or an SVM.
  Eigen::MatrixXd predict_proba(const DataFrame<T>& frame) const;
  /// Rows flagged by IQR steps in flag mode (all zero if none is in flag mode).
  std::vector<std::uint8_t> outlier_flags(const DataFrame<T>& frame) const;
  /// Predicts `frame` and scores against its target column (rows with a missing
  /// target are skipped).
  /// Regression pipelines only (argument_error for a classifier: see evaluate_classifier).
  RegressionMetrics evaluate(const DataFrame<T>& frame) const;
  /// Classifier pipelines: accuracy, precision/recall/F1, ROC AUC, log loss, confusion.
  ClassificationMetrics evaluate_classifier(const DataFrame<T>& frame) const;

  /// Writes the pipeline atomically (temporary file, fsync, rename, fsync directory).
  void save(const std::filesystem::path& path) const { detail::atomic_write_file(path, to_bytes()); }
  std::string to_bytes() const;
  /// Loads and validates a file written by save(); format_error on anything wrong.
  static FittedPipeline load(const std::filesystem::path& path) {
    return from_bytes(io::read_container_file(path), path.string());
  }
  static FittedPipeline from_bytes(std::string_view bytes, std::string_view source = "<memory>");

 private:
  template <scalar>
  friend class Pipeline;

  static constexpr std::uint32_t tag_schema = io::make_tag("SCHM");
  static constexpr std::uint32_t tag_steps = io::make_tag("STEP");
  static constexpr std::uint32_t tag_model = io::make_tag("MODL");
  static constexpr std::uint32_t tag_metrics = io::make_tag("METR");
  static constexpr std::uint32_t tag_report = io::make_tag("REPT");
  static constexpr std::uint32_t tag_profile = io::make_tag("DRFT");
  static constexpr std::uint32_t tag_inputs = io::make_tag("INPT");

  BaselineError make_baseline(std::span<const T> y, std::span<const T> pred, std::string source) const;
  void capture_profile(const DataFrame<T>& raw, std::span<const T> pred, std::size_t bins);

  /// The fused row path: every step's transformation, then the model, chunk by chunk on
  /// the stack. Regressor: returns the prediction. Classifier: fills s[0 .. outputs) with
  /// the scores and returns the label (NaN when a score is not finite).
  T run(std::span<const T> row, bool& outlier, double* s) const noexcept {
    if (program_.expands()) return run_expanded(row, outlier, s);
    std::array<T, chunk> buf;
    if (const auto* c = std::get_if<LinearClassifier<T>>(&model_)) {
      const std::size_t M = c->n_outputs();
      for (std::size_t k = 0; k < M; ++k) s[k] = static_cast<double>(c->intercept()(static_cast<Eigen::Index>(k)));
      for (std::size_t j0 = 0; j0 < row.size(); j0 += chunk) {
        const std::size_t m = (std::min)(chunk, row.size() - j0);
        for (std::size_t k = 0; k < m; ++k) buf[k] = row[j0 + k];
        outlier |= program_.run(std::span<T>(buf.data(), m), j0);
        c->accumulate(buf.data(), j0, m, s);
      }
      for (std::size_t k = 0; k < M; ++k)
        if (!std::isfinite(s[k])) return std::numeric_limits<T>::quiet_NaN();
      return c->label_from_scores(s);
    }
    const auto& lm = *std::get_if<LinearModel<T>>(&model_);
    T sum = 0;
    for (std::size_t j0 = 0; j0 < row.size(); j0 += chunk) {
      const std::size_t m = (std::min)(chunk, row.size() - j0);
      for (std::size_t k = 0; k < m; ++k) buf[k] = row[j0 + k];
      outlier |= program_.run(std::span<T>(buf.data(), m), j0);
      sum += lm.dot(buf.data(), j0, m);
    }
    s[0] = static_cast<double>(sum + lm.intercept());
    return sum + lm.intercept();
  }
  /// The row path of a pipeline whose steps change the row's width: the inputs are
  /// expanded into the whole design row (on the stack up to `wide_row` values; beyond, in
  /// a per-thread buffer made on that thread's first call), then the steps' operations and
  /// the model run over it.
  T run_expanded(std::span<const T> row, bool& outlier, double* s) const noexcept {
    const std::size_t n = program_.n_features;
    std::array<T, wide_row> small;
    T* buf = small.data();
    if (n > wide_row) {
      thread_local std::vector<T> big;
      if (big.size() < n) big.resize(n);
      buf = big.data();
    }
    program_.run_expand(row, buf);
    outlier |= program_.run(std::span<T>(buf, n), 0);
    if (const auto* c = std::get_if<LinearClassifier<T>>(&model_)) {
      const std::size_t M = c->n_outputs();
      for (std::size_t k = 0; k < M; ++k) s[k] = static_cast<double>(c->intercept()(static_cast<Eigen::Index>(k)));
      c->accumulate(buf, 0, n, s);
      for (std::size_t k = 0; k < M; ++k)
        if (!std::isfinite(s[k])) return std::numeric_limits<T>::quiet_NaN();
      return c->label_from_scores(s);
    }
    const auto& lm = *std::get_if<LinearModel<T>>(&model_);
    const T y = lm.dot(buf, 0, n) + lm.intercept();
    s[0] = static_cast<double>(y);
    return y;
  }
  /// Gathers each row of `frame` (columns bound by name) and runs the fused row path:
  /// fn(row index, row, prediction, outlier flag, scores).
  template <class Fn>
  void for_each_row(const DataFrame<T>& frame, Fn&& fn) const {
    const auto bound = bind(frame);
    const auto& cols = bound.columns;
    std::vector<T> row(features_.size());
    std::array<double, max_outputs> s;
    for (std::size_t r = 0; r < frame.rows(); ++r) {
      for (std::size_t j = 0; j < cols.size(); ++j) row[j] = cols[j][r];
      bool outlier = false;
      const T y = run(row, outlier, s.data());
      fn(r, row, y, outlier, s.data());
    }
  }
  /// fn(the rows of `frame` that have a target): the frame itself when none is missing.
  /// A text target is first mapped onto the class labels.
  template <class Fn>
  auto labelled(const DataFrame<T>& frame, Fn&& fn) const {
    if (frame.kind(target_) == column_kind::numeric) return labelled_numeric(frame, fn);
    const auto y = target_values(frame);
    auto f = frame;
    f.drop_inplace({target_});
    f.add_column(target_, std::span<const T>(y));
    return labelled_numeric(f, fn);
  }
  template <class Fn>
  auto labelled_numeric(const DataFrame<T>& frame, Fn&& fn) const {
    const auto y = frame.column(target_);
    if (std::none_of(y.begin(), y.end(), [](T v) { return std::isnan(v); })) return fn(frame);
    return fn(frame.filter(detail::present_mask(y)));
  }
  [[noreturn]] void explain_non_finite(const std::vector<T>& row, std::size_t r) const {
    for (std::size_t j = 0; j < row.size(); ++j)
      if (!std::isfinite(row[j]))
        MLOPS_THROW(data_error(errc::data_non_finite,
                               fmt::format("row {}: column '{}' is {} and the pipeline {}; impute or drop such rows first",
                                           r, features_[j], std::isnan(row[j]) ? "missing" : "infinite",
                                           std::isnan(row[j]) ? "has no imputer for it" : "cannot use infinite values")));
    MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("row {}: the prediction overflowed; check the input's scale", r)));
  }
  /// Builds the row program: when the steps change the row's width, an expansion stage
  /// (numeric inputs copied to their design place, encoded inputs expanded by their
  /// step) first; then every step's column operations over the design row.
  void compile();

  std::vector<std::string> features_;
  std::vector<column_kind> input_kinds_;               // per input
  std::vector<std::vector<std::string>> input_levels_;  // per input (categorical: its levels)
  std::vector<std::uint8_t> input_has_time_;           // per input (datetime: times present)
  std::vector<std::string> design_;                    // the model's columns
  std::vector<std::vector<std::uint32_t>> level_order_; // per input: level indices in byte order (level_code's search)
  std::vector<std::string> labels_;                     // class labels of a text target (empty: numeric)
  std::string target_;
  std::vector<FittedStep<T>> steps_;
  PipelineModel<T> model_;
  FitReport report_;
  std::map<std::string, double> metrics_;
  std::string created_at_;
  std::optional<DriftProfile> profile_;
  detail::row_program<T> program_;
};

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
Eigen::MatrixXd FittedPipeline<T>::decision_function(const DataFrame<T>& frame) const {
  const auto& c = classifier();
  Eigen::MatrixXd S(static_cast<Eigen::Index>(frame.rows()), static_cast<Eigen::Index>(c.n_outputs()));
  for_each_row(frame, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double* s) {
    if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
    for (Eigen::Index k = 0; k < S.cols(); ++k) S(static_cast<Eigen::Index>(r), k) = s[k];
  });
  return S;
}

template <scalar T>
Eigen::MatrixXd FittedPipeline<T>::predict_proba(const DataFrame<T>& frame) const {
  const auto& c = classifier();
  if (!c.has_proba())
    MLOPS_THROW(argument_error(errc::invalid_argument, "predict_proba: a hinge-loss (SVM) model has no probabilities; use decision_function"));
  Eigen::MatrixXd P(static_cast<Eigen::Index>(frame.rows()), static_cast<Eigen::Index>(c.n_classes()));
  std::array<double, max_outputs> p;
  for_each_row(frame, [&](std::size_t r, const std::vector<T>& row, T y, bool, const double* s) {
    if (MLOPS_UNLIKELY(!std::isfinite(y))) explain_non_finite(row, r);
    c.proba_from_scores(s, p.data());
    for (Eigen::Index k = 0; k < P.cols(); ++k) P(static_cast<Eigen::Index>(r), k) = p[static_cast<std::size_t>(k)];
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
  (void)model();
  return labelled(frame, [&](const DataFrame<T>& f) { return regression_metrics<T>(f.column(target_), predict(f)); });
}

template <scalar T>
ClassificationMetrics FittedPipeline<T>::evaluate_classifier(const DataFrame<T>& frame) const {
  const auto& c = classifier();
  return labelled(frame, [&](const DataFrame<T>& f) {
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
void FittedPipeline<T>::capture_profile(const DataFrame<T>& raw, std::span<const T> pred, std::size_t bins) {
  DriftProfile p;
  p.bins = bins;
  const auto in = bind(raw);
  for (std::size_t j = 0; j < features_.size(); ++j) p.features.push_back(FeatureProfile::capture<T>(features_[j], in.columns[j], bins));
  p.prediction = FeatureProfile::capture<T>("prediction", pred, bins);
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
  for (const auto& s : steps_) std::visit([&](const auto& f) { f.compile(ctx, program_); }, s);
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
  if (!estimator_)
    MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline::fit: no estimator set; call estimator(...) or pass one to fit"));
  return fit_estimator(*estimator_, train, target);
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit_estimator(const Estimator<T>& estimator, const DataFrame<T>& train, std::string_view target) const {
  return std::visit([&](const auto& e) { return fit_with(e, train, target); }, estimator);
}

template <scalar T>
FittedPipeline<T> Pipeline<T>::fit_prepared(DataFrame<T> frame, const std::vector<std::string>& features, std::string_view target) const {
  if (!estimator_)
    MLOPS_THROW(argument_error(errc::invalid_argument, "Pipeline: no estimator set; call estimator(...) first"));
  const std::size_t n = frame.rows();
  return std::visit([&](const auto& e) { return fit_prepared(e, std::move(frame), features, target, n, 0); }, *estimator_);
}

template <scalar T>
template <trainer<T> E>
FittedPipeline<T> Pipeline<T>::fit_with(const E& estimator, const DataFrame<T>& train, std::string_view target) const {
  if (train.kind(target) == column_kind::categorical) {  // a text classification target: classes are label indices
    if constexpr (std::same_as<decltype(estimator.fit(train, std::vector<std::string>{}, target)), LinearClassifier<T>>) {
      auto numeric = train;
      auto labels = encode_labels(numeric, target);
      auto fp = fit_with(estimator, numeric, target);
      fp.set_class_labels(std::move(labels));
      return fp;
    } else {
      MLOPS_THROW(schema_error(errc::schema_column_type, fmt::format("target '{}' is text: a regressor needs numbers (use a classifier, "
                                                                     "or read the column as numeric)", target)));
    }
  }
  const std::size_t ti = train.index_of(target);
  const auto features = resolve_features(train, target);
  // Rows without a target are dropped (and counted); the fit works on a copy of the
  // labelled rows holding only features + target, the training metrics on the raw rows.
  const DataFrame<T> labelled = train.filter(detail::present_mask(train.column(ti)));
  auto cols = features;
  cols.emplace_back(target);
  FittedPipeline<T> fp = fit_prepared(estimator, labelled.select(cols), features, target, train.rows(), train.rows() - labelled.rows());
  // Training metrics: the whole pipeline on the raw training rows that had a target.
  // The drift profile: those raw rows, the predictions on them, the training error.
  if (fp.is_classifier()) {
    fp.set_metrics("train", fp.evaluate_classifier(labelled));
    if (profile_bins_ > 0) fp.capture_profile(labelled, fp.predict(labelled), profile_bins_);
  } else {
    const auto pred = fp.predict(labelled);
    fp.set_metrics("train", regression_metrics<T>(labelled.column(target), pred));
    if (profile_bins_ > 0) fp.capture_profile(labelled, pred, profile_bins_);
  }
  return fp;
}

template <scalar T>
template <trainer<T> E>
FittedPipeline<T> Pipeline<T>::fit_prepared(const E& estimator, DataFrame<T> frame, const std::vector<std::string>& features,
                                            std::string_view target, std::size_t rows_in, std::size_t rows_missing_target) const {
  FittedPipeline<T> fp;
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
  detail::design_layout layout(std::move(cols));
  fp.report_.rows_in = rows_in;
  fp.report_.rows_missing_target = rows_missing_target;
  if (frame.rows() == 0)
    MLOPS_THROW(data_error(errc::data_empty, fmt::format("no training rows with a value in target '{}'", target)));

  for (const auto& step : steps_) {
    const std::size_t before = frame.rows();
    FittedStep<T> fitted = std::visit([&](const auto& s) -> FittedStep<T> { return s.fit_step(frame, layout, target); }, step);
    fp.report_.steps.push_back({std::string(step_name<T>(fitted)), before, frame.rows()});
    if (frame.rows() == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("step '{}' removed every training row; loosen it (e.g. a larger IQR k)",
                                                           step_name<T>(fitted))));
    fp.steps_.push_back(std::move(fitted));
  }
  fp.report_.rows_used = frame.rows();
  // What reaches the model must be numbers: name each column no step encoded, and how.
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
  fp.model_ = estimator.fit(frame, fp.design_, target);
  fp.compile();
  const auto now = std::chrono::system_clock::now();
  fp.created_at_ = fmt::format("{}", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  return fp;
}

template <scalar T>
std::string FittedPipeline<T>::to_bytes() const {
  io::container_writer c(sizeof(T));
  {
    detail::byte_writer w;
    w.put_string(target_);
    w.put(static_cast<std::uint64_t>(features_.size()));
    for (const auto& f : features_) w.put_string(f);
    w.put_string(created_at_);
    c.add(tag_schema, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(steps_.size()));
    for (const auto& s : steps_) {
      std::visit(
          [&](const auto& f) {
            w.put(static_cast<std::uint8_t>(std::decay_t<decltype(f)>::tag));
            f.save(w);
          },
          s);
    }
    c.add(tag_steps, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    std::visit(
        [&](const auto& m) {
          w.put(static_cast<std::uint8_t>(std::decay_t<decltype(m)>::tag));
          m.save(w);
        },
        model_);
    c.add(tag_model, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(metrics_.size()));
    for (const auto& [k, v] : metrics_) {
      w.put_string(k);
      w.put(v);
    }
    c.add(tag_metrics, std::move(w.buffer()), false);
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(report_.rows_in));
    w.put(static_cast<std::uint64_t>(report_.rows_missing_target));
    w.put(static_cast<std::uint64_t>(report_.rows_used));
    w.put(static_cast<std::uint64_t>(report_.steps.size()));
    for (const auto& s : report_.steps) {
      w.put_string(s.step);
      w.put(static_cast<std::uint64_t>(s.rows_in));
      w.put(static_cast<std::uint64_t>(s.rows_out));
    }
    c.add(tag_report, std::move(w.buffer()), false);
  }
  const bool typed = design_ != features_ || !labels_.empty() ||
                     std::any_of(input_kinds_.begin(), input_kinds_.end(), [](column_kind k) { return k != column_kind::numeric; });
  if (typed) {  // format 1.2: input kinds, levels and the model's columns (required: an older reader refuses the file)
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(features_.size()));
    for (std::size_t j = 0; j < features_.size(); ++j) {
      w.put(static_cast<std::uint8_t>(input_kinds_[j]));
      if (input_kinds_[j] == column_kind::categorical) detail::save_strings(w, input_levels_[j]);
      if (input_kinds_[j] == column_kind::datetime) w.put(input_has_time_[j]);
    }
    detail::save_strings(w, design_);
    detail::save_strings(w, labels_);
    c.add(tag_inputs, std::move(w.buffer()));
  }
  if (profile_) {
    detail::byte_writer w;
    profile_->save(w);
    c.add(tag_profile, std::move(w.buffer()), false);  // optional: a 1.0 reader skips it
  }
  return c.bytes();
}

template <scalar T>
FittedPipeline<T> FittedPipeline<T>::from_bytes(std::string_view bytes, std::string_view source) {
  static constexpr std::uint32_t known[] = {tag_schema, tag_steps, tag_model, tag_metrics, tag_report, tag_profile, tag_inputs};
  const io::container c = io::parse_container(bytes, sizeof(T), source, known);
  FittedPipeline fp;
  auto done = [&](detail::byte_reader& r) {
    if (!r.at_end()) r.corrupt(fmt::format("{} unexpected bytes at the end of the section", r.remaining()));
  };
  {
    detail::byte_reader r(c.get(tag_schema, source), "schema section");
    fp.target_ = r.get_string();
    const std::size_t n = r.get_count(8);
    for (std::size_t i = 0; i < n; ++i) fp.features_.push_back(r.get_string());
    fp.created_at_ = r.get_string();
    done(r);
  }
  fp.input_kinds_.assign(fp.features_.size(), column_kind::numeric);
  fp.input_levels_.assign(fp.features_.size(), {});
  fp.input_has_time_.assign(fp.features_.size(), 0);
  fp.design_ = fp.features_;
  if (c.has(tag_inputs)) {
    detail::byte_reader r(c.get(tag_inputs, source), "inputs section");
    if (r.get_count(1) != fp.features_.size()) r.corrupt("the inputs section does not match the schema's feature count");
    for (std::size_t j = 0; j < fp.features_.size(); ++j) {
      const auto k = r.get<std::uint8_t>();
      if (k > 2) r.corrupt("unknown column kind " + std::to_string(k));
      fp.input_kinds_[j] = static_cast<column_kind>(k);
      if (fp.input_kinds_[j] == column_kind::categorical) {
        fp.input_levels_[j] = detail::load_strings(r);
        std::vector<std::string> sorted = fp.input_levels_[j];
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) r.corrupt("a categorical input repeats a level");
      }
      if (fp.input_kinds_[j] == column_kind::datetime) {
        const auto t = r.get<std::uint8_t>();
        if (t > 1) r.corrupt("a datetime input's time flag must be 0 or 1");
        fp.input_has_time_[j] = t;
      }
    }
    fp.design_ = detail::load_strings(r);
    fp.labels_ = detail::load_strings(r);
    done(r);
  }
  {
    detail::byte_reader r(c.get(tag_steps, source), "steps section");
    const std::size_t n = r.get_count(1);
    for (std::size_t i = 0; i < n; ++i) {
      const auto kind = r.get<std::uint8_t>();
      auto step = detail::load_step<T>(kind, r);
      if (!step) r.corrupt("unknown step kind " + std::to_string(kind));
      fp.steps_.push_back(std::move(*step));
    }
    done(r);
  }
  {
    detail::byte_reader r(c.get(tag_model, source), "model section");
    const auto kind = r.get<std::uint8_t>();
    const bool known_kind = detail::any_of_types(model_types<T>{}, [&]<class M>(M*) {
      if (M::tag != kind) return false;
      fp.model_ = M::load(r);
      return true;
    });
    if (!known_kind) r.corrupt("unknown model kind " + std::to_string(kind));
    done(r);
  }
  if (c.has(tag_metrics)) {
    detail::byte_reader r(c.get(tag_metrics, source), "metrics section");
    const std::size_t n = r.get_count(16);
    for (std::size_t i = 0; i < n; ++i) {
      auto k = r.get_string();
      fp.metrics_[k] = r.get<double>();
    }
    done(r);
  }
  if (c.has(tag_report)) {
    detail::byte_reader r(c.get(tag_report, source), "report section");
    fp.report_.rows_in = static_cast<std::size_t>(r.get<std::uint64_t>());
    fp.report_.rows_missing_target = static_cast<std::size_t>(r.get<std::uint64_t>());
    fp.report_.rows_used = static_cast<std::size_t>(r.get<std::uint64_t>());
    const std::size_t n = r.get_count(24);
    for (std::size_t i = 0; i < n; ++i) {
      FitReport::step_rows s;
      s.step = r.get_string();
      s.rows_in = static_cast<std::size_t>(r.get<std::uint64_t>());
      s.rows_out = static_cast<std::size_t>(r.get<std::uint64_t>());
      fp.report_.steps.push_back(std::move(s));
    }
    done(r);
  }
  if (c.has(tag_profile)) {
    detail::byte_reader r(c.get(tag_profile, source), "drift profile section");
    fp.profile_ = DriftProfile::load(r);
    done(r);
    bool match = fp.profile_->features.size() == fp.features_.size();
    for (std::size_t j = 0; match && j < fp.features_.size(); ++j) match = fp.profile_->features[j].name == fp.features_[j];
    if (!match)
      MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: the drift profile's features do not match the schema", source)));
  }
  // Every step column must be an input or a model column, and the model width must
  // match the schema.
  for (const auto& st : fp.steps_) {
    const auto& cols = std::visit([](const auto& f) -> const std::vector<std::string>& { return f.columns(); }, st);
    for (const auto& name : cols)
      if (std::find(fp.features_.begin(), fp.features_.end(), name) == fp.features_.end() &&
          std::find(fp.design_.begin(), fp.design_.end(), name) == fp.design_.end())
        MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: step '{}' names column '{}', which is not in the schema",
                                                                   source, step_name<T>(st), name)));
  }
  fp.compile();
  if (!fp.labels_.empty()) {
    if (!fp.is_classifier()) MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: class labels on a regressor", source)));
    auto labels = fp.labels_;
    fp.set_class_labels(std::move(labels));
  }
  return fp;
}

// The compiled mode holds these (src/pipeline.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class Pipeline)
MLOPS_EXTERN_TEMPLATE_FD(class FittedPipeline)

MLOPS_NAMESPACE_END
