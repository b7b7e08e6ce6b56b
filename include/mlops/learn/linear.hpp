// mlops/learn/linear.hpp - closed-form least squares and ridge.
//
// LinearRegression<T>{fit_intercept, l2}.fit(...) -> LinearModel<T>.
// Solver: centred normal equations, Gram matrix accumulated in cache-sized row chunks
// (double precision for float input too) with a symmetric rank update, solved by LDLT.
// When LDLT fails or its reciprocal condition estimate is below sqrt(epsilon), the
// problem is re-solved by a complete orthogonal decomposition of the centred data,
// which gives the minimum-norm least-squares solution on rank-deficient data (what
// numpy.linalg.lstsq and scikit-learn's LinearRegression give). Ridge penalises the
// coefficients, never the intercept (scikit-learn's Ridge).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/memory.hpp"
#include "mlops/detail/stats.hpp"
#include "mlops/error.hpp"
#include "mlops/frame.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

enum class linear_solver : std::uint8_t { ldlt = 1, complete_orthogonal = 2, eigen_pseudo_inverse = 3, recursive = 4, gradient_descent = 5 };

constexpr std::string_view to_string(linear_solver s) noexcept {
  switch (s) {
    case linear_solver::ldlt: return "ldlt";
    case linear_solver::complete_orthogonal: return "complete_orthogonal";
    case linear_solver::eigen_pseudo_inverse: return "eigen_pseudo_inverse";
    case linear_solver::recursive: return "recursive_least_squares";
    case linear_solver::gradient_descent: return "gradient_descent";
  }
  return "?";
}

/// A fitted linear model: y = coef . x + intercept.
template <scalar T>
class LinearModel {
 public:
  static constexpr std::uint8_t tag = 1;  // format tag (model section): never changes
  static constexpr bool is_classifier = false;
  using vector_type = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  LinearModel() = default;

  std::size_t n_features() const noexcept { return static_cast<std::size_t>(coef_.size()); }
  const vector_type& coef() const noexcept { return coef_; }
  T intercept() const noexcept { return intercept_; }
  bool fit_intercept() const noexcept { return fit_intercept_; }
  double l2() const noexcept { return l2_; }
  linear_solver solver() const noexcept { return solver_; }
  /// Numerical rank found by the solver (d when LDLT succeeded).
  std::size_t rank() const noexcept { return rank_; }
  /// LDLT's reciprocal condition estimate of the (regularised) Gram matrix.
  double rcond() const noexcept { return rcond_; }
  std::size_t n_samples() const noexcept { return n_samples_; }

  /// One row, features in training order. noexcept, allocation-free.
  T predict_row(std::span<const T> x) const noexcept {
    MLOPS_ASSERT(x.size() == n_features(), "row length must equal the number of features");
    return dot(x.data(), 0, x.size()) + intercept_;
  }
  /// Partial dot product over features [first, first + m) with x holding those values.
  /// Four independent accumulators in a fixed order: fast and identical everywhere.
  T dot(const T* x, std::size_t first, std::size_t m) const noexcept {
    const T* w = coef_.data() + first;
    T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::size_t k = 0;
    for (; k + 4 <= m; k += 4) {
      a0 += w[k] * x[k];
      a1 += w[k + 1] * x[k + 1];
      a2 += w[k + 2] * x[k + 2];
      a3 += w[k + 3] * x[k + 3];
    }
    for (; k < m; ++k) a0 += w[k] * x[k];
    return (a0 + a1) + (a2 + a3);
  }

  // ---- the pipeline's row kernels (pipeline/fitted.hpp): noexcept, allocation-free ----
  static constexpr bool chunked_rows = true;  // predict_chunks below
  std::size_t n_outputs() const noexcept { return 1; }
  /// `fill(buf, first, m)` writes design values [first, first + m) (m <= Chunk) into buf;
  /// they are consumed chunk by chunk. s[0] gets the prediction, which is returned.
  template <std::size_t Chunk, class Fill>
  T predict_chunks(std::size_t d, Fill&& fill, double* s) const noexcept {
    std::array<T, Chunk> buf;
    T sum = 0;
    for (std::size_t j0 = 0; j0 < d; j0 += Chunk) {
      const std::size_t m = (std::min)(Chunk, d - j0);
      fill(buf.data(), j0, m);
      sum += dot(buf.data(), j0, m);
    }
    s[0] = static_cast<double>(sum + intercept_);
    return sum + intercept_;
  }
  /// The same over a whole design row x[0 .. n_features()).
  T predict_design(const T* x, double* s) const noexcept {
    const T y = dot(x, 0, n_features()) + intercept_;
    s[0] = static_cast<double>(y);
    return y;
  }

