// mlops/learn/classifier.hpp - linear classifiers: logistic regression and the linear SVM.
//
//   LogisticRegression<T>{.C = 1.0}.fit(frame, features, "label") -> LinearClassifier<T>
//   LinearSVM<T>{}.fit(frame, features, "label")                   -> LinearClassifier<T>
//
// Labels are the distinct values of the target column, whatever they are (0/1, -1/+1,
// 3/7/9): classes() lists them sorted ascending and predict returns them, never an
// internal index. Two classes give one output (the log-odds or the margin of the larger
// label); K > 2 classes give K outputs (softmax for logistic regression, one-vs-rest
// hinges for the SVM).
//
// Logistic regression minimises (1/n) sum_i s_i logloss_i + l2/2 |W|^2 with
// l2 = 1 / (C n): the same minimiser as scikit-learn's LogisticRegression(C=...) with
// its lbfgs/newton solvers (intercept unpenalised, class weights as sample weights).
// Solvers: Newton with a backtracking line search (binary, d <= newton_max_features;
// quadratic convergence, one Hessian pass per iteration), L-BFGS (multinomial or wide
// binary problems; preconditioned by the sampled Hessian at zero, see
// logistic_preconditioner), or the gradient-descent core (solver gd: mini-batch/SGD options).
// Without a penalty (C = infinity) on perfectly separable data the optimum is at
// infinity: fitting stops with a training_error `train.separable` instead of returning
// huge coefficients. A single class in y is `data.single_class`; more distinct labels
// than max_classes is `data.labels` (most likely a regression target).
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
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/learn/gd.hpp"

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

/// How classes are weighted: none, scikit-learn's "balanced" (n / (K * count_k)), or
/// explicit weights per class in classes() order.
struct class_weighting {
  bool balanced = false;
  std::vector<double> weights;  // explicit, one per class (sorted labels); empty = all 1
};

namespace detail {

/// Sorted distinct labels and each row's class index (as double, for the core).
template <class T>
struct encoded_labels {
  std::vector<T> classes;
  std::vector<double> index;
  std::vector<std::size_t> counts;
};

template <class T>
encoded_labels<T> encode_labels(std::string_view who, std::span<const T> y, std::size_t max_classes,
                                std::span<const T> known = {}) {
  encoded_labels<T> e;
  if (!known.empty()) {
    e.classes.assign(known.begin(), known.end());
  } else {
    // Distinct labels into a small sorted vector: O(n log K), and it stops as soon as
    // there are more than max_classes of them.
    for (const T v : y) {
      const auto it = std::lower_bound(e.classes.begin(), e.classes.end(), v);
      if (it != e.classes.end() && *it == v) continue;
      if (e.classes.size() == max_classes) {
        e.classes.insert(it, v);
        break;
      }
      e.classes.insert(it, v);
    }
    if (e.classes.size() > max_classes)
      MLOPS_THROW(data_error(errc::data_labels,
                             fmt::format("{}: the target has more than max_classes = {} distinct values; is it a regression "
                                         "target? Use a regressor, or raise max_classes",
                                         who, max_classes)));
    if (e.classes.size() < 2)
      MLOPS_THROW(data_error(errc::data_single_class,
                             fmt::format("{}: the target holds a single class ({}); a classifier needs rows of at least two "
                                         "classes (check the split or the filter that produced the training data)",
                                         who, e.classes.empty() ? std::string("none") : fmt::format("{}", e.classes[0]))));
  }
  e.index.resize(y.size());
  e.counts.assign(e.classes.size(), 0);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const auto it = std::lower_bound(e.classes.begin(), e.classes.end(), y[i]);
    if (it == e.classes.end() || *it != y[i])
      MLOPS_THROW(data_error(errc::data_labels, fmt::format("{}: row {} has label {}, which is not one of the model's classes {}",
                                                            who, i, y[i], fmt::join(e.classes, ", "))));
    const auto k = static_cast<std::size_t>(it - e.classes.begin());
    e.index[i] = static_cast<double>(k);
    ++e.counts[k];
  }
  return e;
}

