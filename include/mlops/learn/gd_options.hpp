// mlops/learn/gd_options.hpp - what configures and records gradient descent: learning-rate
// schedules, update rules, the losses (squared, logistic, hinge), the per-epoch callback,
// the optimizer's state, gd_options and FitResult. The core that runs them:
// learn/gd_kernels.hpp; the trainers: learn/gd.hpp, learn/classifier.hpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#if defined(__SSE2__) || defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/error.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

// ---- learning-rate schedules (step t counts updates from 0) --------------------------
namespace detail {
/// Correctly rounded square roots of v[0..8) in place: IEEE sqrt, eight at a time where
/// the instruction set has it. (Eigen's vectorised sqrt of doubles under AVX-512 is an
/// approximation refined by Newton steps, so its last bits depend on the instruction
/// set; the same seed must give the same model bits everywhere.)
inline void sqrt8(double* v) noexcept {
#if defined(__AVX512F__)
  _mm512_store_pd(v, _mm512_sqrt_pd(_mm512_load_pd(v)));
#elif defined(__AVX__)
  _mm256_store_pd(v, _mm256_sqrt_pd(_mm256_load_pd(v)));
  _mm256_store_pd(v + 4, _mm256_sqrt_pd(_mm256_load_pd(v + 4)));
#elif defined(__SSE2__)
  for (int i = 0; i < 8; i += 2) _mm_store_pd(v + i, _mm_sqrt_pd(_mm_load_pd(v + i)));
#else
  for (int i = 0; i < 8; ++i) v[i] = std::sqrt(v[i]);
#endif
}
}  // namespace detail

struct constant_rate {
  double eta = 0.01;
  double operator()(std::size_t) const noexcept { return eta; }
};
/// eta0 / (1 + t)^power (scikit-learn's "invscaling" shape). The powers 0.25, 0.5 and 1
/// are taken with square roots and a division (IEEE-exact operations: the same bits on
/// every platform, and 3x cheaper than pow in the per-sample loop); other powers use pow.
struct inverse_scaling {
  double eta0 = 0.01, power = 0.25;
  double operator()(std::size_t t) const noexcept {
    const double u = 1.0 + static_cast<double>(t);
    if (power == 0.25) return eta0 / std::sqrt(std::sqrt(u));
    if (power == 0.5) return eta0 / std::sqrt(u);
    if (power == 1.0) return eta0 / u;
    return eta0 / std::pow(u, power);
  }
  /// The rates of steps t .. t+7 into out: the same values as operator(), for the powers
  /// 0.25, 0.5 and 1 by the same correctly rounded operations eight at a time (per step,
  /// two square roots and a division occupy the divider about as long as the rest of a
  /// 16-feature SGD step).
  void fill8(std::size_t t, double* out) const noexcept {
    alignas(64) double u[8];
    for (int i = 0; i < 8; ++i) u[i] = 1.0 + static_cast<double>(t + static_cast<std::size_t>(i));
    if (power == 0.25) {
      detail::sqrt8(u);
      detail::sqrt8(u);
    } else if (power == 0.5) {
      detail::sqrt8(u);
    } else if (power != 1.0) {
      for (int i = 0; i < 8; ++i) u[i] = std::pow(u[i], power);
    }
    for (int i = 0; i < 8; ++i) out[i] = eta0 / u[i];
  }
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
// eval(p, m, y, dp): p holds the m raw outputs of one row, y its target (the value for
// regression, the class index 0..K-1 for classifiers; 0/1 when m == 1). Writes dLoss/dp
// into dp[0..m) and returns the loss.

/// 0.5 (p - y)^2: its minimiser is least squares, so GD meets the closed form.
struct squared_loss {
  static double value(double p, double y) noexcept { return 0.5 * (p - y) * (p - y); }
  static double derivative(double p, double y) noexcept { return p - y; }
  static double eval(const double* p, std::size_t, double y, double* dp) noexcept {
    dp[0] = p[0] - y;
    return 0.5 * dp[0] * dp[0];
  }
};
/// m == 1: log(1 + e^p) - y p (binary log-loss, p the log-odds of class 1);
/// m > 1: softmax cross-entropy logsumexp(p) - p_y. Both evaluated without overflow.
struct logistic_loss {
  /// One output over a block: the same values as eval, with Eigen's vectorised exp/log1p.
  static double eval_block(const Eigen::Ref<const Eigen::ArrayXd>& z, const Eigen::Ref<const Eigen::ArrayXd>& y,
                           Eigen::Ref<Eigen::ArrayXd> dp, Eigen::Ref<Eigen::ArrayXd> tmp) noexcept {
    tmp = (-z.abs()).exp();
    dp = (z >= 0).select(1.0 / (1.0 + tmp), tmp / (1.0 + tmp)) - y;
    return (z.max(0.0) + (1.0 + tmp).log() - y * z).sum();
  }
  static double eval(const double* p, std::size_t m, double y, double* dp) noexcept {
    if (m == 1) {
      const double z = p[0], e = std::exp(-std::abs(z));
      const double softplus = (z > 0 ? z : 0.0) + std::log1p(e);
      dp[0] = (z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - y;
      return softplus - y * z;
    }
    double mx = p[0];
    for (std::size_t k = 1; k < m; ++k) mx = (std::max)(mx, p[k]);
    double s = 0;
    for (std::size_t k = 0; k < m; ++k) s += (dp[k] = std::exp(p[k] - mx));
    const auto c = static_cast<std::size_t>(y);
    for (std::size_t k = 0; k < m; ++k) dp[k] /= s;
    dp[c] -= 1.0;
    return mx + std::log(s) - p[c];
  }
};
/// max(0, 1 - s p) with s = +1 for class 1 and -1 for class 0; m > 1: the sum of the
/// one-vs-rest binary hinges (scikit-learn's LinearSVC "ovr" scheme, trained jointly).
struct hinge_loss {
  static double eval(const double* p, std::size_t m, double y, double* dp) noexcept {
    if (m == 1) {
      const double s = y > 0.5 ? 1.0 : -1.0, margin = 1.0 - s * p[0];
      dp[0] = margin > 0 ? -s : 0.0;
      return margin > 0 ? margin : 0.0;
    }
    const auto c = static_cast<std::size_t>(y);
    double l = 0;
    for (std::size_t k = 0; k < m; ++k) {
      const double s = k == c ? 1.0 : -1.0, margin = 1.0 - s * p[k];
      dp[k] = margin > 0 ? -s : 0.0;
      l += margin > 0 ? margin : 0.0;
    }
    return l;
  }
};

enum class fit_status : std::uint8_t {
  converged = 0,       // the training loss (or gradient) met tol
  max_epochs = 1,      // stopped at max_epochs / max_iter without meeting tol (not an error)
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
  std::size_t epoch = 0;            // 1-based (counts on across partial_fit calls)
  double loss = 0;                  // mean training loss (+ penalties), see gd_options
  double validation_loss = NAN;     // NaN without early stopping
  double gradient_norm = 0;         // of the last full-batch or mini-batch gradient
  double learning_rate = 0;         // the schedule's rate at the last step
  std::chrono::nanoseconds elapsed{};
};
/// Return false to stop training (status stopped_by_callback).
using epoch_callback = std::function<bool(const epoch_info&)>;

/// The optimizer's live state: weights, intercepts, Adam moments, counters. Kept in a
/// fit result so partial_fit continues exactly where the last call stopped.
struct gd_state {
  Eigen::MatrixXd W;                // d x m
  Eigen::VectorXd b;                // m
  Eigen::MatrixXd m1, m2;           // Adam first/second moments of W
  Eigen::VectorXd mb1, mb2;         // ... and of b
  std::size_t step = 0;             // updates taken (drives the schedules and Adam's bias correction)
  std::size_t epochs = 0;           // passes taken
  bool ready = false;