  /// Batch prediction over a matrix (rows = samples).
  vector_type predict(const Eigen::Ref<const matrix_type>& X) const {
    if (static_cast<std::size_t>(X.cols()) != n_features())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("predict: X has {} columns but the model has {} features", X.cols(), n_features())));
    return (X * coef_).array() + intercept_;
  }

  /// The card's "model" object: kind, coefficients by design column, intercept, solver.
  template <class Json, class Num>
  void describe(Json& j, std::span<const std::string> design, Num num) const {
    Json coef = Json::object();
    for (std::size_t c = 0; c < design.size(); ++c) coef[design[c]] = num(static_cast<double>(coef_(static_cast<Eigen::Index>(c))));
    const char* kind = solver_ == linear_solver::recursive        ? "rls"
                       : solver_ == linear_solver::gradient_descent ? "gd"
                       : l2_ > 0                                    ? "ridge"
                                                                    : "linear";
    j = {{"kind", kind}, {"l2", l2_}, {"fit_intercept", fit_intercept_}, {"intercept", num(static_cast<double>(intercept_))},
         {"coefficients", coef}, {"solver", std::string(to_string(solver_))}, {"rank", rank_}, {"rcond", num(rcond_)},
         {"n_samples", n_samples_}};
  }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint8_t>(fit_intercept_));
    w.put(l2_);
    w.put(static_cast<std::uint8_t>(solver_));
    w.put(static_cast<std::uint64_t>(rank_));
    w.put(rcond_);
    w.put(static_cast<std::uint64_t>(n_samples_));
    w.put(intercept_);
    w.put_array<T>(std::span<const T>(coef_.data(), static_cast<std::size_t>(coef_.size())));
  }
  static LinearModel load(detail::byte_reader& r) {
    LinearModel m;
    m.fit_intercept_ = r.get<std::uint8_t>() != 0;
    m.l2_ = r.get<double>();
    const auto s = r.get<std::uint8_t>();
    if (s < 1 || s > 5) r.corrupt("unknown linear solver " + std::to_string(s));
    m.solver_ = static_cast<linear_solver>(s);
    m.rank_ = static_cast<std::size_t>(r.get<std::uint64_t>());
    m.rcond_ = r.get<double>();
    m.n_samples_ = static_cast<std::size_t>(r.get<std::uint64_t>());
    m.intercept_ = r.get<T>();
    const auto coef = r.get_array<T>();
    m.coef_ = Eigen::Map<const vector_type>(coef.data(), static_cast<Eigen::Index>(coef.size()));
    if (!std::isfinite(m.intercept_) || !m.coef_.allFinite()) r.corrupt("model coefficients are not finite");
    if (m.rank_ > coef.size()) r.corrupt("model rank exceeds its feature count");
    return m;
  }

 private:
  template <scalar>
  friend struct LinearRegression;
  template <scalar>
  friend class LeastSquaresStats;
  template <scalar>
  friend class RecursiveLeastSquares;
  template <scalar>
  friend struct GradientDescentRegressor;
  vector_type coef_;
  T intercept_ = 0;
  bool fit_intercept_ = true;
  double l2_ = 0;
  linear_solver solver_ = linear_solver::ldlt;
  std::size_t rank_ = 0;
  double rcond_ = 0;
  std::size_t n_samples_ = 0;
};