/// Per-class weights (empty when all are 1) and per-row sample weights.
template <class T>
std::vector<double> class_weight_vector(std::string_view who, const class_weighting& cw, const encoded_labels<T>& e) {
  const std::size_t K = e.classes.size();
  if (cw.balanced) {
    std::vector<double> w(K);
    for (std::size_t k = 0; k < K; ++k)
      w[k] = e.counts[k] == 0 ? 0.0 : static_cast<double>(e.index.size()) / (static_cast<double>(K) * static_cast<double>(e.counts[k]));
    return w;
  }
  if (cw.weights.empty()) return {};
  if (cw.weights.size() != K)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{}: {} class weights for {} classes", who, cw.weights.size(), K)));
  for (const double v : cw.weights)
    if (!(v >= 0) || !std::isfinite(v))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{}: class weights must be finite and >= 0", who)));
  return cw.weights;
}

MLOPS_FUNC std::vector<double> row_weights(const std::vector<double>& class_w, const std::vector<double>& index);

/// Objective and gradient of a linear model with M outputs, parameters packed as
/// theta = [vec(W) (d*M, column-major); b (M)]: (1/n) sum s_i loss_i + l2/2 |W|^2.
template <class T, class Loss>
struct linear_objective {
  const gd_data<T>& data;
  Loss loss;
  double l2;
  std::size_t d, M;
  bool fit_intercept;
  gd_block blk;
  Eigen::MatrixXd W, G;
  Eigen::VectorXd b, gb;
  bool check_pending;  // the first evaluation still owes the deferred features check

  linear_objective(const gd_data<T>& dt, double l2_, std::size_t M_, bool fi)
      : data(dt), l2(l2_), d(dt.d()), M(M_), fit_intercept(fi), blk(gd_chunk_rows(dt.d()), dt.d(), M_),
        W(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(M)), G(W), b(static_cast<Eigen::Index>(M)), gb(b),
        check_pending(dt.check_features) {}

  std::size_t size() const noexcept { return d * M + M; }
  void unpack(const Eigen::VectorXd& th) {
    W = Eigen::Map<const Eigen::MatrixXd>(th.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(M));
    b = th.tail(static_cast<Eigen::Index>(M));
  }
  double operator()(const Eigen::VectorXd& th, Eigen::VectorXd& grad) {
    unpack(th);
    const double inv = 1.0 / static_cast<double>(data.n());
    const double L = gd_pass(loss, data, nullptr, data.n(), blk, W, b, &G, &gb) * inv + 0.5 * l2 * W.squaredNorm();
    if (check_pending) {
      check_pending = false;
      check_features_by_gradient(data, G, gb);
    }
    grad.resize(static_cast<Eigen::Index>(size()));
    Eigen::Map<Eigen::MatrixXd>(grad.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(M)) = G * inv + l2 * W;
    if (fit_intercept) grad.tail(static_cast<Eigen::Index>(M)) = gb * inv;
    else grad.tail(static_cast<Eigen::Index>(M)).setZero();
    return L;
  }
};

struct solver_outcome {
  fit_status status = fit_status::max_epochs;
  std::size_t iterations = 0, evaluations = 0;
  double loss = NAN;
};

/// No preconditioner: L-BFGS's initial inverse Hessian is a multiple of the identity.
struct identity_preconditioner {
  bool active() const noexcept { return false; }
  void apply(Eigen::VectorXd&) const noexcept {}
};

