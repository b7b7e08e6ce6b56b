// mlops/pipeline/fitted.hpp - FittedPipeline<T>: what fit() makes and load() reads. Its
// row path (predict_row and friends: noexcept, no allocation) is inline here; the batch
// paths, evaluation, the metrics store and the drift profile are in pipeline/batch.hpp,
// the file format in pipeline/format.hpp (both compiled once in the compiled mode).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/datetime.hpp"
#include "mlops/detail/row_program.hpp"
#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/io/container.hpp"
#include "mlops/monitor/drift.hpp"
#include "mlops/pipeline/builder.hpp"
#include "mlops/pipeline/estimators.hpp"
#include "mlops/pipeline/rows.hpp"
#include "mlops/prep/step.hpp"

MLOPS_NAMESPACE_BEGIN

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
  /// The levels of a frame's categorical input that training never saw (the row
  /// program encodes them as no level: every indicator 0, the ordinal encoder's
  /// unknown_value).
  struct unseen_levels_report {
    std::string column;
    std::size_t rows = 0;                                   // rows holding such a level
    std::vector<std::pair<std::string, std::size_t>> levels;  // each unseen level and its rows, most rows first
  };
  /// Per categorical input of `frame` (matched by name, as predict does) that holds levels
  /// not seen in training: which, and in how many rows. Empty when every level is known.
  std::vector<unseen_levels_report> unseen_levels(const DataFrame<T>& frame) const;
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
    return detail::visit_inline(model_, [](const auto& m) -> bool { return std::decay_t<decltype(m)>::is_classifier; });
  }
  /// The linear regression model; argument_error when the pipeline holds another model
  /// (see model_if).
  const LinearModel<T>& model() const {
    if (const auto* m = std::get_if<LinearModel<T>>(&model_)) return *m;
    MLOPS_THROW(argument_error(errc::invalid_argument, is_classifier() ? "this pipeline holds a classifier; use classifier() or model_if"
                                                                       : "this pipeline holds another regression model; use model_if"));
  }
  /// The linear classifier; argument_error when the pipeline holds another model (see
  /// model_if; classes(), has_proba() and the classifier calls below hold for any classifier).
  const LinearClassifier<T>& classifier() const {
    if (const auto* m = std::get_if<LinearClassifier<T>>(&model_)) return *m;
    MLOPS_THROW(argument_error(errc::invalid_argument, is_classifier() ? "this pipeline holds another classifier; use model_if"
                                                                       : "this pipeline holds a regressor; use model()"));
  }
  /// The model as an M (one of model_types<T>), or nullptr when it is another.
  template <class M>
  const M* model_if() const noexcept {
    return std::get_if<M>(&model_);
  }
  /// A classifier's class labels, sorted (empty for a regressor).
  std::span<const T> classes() const noexcept {
    return detail::visit_inline(model_, [](const auto& m) -> std::span<const T> {
      if constexpr (std::decay_t<decltype(m)>::is_classifier) return std::span<const T>(m.classes());
      else return {};
    });
  }
  std::size_t n_classes() const noexcept { return classes().size(); }
  /// Scores per row (decision_row, decision_function): 1 for a regressor and a binary
  /// linear classifier, else one per class.
  std::size_t n_outputs() const noexcept {
    return detail::visit_inline(model_, [](const auto& m) -> std::size_t { return m.n_outputs(); });
  }
  /// true for a classifier with class probabilities (not the SVM).
  bool has_proba() const noexcept {
    return detail::visit_inline(model_, [](const auto& m) -> bool {
      if constexpr (std::decay_t<decltype(m)>::is_classifier) return m.has_proba();
      else return false;
    });
  }
  /// A classifier's binary decision threshold (NaN for a regressor).
  double threshold() const noexcept {
    return detail::visit_inline(model_, [](const auto& m) -> double {
      if constexpr (std::decay_t<decltype(m)>::is_classifier) return m.threshold();
      else return std::numeric_limits<double>::quiet_NaN();
    });
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
    if (!is_classifier()) MLOPS_THROW(argument_error(errc::invalid_argument, "set_class_labels: this pipeline holds a regressor"));
    for (const double k : classes())
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
    std::visit(
        [&](auto& m) {
          if constexpr (std::decay_t<decltype(m)>::is_classifier) m.set_threshold(t);
          else MLOPS_THROW(argument_error(errc::invalid_argument, "set_threshold: this pipeline holds a regressor"));
        },
        model_);
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
  /// What fitted the model: the trainer's name (its type's `name`) and its parameters
  /// (replayable through set_param). Empty when read from a file that predates them.
  const std::string& trainer_name() const noexcept { return trainer_; }
  const param_list& trainer_params() const noexcept { return trainer_params_; }
  /// Notes carried from the builder (Pipeline::note; auto_pipeline's choices under
  /// "auto.<column>") or added here; saved in the file and shown in the card.
  const std::map<std::string, std::string>& notes() const noexcept { return notes_; }
  void set_note(std::string key, std::string text) { notes_[std::move(key)] = std::move(text); }

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
    if (!is_classifier() || row.size() != features_.size() || out.size() < n_outputs()) return false;
    bool outlier = false;
    (void)run(row, outlier, out.data());
    return true;
  }
  /// Class probabilities of one raw row into out[0 .. n_classes). noexcept,
  /// allocation-free; false for a regressor, an SVM, or a wrong length.
  bool predict_proba_row(std::span<const T> row, std::span<double> out) const noexcept {
    if (!has_proba() || row.size() != features_.size() || out.size() < n_classes()) return false;
    std::array<double, max_outputs> s;
    bool outlier = false;
    (void)run(row, outlier, s.data());
    return detail::visit_inline(model_, [&](const auto& m) -> bool {
      if constexpr (std::decay_t<decltype(m)>::is_classifier) return m.proba_from_scores(s.data(), out.data());
      else return false;
    });
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
  /// The same for `rows` of `frame` (indices into it, any order; out of range: argument_error),
  /// read in place: prediction i is row rows[i]'s. No copy of the rows is made.
  std::vector<T> predict(const DataFrame<T>& frame, std::span<const std::size_t> rows) const;
  /// predict(frame) on `threads` threads (0: one per hardware thread): the rows in fixed
  /// blocks, the same bits and the same error (the lowest bad row's) for any count.
  std::vector<T> predict_parallel(const DataFrame<T>& frame, std::size_t threads) const;
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
  static constexpr std::uint32_t tag_trainer = io::make_tag("TRNR");
  static constexpr std::uint32_t tag_notes = io::make_tag("NOTE");

  /// fn(the classifier model); argument_error naming `who` for a regressor.
  template <class Fn>
  void with_classifier(std::string_view who, Fn&& fn) const {
    std::visit(
        [&](const auto& m) {
          if constexpr (std::decay_t<decltype(m)>::is_classifier) fn(m);
          else MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{}: this pipeline holds a regressor", who)));
        },
        model_);
  }
  BaselineError make_baseline(std::span<const T> y, std::span<const T> pred, std::string source) const;
  void capture_profile(const DataFrame<T>& raw, std::span<const T> pred, std::size_t bins, std::size_t threads);

  /// The fused row path: every step's transformation, then the model's row kernel (each
  /// model of the model list has predict_design; those with chunked_rows also
  /// predict_chunks). Without expanding steps and with a chunked model, the row runs
  /// chunk by chunk on the stack. Regressor: returns the prediction (also in s[0]).
  /// Classifier: fills s[0 .. outputs) with the scores and returns the label (NaN when a
  /// score is not finite).
  T run(std::span<const T> row, bool& outlier, double* s) const noexcept {
    return detail::visit_inline(
        model_,
        [&](const auto& m) -> T {
          if constexpr (std::decay_t<decltype(m)>::chunked_rows) {
            if (!program_.expands())
              return m.template predict_chunks<chunk>(
                  row.size(),
                  [&](T* buf, std::size_t j0, std::size_t k) noexcept {
                    for (std::size_t i = 0; i < k; ++i) buf[i] = row[j0 + i];
                    outlier |= program_.run(std::span<T>(buf, k), j0);
                  },
                  s);
          }
          return run_design(row, outlier, s, m);
        });
  }
  /// The row path over the whole design row: the inputs are expanded (or copied) into it
  /// (on the stack up to `wide_row` values; beyond, in a per-thread buffer made on that
  /// thread's first call), then the steps' operations and the model run over it.
  template <class M>
  T run_design(std::span<const T> row, bool& outlier, double* s, const M& m) const noexcept {
    const std::size_t n = program_.expands() ? program_.n_features : row.size();
    std::array<T, wide_row> small;
    T* buf = small.data();
    if (n > wide_row) {
      thread_local std::vector<T> big;
      if (big.size() < n) big.resize(n);
      buf = big.data();
    }
    if (program_.expands()) program_.run_expand(row, buf);
    else std::copy(row.begin(), row.end(), buf);
    outlier |= program_.run(std::span<T>(buf, n), 0);
    return m.predict_design(buf, s);
  }
  /// Gathers each row of `frame` (columns bound by name) and runs the fused row path:
  /// fn(row index, row, prediction, outlier flag, scores).
  template <class Fn>
  void for_each_row(const DataFrame<T>& frame, Fn&& fn) const {
    for_each_row_at(frame, frame.rows(), [](std::size_t i) { return i; }, fn);
  }
  /// The same over `count` rows, the i-th being row at(i) of `frame`: fn(i, ...).
  template <class At, class Fn>
  void for_each_row_at(const DataFrame<T>& frame, std::size_t count, At at, Fn&& fn) const {
    const auto bound = bind(frame);
    const auto& cols = bound.columns;
    std::vector<T> row(features_.size());
    std::array<double, max_outputs> s;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t r = at(i);
      for (std::size_t j = 0; j < cols.size(); ++j) row[j] = cols[j][r];
      bool outlier = false;
      const T y = run(row, outlier, s.data());
      fn(i, row, y, outlier, s.data());
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
  std::string trainer_;
  param_list trainer_params_;
  std::map<std::string, std::string> notes_;
  std::optional<DriftProfile> profile_;
  detail::row_program<T> program_;
};

MLOPS_NAMESPACE_END