namespace detail {
MLOPS_FUNC std::string column_label(std::span<const std::string> names, std::size_t j);
template <class T>
[[noreturn]] inline void report_non_finite(std::string_view who, std::span<const T> v, const std::string& label,
                                           std::size_t row_offset = 0) {
  std::size_t r = 0;
  while (r < v.size() && std::isfinite(v[r])) ++r;
  MLOPS_THROW(data_error(errc::data_non_finite,
                         fmt::format("{}: {} holds {} at row {}; impute missing values (NaN) and remove "
                                     "infinite ones before fitting",
                                     who, label, r < v.size() ? fmt::format("{}", v[r]) : std::string("an overflowing sum"),
                                     r + row_offset)));
}
/// LDLT solve of G w = b; false when LDLT fails, G is not positive, or its reciprocal
/// condition estimate is below sqrt(epsilon) (the caller then uses a rank-revealing solver).
MLOPS_FUNC bool ldlt_solve(const Eigen::MatrixXd& G, const Eigen::VectorXd& b, Eigen::VectorXd& w, double& rcond);
}  // namespace detail

/// Sufficient statistics of least squares, mergeable: count, means of x and y, and the
/// centred co-moments Sxx = sum (x - mean)(x - mean)^T (lower triangle), Sxy, Syy, all in
/// double precision. Accumulate chunk by chunk (update) or per thread and combine
/// (merge, Chan et al.'s pairwise formula); solve() gives the same model as a batch fit.
/// LinearRegression::fit itself runs on these statistics in 1024-row blocks, so chunks
/// whose sizes are multiples of 1024, fed in order, give bit-identical coefficients.
template <scalar T>
class LeastSquaresStats {
 public:
  static constexpr std::size_t block = 1024;

