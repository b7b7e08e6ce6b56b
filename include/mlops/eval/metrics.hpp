// mlops/eval/metrics.hpp - regression metrics with scikit-learn's definitions.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
template <class T>
inline void check_pair(std::span<const T> y, std::span<const T> p, std::string_view metric) {
  if (y.size() != p.size())
    MLOPS_THROW(data_error(errc::data_shape, fmt::format("{}: y_true has {} values but y_pred has {}", metric, y.size(), p.size())));
  if (y.empty()) MLOPS_THROW(data_error(errc::data_empty, fmt::format("{}: no values to score", metric)));
  for (std::size_t i = 0; i < y.size(); ++i)
    if (!std::isfinite(y[i]) || !std::isfinite(p[i]))
      MLOPS_THROW(data_error(errc::data_non_finite,
                             fmt::format("{}: {} at index {} is {}; metrics need finite values", metric,
                                         std::isfinite(y[i]) ? "y_pred" : "y_true", i, std::isfinite(y[i]) ? p[i] : y[i])));
}
}  // namespace detail

template <class T>
double mean_squared_error(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "mean_squared_error");
  double s = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double e = static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]);
    s += e * e;
  }
  return s / static_cast<double>(y_true.size());
}
template <class T>
double root_mean_squared_error(std::span<const T> y_true, std::span<const T> y_pred) {
  return std::sqrt(mean_squared_error(y_true, y_pred));
}
template <class T>
double mean_absolute_error(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "mean_absolute_error");
  double s = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) s += std::abs(static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]));
  return s / static_cast<double>(y_true.size());
}
/// R^2 = 1 - SS_res / SS_tot. Constant y_true (SS_tot = 0): 1.0 if the predictions are
/// perfect, else 0.0 (scikit-learn's force_finite behaviour). Fewer than two rows: NaN,
/// as scikit-learn (R^2 is not defined; RegressionMetrics::note says so).
template <class T>
double r2_score(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "r2_score");
  if (y_true.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double mean = 0;
  for (const T v : y_true) mean += static_cast<double>(v);
  mean /= static_cast<double>(y_true.size());
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double e = static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]);
    const double t = static_cast<double>(y_true[i]) - mean;
    ss_res += e * e;
    ss_tot += t * t;
  }
  if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
  return 1.0 - ss_res / ss_tot;
}

/// mean(|y - p| / max(|y|, eps)), eps = double epsilon (scikit-learn's MAPE, a fraction).
template <class T>
double mean_absolute_percentage_error(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "mean_absolute_percentage_error");
  double s = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double y = static_cast<double>(y_true[i]);
    s += std::abs(y - static_cast<double>(y_pred[i])) / (std::max)(std::abs(y), 2.220446049250313e-16);
  }
  return s / static_cast<double>(y_true.size());
}
template <class T>
double max_error(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "max_error");
  double m = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) m = (std::max)(m, std::abs(static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i])));
  return m;
}
/// 1 - Var(y - p) / Var(y); constant y: 1.0 if Var(y - p) = 0 else 0.0 (scikit-learn).
template <class T>
double explained_variance_score(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "explained_variance_score");
  const double n = static_cast<double>(y_true.size());
  double my = 0, me = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    my += static_cast<double>(y_true[i]);
    me += static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]);
  }
  my /= n, me /= n;
  double vy = 0, ve = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    const double t = static_cast<double>(y_true[i]) - my, e = static_cast<double>(y_true[i]) - static_cast<double>(y_pred[i]) - me;
    vy += t * t, ve += e * e;
  }
  if (vy == 0) return ve == 0 ? 1.0 : 0.0;
  return 1.0 - ve / vy;
}
/// 1 - (1 - R^2)(n - 1)/(n - p - 1) for p features; empty when n - p - 1 <= 0.
inline std::optional<double> adjusted_r2_score(double r2, std::size_t n, std::size_t p) noexcept {
  if (n <= p + 1) return std::nullopt;
  return 1.0 - (1.0 - r2) * static_cast<double>(n - 1) / static_cast<double>(n - p - 1);
}

/// The regression metrics of a prediction, as reported by the pipeline and the CLI.
struct RegressionMetrics {
  std::size_t n = 0;
  double mse = 0, rmse = 0, mae = 0, r2 = 0;  // r2: NaN on fewer than two rows
  double mape = 0, max_error = 0, explained_variance = 0;
  /// Why a metric is not a number (empty when every metric is defined).
  std::string note;
};

