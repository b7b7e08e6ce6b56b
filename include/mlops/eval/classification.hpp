// mlops/eval/classification.hpp - classification metrics with scikit-learn's definitions.
//
// accuracy_score, confusion_matrix, precision_recall_f1 (binary, macro, micro, weighted;
// zero division gives 0, as scikit-learn's default after its warning), roc_auc_score
// (exact: the Mann-Whitney statistic with average ranks for ties, which equals
// scikit-learn's trapezoidal ROC area with tied scores), log_loss (probabilities clipped
// to [eps, 1 - eps] and renormalised, eps = double epsilon) and brier_score.
// classification_metrics() computes the usual set at once; the result prints as a table
// (fmt::formatter) and undefined values are empty optionals (never NaN).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mlops/error.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/fwd.hpp"

MLOPS_NAMESPACE_BEGIN

enum class averaging : std::uint8_t { binary, macro, micro, weighted };

struct PrecisionRecallF1 {
  double precision = 0, recall = 0, f1 = 0;
};

namespace detail {
MLOPS_FUNC void check_pair(std::string_view who, std::size_t a, std::size_t b);
template <class T>
std::size_t label_index(std::span<const T> labels, T v) {
  const auto it = std::lower_bound(labels.begin(), labels.end(), v);
  if (it == labels.end() || *it != v)
    MLOPS_THROW(data_error(errc::data_labels, fmt::format("label {} is not one of {}", v, fmt::join(labels, ", "))));
  return static_cast<std::size_t>(it - labels.begin());
}
inline double safe_div(double a, double b) noexcept { return b == 0 ? 0.0 : a / b; }
}  // namespace detail

/// Sorted distinct values of both label vectors.
template <class T>
std::vector<T> unique_labels(std::span<const T> a, std::span<const T> b = {}) {
  std::vector<T> l(a.begin(), a.end());
  l.insert(l.end(), b.begin(), b.end());
  std::sort(l.begin(), l.end());
  l.erase(std::unique(l.begin(), l.end()), l.end());
  return l;
}

template <class T>
double accuracy_score(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair("accuracy_score", y_true.size(), y_pred.size());
  std::size_t hit = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) hit += y_true[i] == y_pred[i];
  return static_cast<double>(hit) / static_cast<double>(y_true.size());
}

/// C[i][j] = rows of true label labels[i] predicted as labels[j] (labels sorted).
template <class T>
std::vector<std::vector<std::size_t>> confusion_matrix(std::span<const T> y_true, std::span<const T> y_pred, std::span<const T> labels) {
  detail::check_pair("confusion_matrix", y_true.size(), y_pred.size());
  std::vector<std::vector<std::size_t>> c(labels.size(), std::vector<std::size_t>(labels.size(), 0));
  for (std::size_t i = 0; i < y_true.size(); ++i) ++c[detail::label_index(labels, y_true[i])][detail::label_index(labels, y_pred[i])];
  return c;
}

/// Precision, recall and F1 from a confusion matrix C[true][pred]; pos: the positive
/// label's index for averaging::binary (K = none: all zero).
MLOPS_FUNC PrecisionRecallF1 precision_recall_f1_from_confusion(const std::vector<std::vector<std::size_t>>& c, averaging avg,
                                                            std::size_t pos);
/// Mean recall over the labels present in y_true (rows of the confusion matrix with support).
MLOPS_FUNC double balanced_accuracy_from_confusion(const std::vector<std::vector<std::size_t>>& c);

/// Precision, recall and F1. binary: of pos_label; macro: unweighted mean over labels;
/// micro: from the pooled counts; weighted: mean weighted by each label's support.
template <class T>
PrecisionRecallF1 precision_recall_f1(std::span<const T> y_true, std::span<const T> y_pred, averaging avg, T pos_label = T(1),
                                      std::span<const T> labels = {}) {
  const std::vector<T> l = labels.empty() ? unique_labels(y_true, y_pred) : std::vector<T>(labels.begin(), labels.end());
  const auto c = confusion_matrix<T>(y_true, y_pred, l);
  const auto it = std::lower_bound(l.begin(), l.end(), pos_label);
  const std::size_t pos = it != l.end() && *it == pos_label ? static_cast<std::size_t>(it - l.begin()) : l.size();
  return precision_recall_f1_from_confusion(c, avg, pos);
}

