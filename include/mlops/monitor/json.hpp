// mlops/monitor/json.hpp - DriftReport and DriftProfile as JSON (nlohmann/json).
// Undefined values (no present value in the window, no labels) are null: JSON has no NaN.
#pragma once

#include <nlohmann/json.hpp>

#include "mlops/detail/json_limits.hpp"
#include "mlops/monitor/drift.hpp"

MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC void to_json(nlohmann::json& j, const ColumnDrift& c);

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftReport& r);

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftAlert& a);

MLOPS_FUNC void to_json(nlohmann::json& j, const FeatureProfile& p);

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftProfile& p);

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_MONITOR)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC void to_json(nlohmann::json& j, const ColumnDrift& c) {
  using detail::finite_json;
  j = {{"name", c.name},
       {"rows", c.rows},
       {"present", c.present},
       {"psi", finite_json(c.psi)},
       {"ks", finite_json(c.ks)},
       {"js", finite_json(c.js)},
       {"mean_shift", finite_json(c.mean_shift)},
       {"mean", finite_json(c.mean)},
       {"reference_mean", finite_json(c.reference_mean)},
       {"missing_rate", finite_json(c.missing_rate)},
       {"reference_missing_rate", finite_json(c.reference_missing_rate)},
       {"level", level_name(c.level)}};
  if (c.categorical) {
    nlohmann::json moved = nlohmann::json::array();
    for (const auto& m : c.moved) moved.push_back({{"level", m.level}, {"reference", m.reference}, {"live", m.live}});
    j["levels"] = {{"unseen_rate", finite_json(c.unseen_rate)},
                   {"chi2", finite_json(c.chi2)},
                   {"chi2_df", c.chi2_df},
                   {"chi2_p", finite_json(c.chi2_p)},
                   {"moved", std::move(moved)}};
  }
  if (c.ranged) j["range"] = {{"before_rate", finite_json(c.before_range_rate)}, {"after_rate", finite_json(c.after_range_rate)}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftReport& r) {
  using detail::finite_json;
  j = {{"scope", r.scope == drift_scope::window ? "window" : "total"},
       {"observed", r.observed},
       {"rejected", r.rejected},
       {"window", {{"begin", r.window_begin}, {"end", r.window_end}, {"rows", r.window_rows}, {"size", r.window_size},
                   {"judged", r.judged}}},
       {"features", r.features},
       {"prediction", r.prediction},
       {"dataset", {{"drifted_features", r.drifted_features}, {"drift_share", r.drift_share}, {"level", level_name(r.dataset_level)}}},
       {"concept",
        {{"labels", r.labels},
         {"window_labels", r.window_labels},
         {"error_kind", r.error_kind},
         {"baseline_error", finite_json(r.baseline_error)},
         {"window_error", finite_json(r.window_error)},
         {"error_ratio", finite_json(r.error_ratio)},
         {"page_hinkley", finite_json(r.page_hinkley)},
         {"page_hinkley_drifts", r.page_hinkley_drifts},
         {"adwin_estimation", finite_json(r.adwin_estimation)},
         {"adwin_width", r.adwin_width},
         {"adwin_drifts", r.adwin_drifts},
         {"ddm_error_rate", finite_json(r.ddm_error_rate)},
         {"ddm_drifts", r.ddm_drifts},
         {"level", level_name(r.concept_level)}}},
       {"retrain_recommended", r.retrain_recommended},
       {"retrain_reason", r.retrain_reason},
       {"alerts", {{"fired", r.alerts_fired}, {"suppressed", r.alerts_suppressed}}}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftAlert& a) {
  j = {{"level", level_name(a.level)},
       {"statistic", statistic_name(a.statistic)},
       {"feature", std::string(a.feature)},
       {"value", detail::finite_json(a.value)},
       {"threshold", detail::finite_json(a.threshold)},
       {"window", {{"begin", a.window_begin}, {"end", a.window_end}}}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const FeatureProfile& p) {
  j = {{"name", p.name},         {"edges", p.edges},   {"freq", p.freq},     {"mean", p.mean},
       {"std", p.std},           {"min", p.min},       {"max", p.max},       {"missing_rate", p.missing_rate},
       {"count", p.count},       {"rows", p.rows}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const DriftProfile& p) {
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
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_MONITOR