namespace detail {
inline constexpr std::string_view r2_undefined_note = "r2 is not defined on fewer than two rows";
}
// ---- metrics by name ------------------------------------------------------------------------
enum class task_kind : std::uint8_t { regression = 1, classification = 2 };

constexpr std::string_view to_string(task_kind t) noexcept {
  return t == task_kind::regression ? "regression" : "classification";
}

struct metric_info {
  std::string_view name;
  task_kind task;
  bool greater_is_better;
};

namespace detail {
inline constexpr std::array<metric_info, 18> metric_table{{
    {"mse", task_kind::regression, false},
    {"rmse", task_kind::regression, false},
    {"mae", task_kind::regression, false},
    {"r2", task_kind::regression, true},
    {"mape", task_kind::regression, false},
    {"max_error", task_kind::regression, false},
    {"explained_variance", task_kind::regression, true},
    {"accuracy", task_kind::classification, true},
    {"balanced_accuracy", task_kind::classification, true},
    {"precision", task_kind::classification, true},
    {"recall", task_kind::classification, true},
    {"f1", task_kind::classification, true},
    {"f1_macro", task_kind::classification, true},
    {"f1_micro", task_kind::classification, true},
    {"f1_weighted", task_kind::classification, true},
    {"roc_auc", task_kind::classification, true},
    {"log_loss", task_kind::classification, false},
    {"brier", task_kind::classification, false},
}};
}  // namespace detail

/// Every metric name of a task, in the order above.
MLOPS_FUNC std::vector<std::string> metric_names(task_kind task);
/// The metric of this name for this task; argument_error naming the valid ones otherwise.
MLOPS_FUNC const metric_info& find_metric(std::string_view name, task_kind task);

/// The named value of a metrics record (names as above; the name must belong to the task).
MLOPS_FUNC std::optional<double> metric_value(const RegressionMetrics& m, std::string_view name);
template <class T>
RegressionMetrics regression_metrics(std::span<const T> y_true, std::span<const T> y_pred) {
  RegressionMetrics m;
  m.n = y_true.size();
  m.mse = mean_squared_error(y_true, y_pred);
  m.rmse = std::sqrt(m.mse);
  m.mae = mean_absolute_error(y_true, y_pred);
  m.r2 = r2_score(y_true, y_pred);
  m.mape = mean_absolute_percentage_error(y_true, y_pred);
  m.max_error = max_error(y_true, y_pred);
  m.explained_variance = explained_variance_score(y_true, y_pred);
  if (m.n < 2) m.note = detail::r2_undefined_note;
  return m;
}