/// The initial inverse Hessian of L-BFGS for the logistic objectives: the inverse of
/// their Hessian at zero weights, where every class has probability 1/K, so each
/// output's block is c X^T S X / n + l2 (c = 1/K (1 - 1/K): 1/4 for the binary model;
/// the cross-class blocks are left out), with X extended by the intercept's column of
/// ones. X^T S X is estimated from 16 evenly spaced blocks of rows (all rows when there
/// are at most 16 * 1024; only H's lower triangle is kept, as the LDLT reads). With it
/// L-BFGS sees the features nearly as if whitened, so badly scaled or correlated features
/// converge in tens of iterations instead of hundreds; it changes the path, never the
/// optimum or the stopping tests.
class logistic_preconditioner {
 public:
  template <class T>
  logistic_preconditioner(const gd_data<T>& data, double l2, std::size_t M, bool fit_intercept) : d_(data.d()), M_(M) {
    const std::size_t n = data.n(), per = 1024;
    const bool all = n <= 16 * per;
    const std::size_t blocks = all ? (n + per - 1) / per : 16;
    const auto D = static_cast<Eigen::Index>(d_);
    gd_block blk(per, d_, 1);
    Eigen::MatrixXd Xa(static_cast<Eigen::Index>(per), D + 1), H = Eigen::MatrixXd::Zero(D + 1, D + 1);
    std::size_t taken = 0;
    for (std::size_t q = 0; q < blocks; ++q) {
      const std::size_t k0 = all ? q * per : n / blocks * q, c = (std::min)(per, n - k0);
      blk.gather_columns(data, nullptr, k0, c);
      const auto C = static_cast<Eigen::Index>(c);
      Xa.topLeftCorner(C, D) = blk.X.topRows(C);
      Xa.col(D).head(C).setOnes();
      if (blk.weighted) Xa.topRows(C).array().colwise() *= blk.w.head(C).array().sqrt();
      H.selfadjointView<Eigen::Lower>().rankUpdate(Xa.topRows(C).transpose());
      taken += c;
    }
    const double k = M == 1 ? 0.5 : 1.0 / static_cast<double>(M);
    H *= k * (1 - k) / static_cast<double>((std::max<std::size_t>)(taken, 1));
    H.diagonal().head(D).array() += l2;
    if (!fit_intercept) {
      H.row(D).setZero(), H.col(D).setZero();
      H(D, D) = 1.0;
    }
    H.diagonal().array() += 1e-12 * (std::max)(1e-300, H.diagonal().maxCoeff());
    ldlt_.compute(H);
    ok_ = ldlt_.info() == Eigen::Success && ldlt_.isPositive() && H.allFinite();
  }
  bool active() const noexcept { return ok_; }
  /// v = H0^-1 v, block by block (theta = [vec(W) column-major; b]).
  void apply(Eigen::VectorXd& v) const {
    const auto D = static_cast<Eigen::Index>(d_);
    Eigen::VectorXd u(D + 1);
    for (std::size_t k = 0; k < M_; ++k) {
      const auto K = static_cast<Eigen::Index>(k);
      u.head(D) = v.segment(K * D, D);
      u(D) = v(static_cast<Eigen::Index>(d_ * M_) + K);
      u = ldlt_.solve(u);
      v.segment(K * D, D) = u.head(D);
      v(static_cast<Eigen::Index>(d_ * M_) + K) = u(D);
    }
  }

 private:
  std::size_t d_, M_;
  Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt_;
  bool ok_ = false;
};

/// L-BFGS (Nocedal & Wright, alg. 7.4) with a backtracking Armijo line search; stops
/// when max |gradient| <= gtol or the decrease of f in an iteration is <= ftol *
/// max(|f|, f_floor) (scipy's REL_REDUCTION_OF_F test with f_floor = 1; a mean objective
/// passes 1/n to test as scipy does on the sum). An active preconditioner P is the
/// initial inverse Hessian, scaled each iteration by s'y / y'Py (Nocedal & Wright 7.20
/// with P in place of the identity); the first step is then -P g.
template <class F, class Pre = identity_preconditioner>
solver_outcome lbfgs_minimize(F& f, Eigen::VectorXd& x, std::size_t max_iter, double gtol, double ftol = 64 * 2.220446049250313e-16,
                              double f_floor = 1.0, const Pre& pre = Pre{}, std::size_t memory = 10) {
  solver_outcome out;
  const Eigen::Index n = x.size();
  Eigen::VectorXd g(n), gn(n), xn(n), dir(n), py(n);
  double fx = f(x, g);
  out.evaluations = 1;
  std::vector<Eigen::VectorXd> S, Y;
  std::vector<double> rho;
  std::vector<double> alpha(memory);
  for (std::size_t it = 1; it <= max_iter; ++it) {
    out.iterations = it;
    if (g.template lpNorm<Eigen::Infinity>() <= gtol) {
      out.status = fit_status::converged;
      out.iterations = it - 1;
      break;
    }
    // Two-loop recursion.
    dir = -g;
    for (std::size_t i = S.size(); i-- > 0;) {
      alpha[i] = rho[i] * S[i].dot(dir);
      dir -= alpha[i] * Y[i];
    }
    if (pre.active()) {
      pre.apply(dir);
      if (!S.empty()) {
        py = Y.back();
        pre.apply(py);
        dir *= S.back().dot(Y.back()) / Y.back().dot(py);
      }
    } else if (!S.empty()) {
      dir *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    } else {
      dir /= g.norm();  // no curvature yet: a unit-length first step (scipy's L-BFGS-B does the same)
    }
    for (std::size_t i = 0; i < S.size(); ++i) {
      const double beta = rho[i] * Y[i].dot(dir);
      dir += (alpha[i] - beta) * S[i];
    }
    double slope = g.dot(dir);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      S.clear(), Y.clear(), rho.clear();
      dir = -g / g.norm();
      slope = g.dot(dir);
    }
    double step = 1.0, fn = 0;
    bool accepted = false;
    for (int ls = 0; ls < 50; ++ls) {
      xn = x + step * dir;
      fn = f(xn, gn);
      ++out.evaluations;
      if (std::isfinite(fn) && fn <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // Near the minimum the expected decrease falls below the rounding of f (a sum of n
      // terms) and the test above fails at every step. Hager and Zhang's approximate Wolfe
      // conditions then decide from the slope at the trial point: f no larger than within
      // its rounding, and the slope along dir shrunk to within [-0.9, 0.8] of the initial one.
      if (std::isfinite(fn) && fn <= fx + 1e-10 * std::abs(fx)) {
        const double slope_n = gn.dot(dir);
        if (slope_n >= 0.9 * slope && slope_n <= -0.8 * slope) {
          accepted = true;
          break;
        }
      }
      step *= 0.5;
    }
    if (!accepted) {  // no decrease possible at this precision
      out.status = fit_status::converged;
      break;
    }
    Eigen::VectorXd s = xn - x, y = gn - g;
    const double sy = s.dot(y);
    if (sy > 1e-12 * s.norm() * y.norm()) {
      if (S.size() == memory) {
        S.erase(S.begin()), Y.erase(Y.begin()), rho.erase(rho.begin());
      }
      S.push_back(std::move(s)), Y.push_back(std::move(y)), rho.push_back(1.0 / sy);
    }
    const double decrease = fx - fn;
    x = xn;
    g = gn;
    const double prev = fx;
    fx = fn;
    if (decrease <= ftol * (std::max)({std::abs(prev), std::abs(fn), f_floor})) {
      out.status = fit_status::converged;  // at the limit of double precision (scipy's REL_REDUCTION_OF_F)
      break;
    }
  }
  out.loss = fx;
  return out;
}