/// Exact ROC AUC of scores for the positive class; ties get average ranks. nullopt when
/// y_true holds only positives or only negatives (scikit-learn raises there).
template <class T>
std::optional<double> roc_auc_score(std::span<const T> y_true, std::span<const double> scores, T pos_label = T(1)) {
  detail::check_pair("roc_auc_score", y_true.size(), scores.size());
  const std::size_t n = scores.size();
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  for (const double s : scores)
    if (!std::isfinite(s)) MLOPS_THROW(data_error(errc::data_non_finite, "roc_auc_score: a score is NaN or infinite"));
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, npos = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[idx[j]] == scores[idx[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (std::size_t k = i; k < j; ++k)
      if (y_true[idx[k]] == pos_label) rank_sum += avg_rank, npos += 1;
    i = j;
  }
  const double nneg = static_cast<double>(n) - npos;
  if (npos == 0 || nneg == 0) return std::nullopt;
  return (rank_sum - npos * (npos + 1) / 2) / (npos * nneg);
}

/// Mean negative log-likelihood of the true classes; proba is n x labels.size().
template <class T>
double log_loss(std::span<const T> y_true, const Eigen::Ref<const Eigen::MatrixXd>& proba, std::span<const T> labels) {
  detail::check_pair("log_loss", y_true.size(), static_cast<std::size_t>(proba.rows()));
  if (static_cast<std::size_t>(proba.cols()) != labels.size())
    MLOPS_THROW(data_error(errc::data_shape, "log_loss: one probability column per label is needed"));
  constexpr double eps = 2.220446049250313e-16;
  double s = 0;
  for (Eigen::Index i = 0; i < proba.rows(); ++i) {
    const double z = proba.row(i).array().max(eps).min(1 - eps).sum();
    const double p = std::clamp(proba(i, static_cast<Eigen::Index>(detail::label_index(labels, y_true[static_cast<std::size_t>(i)]))), eps, 1 - eps);
    s -= std::log(p / z);
  }
  return s / static_cast<double>(proba.rows());
}

/// Mean squared difference between P(pos_label) and the 0/1 outcome.
template <class T>
double brier_score(std::span<const T> y_true, std::span<const double> p_pos, T pos_label = T(1)) {
  detail::check_pair("brier_score", y_true.size(), p_pos.size());
  double s = 0;
  for (std::size_t i = 0; i < p_pos.size(); ++i) {
    const double o = y_true[i] == pos_label ? 1.0 : 0.0;
    s += (p_pos[i] - o) * (p_pos[i] - o);
  }
  return s / static_cast<double>(p_pos.size());
}

struct ClassificationMetrics {
  std::size_t n = 0;
  std::vector<double> labels;        // sorted labels the counts refer to
  double accuracy = 0, balanced_accuracy = 0;
  /// Binary: of the larger label (the positive class); multiclass: macro averages.
  double precision = 0, recall = 0, f1 = 0;
  double f1_macro = 0, f1_micro = 0, f1_weighted = 0;
  std::optional<double> roc_auc;     // binary; multiclass: macro one-vs-rest; none if undefined
  std::optional<double> log_loss;    // with probabilities
  std::optional<double> brier;       // binary with probabilities
  std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
  /// The labels' names, in `labels` order, when the classes are texts (a text target:
  /// FittedPipeline::evaluate_classifier fills them); empty: the labels are the numbers.
  std::vector<std::string> label_names;
  /// How reports name label i: its text, or the number.
  std::string label_text(std::size_t i) const {
    return i < label_names.size() ? label_names[i] : fmt::format("{:g}", labels[i]);
  }
};

MLOPS_FUNC std::optional<double> metric_value(const ClassificationMetrics& m, std::string_view name);


namespace detail {
/// Everything that follows from m.confusion (rows: true, columns: predicted): accuracy,
/// balanced accuracy, precision/recall/F1 (binary: of label index pos; else macro) and
/// the F1 averages. Shared by the batch and the streaming paths.
MLOPS_FUNC void summarise_confusion(ClassificationMetrics& m, bool binary, std::size_t pos);
}  // namespace detail

/// The usual set at once. classes: the model's labels (sorted); scores: n x outputs
/// decision values (one column for two classes); proba: n x classes or empty.
template <class T>
ClassificationMetrics classification_metrics(std::span<const T> y_true, std::span<const T> y_pred, std::span<const T> classes,
                                             const Eigen::MatrixXd& scores, const Eigen::MatrixXd& proba) {
  ClassificationMetrics m;
  m.n = y_true.size();
  std::vector<T> labels = unique_labels(y_true, y_pred);
  {
    std::vector<T> all = unique_labels(std::span<const T>(labels), classes);
    labels = std::move(all);
  }
  m.labels.assign(labels.begin(), labels.end());
  m.confusion = confusion_matrix<T>(y_true, y_pred, labels);  // the one pass over the labels
  const bool binary = classes.size() == 2;
  const T pos = classes.empty() ? T(1) : classes.back();
  detail::summarise_confusion(m, binary, static_cast<std::size_t>(std::lower_bound(labels.begin(), labels.end(), pos) - labels.begin()));
  const bool have_proba = proba.size() > 0;
  const Eigen::MatrixXd& S = have_proba ? proba : scores;
  if (S.rows() == static_cast<Eigen::Index>(m.n) && S.size() > 0) {
    std::vector<double> col(m.n);
    if (binary) {
      const Eigen::Index c = S.cols() == 2 ? 1 : 0;
      for (std::size_t i = 0; i < m.n; ++i) col[i] = S(static_cast<Eigen::Index>(i), c);
      m.roc_auc = roc_auc_score<T>(y_true, col, pos);
    } else if (static_cast<std::size_t>(S.cols()) == classes.size()) {
      double s = 0;
      bool ok = true;
      for (std::size_t k = 0; k < classes.size() && ok; ++k) {
        for (std::size_t i = 0; i < m.n; ++i) col[i] = S(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
        const auto a = roc_auc_score<T>(y_true, col, classes[k]);
        if (a) s += *a;
        else ok = false;
      }
      if (ok) m.roc_auc = s / static_cast<double>(classes.size());
    }
  }
  if (have_proba) {
    bool known = true;
    for (const T v : y_true) known = known && std::binary_search(classes.begin(), classes.end(), v);
    if (known) m.log_loss = log_loss<T>(y_true, proba, classes);
    if (binary) {
      std::vector<double> p(m.n);
      for (std::size_t i = 0; i < m.n; ++i) p[i] = proba(static_cast<Eigen::Index>(i), 1);
      m.brier = brier_score<T>(y_true, p, pos);
    }
  }
  return m;
}

/// Streaming, mergeable classification metrics over a fixed label set: the confusion
/// matrix, log-loss and Brier sums are exact; ROC AUC comes from a fixed-memory histogram
/// of probabilities (`bins` per class, scores clamped to [0, 1]) and is reported with its
/// error bound: rows of opposite classes that share a bin count as ties (1/2), so
/// |AUC_hist - AUC_exact| <= auc_error_bound() = (1/2) sum_b pos_b neg_b / (P N)
/// (for multiclass, the one-vs-rest macro mean of the per-class bounds).
/// No allocation after construction; `add` is noexcept.
class ClassificationAccumulator {
 public:
  explicit ClassificationAccumulator(std::vector<double> classes, std::size_t bins = 1024) : classes_(std::move(classes)), bins_(bins) {
    if (classes_.size() < 2 || !std::is_sorted(classes_.begin(), classes_.end()) ||
        std::adjacent_find(classes_.begin(), classes_.end()) != classes_.end() || bins_ == 0)
      MLOPS_THROW(argument_error(errc::invalid_argument, "ClassificationAccumulator: need >= 2 sorted distinct classes and bins > 0"));
    const std::size_t K = classes_.size();
    confusion_.assign(K, std::vector<std::size_t>(K, 0));
    hist_.assign(K * 2 * bins_, 0);  // per class: [negatives | positives] histograms of P(class)
  }
  const std::vector<double>& classes() const noexcept { return classes_; }
  std::size_t count() const noexcept { return n_; }

  /// One row: labels, and optionally the class probabilities (classes().size() values).
  /// false (nothing counted) when a label is not one of classes().
  bool add(double y_true, double y_pred, const double* proba = nullptr) noexcept {
    const std::size_t t = index(y_true), p = index(y_pred), K = classes_.size();
    if (t >= K || p >= K) return false;
    ++confusion_[t][p];
    ++n_;
    if (proba) {
      ++n_proba_;
      constexpr double eps = 2.220446049250313e-16;
      double z = 0;
      for (std::size_t k = 0; k < K; ++k) z += std::clamp(proba[k], eps, 1 - eps);
      log_loss_ -= std::log(std::clamp(proba[t], eps, 1 - eps) / z);
      const double o = t == K - 1 ? 1.0 : 0.0;
      brier_ += (proba[K - 1] - o) * (proba[K - 1] - o);
      for (std::size_t k = 0; k < K; ++k) {
        const double q = std::clamp(proba[k], 0.0, 1.0);
        const auto b = (std::min)(bins_ - 1, static_cast<std::size_t>(q * static_cast<double>(bins_)));
        ++hist_[(k * 2 + (k == t ? 1 : 0)) * bins_ + b];
      }
    }
    return true;
  }
  /// One row of a model without probabilities (LinearSVM): labels and the decision
  /// scores (1 value for two classes: the score of classes()[1]; else one per class).
  /// ROC AUC depends only on the order of the scores, so each score enters the histogram
  /// through the logistic function (order-preserving onto [0, 1]); the stated error bound
  /// holds as for probabilities, and grows when scores crowd into few bins (large |score|).
  /// Log loss and Brier stay undefined for such rows; feed one accumulator either
  /// probabilities or scores, not both (their histograms are not on one scale).
  /// false when a label is unknown or
  /// the score count does not fit.
  bool add_scores(double y_true, double y_pred, const double* scores, std::size_t m) noexcept {
    const std::size_t t = index(y_true), p = index(y_pred), K = classes_.size();
    if (t >= K || p >= K || !(m == K || (K == 2 && m == 1))) return false;
    ++confusion_[t][p];
    ++n_;
    ++n_scored_;
    for (std::size_t k = 0; k < K; ++k) {
      double q;
      if (m == 1) {
        const double s1 = 1.0 / (1.0 + std::exp(-scores[0]));
        q = k == 1 ? s1 : 1.0 - s1;
      } else {
        q = 1.0 / (1.0 + std::exp(-scores[k]));
      }
      if (!(q >= 0)) q = 0;  // a NaN score counts in the lowest bin
      const auto b = (std::min)(bins_ - 1, static_cast<std::size_t>(q * static_cast<double>(bins_)));
      ++hist_[(k * 2 + (k == t ? 1 : 0)) * bins_ + b];
    }
    return true;
  }
  template <class T>
  void update(std::span<const T> y_true, std::span<const T> y_pred, const Eigen::MatrixXd* proba = nullptr) {
    detail::check_pair("ClassificationAccumulator::update", y_true.size(), y_pred.size());
    if (proba && (static_cast<std::size_t>(proba->rows()) != y_true.size() || static_cast<std::size_t>(proba->cols()) != classes_.size()))
      MLOPS_THROW(data_error(errc::data_shape, "ClassificationAccumulator::update: proba must be rows x classes"));
    std::vector<double> row(classes_.size());
    for (std::size_t i = 0; i < y_true.size(); ++i) {
      if (proba)
        for (std::size_t k = 0; k < row.size(); ++k) row[k] = (*proba)(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
      if (!add(static_cast<double>(y_true[i]), static_cast<double>(y_pred[i]), proba ? row.data() : nullptr))
        MLOPS_THROW(data_error(errc::data_labels, fmt::format("row {}: label {} or {} is not one of {}", i, y_true[i], y_pred[i],
                                                              fmt::join(classes_, ", "))));
    }
  }
  void merge(const ClassificationAccumulator& o) {
    if (o.classes_ != classes_ || o.bins_ != bins_)
      MLOPS_THROW(argument_error(errc::invalid_argument, "ClassificationAccumulator::merge: different classes or bins"));
    for (std::size_t i = 0; i < confusion_.size(); ++i)
      for (std::size_t j = 0; j < confusion_.size(); ++j) confusion_[i][j] += o.confusion_[i][j];
    for (std::size_t i = 0; i < hist_.size(); ++i) hist_[i] += o.hist_[i];
    n_ += o.n_, n_proba_ += o.n_proba_, n_scored_ += o.n_scored_;
    log_loss_ += o.log_loss_, brier_ += o.brier_;
  }
  /// The histogram AUC's error bound (see the class comment); empty like roc_auc.
  std::optional<double> auc_error_bound() const { return auc(true); }

  /// One metric by name (metric_value of metrics()).
  std::optional<double> value(std::string_view metric) const { return metric_value(metrics(), metric); }
  ClassificationMetrics metrics() const {
    if (n_ == 0) MLOPS_THROW(data_error(errc::data_empty, "ClassificationAccumulator: no rows to score"));
    ClassificationMetrics m;
    m.n = n_;
    m.labels = classes_;
    m.confusion = confusion_;
    const std::size_t K = classes_.size();
    detail::summarise_confusion(m, K == 2, K - 1);
    if (n_proba_ + n_scored_ == n_) m.roc_auc = auc(false);
    if (n_proba_ == n_) {
      m.log_loss = log_loss_ / static_cast<double>(n_);
      if (K == 2) m.brier = brier_ / static_cast<double>(n_);
    }
    return m;
  }

 private:
  std::size_t index(double v) const noexcept {
    const auto it = std::lower_bound(classes_.begin(), classes_.end(), v);
    return it != classes_.end() && *it == v ? static_cast<std::size_t>(it - classes_.begin()) : classes_.size();
  }
  std::optional<double> auc(bool bound) const {
    const std::size_t K = classes_.size();
    double total = 0;
    const std::size_t first = K == 2 ? 1 : 0;
    for (std::size_t k = first; k < K; ++k) {
      const std::size_t* neg = hist_.data() + (k * 2) * bins_;
      const std::size_t* pos = neg + bins_;
      double P = 0, N = 0, below = 0, area = 0, ties = 0;
      for (std::size_t b = 0; b < bins_; ++b) P += static_cast<double>(pos[b]), N += static_cast<double>(neg[b]);
      if (P == 0 || N == 0) return std::nullopt;
      for (std::size_t b = 0; b < bins_; ++b) {
        area += static_cast<double>(pos[b]) * (below + 0.5 * static_cast<double>(neg[b]));
        ties += 0.5 * static_cast<double>(pos[b]) * static_cast<double>(neg[b]);
        below += static_cast<double>(neg[b]);
      }
      total += (bound ? ties : area) / (P * N);
    }
    return total / static_cast<double>(K - first);
  }

  std::vector<double> classes_;
  std::size_t bins_;
  std::vector<std::vector<std::size_t>> confusion_;
  std::vector<std::size_t> hist_;
  std::size_t n_ = 0, n_proba_ = 0, n_scored_ = 0;  // rows; with probabilities; with decision scores
  double log_loss_ = 0, brier_ = 0;
};

MLOPS_NAMESPACE_END

template <>
struct fmt::formatter<mlops::ClassificationMetrics> {
  bool table = false;  // "{:t}": scikit-learn's classification_report layout plus the scores
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == 't') table = true, ++it;
    return it;
  }
  template <class Ctx>
  auto format(const mlops::ClassificationMetrics& m, Ctx& ctx) const {
    auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : std::string("-"); };
    if (table) return format_table(m, ctx.out(), opt);
    auto out = fmt::format_to(ctx.out(),
                              "n={} accuracy={:.6g} balanced_accuracy={:.6g} precision={:.6g} recall={:.6g} f1={:.6g} "
                              "roc_auc={} log_loss={}\nconfusion (rows: true {}; columns: predicted)\n",
                              m.n, m.accuracy, m.balanced_accuracy, m.precision, m.recall, m.f1, opt(m.roc_auc), opt(m.log_loss),
                              fmt::join(names(m), ", "));
    for (std::size_t i = 0; i < m.confusion.size(); ++i)
      out = fmt::format_to(out, "  {:>10} | {}\n", m.label_text(i), fmt::join(m.confusion[i], " "));
    return out;
  }

 private:
  static std::vector<std::string> names(const mlops::ClassificationMetrics& m) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < m.labels.size(); ++i) out.push_back(m.label_text(i));
    return out;
  }
  /// Per class: precision, recall, F1, support (from the confusion matrix); then the
  /// averages and the scores.
  template <class Out, class Opt>
  static Out format_table(const mlops::ClassificationMetrics& m, Out out, Opt opt) {
    const std::size_t K = m.confusion.size();
    out = fmt::format_to(out, "{:>14} {:>10} {:>10} {:>10} {:>10}\n", "", "precision", "recall", "f1", "support");
    std::vector<std::size_t> col(K, 0);
    for (std::size_t i = 0; i < K; ++i)
      for (std::size_t j = 0; j < K; ++j) col[j] += m.confusion[i][j];
    for (std::size_t i = 0; i < K; ++i) {
      std::size_t support = 0;
      for (std::size_t j = 0; j < K; ++j) support += m.confusion[i][j];
      const double tp = static_cast<double>(m.confusion[i][i]);
      const double p = col[i] ? tp / static_cast<double>(col[i]) : 0.0, r = support ? tp / static_cast<double>(support) : 0.0;
      const double f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
      out = fmt::format_to(out, "{:>14} {:>10.4f} {:>10.4f} {:>10.4f} {:>10}\n", m.label_text(i), p, r, f, support);
    }
    out = fmt::format_to(out, "\n{:>14} {:>10} {:>10} {:>10.4f} {:>10}\n", "accuracy", "", "", m.accuracy, m.n);
    out = fmt::format_to(out, "{:>14} {:>10} {:>10} {:>10.4f} {:>10}\n", "f1 macro", "", "", m.f1_macro, m.n);
    out = fmt::format_to(out, "{:>14} {:>10} {:>10} {:>10.4f} {:>10}\n\n", "f1 weighted", "", "", m.f1_weighted, m.n);
    return fmt::format_to(out, "balanced_accuracy {:.6g}  roc_auc {}  log_loss {}  brier {}\n", m.balanced_accuracy, opt(m.roc_auc),
                          opt(m.log_loss), opt(m.brier));
  }
};

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_EVAL)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC void check_pair(std::string_view who, std::size_t a, std::size_t b) {
  if (a != b) MLOPS_THROW(data_error(errc::data_shape, fmt::format("{}: y_true has {} values but y_pred {}", who, a, b)));
  if (a == 0) MLOPS_THROW(data_error(errc::data_empty, fmt::format("{}: no rows to score", who)));
}
}  // namespace detail

