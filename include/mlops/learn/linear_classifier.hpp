// mlops/learn/linear_classifier.hpp - LinearClassifier<T>, the fitted linear classifier
// (what LogisticRegression and LinearSVM return, learn/classifier.hpp): its classes,
// scores, labels and probabilities, the row kernels the pipeline's row path calls
// (noexcept, no allocation), and save/load.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/error.hpp"
#include "mlops/fwd.hpp"
#include "mlops/learn/gd_options.hpp"

MLOPS_NAMESPACE_BEGIN

enum class classifier_loss : std::uint8_t { logistic = 1, hinge = 2 };
enum class classifier_solver : std::uint8_t { automatic = 0, newton = 1, lbfgs = 2, gradient_descent = 3 };

constexpr std::string_view to_string(classifier_loss l) noexcept { return l == classifier_loss::logistic ? "logistic" : "hinge"; }
constexpr std::string_view to_string(classifier_solver s) noexcept {
  switch (s) {
    case classifier_solver::automatic: return "auto";
    case classifier_solver::newton: return "newton";
    case classifier_solver::lbfgs: return "lbfgs";
    case classifier_solver::gradient_descent: return "gradient_descent";
  }
  return "?";
}

/// Most outputs (classes) a classifier may have; the row paths keep scores on the stack.
inline constexpr std::size_t max_outputs = 256;