/// Newton's method for the binary logistic objective, theta = [w (d); b]. One fused pass
/// per iteration gives loss, gradient and the Hessian X^T diag(s p (1 - p)) X (symmetric
/// rank updates per chunk); LDLT solve; backtracking line search.
template <class T>
solver_outcome newton_logistic(const gd_data<T>& data, double l2, bool fit_intercept, Eigen::VectorXd& theta, std::size_t max_iter,
                               double gtol, bool& separable) {
  const std::size_t d = data.d(), n = data.n();
  const auto D = static_cast<Eigen::Index>(d);
  const double inv = 1.0 / static_cast<double>(n);
  linear_objective<T, logistic_loss> obj(data, l2, 1, fit_intercept);
  obj.check_pending = false;  // checked after the first pass below
  const std::size_t cap = gd_chunk_rows(d + 1);
  gd_block blk(cap, d, 1);
  Eigen::MatrixXd Xa(static_cast<Eigen::Index>(cap), D + 1);
  Eigen::VectorXd sqrt_h(static_cast<Eigen::Index>(cap));
  Eigen::MatrixXd H(D + 1, D + 1), G(D, 1);
  Eigen::VectorXd gb(1), grad(D + 1), step(D + 1), trial(D + 1), tg;
  Eigen::MatrixXd W(D, 1);
  Eigen::VectorXd b(1);
  solver_outcome out;
  separable = false;
  double fx = NAN;
  for (std::size_t it = 1; it <= max_iter; ++it) {
    W.col(0) = theta.head(D);
    b(0) = theta(D);
    H.setZero();
    G.setZero();
    gb.setZero();
    double L = 0;
    std::size_t wrong = 0;
    for (std::size_t k0 = 0; k0 < n; k0 += cap) {
      const std::size_t c = (std::min)(cap, n - k0);
      const auto C = static_cast<Eigen::Index>(c);
      blk.gather_columns(data, nullptr, k0, c);
      L += blk.run(logistic_loss{}, c, W, b, &G, &gb);
      for (Eigen::Index i = 0; i < C; ++i) {
        const double z = blk.P(i, 0), e = std::exp(-std::abs(z));
        const double p = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        const double h = (blk.weighted ? blk.w(i) : 1.0) * p * (1 - p);
        wrong += (z > 0) != (blk.y(i) > 0.5) || z == 0;
        Xa(i, D) = fit_intercept ? std::sqrt(h) : 0.0;
        sqrt_h(i) = std::sqrt(h);
      }
      Xa.topLeftCorner(C, D) = blk.X.topRows(C).array().colwise() * sqrt_h.head(C).array();
      H.selfadjointView<Eigen::Lower>().rankUpdate(Xa.topRows(C).transpose());
    }
    if (it == 1 && data.check_features) check_features_by_gradient(data, G, gb);
    fx = L * inv + 0.5 * l2 * W.squaredNorm();
    grad.head(D) = G.col(0) * inv + l2 * W.col(0);
    grad(D) = fit_intercept ? gb(0) * inv : 0.0;
    out.iterations = it - 1;
    if (l2 == 0 && wrong == 0) {
      separable = true;
      break;
    }
    if (grad.template lpNorm<Eigen::Infinity>() <= gtol) {
      out.status = fit_status::converged;
      break;
    }
    H *= inv;
    H.diagonal().head(D).array() += l2;
    if (!fit_intercept) H(D, D) = 1.0;
    Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt(H);
    if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) {  // singular (no penalty, collinear): tiny ridge
      H.diagonal().array() += 1e-10 * (std::max)(1.0, H.diagonal().maxCoeff());
      ldlt.compute(H);
    }
    step = ldlt.solve(grad);
    const double slope = -grad.dot(step);
    double t = 1.0;
    bool accepted = false;
    for (int ls = 0; ls < 50; ++ls) {
      trial = theta - t * step;
      const double ft = obj(trial, tg);
      if (std::isfinite(ft) && ft <= fx + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    out.iterations = it;
    if (!accepted) {  // at the limit of double precision
      out.status = fit_status::converged;
      break;
    }
    theta = trial;
  }
  out.loss = fx;
  return out;
}

}  // namespace detail

