// mlops/monitor/json.hpp - DriftReport and DriftProfile as JSON (nlohmann/json).
// Undefined values (no present value in the window, no labels) are null: JSON has no NaN.
#pragma once

#include <nlohmann/json.hpp>

#include "mlops/monitor/drift.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
inline nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace detail

inline void to_json(nlohmann::json& j, const ColumnDrift& c) {
  using detail::number_or_null;
  j = {{"name", c.name},
       {"rows", c.rows},
       {"present", c.present},
       {"psi", number_or_null(c.psi)},
       {"ks", number_or_null(c.ks)},
       {"js", number_or_null(c.js)},
       {"mean_shift", number_or_null(c.mean_shift)},
       {"mean", number_or_null(c.mean)},
       {"reference_mean", number_or_null(c.reference_mean)},
       {"missing_rate", number_or_null(c.missing_rate)},
       {"reference_missing_rate", number_or_null(c.reference_missing_rate)},
       {"level", level_name(c.level)}};
}

inline void to_json(nlohmann::json& j, const DriftReport& r) {
  using detail::number_or_null;
  j = {{"scope", r.scope == drift_scope::window ? "window" : "total"},
       {"observed", r.observed},
       {"rejected", r.rejected},
       {"window", {{"begin", r.window_begin}, {"end", r.window_end}, {"rows", r.window_rows}}},
       {"features", r.features},
       {"prediction", r.prediction},
       {"dataset", {{"drifted_features", r.drifted_features}, {"drift_share", r.drift_share}, {"level", level_name(r.dataset_level)}}},
       {"concept",
        {{"labels", r.labels},
         {"window_labels", r.window_labels},
         {"error_kind", r.error_kind},
         {"baseline_error", number_or_null(r.baseline_error)},
         {"window_error", number_or_null(r.window_error)},
         {"error_ratio", number_or_null(r.error_ratio)},
         {"page_hinkley", number_or_null(r.page_hinkley)},
         {"page_hinkley_drifts", r.page_hinkley_drifts},
         {"adwin_estimation", number_or_null(r.adwin_estimation)},
         {"adwin_width", r.adwin_width},
         {"adwin_drifts", r.adwin_drifts},
         {"ddm_error_rate", number_or_null(r.ddm_error_rate)},
         {"ddm_drifts", r.ddm_drifts},
         {"level", level_name(r.concept_level)}}},
       {"retrain_recommended", r.retrain_recommended},
       {"retrain_reason", r.retrain_reason},
       {"alerts", {{"fired", r.alerts_fired}, {"suppressed", r.alerts_suppressed}}}};
}

inline void to_json(nlohmann::json& j, const DriftAlert& a) {
  j = {{"level", level_name(a.level)},
       {"statistic", statistic_name(a.statistic)},
       {"feature", std::string(a.feature)},
       {"value", detail::number_or_null(a.value)},
       {"threshold", detail::number_or_null(a.threshold)},
       {"window", {{"begin", a.window_begin}, {"end", a.window_end}}}};
}

inline void to_json(nlohmann::json& j, const FeatureProfile& p) {
  j = {{"name", p.name},         {"edges", p.edges},   {"freq", p.freq},     {"mean", p.mean},
       {"std", p.std},           {"min", p.min},       {"max", p.max},       {"missing_rate", p.missing_rate},
       {"count", p.count},       {"rows", p.rows}};
}

inline void to_json(nlohmann::json& j, const DriftProfile& p) {
  const char* kinds[] = {"none", "absolute_error", "misclassification"};
  j = {{"bins", p.bins},
       {"features", p.features},
       {"prediction", p.prediction},
       {"baseline",
        {{"kind", kinds[static_cast<int>(p.baseline.kind)]},
         {"mean", p.baseline.mean},
         {"std", p.baseline.std},
         {"n", p.baseline.n},
         {"source", p.baseline.source}}}};
}

MLOPS_NAMESPACE_END