MLOPS_FUNC PrecisionRecallF1 precision_recall_f1_from_confusion(const std::vector<std::vector<std::size_t>>& c, averaging avg,
                                                            std::size_t pos) {
  const std::size_t K = c.size();
  std::vector<double> tp(K), fp(K), fn(K), support(K);
  for (std::size_t i = 0; i < K; ++i)
    for (std::size_t j = 0; j < K; ++j) {
      const auto v = static_cast<double>(c[i][j]);
      if (i == j) tp[i] += v;
      else fp[j] += v, fn[i] += v;
      support[i] += v;
    }
  auto one = [&](std::size_t k) {
    PrecisionRecallF1 r;
    r.precision = detail::safe_div(tp[k], tp[k] + fp[k]);
    r.recall = detail::safe_div(tp[k], tp[k] + fn[k]);
    r.f1 = detail::safe_div(2 * tp[k], 2 * tp[k] + fp[k] + fn[k]);
    return r;
  };
  if (avg == averaging::binary) return pos < K ? one(pos) : PrecisionRecallF1{};
  if (avg == averaging::micro) {
    const double TP = std::accumulate(tp.begin(), tp.end(), 0.0), FP = std::accumulate(fp.begin(), fp.end(), 0.0),
                 FN = std::accumulate(fn.begin(), fn.end(), 0.0);
    return {detail::safe_div(TP, TP + FP), detail::safe_div(TP, TP + FN), detail::safe_div(2 * TP, 2 * TP + FP + FN)};
  }
  PrecisionRecallF1 r;
  double total = 0;
  for (std::size_t k = 0; k < K; ++k) {
    const auto p = one(k);
    const double w = avg == averaging::weighted ? support[k] : 1.0;
    r.precision += w * p.precision, r.recall += w * p.recall, r.f1 += w * p.f1;
    total += w;
  }
  if (total > 0) r.precision /= total, r.recall /= total, r.f1 /= total;
  return r;
}

