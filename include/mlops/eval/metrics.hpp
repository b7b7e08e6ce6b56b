// mlops/eval/metrics.hpp - regression metrics with scikit-learn's definitions.
#pragma once

#include <cmath>
#include <span>
#include <string_view>

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
/// perfect, else 0.0 (scikit-learn's force_finite behaviour); never NaN or -Inf.
template <class T>
double r2_score(std::span<const T> y_true, std::span<const T> y_pred) {
  detail::check_pair(y_true, y_pred, "r2_score");
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

/// The regression metrics of a prediction, as reported by the pipeline and the CLI.
struct RegressionMetrics {
  std::size_t n = 0;
  double mse = 0, rmse = 0, mae = 0, r2 = 0;
};
template <class T>
RegressionMetrics regression_metrics(std::span<const T> y_true, std::span<const T> y_pred) {
  RegressionMetrics m;
  m.n = y_true.size();
  m.mse = mean_squared_error(y_true, y_pred);
  m.rmse = std::sqrt(m.mse);
  m.mae = mean_absolute_error(y_true, y_pred);
  m.r2 = r2_score(y_true, y_pred);
  return m;
}

MLOPS_NAMESPACE_END

template <>
struct fmt::formatter<mlops::RegressionMetrics> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const mlops::RegressionMetrics& m, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "n={} mse={:.6g} rmse={:.6g} mae={:.6g} r2={:.6f}", m.n, m.mse, m.rmse, m.mae, m.r2);
  }
};
