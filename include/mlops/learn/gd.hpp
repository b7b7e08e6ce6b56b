// mlops/learn/gd.hpp - the gradient-descent family.
//
// One optimizer core for every differentiable loss (a Loss policy gives the loss and its
// derivative in the prediction; squared_loss is here, logistic and hinge plug into the
// same core): full-batch (batch_size = 0), mini-batch and per-sample (batch_size = 1)
// descent with a seeded, platform-independent shuffle; learning-rate schedules and update
// rules as small policy types; L2 and proximal L1; tolerance, max epochs, early stopping
// on a validation fraction with patience; warm start; a per-epoch callback that can stop
// training. Divergence and non-convergence are statuses, never exceptions; a diverged
// model is left in its last finite state. Without a warm start the intercept starts at
// the mean training target and the coefficients at zero.
#pragma once

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mlops/detail/rng.hpp"
#include "mlops/learn/linear.hpp"

MLOPS_NAMESPACE_BEGIN

// ---- learning-rate schedules (step t counts updates from 0) --------------------------
struct constant_rate {
  double eta = 0.01;
  double operator()(std::size_t) const noexcept { return eta; }
};
/// eta0 / (1 + t)^power (scikit-learn's "invscaling" shape).
struct inverse_scaling {
  double eta0 = 0.01, power = 0.25;
  double operator()(std::size_t t) const noexcept { return eta0 / std::pow(1.0 + static_cast<double>(t), power); }
};
/// eta0 * gamma^epoch: decays once per epoch (the core passes the epoch for this one).
struct exponential_decay {
  double eta0 = 0.01, gamma = 0.99;
  double operator()(std::size_t epoch) const noexcept { return eta0 * std::pow(gamma, static_cast<double>(epoch)); }
};
using learning_rate = std::variant<constant_rate, inverse_scaling, exponential_decay>;

// ---- update rules ----------------------------------------------------------------------
struct plain_step {};
/// Adam (Kingma & Ba) with bias correction; the schedule gives its base rate.
struct adam_step {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};
using update_rule = std::variant<plain_step, adam_step>;

// ---- losses ------------------------------------------------------------------------------
/// 0.5 (p - y)^2: its minimiser is least squares, so GD meets the closed form.
struct squared_loss {
  static double value(double p, double y) noexcept { return 0.5 * (p - y) * (p - y); }
  static double derivative(double p, double y) noexcept { return p - y; }
};

enum class fit_status : std::uint8_t {
  converged = 0,       // the training loss changed by less than tol (relative)
  max_epochs = 1,      // stopped at max_epochs without meeting tol (not an error)
  early_stopped = 2,   // validation loss did not improve for `patience` epochs
  stopped_by_callback = 3,
  diverged = 4,        // loss became NaN/Inf or exploded; model left in its last finite state
};
constexpr std::string_view to_string(fit_status s) noexcept {
  switch (s) {
    case fit_status::converged: return "converged";
    case fit_status::max_epochs: return "max_epochs";
    case fit_status::early_stopped: return "early_stopped";
    case fit_status::stopped_by_callback: return "stopped_by_callback";
    case fit_status::diverged: return "diverged";
  }
  return "?";
}

/// What the per-epoch callback receives.
struct epoch_info {
  std::size_t epoch = 0;            // 1-based
  double loss = 0;                  // mean training loss (+ penalties) after the epoch
  double validation_loss = NAN;     // NaN without early stopping
  double gradient_norm = 0;         // of the last full-batch or mini-batch gradient
  double learning_rate = 0;         // the schedule's rate at the last step
  std::chrono::nanoseconds elapsed{};
};
/// Return false to stop training (status stopped_by_callback).
using epoch_callback = std::function<bool(const epoch_info&)>;

template <scalar T>
struct GdResult {
  LinearModel<T> model;
  fit_status status = fit_status::max_epochs;
  std::size_t epochs = 0;
  double loss = NAN, validation_loss = NAN;
  std::string message;  // for diverged: the likely cause and what to try
};