  void init(std::size_t d, std::size_t m) {
    const auto D = static_cast<Eigen::Index>(d), M = static_cast<Eigen::Index>(m);
    W = Eigen::MatrixXd::Zero(D, M);
    b = Eigen::VectorXd::Zero(M);
    m1 = m2 = Eigen::MatrixXd::Zero(D, M);
    mb1 = mb2 = Eigen::VectorXd::Zero(M);
    step = epochs = 0;
    ready = true;
  }
};

/// Options shared by every trainer that runs on the gradient-descent core.
struct gd_options {
  std::size_t batch_size = 0;  // 0: full batch; 1: per-sample SGD; k: mini-batch
  std::size_t max_epochs = 1000;
  /// Converged when the epoch loss changes by at most tol * max(1, |loss|). Full batch:
  /// the loss at the start of each step; stochastic: the mean of the per-row losses seen
  /// during the epoch (as scikit-learn's SGD reports it).
  double tol = 1e-9;
  /// n > 0 replaces that rule by scikit-learn's SGD rule: converged after n epochs in a
  /// row whose loss is not below the best epoch loss so far minus tol (an absolute
  /// amount, as its tol); 0 keeps the relative-change rule above.
  std::size_t n_iter_no_change = 0;
  double l2 = 0, l1 = 0;       // penalties: l2/2 |w|^2 (gradient l2 w), l1 |w| (proximal step)
  learning_rate rate = constant_rate{0.1};
  update_rule rule = plain_step{};
  std::uint64_t seed = 0;
  double validation_fraction = 0;  // > 0: early stopping on a held-out part of the training rows
  std::size_t patience = 5;
  double min_improvement = 1e-4;  // relative drop of the validation loss that counts as progress
  bool fit_intercept = true;
  epoch_callback on_epoch;
};

/// A fitted model plus how its training went.
template <class Model>
struct FitResult {
  Model model;
  fit_status status = fit_status::max_epochs;
  std::size_t epochs = 0;          // epochs (gradient descent) or iterations (Newton, L-BFGS)
  double loss = NAN, validation_loss = NAN;
  std::string message;             // for diverged: the likely cause and what to try
  gd_state state;                  // the optimizer state (gradient-descent trainers)
};

namespace detail {
/// The gradient-descent options shared by GradientDescentRegressor and LinearSVM.
/// Returns false when `name` is not one of them.
MLOPS_FUNC bool set_gd_param(gd_options& g, std::string_view name, const param_value& v);
/// The gradient-descent options as set_gd_param names them (the schedule before its rate,
/// power and decay, so replaying the list gives the same options).
MLOPS_FUNC param_list gd_params(const gd_options& g);
inline constexpr std::string_view gd_param_names =
    "learning_rate, schedule, power, decay, adam, l2 (alias alpha), l1, batch_size, epochs, tol, n_iter_no_change, seed, "
    "validation_fraction, patience, fit_intercept";

}  // namespace detail

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_GD)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC bool set_gd_param(gd_options& g, std::string_view name, const param_value& v) {
  if (name == "learning_rate" || name == "eta0") {
    const double eta = param_number(name, v);
    std::visit([&](auto& r) {
      if constexpr (requires { r.eta; }) r.eta = eta;
      else r.eta0 = eta;
    }, g.rate);
  } else if (name == "power") {
    auto* r = std::get_if<inverse_scaling>(&g.rate);
    if (!r) MLOPS_THROW(argument_error(errc::invalid_argument, "parameter 'power' needs the inverse-scaling schedule"));
    r->power = param_number(name, v);
  } else if (name == "decay" || name == "gamma") {
    auto* r = std::get_if<exponential_decay>(&g.rate);
    if (!r) MLOPS_THROW(argument_error(errc::invalid_argument, "parameter 'decay' needs the exponential-decay schedule"));
    r->gamma = param_number(name, v);
  } else if (name == "schedule") {
    const double eta = std::visit([](const auto& r) {
      if constexpr (requires { r.eta; }) return r.eta;
      else return r.eta0;
    }, g.rate);
    const auto w = param_word(name, v);
    if (w == "constant") g.rate = constant_rate{eta};
    else if (w == "invscaling") g.rate = inverse_scaling{eta, 0.25};
    else if (w == "exponential") g.rate = exponential_decay{eta, 0.99};
    else MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter 'schedule' = '{}': choose from constant, invscaling, exponential", w)));
  } else if (name == "adam") {
    if (param_bool(name, v)) g.rule = adam_step{};
    else g.rule = plain_step{};
  } else if (name == "l2" || name == "alpha") {
    g.l2 = param_number(name, v);
  } else if (name == "l1") {
    g.l1 = param_number(name, v);
  } else if (name == "batch_size") {
    g.batch_size = param_count(name, v);
  } else if (name == "epochs" || name == "max_epochs") {
    g.max_epochs = param_count(name, v);
  } else if (name == "tol") {
    g.tol = param_number(name, v);
  } else if (name == "n_iter_no_change") {
    g.n_iter_no_change = param_count(name, v);
  } else if (name == "seed") {
    g.seed = param_count(name, v);
  } else if (name == "validation_fraction") {
    g.validation_fraction = param_number(name, v);
  } else if (name == "patience") {
    g.patience = param_count(name, v);
  } else if (name == "fit_intercept") {
    g.fit_intercept = param_bool(name, v);
  } else {
    return false;
  }
  return true;
}

MLOPS_FUNC param_list gd_params(const gd_options& g) {
  param_list p;
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, constant_rate>) {
          p.emplace_back("schedule", std::string("constant"));
          p.emplace_back("learning_rate", r.eta);
        } else if constexpr (std::is_same_v<R, inverse_scaling>) {
          p.emplace_back("schedule", std::string("invscaling"));
          p.emplace_back("learning_rate", r.eta0);
          p.emplace_back("power", r.power);
        } else {
          p.emplace_back("schedule", std::string("exponential"));
          p.emplace_back("learning_rate", r.eta0);
          p.emplace_back("decay", r.gamma);
        }
      },
      g.rate);
  p.emplace_back("adam", std::holds_alternative<adam_step>(g.rule) ? 1.0 : 0.0);
  p.emplace_back("l2", g.l2);
  p.emplace_back("l1", g.l1);
  p.emplace_back("batch_size", static_cast<double>(g.batch_size));
  p.emplace_back("epochs", static_cast<double>(g.max_epochs));
  p.emplace_back("tol", g.tol);
  if (g.n_iter_no_change) p.emplace_back("n_iter_no_change", static_cast<double>(g.n_iter_no_change));
  p.emplace_back("seed", static_cast<double>(g.seed));
  p.emplace_back("validation_fraction", g.validation_fraction);
  p.emplace_back("patience", static_cast<double>(g.patience));
  p.emplace_back("fit_intercept", g.fit_intercept ? 1.0 : 0.0);
  return p;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_LEARN_GD