/// Logistic regression (binary and multinomial), L2-regularised as scikit-learn's
/// LogisticRegression(C): see the header comment for the objective and solvers.
template <scalar T>
struct LogisticRegression : detail::frame_trainer<LogisticRegression<T>, T> {
  double C = 1.0;                      // inverse penalty strength; infinity: no penalty
  bool fit_intercept = true;
  classifier_solver solver = classifier_solver::automatic;
  std::size_t max_iter = 200;          // Newton / L-BFGS iterations
  double tol = 1e-8;                   // max |gradient| of the mean objective at convergence
  double ftol = 64 * 2.220446049250313e-16;  // L-BFGS: also stop at this relative decrease of the objective in
                                       // an iteration (scikit-learn 1.2's lbfgs stops at scipy's default 2.22e-9)
  std::size_t newton_max_features = 16;  // auto: Newton for binary problems up to this width (L-BFGS beyond: measured faster)
  class_weighting class_weight;
  double threshold = 0.5;              // binary: predict classes()[1] when P(classes()[1]) > threshold
  std::size_t max_classes = 256;
  gd_options gd{};                     // solver gradient_descent: batch size, rate, epochs... (gd.l2 is set from C)
  std::shared_ptr<ClassifierResult<T>> report_to;

  /// names (optional): column names for error messages.
  ClassifierResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                   std::span<const std::string> names = {}) const;
  using detail::frame_trainer<LogisticRegression<T>, T>::fit_detailed;  // (frame, features, target); fit() for the pipeline
  /// The penalty of the mean objective for n rows: 1 / (C n).
  double l2_for(std::size_t n) const noexcept { return std::isinf(C) ? 0.0 : 1.0 / (C * static_cast<double>(n)); }
};