  LeastSquaresStats() = default;
  explicit LeastSquaresStats(std::size_t d)
      : mean_(checked_width(d)),
        sxx_(Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d))),
        sxy_(Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d))) {}

  /// A zero vector of d values, once d x d matrices are known to fit: the statistics and
  /// the solve hold about three of them, so a width whose matrices exceed the machine's
  /// memory is a data_error now, not a std::bad_alloc (or the OOM killer) later.
  static Eigen::VectorXd checked_width(std::size_t d) {
    const std::uint64_t need = detail::saturating_product(3 * sizeof(double), d, d);
    if (!detail::fits_in_memory(need))
      MLOPS_THROW(data_error(errc::data_shape,
                             fmt::format("least squares on {} features needs three {}x{} matrices ({:.1f} GiB), more than this machine's "
                                         "memory ({:.1f} GiB); use a gradient-descent trainer (GradientDescentRegressor, --model gd or "
                                         "sgd: memory linear in the features) or fewer features",
                                         d, d, d, static_cast<double>(need) / 1073741824.0,
                                         static_cast<double>(detail::physical_memory_bytes()) / 1073741824.0)));
    return Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
  }

  /// Statistics given directly: n rows, the means, and the centred co-moments (sxx: its
  /// lower triangle is read). What a caller that computed them another way (per fold from
  /// shared sums, across ranks) hands to solve() or LinearRegression::fit_from.
  static LeastSquaresStats from_moments(std::size_t n, Eigen::VectorXd mean_x, double mean_y, Eigen::MatrixXd sxx, Eigen::VectorXd sxy,
                                        double syy) {
    const auto d = mean_x.size();
    if (sxx.rows() != d || sxx.cols() != d || sxy.size() != d)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("least squares: moments of {} features with a {}x{} sxx and {} sxy", d, sxx.rows(),
                                                           sxx.cols(), sxy.size())));
    LeastSquaresStats s;
    s.n_ = n;
    s.mean_ = std::move(mean_x);
    s.mean_y_ = mean_y;
    s.sxx_ = std::move(sxx);
    s.sxy_ = std::move(sxy);
    s.syy_ = syy;
    return s;
  }

  std::size_t n_features() const noexcept { return static_cast<std::size_t>(mean_.size()); }
  std::size_t count() const noexcept { return n_; }
  const Eigen::VectorXd& mean_x() const noexcept { return mean_; }
  double mean_y() const noexcept { return mean_y_; }
  /// Centred co-moments (lower triangle of sxx is meaningful).
  const Eigen::MatrixXd& sxx() const noexcept { return sxx_; }
  const Eigen::VectorXd& sxy() const noexcept { return sxy_; }
  double syy() const noexcept { return syy_; }

  /// Adds rows: d columns of m values each, and m targets. NaN/Inf is a data_error naming
  /// the column and row (counted from the start of this call); nothing is added then.
  void update(std::span<const std::span<const T>> columns, std::span<const T> y, std::span<const std::string> names = {}) {
    const std::size_t m = y.size(), d = columns.size();
    if (d != n_features())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("least squares: {} columns given, the statistics have {}", d, n_features())));
    for (std::size_t j = 0; j < d; ++j)
      if (columns[j].size() != m)
        MLOPS_THROW(data_error(errc::data_shape, fmt::format("least squares: {} has {} rows but y has {}",
                                                             detail::column_label(names, j), columns[j].size(), m)));
    LeastSquaresStats staged = *this;  // nothing changes unless every block is valid
    const auto di = static_cast<Eigen::Index>(d);
    Eigen::MatrixXd C(static_cast<Eigen::Index>((std::min)(block, m)), di);
    Eigen::VectorXd yc(C.rows());
    LeastSquaresStats part(d);
    for (std::size_t r0 = 0; r0 < m; r0 += block) {
      const std::size_t len = (std::min)(block, m - r0);
      const auto li = static_cast<Eigen::Index>(len);
      part.n_ = len;
      // Block means (a non-finite value shows as a short count or a non-finite sum).
      const auto ys = detail::nan_sum<T>(y.subspan(r0, len));
      if (ys.count != len || !std::isfinite(ys.sum)) detail::report_non_finite<T>("least squares", y.subspan(r0, len), "the target", r0);
      part.mean_y_ = ys.sum / static_cast<double>(len);
      for (std::size_t j = 0; j < d; ++j) {
        const auto c = detail::nan_sum<T>(columns[j].subspan(r0, len));
        if (c.count != len || !std::isfinite(c.sum))
          detail::report_non_finite<T>("least squares", columns[j].subspan(r0, len), detail::column_label(names, j), r0);
        part.mean_(static_cast<Eigen::Index>(j)) = c.sum / static_cast<double>(len);
      }
      for (std::size_t j = 0; j < d; ++j) {
        const T* src = columns[j].data() + r0;
        double* dst = C.col(static_cast<Eigen::Index>(j)).data();
        const double mu = part.mean_(static_cast<Eigen::Index>(j));
        for (std::size_t i = 0; i < len; ++i) dst[i] = static_cast<double>(src[i]) - mu;
      }
      for (std::size_t i = 0; i < len; ++i) yc(static_cast<Eigen::Index>(i)) = static_cast<double>(y[r0 + i]) - part.mean_y_;
      part.sxx_.setZero();
      if (d > 0) {
        part.sxx_.template selfadjointView<Eigen::Lower>().rankUpdate(C.topRows(li).transpose());
        part.sxy_.noalias() = C.topRows(li).transpose() * yc.head(li);
      }
      part.syy_ = yc.head(li).squaredNorm();
      staged.merge(part);
    }
    if (!staged.sxx_.allFinite() || !staged.sxy_.allFinite())
      MLOPS_THROW(data_error(errc::data_non_finite, "least squares: the data overflow double precision; rescale the features"));
    *this = std::move(staged);
  }
  void update(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    update(cols, frame.column(target), features);
  }

  /// Combines another accumulator (same feature count) into this one.
  void merge(const LeastSquaresStats& o) {
    if (o.n_features() != n_features())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("least squares: cannot merge statistics of {} and {} features", n_features(), o.n_features())));
    if (o.n_ == 0) return;
    if (n_ == 0) {
      *this = o;
      return;
    }
    const double na = static_cast<double>(n_), nb = static_cast<double>(o.n_), n = na + nb;
    const double f = na * nb / n;
    const Eigen::VectorXd dx = o.mean_ - mean_;
    const double dy = o.mean_y_ - mean_y_;
    sxx_.template triangularView<Eigen::Lower>() += o.sxx_;
    sxx_.template selfadjointView<Eigen::Lower>().rankUpdate(dx, f);
    sxy_ += o.sxy_ + f * dy * dx;
    syy_ += o.syy_ + f * dy * dy;
    mean_ += dx * (nb / n);
    mean_y_ += dy * (nb / n);
    n_ += o.n_;
  }

  /// The model these statistics determine. Rank-deficient or ill-conditioned: the
  /// minimum-norm solution via a symmetric eigendecomposition (the data are not at hand).
  LinearModel<T> solve(bool fit_intercept = true, double l2 = 0) const {
    Eigen::MatrixXd G;
    Eigen::VectorXd b;
    normal_equations(fit_intercept, l2, G, b);
    LinearModel<T> model;
    Eigen::VectorXd w;
    if (detail::ldlt_solve(G, b, w, model.rcond_)) {
      model.solver_ = linear_solver::ldlt;
      model.rank_ = n_features();
    } else {
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G.selfadjointView<Eigen::Lower>());
      const Eigen::VectorXd& ev = es.eigenvalues();
      const double tol = ev.cwiseAbs().maxCoeff() * static_cast<double>(G.rows()) * std::numeric_limits<double>::epsilon();
      Eigen::VectorXd inv = Eigen::VectorXd::Zero(ev.size());
      std::size_t rank = 0;
      for (Eigen::Index i = 0; i < ev.size(); ++i)
        if (ev(i) > tol) {
          inv(i) = 1.0 / ev(i);
          ++rank;
        }
      w = es.eigenvectors() * inv.asDiagonal() * (es.eigenvectors().transpose() * b);
      model.solver_ = linear_solver::eigen_pseudo_inverse;
      model.rank_ = rank;
    }
    finish(model, w, fit_intercept, l2);
    return model;
  }

 private:
  template <scalar>
  friend struct LinearRegression;

  /// G w = b for the coefficients: centred (with intercept) or raw moments (without).
  void normal_equations(bool fit_intercept, double l2, Eigen::MatrixXd& G, Eigen::VectorXd& b) const {
    if (!(l2 >= 0) || !std::isfinite(l2))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("least squares: l2 = {} must be finite and >= 0", l2)));
    if (n_ == 0) MLOPS_THROW(data_error(errc::data_empty, "least squares: no rows to fit on (n = 0)"));
    G = sxx_;
    b = sxy_;
    if (!fit_intercept) {  // raw moments: Sxx + n mean mean^T, Sxy + n mean mean_y
      G.template selfadjointView<Eigen::Lower>().rankUpdate(mean_, static_cast<double>(n_));
      b += static_cast<double>(n_) * mean_y_ * mean_;
    }
    G.diagonal().array() += l2;
  }
  void finish(LinearModel<T>& model, const Eigen::VectorXd& w, bool fit_intercept, double l2) const {
    model.fit_intercept_ = fit_intercept;
    model.l2_ = l2;
    model.n_samples_ = n_;
    model.coef_ = w.template cast<T>();
    model.intercept_ = static_cast<T>(fit_intercept ? mean_y_ - mean_.dot(w) : 0.0);
  }

  std::size_t n_ = 0;
  Eigen::VectorXd mean_;
  double mean_y_ = 0;
  Eigen::MatrixXd sxx_;
  Eigen::VectorXd sxy_;
  double syy_ = 0;
};