MLOPS_FUNC double balanced_accuracy_from_confusion(const std::vector<std::vector<std::size_t>>& c) {
  double s = 0;
  std::size_t k = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::size_t support = 0;
    for (const auto v : c[i]) support += v;
    if (support == 0) continue;
    s += static_cast<double>(c[i][i]) / static_cast<double>(support);
    ++k;
  }
  return k ? s / static_cast<double>(k) : 0.0;
}

MLOPS_FUNC std::optional<double> metric_value(const ClassificationMetrics& m, std::string_view name) {
  (void)find_metric(name, task_kind::classification);
  if (name == "accuracy") return m.accuracy;
  if (name == "balanced_accuracy") return m.balanced_accuracy;
  if (name == "precision") return m.precision;
  if (name == "recall") return m.recall;
  if (name == "f1") return m.f1;
  if (name == "f1_macro") return m.f1_macro;
  if (name == "f1_micro") return m.f1_micro;
  if (name == "f1_weighted") return m.f1_weighted;
  if (name == "roc_auc") return m.roc_auc;
  if (name == "log_loss") return m.log_loss;
  return m.brier;
}

namespace detail {
MLOPS_FUNC void summarise_confusion(ClassificationMetrics& m, bool binary, std::size_t pos) {
  std::size_t hit = 0, total = 0;
  for (std::size_t i = 0; i < m.confusion.size(); ++i)
    for (std::size_t j = 0; j < m.confusion.size(); ++j) total += m.confusion[i][j], hit += i == j ? m.confusion[i][j] : 0;
  m.accuracy = total ? static_cast<double>(hit) / static_cast<double>(total) : 0.0;
  m.balanced_accuracy = balanced_accuracy_from_confusion(m.confusion);
  const auto mac = precision_recall_f1_from_confusion(m.confusion, averaging::macro, pos);
  const auto chosen = binary ? precision_recall_f1_from_confusion(m.confusion, averaging::binary, pos) : mac;
  m.precision = chosen.precision, m.recall = chosen.recall, m.f1 = chosen.f1;
  m.f1_macro = mac.f1;
  m.f1_micro = precision_recall_f1_from_confusion(m.confusion, averaging::micro, pos).f1;
  m.f1_weighted = precision_recall_f1_from_confusion(m.confusion, averaging::weighted, pos).f1;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_EVAL
