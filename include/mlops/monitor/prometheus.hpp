// mlops/monitor/prometheus.hpp - a drift report in the Prometheus text exposition
// format (what `mlops monitor --prometheus` prints and a scrape endpoint serves).
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/monitor/drift_config.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::string prometheus_escape(std::string_view s);
MLOPS_FUNC std::string prometheus_number(double v);
}  // namespace detail

/// The report in the Prometheus text exposition format (version 0.0.4): one gauge family
/// per statistic with a `feature` label, plus dataset and concept gauges. `labels` (e.g.
/// {{"model", "price"}}) are added to every sample. Undefined values are NaN.
MLOPS_FUNC std::string to_prometheus(const DriftReport& r, const std::vector<std::pair<std::string, std::string>>& labels = {},
                                 std::string_view prefix = "mlops_drift");

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_MONITOR)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::string prometheus_escape(std::string_view s) {
  std::string o;
  for (const char c : s) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

MLOPS_FUNC std::string prometheus_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}
}  // namespace detail

MLOPS_FUNC std::string to_prometheus(const DriftReport& r, const std::vector<std::pair<std::string, std::string>>& labels,
                                 std::string_view prefix) {
  std::string base;
  for (const auto& [k, v] : labels) base += fmt::format("{}=\"{}\",", k, detail::prometheus_escape(v));
  std::string out;
  auto family = [&](std::string_view name, std::string_view help) {
    out += fmt::format("# HELP {}_{} {}\n# TYPE {}_{} gauge\n", prefix, name, help, prefix, name);
  };
  auto sample = [&](std::string_view name, std::string_view feature, double v) {
    std::string l = base;
    if (!feature.empty()) l += fmt::format("feature=\"{}\",", detail::prometheus_escape(feature));
    if (!l.empty()) l.pop_back();
    out += l.empty() ? fmt::format("{}_{} {}\n", prefix, name, detail::prometheus_number(v))
                     : fmt::format("{}_{}{{{}}} {}\n", prefix, name, l, detail::prometheus_number(v));
  };
  auto per_column = [&](std::string_view name, std::string_view help, auto get) {
    family(name, help);
    for (const auto& f : r.features) sample(name, f.name, get(f));
    sample(name, "__prediction__", get(r.prediction));
  };
  per_column("psi", "Population stability index of the window against the reference profile.", [](const ColumnDrift& c) { return c.psi; });
  per_column("ks", "Kolmogorov-Smirnov statistic at the reference bin edges.", [](const ColumnDrift& c) { return c.ks; });
  per_column("js", "Jensen-Shannon distance (base 2) of the window's bins to the reference.", [](const ColumnDrift& c) { return c.js; });
  per_column("mean_shift", "Window mean minus reference mean, in reference standard deviations.",
             [](const ColumnDrift& c) { return c.mean_shift; });
  per_column("missing_rate", "Share of missing values in the window.", [](const ColumnDrift& c) { return c.missing_rate; });
  auto per_kind = [&](bool ColumnDrift::*is, std::string_view name, std::string_view help, auto get) {
    bool any = false;
    for (const auto& f : r.features) any |= f.*is;
    if (!any) return;
    family(name, help);
    for (const auto& f : r.features)
      if (f.*is) sample(name, f.name, get(f));
  };
  auto per_categorical = [&](std::string_view name, std::string_view help, auto get) { per_kind(&ColumnDrift::categorical, name, help, get); };
  per_kind(&ColumnDrift::ranged, "before_range_rate", "Datetime inputs: share of present values earlier than any training value.",
           [](const ColumnDrift& c) { return c.before_range_rate; });
  per_kind(&ColumnDrift::ranged, "after_range_rate", "Datetime inputs: share of present values later than any training value.",
           [](const ColumnDrift& c) { return c.after_range_rate; });
  per_categorical("unseen_rate", "Categorical inputs: share of present values holding a level training never saw.",
                  [](const ColumnDrift& c) { return c.unseen_rate; });
  per_categorical("chi2", "Categorical inputs: Pearson chi-square of the known levels' counts against the reference shares.",
                  [](const ColumnDrift& c) { return c.chi2; });
  per_categorical("chi2_p_value", "Categorical inputs: p-value of the chi-square statistic.", [](const ColumnDrift& c) { return c.chi2_p; });
  per_column("level", "Alert level of the column: 0 ok, 1 warning, 2 critical.",
             [](const ColumnDrift& c) { return static_cast<double>(c.level); });
  family("drift_share", "Share of features at the critical level.");
  sample("drift_share", {}, r.drift_share);
  family("dataset_level", "Dataset-level alert: 0 ok, 1 warning, 2 critical.");
  sample("dataset_level", {}, static_cast<double>(r.dataset_level));
  family("error_ratio", "Window error relative to the baseline error (labelled rows).");
  sample("error_ratio", {}, r.error_ratio);
  family("concept_level", "Concept-drift alert level: 0 ok, 1 warning, 2 critical.");
  sample("concept_level", {}, static_cast<double>(r.concept_level));
  family("retrain_recommended", "1 when the monitor recommends retraining the model.");
  sample("retrain_recommended", {}, r.retrain_recommended ? 1.0 : 0.0);
  family("window_rows", "Rows in the window the statistics were measured on.");
  sample("window_rows", {}, static_cast<double>(r.window_rows));
  out += fmt::format("# HELP {0}_observed_rows_total Rows observed since the monitor was reset.\n# TYPE {0}_observed_rows_total counter\n",
                     prefix);
  sample("observed_rows_total", {}, static_cast<double>(r.observed));
  out += fmt::format("# HELP {0}_alerts_total Alerts fired since the monitor was reset.\n# TYPE {0}_alerts_total counter\n", prefix);
  sample("alerts_total", {}, static_cast<double>(r.alerts_fired));
  return out;
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_MONITOR