/// Options of the closed-form trainer. l2 = 0: ordinary least squares; l2 > 0: ridge
/// with penalty l2 * ||coef||^2 (scikit-learn's Ridge(alpha = l2)).
template <scalar T>
struct LinearRegression {
  static constexpr std::string_view name = "LinearRegression";
  bool fit_intercept = true;
  double l2 = 0;

  /// Sets a parameter by name: alpha (alias l2), fit_intercept.
  void set_param(std::string_view param, const param_value& v);
  /// Every parameter by name, as set_param takes them.
  param_list params() const { return {{"alpha", l2}, {"fit_intercept", fit_intercept ? 1.0 : 0.0}}; }

  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  /// Fits on feature columns given as spans (no copy of X is made).
  /// `names` (optional) name the columns in error messages.
  LinearModel<T> fit(std::span<const std::span<const T>> columns, std::span<const T> y,
                     std::span<const std::string> names = {}) const;
  /// Fits on a column-major matrix (rows = samples).
  LinearModel<T> fit(const Eigen::Ref<const matrix_type>& X, std::span<const T> y) const {
    if (X.rows() != static_cast<Eigen::Index>(y.size()))
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("LinearRegression: X has {} rows but y has {}", X.rows(), y.size())));
    std::vector<std::span<const T>> cols;
    for (Eigen::Index j = 0; j < X.cols(); ++j) cols.emplace_back(X.col(j).data(), static_cast<std::size_t>(X.rows()));
    return fit(cols, y);
  }
  /// Fits from mergeable statistics (the same model as fit on their rows, to rounding;
  /// a rank-deficient system gets the minimum-norm solution).
  LinearModel<T> fit_from(const LeastSquaresStats<T>& stats) const { return stats.solve(fit_intercept, l2); }
  /// Fits on named columns of a frame.
  LinearModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    return fit(cols, frame.column(target), features);
  }
};