/// Streaming, mergeable regression metrics: update chunk by chunk (or per thread and
/// merge, Chan et al.'s pairwise formula for the variances), then metrics(). Fixed
/// memory, double precision; agrees with regression_metrics to rounding (tested).
class RegressionAccumulator {
 public:
  template <class T>
  void update(std::span<const T> y_true, std::span<const T> y_pred) {
    detail::check_pair(y_true, y_pred, "RegressionAccumulator::update");
    RegressionAccumulator part;
    for (std::size_t i = 0; i < y_true.size(); ++i) part.add(static_cast<double>(y_true[i]), static_cast<double>(y_pred[i]));
    merge(part);
  }
  /// One observation; false (and nothing counted) when either value is not finite.
  bool add(double y, double p) noexcept {
    if (!std::isfinite(y) || !std::isfinite(p)) return false;
    const double e = y - p;
    ++n_;
    const double dn = static_cast<double>(n_);
    const double dy = y - mean_y_, de = e - mean_e_;
    mean_y_ += dy / dn, mean_e_ += de / dn;
    m2_y_ += dy * (y - mean_y_), m2_e_ += de * (e - mean_e_);
    sse_ += e * e, sae_ += std::abs(e);
    sape_ += std::abs(e) / (std::max)(std::abs(y), 2.220446049250313e-16);
    max_ = (std::max)(max_, std::abs(e));
    return true;
  }
  void merge(const RegressionAccumulator& o) noexcept {
    if (o.n_ == 0) return;
    if (n_ == 0) {
      *this = o;
      return;
    }
    const double na = static_cast<double>(n_), nb = static_cast<double>(o.n_), n = na + nb;
    const double dy = o.mean_y_ - mean_y_, de = o.mean_e_ - mean_e_;
    m2_y_ += o.m2_y_ + dy * dy * na * nb / n;
    m2_e_ += o.m2_e_ + de * de * na * nb / n;
    mean_y_ += dy * nb / n, mean_e_ += de * nb / n;
    n_ += o.n_;
    sse_ += o.sse_, sae_ += o.sae_, sape_ += o.sape_;
    max_ = (std::max)(max_, o.max_);
  }
  std::size_t count() const noexcept { return n_; }
  /// The metrics so far; data_error when nothing was added.
  /// One metric by name (metric_value of metrics()).
  std::optional<double> value(std::string_view metric) const { return metric_value(metrics(), metric); }
  RegressionMetrics metrics() const {
    if (n_ == 0) MLOPS_THROW(data_error(errc::data_empty, "RegressionAccumulator: no values to score"));
    const double n = static_cast<double>(n_);
    RegressionMetrics m;
    m.n = n_;
    m.mse = sse_ / n;
    m.rmse = std::sqrt(m.mse);
    m.mae = sae_ / n;
    m.r2 = n_ < 2 ? std::numeric_limits<double>::quiet_NaN() : m2_y_ == 0 ? (sse_ == 0 ? 1.0 : 0.0) : 1.0 - sse_ / m2_y_;
    if (n_ < 2) m.note = detail::r2_undefined_note;
    m.mape = sape_ / n;
    m.max_error = max_;
    m.explained_variance = m2_y_ == 0 ? (m2_e_ == 0 ? 1.0 : 0.0) : 1.0 - m2_e_ / m2_y_;
    return m;
  }

 private:
  std::size_t n_ = 0;
  double mean_y_ = 0, m2_y_ = 0, mean_e_ = 0, m2_e_ = 0, sse_ = 0, sae_ = 0, sape_ = 0, max_ = 0;
};

MLOPS_NAMESPACE_END

template <>
struct fmt::formatter<mlops::RegressionMetrics> {
  bool table = false;  // "{:t}": one metric per line; "{}": the classic four on one line
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == 't') table = true, ++it;
    return it;
  }
  template <class Ctx>
  auto format(const mlops::RegressionMetrics& m, Ctx& ctx) const {
    if (!table) {
      auto out = fmt::format_to(ctx.out(), "n={} mse={:.6g} rmse={:.6g} mae={:.6g} r2={:.6f}", m.n, m.mse, m.rmse, m.mae, m.r2);
      return m.note.empty() ? out : fmt::format_to(out, " ({})", m.note);
    }
    return fmt::format_to(ctx.out(),
                          "{:<20} {:>14}\n{:<20} {:>14}\n{:<20} {:>14.6g}\n{:<20} {:>14.6g}\n{:<20} {:>14.6g}\n{:<20} {:>14.6g}\n"
                          "{:<20} {:>14.6g}\n{:<20} {:>14.6g}\n{:<20} {:>14.6g}\n",
                          "metric", "value", "n", m.n, "mse", m.mse, "rmse", m.rmse, "mae", m.mae, "r2", m.r2, "mape", m.mape,
                          "max_error", m.max_error, "explained_variance", m.explained_variance);
  }
};

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_EVAL)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC std::vector<std::string> metric_names(task_kind task) {
  std::vector<std::string> out;
  for (const auto& m : detail::metric_table)
    if (m.task == task) out.emplace_back(m.name);
  return out;
}

MLOPS_FUNC const metric_info& find_metric(std::string_view name, task_kind task) {
  for (const auto& m : detail::metric_table)
    if (m.name == name && m.task == task) return m;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("unknown {} metric '{}'; choose from: {}", to_string(task), name,
                                                                 fmt::join(metric_names(task), ", "))));
}

MLOPS_FUNC std::optional<double> metric_value(const RegressionMetrics& m, std::string_view name) {
  (void)find_metric(name, task_kind::regression);
  if (name == "mse") return m.mse;
  if (name == "rmse") return m.rmse;
  if (name == "mae") return m.mae;
  if (name == "r2") return m.r2;
  if (name == "mape") return m.mape;
  if (name == "max_error") return m.max_error;
  return m.explained_variance;
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_EVAL