/// Linear regression by gradient descent (squared loss). A trainer for the pipeline.
template <scalar T>
struct GradientDescentRegressor {
  std::size_t batch_size = 0;  // 0: full batch; 1: per-sample SGD; k: mini-batch
  std::size_t max_epochs = 1000;
  double tol = 1e-9;           // relative change of the training loss that counts as converged
  double l2 = 0, l1 = 0;       // penalties: l2/2 |w|^2 (gradient l2 w), l1 |w| (proximal step)
  learning_rate rate = constant_rate{0.1};
  update_rule rule = plain_step{};
  std::uint64_t seed = 0;
  double validation_fraction = 0;  // > 0: early stopping on a held-out part of the training rows
  std::size_t patience = 5;
  double min_improvement = 1e-4;  // relative drop of the validation loss that counts as progress
  bool fit_intercept = true;
  std::optional<LinearModel<T>> warm_start;  // start from these coefficients
  epoch_callback on_epoch;
  /// If set, fit() also stores the detailed result (status, epochs, losses) here.
  std::shared_ptr<GdResult<T>> report_to;

  GdResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y) const;
  GdResult<T> fit_detailed(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    return fit_detailed(cols, frame.column(target));
  }
  /// The trainer interface: the model only (the status is in fit_detailed).
  LinearModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    auto r = fit_detailed(frame, features, target);
    if (report_to) *report_to = r;
    return std::move(r.model);
  }
};

