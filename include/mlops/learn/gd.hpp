// mlops/learn/gd.hpp - the gradient-descent family.
//
// One optimizer core (detail::gd_train) for every differentiable loss. A Loss policy
// maps the M raw outputs of one row (M = 1 for regression and binary classifiers, K for
// multiclass) and its target to the loss and its derivative in those outputs:
// squared_loss, logistic_loss (binary log-loss, or softmax cross-entropy when M > 1) and
// hinge_loss (binary, or one-vs-rest when M > 1). Full-batch (batch_size = 0), mini-batch
// and per-sample (batch_size = 1) descent with a seeded, platform-independent shuffle;
// learning-rate schedules and update rules as small policy types; L2 and proximal L1;
// tolerance, max epochs, early stopping on a validation fraction with patience; warm
// start; partial_fit (one pass over a new batch, the optimizer state carried on); a
// per-epoch callback that can stop training. Divergence and non-convergence are
// statuses, never exceptions; a diverged model is left in its last finite state.
//
// Objective: (1/n) sum_i s_i loss_i + l2/2 |W|^2 + l1 |W|_1 (the intercept is never
// penalised; s_i are sample weights, 1 unless a classifier's class weights set them).
//
// Speed: full batch reads the feature columns in place, in cache-sized row chunks, and
// fuses the forward product and the gradient product per chunk (one pass over memory
// per epoch). Stochastic modes read rows: row-major input in place, otherwise a copy of
// the training rows made once (n x stride values of T, rows zero-padded to 8-value
// packs), so a shuffled row is one contiguous read. Mini-batches prefetch the rows the
// shuffled order visits next in two stages. Per-sample SGD runs a dedicated kernel
// (sgd_sample_pass) that gathers each block of shuffled rows in a short loop, then
// updates over the gathered block in order. Its epoch is bound by those random reads
// and by its dependency chain about equally (two cache lines per row at d = 16).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/frame.hpp"
#include "mlops/learn/gd_options.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/params.hpp"
#include "mlops/learn/trainer.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
using GdResult = FitResult<LinearModel<T>>;

/// Linear regression by gradient descent (squared loss). A trainer for the pipeline.
template <scalar T>
struct GradientDescentRegressor : gd_options, detail::frame_trainer<GradientDescentRegressor<T>, T> {
  static constexpr std::string_view name = "GradientDescentRegressor";
  std::optional<LinearModel<T>> warm_start;  // start from these coefficients
  /// If set, fit() also stores the detailed result (status, epochs, losses) here.
  std::shared_ptr<GdResult<T>> report_to;

  /// names (optional): column names for error messages.
  GdResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y, std::span<const std::string> names = {}) const;
  /// fit_detailed(frame, features, target), and fit(...) for the pipeline: the model only
  /// (the status is in fit_detailed, or in report_to when set).
  using detail::frame_trainer<GradientDescentRegressor<T>, T>::fit_detailed;
  /// One pass over a new batch, continuing from `r` (a fit_detailed or partial_fit
  /// result; a default-constructed result starts from zero weights and the batch's mean
  /// target). The optimizer state (step count, Adam moments, epoch count) carries on, so
  /// a stream of batches trains like the epochs of one fit. Updates r in place.
  void partial_fit(GdResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const;

  /// Row-major features, as a sensor loop or a C-ordered array holds them: X is n x d (any
  /// outer stride), y has n values. Per-sample SGD (batch_size = 1) reads the rows where
  /// they are, with no copy, and checks them for NaN/Inf during its first epoch instead
  /// of in a pass of its own (the same data_error, naming row and feature, before any
  /// result is returned). The other modes read the rows in place as well. A column-major
  /// Eigen matrix passed here is copied into a row-major temporary by Eigen::Ref.
  using row_matrix = Eigen::Ref<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
  GdResult<T> fit_detailed(const row_matrix& X, std::span<const T> y, std::span<const std::string> names = {}) const;
  void partial_fit(GdResult<T>& r, const row_matrix& X, std::span<const T> y) const;
  /// Sets a parameter by name: the gradient-descent options (learning_rate, schedule, l2...).
  void set_param(std::string_view param, const param_value& v) {
    if (!detail::set_gd_param(*this, param, v)) detail::unknown_param(name, param, detail::gd_param_names);
  }
  /// Every parameter by name, as set_param takes them.
  param_list params() const { return detail::gd_params(*this); }

 private:
  using features = detail::gd_data<T>;  // the features only: run() adds targets and names
  static features rows_features(const row_matrix& X, std::size_t n) {
    if (static_cast<std::size_t>(X.rows()) != n)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("GradientDescentRegressor: X has {} rows but y has {}", X.rows(), n)));
    features f;
    f.rows = X.data();
    f.row_stride = static_cast<std::size_t>(X.outerStride());
    f.n_features = static_cast<std::size_t>(X.cols());
    return f;
  }
  gd_state start_state(std::size_t d) const;
  GdResult<T> run(features data, std::span<const T> y, gd_state st, bool single_pass, std::span<const std::string> names = {}) const;
  void partial(GdResult<T>& r, const features& x, std::span<const T> y) const;
};