/// A fitted linear classifier. Scores (decision function) = x . coef + intercept, one per
/// output; binary: predict classes()[1] when the score > 0 (logistic: when the
/// probability of classes()[1] > threshold()); multiclass: the class of the largest
/// score (the first on ties).
template <scalar T>
class LinearClassifier {
 public:
  static constexpr std::uint8_t tag = 2;  // format tag (model section): never changes
  static constexpr bool is_classifier = true;
  using vector_type = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  std::size_t n_features() const noexcept { return static_cast<std::size_t>(coef_.rows()); }
  std::size_t n_classes() const noexcept { return classes_.size(); }
  /// 1 for two classes, else the number of classes.
  std::size_t n_outputs() const noexcept { return static_cast<std::size_t>(coef_.cols()); }
  const std::vector<T>& classes() const noexcept { return classes_; }
  /// d x n_outputs; column k scores output k.
  const matrix_type& coef() const noexcept { return coef_; }
  const vector_type& intercept() const noexcept { return intercept_; }
  classifier_loss loss() const noexcept { return loss_; }
  classifier_solver solver() const noexcept { return solver_; }
  bool has_proba() const noexcept { return loss_ == classifier_loss::logistic; }
  double l2() const noexcept { return l2_; }
  bool fit_intercept() const noexcept { return fit_intercept_; }
  std::size_t n_samples() const noexcept { return n_samples_; }
  std::size_t n_iter() const noexcept { return n_iter_; }
  const std::vector<double>& class_weights() const noexcept { return class_weights_; }
  /// Binary decision threshold: a probability for logistic models (default 0.5), a
  /// score for the SVM (default 0). Ignored for multiclass.
  double threshold() const noexcept { return threshold_; }
  void set_threshold(double t) {
    if (!std::isfinite(t) || (loss_ == classifier_loss::logistic && !(t > 0 && t < 1)))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("threshold {} is outside (0, 1) for a probability", t)));
    threshold_ = t;
  }

  /// Adds the partial scores of features [first, first + m), x holding those values,
  /// into acc[0 .. n_outputs()). noexcept, allocation-free.
  void accumulate(const T* x, std::size_t first, std::size_t m, double* acc) const noexcept {
    const std::size_t M = n_outputs(), d = n_features();
    for (std::size_t k = 0; k < M; ++k) {
      const T* w = coef_.data() + k * d + first;
      double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      std::size_t j = 0;
      for (; j + 4 <= m; j += 4) {
        a0 += static_cast<double>(w[j]) * static_cast<double>(x[j]);
        a1 += static_cast<double>(w[j + 1]) * static_cast<double>(x[j + 1]);
        a2 += static_cast<double>(w[j + 2]) * static_cast<double>(x[j + 2]);
        a3 += static_cast<double>(w[j + 3]) * static_cast<double>(x[j + 3]);
      }
      for (; j < m; ++j) a0 += static_cast<double>(w[j]) * static_cast<double>(x[j]);
      acc[k] += (a0 + a1) + (a2 + a3);
    }
  }
  /// Scores of one row into out[0 .. n_outputs()). noexcept, allocation-free.
  void decision_row(std::span<const T> x, std::span<double> out) const noexcept {
    MLOPS_ASSERT(x.size() == n_features() && out.size() >= n_outputs(), "row or output of the wrong length");
    for (std::size_t k = 0; k < n_outputs(); ++k) out[k] = static_cast<double>(intercept_(static_cast<Eigen::Index>(k)));
    accumulate(x.data(), 0, x.size(), out.data());
  }

  // ---- the pipeline's row kernels (pipeline/fitted.hpp): noexcept, allocation-free ----
  static constexpr bool chunked_rows = true;  // predict_chunks below
  /// `fill(buf, first, m)` writes design values [first, first + m) (m <= Chunk) into buf;
  /// they are consumed chunk by chunk. s[0 .. n_outputs()) gets the scores; returns the
  /// label (NaN when a score is not finite).
  template <std::size_t Chunk, class Fill>
  T predict_chunks(std::size_t d, Fill&& fill, double* s) const noexcept {
    std::array<T, Chunk> buf;
    for (std::size_t k = 0; k < n_outputs(); ++k) s[k] = static_cast<double>(intercept_(static_cast<Eigen::Index>(k)));
    for (std::size_t j0 = 0; j0 < d; j0 += Chunk) {
      const std::size_t m = (std::min)(Chunk, d - j0);
      fill(buf.data(), j0, m);
      accumulate(buf.data(), j0, m, s);
    }
    return label_or_nan(s);
  }
  /// The same over a whole design row x[0 .. n_features()).
  T predict_design(const T* x, double* s) const noexcept {
    for (std::size_t k = 0; k < n_outputs(); ++k) s[k] = static_cast<double>(intercept_(static_cast<Eigen::Index>(k)));
    accumulate(x, 0, n_features(), s);
    return label_or_nan(s);
  }
  /// The label for finished scores; NaN when one is not finite.
  T label_or_nan(const double* s) const noexcept {
    for (std::size_t k = 0; k < n_outputs(); ++k)
      if (!std::isfinite(s[k])) return std::numeric_limits<T>::quiet_NaN();
    return label_from_scores(s);
  }

  /// The class label for finished scores (intercept included).
  T label_from_scores(const double* s) const noexcept { return classes_[index_from_scores(s)]; }
  std::size_t index_from_scores(const double* s) const noexcept {
    if (n_outputs() == 1) {
      if (loss_ == classifier_loss::logistic) return sigmoid(s[0]) > threshold_ ? 1 : 0;
      return s[0] > threshold_ ? 1 : 0;
    }
    std::size_t best = 0;
    for (std::size_t k = 1; k < n_outputs(); ++k)
      if (s[k] > s[best]) best = k;
    return best;
  }
  /// Class probabilities (n_classes values) for finished scores; false for the SVM.
  bool proba_from_scores(const double* s, double* out) const noexcept {
    if (!has_proba()) return false;
    if (n_outputs() == 1) {
      out[1] = sigmoid(s[0]);
      out[0] = 1.0 - out[1];
      return true;
    }
    double mx = s[0];
    for (std::size_t k = 1; k < n_outputs(); ++k) mx = (std::max)(mx, s[k]);
    double z = 0;
    for (std::size_t k = 0; k < n_outputs(); ++k) z += (out[k] = std::exp(s[k] - mx));
    for (std::size_t k = 0; k < n_outputs(); ++k) out[k] /= z;
    return true;
  }
  /// Predicted label of one row. noexcept, allocation-free.
  T predict_row(std::span<const T> x) const noexcept {
    std::array<double, max_outputs> s;
    decision_row(x, s);
    return label_from_scores(s.data());
  }
  /// Class probabilities of one row into out[0 .. n_classes()); false (out untouched)
  /// for a model without probabilities (the SVM). noexcept, allocation-free.
  bool predict_proba_row(std::span<const T> x, std::span<double> out) const noexcept {
    MLOPS_ASSERT(out.size() >= n_classes(), "output shorter than n_classes()");
    std::array<double, max_outputs> s;
    decision_row(x, s);
    return proba_from_scores(s.data(), out.data());
  }

  /// Batch versions over a matrix (rows = samples).
  Eigen::MatrixXd decision_function(const Eigen::Ref<const matrix_type>& X) const {
    check_width(X.cols());
    Eigen::MatrixXd S = (X * coef_).template cast<double>();
    S.rowwise() += intercept_.template cast<double>().transpose();
    return S;
  }
  std::vector<T> predict(const Eigen::Ref<const matrix_type>& X) const {
    const Eigen::MatrixXd S = decision_function(X);
    std::vector<T> out(static_cast<std::size_t>(S.rows()));
    std::array<double, max_outputs> s;
    for (Eigen::Index i = 0; i < S.rows(); ++i) {
      for (Eigen::Index k = 0; k < S.cols(); ++k) s[static_cast<std::size_t>(k)] = S(i, k);
      out[static_cast<std::size_t>(i)] = label_from_scores(s.data());
    }
    return out;
  }
  /// n x n_classes probabilities; argument_error for the SVM (use decision_function).
  Eigen::MatrixXd predict_proba(const Eigen::Ref<const matrix_type>& X) const {
    if (!has_proba())
      MLOPS_THROW(argument_error(errc::invalid_argument, "predict_proba: a hinge-loss (SVM) model has no probabilities; use decision_function"));
    const Eigen::MatrixXd S = decision_function(X);
    Eigen::MatrixXd P(S.rows(), static_cast<Eigen::Index>(n_classes()));
    std::array<double, max_outputs> s, p;
    for (Eigen::Index i = 0; i < S.rows(); ++i) {
      for (Eigen::Index k = 0; k < S.cols(); ++k) s[static_cast<std::size_t>(k)] = S(i, k);
      proba_from_scores(s.data(), p.data());
      for (Eigen::Index k = 0; k < P.cols(); ++k) P(i, k) = p[static_cast<std::size_t>(k)];
    }
    return P;
  }

  /// The card's "model" object: kind, classes, one coefficient set per output, solver.
  template <class Json, class Num>
  void describe(Json& j, std::span<const std::string> design, Num num) const {
    Json outputs = Json::array();
    for (std::size_t k = 0; k < n_outputs(); ++k) {
      Json coef = Json::object();
      for (std::size_t c = 0; c < design.size(); ++c)
        coef[design[c]] = num(static_cast<double>(coef_(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(k))));
      outputs.push_back({{"class", n_outputs() == 1 ? num(static_cast<double>(classes_[1])) : num(static_cast<double>(classes_[k]))},
                         {"intercept", num(static_cast<double>(intercept_(static_cast<Eigen::Index>(k))))},
                         {"coefficients", coef}});
    }
    Json classes = Json::array();
    for (const auto c : classes_) classes.push_back(num(static_cast<double>(c)));
    j = {{"kind", loss_ == classifier_loss::logistic ? "logistic" : "svm"},
         {"loss", std::string(to_string(loss_))},
         {"solver", std::string(to_string(solver_))},
         {"classes", classes},
         {"l2", l2_},
         {"fit_intercept", fit_intercept_},
         {"threshold", threshold_},
         {"class_weights", class_weights_},
         {"iterations", n_iter_},
         {"n_samples", n_samples_},
         {"outputs", outputs}};
  }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint8_t>(loss_));
    w.put(static_cast<std::uint8_t>(solver_));
    w.put(static_cast<std::uint8_t>(fit_intercept_));
    w.put(l2_);
    w.put(threshold_);
    w.put(static_cast<std::uint64_t>(n_samples_));
    w.put(static_cast<std::uint64_t>(n_iter_));
    w.put_array<T>(std::span<const T>(classes_));
    w.put_array<double>(std::span<const double>(class_weights_));
    w.put(static_cast<std::uint64_t>(coef_.rows()));
    w.put(static_cast<std::uint64_t>(coef_.cols()));
    w.put_array<T>(std::span<const T>(coef_.data(), static_cast<std::size_t>(coef_.size())));
    w.put_array<T>(std::span<const T>(intercept_.data(), static_cast<std::size_t>(intercept_.size())));
  }
  static LinearClassifier load(detail::byte_reader& r) {
    LinearClassifier m;
    const auto loss = r.get<std::uint8_t>(), solver = r.get<std::uint8_t>();
    if (loss < 1 || loss > 2) r.corrupt("unknown classifier loss " + std::to_string(loss));
    if (solver > 3) r.corrupt("unknown classifier solver " + std::to_string(solver));
    m.loss_ = static_cast<classifier_loss>(loss);
    m.solver_ = static_cast<classifier_solver>(solver);
    m.fit_intercept_ = r.get<std::uint8_t>() != 0;
    m.l2_ = r.get<double>();
    m.threshold_ = r.get<double>();
    m.n_samples_ = static_cast<std::size_t>(r.get<std::uint64_t>());
    m.n_iter_ = static_cast<std::size_t>(r.get<std::uint64_t>());
    m.classes_ = r.get_array<T>();
    m.class_weights_ = r.get_array<double>();
    const auto rows = r.get<std::uint64_t>(), cols = r.get<std::uint64_t>();
    const auto K = m.classes_.size();
    if (K < 2 || K > max_outputs) r.corrupt(fmt::format("a classifier with {} classes", K));
    if (cols != (K == 2 ? 1u : K)) r.corrupt(fmt::format("{} outputs for {} classes", cols, K));
    if (!m.class_weights_.empty() && m.class_weights_.size() != K) r.corrupt("class weights do not match the classes");
    for (std::size_t k = 1; k < K; ++k)
      if (!(m.classes_[k - 1] < m.classes_[k])) r.corrupt("class labels are not strictly increasing");
    const auto coef = r.get_array<T>();
    if (rows > coef.size() || coef.size() != rows * cols) r.corrupt("coefficient count does not match the declared shape");
    const auto icpt = r.get_array<T>();
    if (icpt.size() != cols) r.corrupt("intercept count does not match the outputs");
    m.coef_ = Eigen::Map<const matrix_type>(coef.data(), static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    m.intercept_ = Eigen::Map<const vector_type>(icpt.data(), static_cast<Eigen::Index>(cols));
    if (!m.coef_.allFinite() || !m.intercept_.allFinite() || !std::isfinite(m.threshold_) || !std::isfinite(m.l2_))
      r.corrupt("classifier parameters are not finite");
    for (const T c : m.classes_)
      if (!std::isfinite(c)) r.corrupt("class label is not finite");
    return m;
  }

 private:
  template <scalar>
  friend struct LogisticRegression;
  template <scalar>
  friend struct LinearSVM;
  void assign(const Eigen::MatrixXd& W, const Eigen::VectorXd& b, std::vector<T> classes, std::size_t n) {
    coef_ = W.template cast<T>();
    intercept_ = b.template cast<T>();
    classes_ = std::move(classes);
    n_samples_ = n;
  }
  static double sigmoid(double z) noexcept {
    const double e = std::exp(-std::abs(z));
    return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  }
  void check_width(Eigen::Index cols) const {
    if (static_cast<std::size_t>(cols) != n_features())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("X has {} columns but the model has {} features", cols, n_features())));
  }

  std::vector<T> classes_;
  matrix_type coef_;
  vector_type intercept_;
  classifier_loss loss_ = classifier_loss::logistic;
  classifier_solver solver_ = classifier_solver::newton;
  bool fit_intercept_ = true;
  double l2_ = 0;
  double threshold_ = 0.5;
  std::size_t n_samples_ = 0, n_iter_ = 0;
  std::vector<double> class_weights_;
};

template <scalar T>
using ClassifierResult = FitResult<LinearClassifier<T>>;

// The compiled mode holds these (src/learn_classifier.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class LinearClassifier)

MLOPS_NAMESPACE_END
