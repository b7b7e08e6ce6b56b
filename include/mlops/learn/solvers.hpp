// mlops/learn/solvers.hpp - the logistic objectives' solvers: the objective and gradient
// of a linear model with M outputs, L-BFGS (with the logistic preconditioner) and Newton's
// method for the binary case. Only the trainers' bodies use them (learn/classifier.hpp,
// under MLOPS_TEMPLATE_BODIES): a compiled-mode user parses none of this.
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

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/learn/gd_kernels.hpp"
#include "mlops/learn/labels.hpp"
#include "mlops/learn/linear_classifier.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

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
MLOPS_NAMESPACE_END
