// mlops/learn/online.hpp - on-device learning: recursive least squares.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/learn/linear.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

struct RlsOptions {
  /// Weight of the past per update, in (0, 1]. 1: no forgetting (ordinary ridge on all
  /// data seen); 0.99 remembers roughly the last 1 / (1 - 0.99) = 100 updates.
  double forgetting = 1.0;
  /// Initial P = I / delta: equivalent to a ridge penalty delta on every coefficient
  /// (the intercept included) at the start. Small delta: fast, less regularised start.
  double delta = 1.0;
  bool fit_intercept = true;
};

/// Recursive least squares: update(x, y) is O(d^2), noexcept and allocation-free (every
/// buffer is allocated by the constructor). Internals are double precision for float too.
/// With forgetting = 1, after n updates the coefficients are those of the closed-form
/// ridge solution minimising |X w + b - y|^2 + delta (|w|^2 + b^2).
/// A row or target holding NaN/Inf is rejected (counted in n_rejected()), never learned:
/// one bad sensor reading cannot poison the model.
template <scalar T>
class RecursiveLeastSquares {
 public:
  RecursiveLeastSquares(std::size_t n_features, RlsOptions options = {}) : d_(n_features), opt_(options) {
    if (!(opt_.forgetting > 0 && opt_.forgetting <= 1))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("RecursiveLeastSquares: forgetting = {} must be in (0, 1]", opt_.forgetting)));
    if (!(opt_.delta > 0) || !std::isfinite(opt_.delta))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("RecursiveLeastSquares: delta = {} must be finite and > 0", opt_.delta)));
    const auto D = static_cast<Eigen::Index>(d_ + (opt_.fit_intercept ? 1 : 0));
    P_ = Eigen::MatrixXd::Identity(D, D) / opt_.delta;
    w_ = Eigen::VectorXd::Zero(D);
    z_ = Eigen::VectorXd::Zero(D);
    Pz_ = Eigen::VectorXd::Zero(D);
  }

  std::size_t n_features() const noexcept { return d_; }
  const RlsOptions& options() const noexcept { return opt_; }
  std::uint64_t n_updates() const noexcept { return updates_; }
  std::uint64_t n_rejected() const noexcept { return rejected_; }

  /// Learns one labelled row. Returns false (and learns nothing) for a non-finite input.
  bool update(std::span<const T> x, T y) noexcept {
    MLOPS_ASSERT(x.size() == d_, "row length must equal n_features()");
    if (!std::isfinite(y)) return reject();
    for (std::size_t j = 0; j < d_; ++j) {
      if (!std::isfinite(x[j])) return reject();
      z_(static_cast<Eigen::Index>(j)) = static_cast<double>(x[j]);
    }
    if (opt_.fit_intercept) z_(static_cast<Eigen::Index>(d_)) = 1.0;
    Pz_.noalias() = P_.template selfadjointView<Eigen::Lower>() * z_;
    const double denom = opt_.forgetting + z_.dot(Pz_);
    if (!(denom > 0) || !std::isfinite(denom)) return reject();
    const double err = static_cast<double>(y) - w_.dot(z_);
    w_.noalias() += (err / denom) * Pz_;
    // P <- (P - Pz Pz^T / denom) / forgetting, lower triangle only (kept symmetric).
    P_.template selfadjointView<Eigen::Lower>().rankUpdate(Pz_, -1.0 / denom);
    if (opt_.forgetting != 1.0) P_.template triangularView<Eigen::Lower>() *= 1.0 / opt_.forgetting;
    ++updates_;
    return true;
  }

  /// Prediction for one row; noexcept, allocation-free.
  T predict(std::span<const T> x) const noexcept {
    MLOPS_ASSERT(x.size() == d_, "row length must equal n_features()");
    double s = opt_.fit_intercept ? w_(static_cast<Eigen::Index>(d_)) : 0.0;
    for (std::size_t j = 0; j < d_; ++j) s += w_(static_cast<Eigen::Index>(j)) * static_cast<double>(x[j]);
    return static_cast<T>(s);
  }
  T intercept() const noexcept { return opt_.fit_intercept ? static_cast<T>(w_(static_cast<Eigen::Index>(d_))) : T(0); }
  Eigen::Matrix<T, Eigen::Dynamic, 1> coef() const { return w_.head(static_cast<Eigen::Index>(d_)).template cast<T>(); }

  /// A snapshot as a LinearModel (for the pipeline, save/load and the model card).
  LinearModel<T> to_model() const {
    LinearModel<T> m;
    m.coef_ = coef();
    m.intercept_ = intercept();
    m.fit_intercept_ = opt_.fit_intercept;
    m.l2_ = opt_.delta;
    m.solver_ = linear_solver::recursive;
    m.rank_ = d_;
    m.rcond_ = 0;
    m.n_samples_ = static_cast<std::size_t>(updates_);
    return m;
  }

 private:
  bool reject() noexcept {
    ++rejected_;
    return false;
  }
  std::size_t d_;
  RlsOptions opt_;
  Eigen::MatrixXd P_;  // lower triangle holds the inverse (weighted) Gram matrix
  Eigen::VectorXd w_, z_, Pz_;
  std::uint64_t updates_ = 0, rejected_ = 0;
};

/// The RLS trainer for pipelines and the command line: feeds the (cleaned) training rows
/// in order to a RecursiveLeastSquares and returns its LinearModel snapshot. A row the
/// model rejects (NaN/Inf: e.g. no imputer in the pipeline) is a data_error naming it.
template <scalar T>
struct RecursiveLeastSquaresTrainer {
  static constexpr std::string_view name = "RecursiveLeastSquares";
  RlsOptions options{};

  /// Sets a parameter by name: forgetting, delta, fit_intercept.
  void set_param(std::string_view param, const param_value& v);
  /// Every parameter by name, as set_param takes them.
  param_list params() const {
    return {{"forgetting", options.forgetting}, {"delta", options.delta}, {"fit_intercept", options.fit_intercept ? 1.0 : 0.0}};
  }

  LinearModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    const auto y = frame.column(target);
    if (y.empty()) MLOPS_THROW(data_error(errc::data_empty, "RecursiveLeastSquares: no rows to fit on (n = 0)"));
    RecursiveLeastSquares<T> rls(features.size(), options);
    std::vector<T> row(features.size());
    for (std::size_t r = 0; r < y.size(); ++r) {
      for (std::size_t j = 0; j < cols.size(); ++j) row[j] = cols[j][r];
      if (!rls.update(row, y[r]))
        MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("RecursiveLeastSquares: row {} holds a missing or infinite value; "
                                                                  "impute or drop it before fitting", r)));
    }
    return rls.to_model();
  }
};

template <scalar T>
void RecursiveLeastSquaresTrainer<T>::set_param(std::string_view param, const param_value& v) {
  if (param == "forgetting") options.forgetting = detail::param_number(param, v);
  else if (param == "delta") options.delta = detail::param_number(param, v);
  else if (param == "fit_intercept") options.fit_intercept = detail::param_bool(param, v);
  else detail::unknown_param(name, param, "forgetting, delta, fit_intercept");
}

// The compiled mode holds these (src/learn_*.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct RecursiveLeastSquaresTrainer)

MLOPS_NAMESPACE_END