// The compiled mode holds these (src/learn_*.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct GradientDescentRegressor)

MLOPS_NAMESPACE_END

#if MLOPS_TEMPLATE_BODIES
// The core (compiled only here: header-only, or src/learn_gd.cpp).
#include "mlops/learn/gd_kernels.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
GdResult<T> GradientDescentRegressor<T>::run(features data, std::span<const T> y, gd_state st, bool single_pass,
                                             std::span<const std::string> names) const {
  constexpr std::string_view who = "GradientDescentRegressor";
  const std::size_t n = y.size(), d = data.d();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "GradientDescentRegressor: no rows to fit on (n = 0)"));
  detail::check_gd_options(who, *this);
  // The mean target starts the intercept. The sum's pass also shows y is clean when no
  // value was skipped as NaN and the sum is finite (an Inf would make it infinite or
  // NaN), which saves the check's own pass.
  const bool start_at_mean = !st.ready && fit_intercept;
  const auto ys = start_at_mean ? detail::nan_sum<T>(y) : detail::sum_count{};
  const double sy = ys.sum;
  const bool y_clean = start_at_mean && ys.count == n && std::isfinite(sy);
  // the features are checked by the core as it reads them
  detail::check_shape_and_target<T>(who, data.columns, y, !y_clean);
  if (st.ready && static_cast<std::size_t>(st.W.rows()) != d)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("GradientDescentRegressor: the model has {} features but the data {}",
                                                                   st.W.rows(), d)));
  if (!st.ready) {
    st.init(d, 1);
    if (fit_intercept) st.b(0) = sy / static_cast<double>(n);  // the scale of y is free
  }
  std::vector<double> ycopy;  // float targets as double; double targets are used in place
  std::span<const double> yd;
  if constexpr (std::is_same_v<T, double>) yd = y;
  else yd = ycopy = detail::to_double<T>(y);
  data.y = yd;
  data.check_features = true;
  data.names = names;
  data.who = who;
  const auto out = detail::gd_train(*this, squared_loss{}, data, st, single_pass);
  GdResult<T> res;
  res.status = out.status;
  res.epochs = out.epochs;
  res.loss = out.loss;
  res.validation_loss = out.validation_loss;
  res.message = out.message;
  res.model.coef_ = st.W.col(0).template cast<T>();
  res.model.intercept_ = static_cast<T>(st.b(0));
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.solver_ = linear_solver::gradient_descent;
  res.model.rank_ = d;
  res.model.n_samples_ = n;
  res.state = std::move(st);
  return res;
}

template <scalar T>
gd_state GradientDescentRegressor<T>::start_state(std::size_t d) const {
  gd_state st;
  if (warm_start) {
    if (warm_start->n_features() != d)
      MLOPS_THROW(argument_error(errc::invalid_argument, "GradientDescentRegressor: warm_start has a different number of features"));
    st.init(d, 1);
    st.W.col(0) = warm_start->coef().template cast<double>();
    st.b(0) = fit_intercept ? static_cast<double>(warm_start->intercept()) : 0.0;
  }
  return st;
}

template <scalar T>
GdResult<T> GradientDescentRegressor<T>::fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                                      std::span<const std::string> names) const {
  return run(features{columns}, y, start_state(columns.size()), false, names);
}

template <scalar T>
GdResult<T> GradientDescentRegressor<T>::fit_detailed(const row_matrix& X, std::span<const T> y, std::span<const std::string> names) const {
  return run(rows_features(X, y.size()), y, start_state(static_cast<std::size_t>(X.cols())), false, names);
}

template <scalar T>
void GradientDescentRegressor<T>::partial(GdResult<T>& r, const features& x, std::span<const T> y) const {
  gd_state st = r.state;
  if (!st.ready && r.model.n_features() > 0) {  // a result without state (e.g. a loaded model): start from its weights
    st.init(r.model.n_features(), 1);
    st.W.col(0) = r.model.coef().template cast<double>();
    st.b(0) = static_cast<double>(r.model.intercept());
  }
  r = run(x, y, std::move(st), true);
  r.epochs = r.state.epochs;
}

template <scalar T>
void GradientDescentRegressor<T>::partial_fit(GdResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const {
  partial(r, features{columns}, y);
}

template <scalar T>
void GradientDescentRegressor<T>::partial_fit(GdResult<T>& r, const row_matrix& X, std::span<const T> y) const {
  partial(r, rows_features(X, y.size()), y);
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_TEMPLATE_BODIES