template <scalar T>
ClassifierResult<T> LogisticRegression<T>::fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                                        std::span<const std::string> names) const {
  constexpr std::string_view who = "LogisticRegression";
  const std::size_t n = y.size(), d = columns.size();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LogisticRegression: no rows to fit on (n = 0)"));
  if (!(C > 0) || !(tol >= 0) || !(ftol >= 0) || max_iter == 0 || !(threshold > 0 && threshold < 1))
    MLOPS_THROW(argument_error(errc::invalid_argument,
                               "LogisticRegression: need C > 0, tol >= 0, ftol >= 0, max_iter > 0, threshold in (0, 1)"));
  detail::check_shape_and_target<T>(who, columns, y);
  const auto labels = detail::encode_labels<T>(who, y, max_classes);
  const auto cw = detail::class_weight_vector<T>(who, class_weight, labels);
  const auto sw = detail::row_weights(cw, labels.index);
  const std::size_t K = labels.classes.size(), M = K == 2 ? 1 : K;
  classifier_solver s = solver;
  if (s == classifier_solver::automatic) s = (M == 1 && d <= newton_max_features) ? classifier_solver::newton : classifier_solver::lbfgs;
  if (s == classifier_solver::newton && M != 1) s = classifier_solver::lbfgs;  // Newton is for the binary problem
  // The features' NaN/Inf check is left to the solver's first pass: Newton's and L-BFGS's
  // first gradient (check_features_by_gradient), the gradient-descent core as in gd_train.
  detail::gd_data<T> data{columns, labels.index, sw};
  data.names = names, data.who = who, data.check_features = true;
  const double l2 = l2_for(n);

  ClassifierResult<T> res;
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(M));
  Eigen::VectorXd b = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(M));
  bool separable = false;
  if (s == classifier_solver::gradient_descent) {
    gd_options o = gd;
    o.l2 = l2;
    o.fit_intercept = fit_intercept;
    detail::check_gd_options(who, o);
    gd_state st;
    st.init(d, M);
    const auto out = detail::gd_train(o, logistic_loss{}, data, st, false);
    res.status = out.status, res.epochs = out.epochs, res.loss = out.loss, res.validation_loss = out.validation_loss;
    res.message = out.message;
    W = st.W, b = st.b;
    res.state = std::move(st);
  } else if (s == classifier_solver::newton) {
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d + 1));
    const auto out = detail::newton_logistic(data, l2, fit_intercept, theta, max_iter, tol, separable);
    res.status = out.status, res.epochs = out.iterations, res.loss = out.loss;
    W.col(0) = theta.head(static_cast<Eigen::Index>(d));
    b(0) = theta(static_cast<Eigen::Index>(d));
  } else {
    detail::linear_objective<T, logistic_loss> obj(data, l2, M, fit_intercept);
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(obj.size()));
    const detail::logistic_preconditioner pre(data, l2, M, fit_intercept);
    const auto out = detail::lbfgs_minimize(obj, theta, max_iter, tol, ftol, 1.0 / static_cast<double>(n), pre);
    res.status = out.status, res.epochs = out.iterations, res.loss = out.loss;
    obj.unpack(theta);
    W = obj.W, b = obj.b;
  }
  if (l2 == 0 && !separable) {  // without a penalty, a fit that classifies every row is at infinity
    Eigen::MatrixXd Wd = W;
    Eigen::VectorXd bd = b;
    detail::gd_block blk(detail::gd_chunk_rows(d), d, M);
    std::size_t wrong = 0;
    for (std::size_t k0 = 0; k0 < n; k0 += static_cast<std::size_t>(blk.X.rows())) {
      const std::size_t c = (std::min)(static_cast<std::size_t>(blk.X.rows()), n - k0);
      blk.gather_columns(data, nullptr, k0, c);
      blk.run(logistic_loss{}, c, Wd, bd, nullptr, nullptr);
      for (std::size_t i = 0; i < c; ++i) {
        const auto row = blk.P.row(static_cast<Eigen::Index>(i));
        const auto cls = static_cast<Eigen::Index>(blk.y(static_cast<Eigen::Index>(i)));
        if (M == 1) wrong += (row(0) > 0) != (cls == 1) || row(0) == 0;
        else wrong += (row.array() >= row(cls)).count() != 1;
      }
    }
    separable = wrong == 0;
  }
  if (separable)
    MLOPS_THROW(training_error(errc::training_separable,
                               "LogisticRegression: the classes are perfectly separable, so without a penalty (C = infinity) the "
                               "maximum-likelihood coefficients are infinite; set a finite C (e.g. 1.0) to get a bounded model"));
  res.model.assign(W, b, labels.classes, n);
  res.model.loss_ = classifier_loss::logistic;
  res.model.solver_ = s;
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.threshold_ = threshold;
  res.model.n_iter_ = res.epochs;
  res.model.class_weights_ = cw;
  return res;
}

/// Linear SVM: hinge loss with an L2 penalty, trained by the gradient-descent core
/// (defaults: mini-batches of 32, rate 0.1/sqrt(1 + t), l2 = 1e-4, tol 1e-4, as a starting point
/// for standardized features). Binary or one-vs-rest multiclass; decision_function and
/// predict, no probabilities.
template <scalar T>
struct LinearSVM : gd_options, detail::frame_trainer<LinearSVM<T>, T> {
  class_weighting class_weight;
  double threshold = 0;  // binary: predict classes()[1] when the score > threshold
  std::size_t max_classes = 256;
  std::optional<LinearClassifier<T>> warm_start;
  std::shared_ptr<ClassifierResult<T>> report_to;