template <scalar T>
void LinearRegression<T>::set_param(std::string_view param, const param_value& v) {
  if (param == "alpha" || param == "l2") l2 = detail::param_number(param, v);
  else if (param == "fit_intercept") fit_intercept = detail::param_bool(param, v);
  else detail::unknown_param(name, param, "alpha (alias l2), fit_intercept");
}


template <scalar T>
LinearModel<T> LinearRegression<T>::fit(std::span<const std::span<const T>> columns, std::span<const T> y,
                                        std::span<const std::string> names) const {
  const std::size_t n = y.size(), d = columns.size();
  if (!(l2 >= 0) || !std::isfinite(l2))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("LinearRegression: l2 = {} must be finite and >= 0", l2)));
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LinearRegression: no rows to fit on (n = 0)"));
  LeastSquaresStats<T> stats(d);
  stats.update(columns, y, names);  // one pass, 1024-row blocks, checks shapes and finiteness
  Eigen::MatrixXd G;
  Eigen::VectorXd b, w;
  stats.normal_equations(fit_intercept, l2, G, b);
  LinearModel<T> model;
  if (detail::ldlt_solve(G, b, w, model.rcond_)) {
    model.solver_ = linear_solver::ldlt;
    model.rank_ = d;
  } else {
    // Rank-revealing fallback on the (centred) data, plus sqrt(l2) I rows for ridge.
    const auto di = static_cast<Eigen::Index>(d);
    const Eigen::Index extra = l2 > 0 ? di : 0;
    Eigen::MatrixXd A(static_cast<Eigen::Index>(n) + extra, di);
    Eigen::VectorXd rhs(A.rows());
    const double ym = fit_intercept ? stats.mean_y() : 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const double mu = fit_intercept ? stats.mean_x()(static_cast<Eigen::Index>(j)) : 0.0;
      for (std::size_t i = 0; i < n; ++i)
        A(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = static_cast<double>(columns[j][i]) - mu;
    }
    for (std::size_t i = 0; i < n; ++i) rhs(static_cast<Eigen::Index>(i)) = static_cast<double>(y[i]) - ym;
    if (extra) {
      A.bottomRows(extra) = std::sqrt(l2) * Eigen::MatrixXd::Identity(di, di);
      rhs.tail(extra).setZero();
    }
    Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(A);
    w = cod.solve(rhs);
    model.solver_ = linear_solver::complete_orthogonal;
    model.rank_ = static_cast<std::size_t>(cod.rank());
  }
  stats.finish(model, w, fit_intercept, l2);
  return model;
}

// The compiled mode holds these (src/learn_*.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class LinearModel)
MLOPS_EXTERN_TEMPLATE_FD(class LeastSquaresStats)
MLOPS_EXTERN_TEMPLATE_FD(struct LinearRegression)

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_LINEAR)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC bool ldlt_solve(const Eigen::MatrixXd& G, const Eigen::VectorXd& b, Eigen::VectorXd& w, double& rcond) {
  if (G.rows() == 0) {
    rcond = 1;
    w.resize(0);
    return true;
  }
  Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt(G);
  rcond = ldlt.info() == Eigen::Success ? ldlt.rcond() : 0.0;
  if (ldlt.info() != Eigen::Success || !ldlt.isPositive() || !(rcond >= std::sqrt(std::numeric_limits<double>::epsilon())))
    return false;
  w = ldlt.solve(b);
  return w.allFinite();
}

MLOPS_FUNC std::string column_label(std::span<const std::string> names, std::size_t j) {
  return j < names.size() ? "column '" + names[j] + "'" : "feature " + std::to_string(j);
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_LEARN_LINEAR
