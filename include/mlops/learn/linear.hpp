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

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/QR>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/stats.hpp"
#include "mlops/error.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN

enum class linear_solver : std::uint8_t { ldlt = 1, complete_orthogonal = 2 };

constexpr std::string_view to_string(linear_solver s) noexcept {
  return s == linear_solver::ldlt ? "ldlt" : "complete_orthogonal";
}

/// A fitted linear model: y = coef . x + intercept.
template <scalar T>
class LinearModel {
 public:
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
  /// Batch prediction over a matrix (rows = samples).
  vector_type predict(const Eigen::Ref<const matrix_type>& X) const {
    if (static_cast<std::size_t>(X.cols()) != n_features())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("predict: X has {} columns but the model has {} features", X.cols(), n_features())));
    return (X * coef_).array() + intercept_;
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
    if (s < 1 || s > 2) r.corrupt("unknown linear solver " + std::to_string(s));
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
  vector_type coef_;
  T intercept_ = 0;
  bool fit_intercept_ = true;
  double l2_ = 0;
  linear_solver solver_ = linear_solver::ldlt;
  std::size_t rank_ = 0;
  double rcond_ = 0;
  std::size_t n_samples_ = 0;
};

/// Options of the closed-form trainer. l2 = 0: ordinary least squares; l2 > 0: ridge
/// with penalty l2 * ||coef||^2 (scikit-learn's Ridge(alpha = l2)).
template <scalar T>
struct LinearRegression {
  bool fit_intercept = true;
  double l2 = 0;

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
  /// Fits on named columns of a frame.
  LinearModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    return fit(cols, frame.column(target), features);
  }
};

namespace detail {
inline std::string column_label(std::span<const std::string> names, std::size_t j) {
  return j < names.size() ? "column '" + names[j] + "'" : "feature " + std::to_string(j);
}
template <class T>
[[noreturn]] inline void report_non_finite(std::span<const T> v, const std::string& label) {
  std::size_t r = 0;
  while (r < v.size() && std::isfinite(v[r])) ++r;
  MLOPS_THROW(data_error(errc::data_non_finite,
                         fmt::format("LinearRegression: {} holds {} at row {}; impute missing values (NaN) and remove "
                                     "infinite ones before fitting",
                                     label, r < v.size() ? fmt::format("{}", v[r]) : std::string("an overflowing sum"), r)));
}
}  // namespace detail

template <scalar T>
LinearModel<T> LinearRegression<T>::fit(std::span<const std::span<const T>> columns, std::span<const T> y,
                                        std::span<const std::string> names) const {
  using dmat = Eigen::MatrixXd;
  using dvec = Eigen::VectorXd;
  const std::size_t n = y.size(), d = columns.size();
  if (!(l2 >= 0) || !std::isfinite(l2))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("LinearRegression: l2 = {} must be finite and >= 0", l2)));
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LinearRegression: no rows to fit on (n = 0)"));
  for (std::size_t j = 0; j < d; ++j)
    if (columns[j].size() != n)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("LinearRegression: {} has {} rows but y has {}",
                                                           detail::column_label(names, j), columns[j].size(), n)));

  // Pass 1: means, and a finiteness check folded into the sums.
  dvec mean = dvec::Zero(static_cast<Eigen::Index>(d));
  double ymean = 0;
  {
    // NaN counts as missing in nan_sum, so a short count means NaN; Inf shows in the sum.
    const auto ys = detail::nan_sum<T>(y);
    const double s = ys.sum;
    if (ys.count != n || !std::isfinite(s)) detail::report_non_finite<T>(y, "the target");
    ymean = fit_intercept ? s / static_cast<double>(n) : 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      const auto c = detail::nan_sum<T>(columns[j]);
      const double cs = c.sum;
      if (c.count != n || !std::isfinite(cs)) detail::report_non_finite<T>(columns[j], detail::column_label(names, j));
      mean(static_cast<Eigen::Index>(j)) = fit_intercept ? cs / static_cast<double>(n) : 0.0;
    }
  }

  // Pass 2: centred Gram matrix and X^T y, chunk by chunk.
  const auto di = static_cast<Eigen::Index>(d);
  dmat G = dmat::Zero(di, di);
  dvec b = dvec::Zero(di);
  constexpr std::size_t chunk = 1024;
  dmat C(static_cast<Eigen::Index>((std::min)(chunk, n)), di);
  dvec yc(C.rows());
  for (std::size_t r0 = 0; r0 < n; r0 += chunk) {
    const std::size_t m = (std::min)(chunk, n - r0);
    const auto mi = static_cast<Eigen::Index>(m);
    for (std::size_t j = 0; j < d; ++j) {
      const T* src = columns[j].data() + r0;
      double* dst = C.col(static_cast<Eigen::Index>(j)).data();
      const double mu = mean(static_cast<Eigen::Index>(j));
      for (std::size_t i = 0; i < m; ++i) dst[i] = static_cast<double>(src[i]) - mu;
    }
    for (std::size_t i = 0; i < m; ++i) yc(static_cast<Eigen::Index>(i)) = static_cast<double>(y[r0 + i]) - ymean;
    if (d > 0) {
      G.selfadjointView<Eigen::Lower>().rankUpdate(C.topRows(mi).transpose());
      b.noalias() += C.topRows(mi).transpose() * yc.head(mi);
    }
  }
  if (!G.allFinite() || !b.allFinite())
    MLOPS_THROW(data_error(errc::data_non_finite, "LinearRegression: the data overflow double precision; rescale the features"));
  G.diagonal().array() += l2;

  LinearModel<T> model;
  model.fit_intercept_ = fit_intercept;
  model.l2_ = l2;
  model.n_samples_ = n;
  dvec w(di);
  bool solved = false;
  if (d == 0) {
    solved = true;
    model.rcond_ = 1;
  } else {
    Eigen::LDLT<dmat, Eigen::Lower> ldlt(G);
    model.rcond_ = ldlt.info() == Eigen::Success ? ldlt.rcond() : 0.0;
    const double threshold = std::sqrt(std::numeric_limits<double>::epsilon());
    if (ldlt.info() == Eigen::Success && ldlt.isPositive() && model.rcond_ >= threshold) {
      w = ldlt.solve(b);
      solved = w.allFinite();
    }
  }
  if (solved) {
    model.solver_ = linear_solver::ldlt;
    model.rank_ = d;
  } else {
    // Rank-revealing fallback on the centred data (plus sqrt(l2) I rows for ridge).
    const Eigen::Index extra = l2 > 0 ? di : 0;
    dmat A(static_cast<Eigen::Index>(n) + extra, di);
    dvec rhs(A.rows());
    for (std::size_t j = 0; j < d; ++j) {
      const double mu = mean(static_cast<Eigen::Index>(j));
      for (std::size_t i = 0; i < n; ++i) A(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = static_cast<double>(columns[j][i]) - mu;
    }
    for (std::size_t i = 0; i < n; ++i) rhs(static_cast<Eigen::Index>(i)) = static_cast<double>(y[i]) - ymean;
    if (extra) {
      A.bottomRows(extra) = std::sqrt(l2) * dmat::Identity(di, di);
      rhs.tail(extra).setZero();
    }
    Eigen::CompleteOrthogonalDecomposition<dmat> cod(A);
    w = cod.solve(rhs);
    model.solver_ = linear_solver::complete_orthogonal;
    model.rank_ = static_cast<std::size_t>(cod.rank());
  }
  model.coef_ = w.template cast<T>();
  model.intercept_ = static_cast<T>(fit_intercept ? ymean - mean.dot(w) : 0.0);
  return model;
}

MLOPS_NAMESPACE_END