  LinearSVM() {
    batch_size = 32;
    rate = inverse_scaling{0.1, 0.5};
    l2 = 1e-4;
    max_epochs = 200;
    tol = 1e-4;
  }

  /// names (optional): column names for error messages.
  ClassifierResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                   std::span<const std::string> names = {}) const {
    return run(columns, y, nullptr, names);
  }
  using detail::frame_trainer<LinearSVM<T>, T>::fit_detailed;  // (frame, features, target); fit() for the pipeline
  /// One pass over a new batch continuing from `r` (a previous fit or partial_fit): the
  /// classes are those of the first fit; a label outside them is `data.labels`.
  void partial_fit(ClassifierResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const;

 private:
  ClassifierResult<T> run(std::span<const std::span<const T>> columns, std::span<const T> y, const ClassifierResult<T>* from,
                          std::span<const std::string> names = {}) const;
};

template <scalar T>
void LinearSVM<T>::partial_fit(ClassifierResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const {
  if (r.model.n_classes() < 2)
    MLOPS_THROW(argument_error(errc::invalid_argument, "LinearSVM::partial_fit: start from a fit_detailed result (it fixes the classes)"));
  r = run(columns, y, &r);
}

template <scalar T>
ClassifierResult<T> LinearSVM<T>::run(std::span<const std::span<const T>> columns, std::span<const T> y, const ClassifierResult<T>* from,
                                      std::span<const std::string> names) const {
  constexpr std::string_view who = "LinearSVM";
  const std::size_t n = y.size(), d = columns.size();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LinearSVM: no rows to fit on (n = 0)"));
  detail::check_gd_options(who, *this);
  detail::check_finite<T>(who, columns, y, names);
  const auto labels = from ? detail::encode_labels<T>(who, y, max_classes, std::span<const T>(from->model.classes_))
                           : detail::encode_labels<T>(who, y, max_classes);
  const auto cw = detail::class_weight_vector<T>(who, class_weight, labels);
  const auto sw = detail::row_weights(cw, labels.index);
  const std::size_t K = labels.classes.size(), M = K == 2 ? 1 : K;
  gd_state st;
  if (from && from->state.ready) st = from->state;
  const LinearClassifier<T>* start = from ? &from->model : (warm_start ? &*warm_start : nullptr);
  if (!st.ready) {
    st.init(d, M);
    if (start) {
      if (start->n_features() != d || start->n_outputs() != M)
        MLOPS_THROW(argument_error(errc::invalid_argument, "LinearSVM: the starting model has a different shape"));
      st.W = start->coef().template cast<double>();
      st.b = start->intercept().template cast<double>();
    }
  }
  if (static_cast<std::size_t>(st.W.rows()) != d)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("LinearSVM: the model has {} features but the data {}", st.W.rows(), d)));
  const detail::gd_data<T> data{columns, labels.index, sw};
  const auto out = detail::gd_train(*this, hinge_loss{}, data, st, from != nullptr);
  ClassifierResult<T> res;
  res.status = out.status, res.epochs = from ? st.epochs : out.epochs, res.loss = out.loss, res.validation_loss = out.validation_loss;
  res.message = out.message;
  res.model.assign(st.W, st.b, labels.classes, n);
  res.model.loss_ = classifier_loss::hinge;
  res.model.solver_ = classifier_solver::gradient_descent;
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.threshold_ = threshold;
  res.model.n_iter_ = st.epochs;
  res.model.class_weights_ = cw;
  res.state = std::move(st);
  return res;
}

// The compiled mode holds these (src/learn_*.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class LinearClassifier)
MLOPS_EXTERN_TEMPLATE_FD(struct LogisticRegression)
MLOPS_EXTERN_TEMPLATE_FD(struct LinearSVM)

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_CLASSIFIER)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::vector<double> row_weights(const std::vector<double>& class_w, const std::vector<double>& index) {
  if (class_w.empty()) return {};
  std::vector<double> w(index.size());
  for (std::size_t i = 0; i < index.size(); ++i) w[i] = class_w[static_cast<std::size_t>(index[i])];
  return w;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_LEARN_CLASSIFIER