template <scalar T>
GdResult<T> GradientDescentRegressor<T>::fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y) const {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const std::size_t n = y.size(), d = columns.size();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "GradientDescentRegressor: no rows to fit on (n = 0)"));
  for (std::size_t j = 0; j < d; ++j)
    if (columns[j].size() != n)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("GradientDescentRegressor: feature {} has {} rows but y has {}", j, columns[j].size(), n)));
  if (!(l2 >= 0) || !(l1 >= 0) || !std::isfinite(l2) || !std::isfinite(l1) || !(tol >= 0) || max_epochs == 0 ||
      !(validation_fraction >= 0 && validation_fraction < 1) || !(min_improvement >= 0))
    MLOPS_THROW(argument_error(errc::invalid_argument, "GradientDescentRegressor: need l1, l2, tol >= 0, max_epochs > 0, validation_fraction in [0, 1)"));
  {
    const auto ys = detail::nan_sum<T>(y);
    if (ys.count != n || !std::isfinite(ys.sum)) detail::report_non_finite<T>("GradientDescentRegressor", y, "the target");
    for (std::size_t j = 0; j < d; ++j) {
      const auto c = detail::nan_sum<T>(columns[j]);
      if (c.count != n || !std::isfinite(c.sum)) detail::report_non_finite<T>("GradientDescentRegressor", columns[j], detail::column_label({}, j));
    }
  }
  // Seeded split into training and validation rows.
  detail::xoshiro256ss rng(seed);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::size_t n_val = 0;
  if (validation_fraction > 0) {
    detail::shuffle(order.begin(), order.end(), rng);
    n_val = static_cast<std::size_t>(std::ceil(validation_fraction * static_cast<double>(n)));
    if (n_val == 0 || n_val >= n)
      MLOPS_THROW(data_error(errc::data_empty, "GradientDescentRegressor: validation_fraction leaves no training or no validation rows"));
  }
  std::vector<std::size_t> train(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
  std::vector<std::size_t> val(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  std::sort(train.begin(), train.end());  // full batch reads rows in order (cache friendly)
  const std::size_t nt = train.size();
  const std::size_t bs = batch_size == 0 ? nt : (std::min)(batch_size, nt);

  Eigen::VectorXd w = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
  double b = 0;
  if (warm_start) {
    if (warm_start->n_features() != d)
      MLOPS_THROW(argument_error(errc::invalid_argument, "GradientDescentRegressor: warm_start has a different number of features"));
    w = warm_start->coef().template cast<double>();
    b = fit_intercept ? static_cast<double>(warm_start->intercept()) : 0.0;
  }
  if (fit_intercept && !warm_start) {  // start the intercept at the mean target: the scale of y is free
    double sy = 0;
    for (const auto r : train) sy += static_cast<double>(y[r]);
    b = sy / static_cast<double>(nt);
  }
  auto predict = [&](const Eigen::VectorXd& ww, double bb, std::size_t r) {
    double s = bb;
    for (std::size_t j = 0; j < d; ++j) s += ww(static_cast<Eigen::Index>(j)) * static_cast<double>(columns[j][r]);
    return s;
  };
  auto mean_loss = [&](const std::vector<std::size_t>& rows, const Eigen::VectorXd& ww, double bb) {
    double s = 0;
    for (const auto r : rows) s += squared_loss::value(predict(ww, bb, r), static_cast<double>(y[r]));
    return s / static_cast<double>(rows.size()) + 0.5 * l2 * ww.squaredNorm() + l1 * ww.template lpNorm<1>();
  };

  GdResult<T> res;
  Eigen::VectorXd g(static_cast<Eigen::Index>(d)), m1 = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d)),
      m2 = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d));
  double gb = 0, mb1 = 0, mb2 = 0;
  std::size_t step = 0;
  double prev_loss = mean_loss(train, w, b);
  const double first_loss = prev_loss;
  Eigen::VectorXd best_w = w, last_w = w;
  double best_b = b, last_b = b, best_val = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0;
  res.status = fit_status::max_epochs;
  for (std::size_t epoch = 1; epoch <= max_epochs; ++epoch) {
    if (bs < nt) detail::shuffle(train.begin(), train.end(), rng);
    double eta = 0;
    for (std::size_t k0 = 0; k0 < nt; k0 += bs) {
      const std::size_t m = (std::min)(bs, nt - k0);
      g.setZero();
      gb = 0;
      for (std::size_t k = k0; k < k0 + m; ++k) {
        const std::size_t r = train[k];
        const double dl = squared_loss::derivative(predict(w, b, r), static_cast<double>(y[r]));
        for (std::size_t j = 0; j < d; ++j) g(static_cast<Eigen::Index>(j)) += dl * static_cast<double>(columns[j][r]);
        gb += dl;
      }
      g /= static_cast<double>(m);
      gb /= static_cast<double>(m);
      g += l2 * w;
      eta = std::visit([&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        return std::is_same_v<S, exponential_decay> ? s(epoch - 1) : s(step);
      }, rate);
      ++step;
      if (std::holds_alternative<adam_step>(rule)) {
        const auto& a = std::get<adam_step>(rule);
        m1 = a.beta1 * m1 + (1 - a.beta1) * g;
        m2 = a.beta2 * m2 + (1 - a.beta2) * g.cwiseProduct(g);
        mb1 = a.beta1 * mb1 + (1 - a.beta1) * gb;
        mb2 = a.beta2 * mb2 + (1 - a.beta2) * gb * gb;
        const double c1 = 1 - std::pow(a.beta1, static_cast<double>(step)), c2 = 1 - std::pow(a.beta2, static_cast<double>(step));
        w.array() -= eta * (m1.array() / c1) / ((m2.array() / c2).sqrt() + a.eps);
        if (fit_intercept) b -= eta * (mb1 / c1) / (std::sqrt(mb2 / c2) + a.eps);
      } else {
        w -= eta * g;
        if (fit_intercept) b -= eta * gb;
      }
      if (l1 > 0)  // proximal step: soft-threshold
        w = w.unaryExpr([&](double v) { return v > eta * l1 ? v - eta * l1 : (v < -eta * l1 ? v + eta * l1 : 0.0); });
    }
    const double loss = mean_loss(train, w, b);
    res.epochs = epoch;
    if (!std::isfinite(loss) || !w.allFinite() || loss > 1e6 * (first_loss + 1.0)) {
      w = last_w;
      b = last_b;
      res.status = fit_status::diverged;
      res.message = fmt::format("training diverged at epoch {} (loss {} from {}); the learning rate ({}) is likely too large "
                                "for the scale of the data: lower it (e.g. by 10x) or standardize the features",
                                epoch, loss, first_loss, eta);
      break;
    }
    last_w = w;
    last_b = b;
    res.loss = loss;
    epoch_info info;
    info.epoch = epoch;
    info.loss = loss;
    info.gradient_norm = std::sqrt(g.squaredNorm() + gb * gb);
    info.learning_rate = eta;
    if (n_val > 0) {
      info.validation_loss = mean_loss(val, w, b);
      res.validation_loss = info.validation_loss;
    }
    info.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
    if (on_epoch && !on_epoch(info)) {
      res.status = fit_status::stopped_by_callback;
      break;
    }
    if (n_val > 0) {
      if (info.validation_loss < best_val * (1 - min_improvement)) {
        best_val = info.validation_loss;
        best_w = w;
        best_b = b;
        since_best = 0;
      } else if (++since_best >= patience) {
        w = best_w;
        b = best_b;
        res.validation_loss = best_val;
        res.status = fit_status::early_stopped;
        break;
      }
    }
    if (std::abs(prev_loss - loss) <= tol * (std::max)(1.0, std::abs(prev_loss))) {
      res.status = fit_status::converged;
      break;
    }
    prev_loss = loss;
  }
  res.model.coef_ = w.template cast<T>();
  res.model.intercept_ = static_cast<T>(b);
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.solver_ = linear_solver::gradient_descent;
  res.model.rank_ = d;
  res.model.n_samples_ = nt;
  return res;
}

MLOPS_NAMESPACE_END
