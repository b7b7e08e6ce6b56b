// mlops/io/card.hpp - the human-readable model card (JSON, via nlohmann/json).
#pragma once

#include <nlohmann/json.hpp>

#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN
namespace io {

namespace detail_card {
// JSON has no NaN/Inf: non-finite values become strings so the card stays valid JSON.
inline nlohmann::json num(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}
}  // namespace detail_card

/// The model card of a fitted pipeline: schema, every step with its fitted parameters,
/// coefficients by column name, intercept, fitting report, metrics and format version.
template <scalar T>
nlohmann::json model_card(const FittedPipeline<T>& p) {
  using detail_card::num;
  nlohmann::json j;
  j["format"] = {{"name", "mlops-pipeline"}, {"version", fmt::format("{}.{}", format_major, format_minor)}};
  j["mlops_version"] = MLOPS_VERSION_STRING;
  j["scalar"] = sizeof(T) == 4 ? "float" : "double";
  j["created_at_unix"] = p.created_at();
  j["target"] = p.target();
  j["features"] = p.features();
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : p.steps()) {
    nlohmann::json js;
    js["step"] = std::string(step_name<T>(s));
    if (auto* imp = std::get_if<FittedSimpleImputer<T>>(&s)) {
      js["strategy"] = std::string(to_string(imp->strategy()));
      for (std::size_t c = 0; c < imp->columns().size(); ++c)
        js["columns"][imp->columns()[c]] = {{"fill_value", num(imp->fill_values()[c])}, {"missing_seen", imp->missing_seen()[c]}};
    } else if (auto* iqr = std::get_if<FittedIqrOutlierFilter<T>>(&s)) {
      js["k"] = iqr->k();
      js["on_new_data"] = std::string(to_string(iqr->on_new_data()));
      js["rows_in"] = iqr->rows_in();
      js["rows_out"] = iqr->rows_out();
      for (const auto& f : iqr->fences())
        js["columns"][f.name] = {{"q1", num(f.q1)}, {"q3", num(f.q3)}, {"lower", num(f.lower)}, {"upper", num(f.upper)},
                                 {"zero_iqr", f.zero_iqr}, {"active", f.active}, {"training_only", f.training_only},
                                 {"rows_dropped", f.dropped}};
    } else if (auto* sc = std::get_if<FittedStandardScaler<T>>(&s)) {
      for (std::size_t c = 0; c < sc->columns().size(); ++c)
        js["columns"][sc->columns()[c]] = {{"mean", num(sc->mean()[c])}, {"scale", num(sc->scale()[c])},
                                           {"constant", sc->constant_columns()[c] != 0}};
    }
    steps.push_back(std::move(js));
  }
  j["steps"] = std::move(steps);
  if (p.is_classifier()) {
    const auto& m = p.classifier();
    nlohmann::json outputs = nlohmann::json::array();
    for (std::size_t k = 0; k < m.n_outputs(); ++k) {
      nlohmann::json coef = nlohmann::json::object();
      for (std::size_t c = 0; c < p.features().size(); ++c)
        coef[p.features()[c]] = num(m.coef()(static_cast<Eigen::Index>(c), static_cast<Eigen::Index>(k)));
      outputs.push_back({{"class", m.n_outputs() == 1 ? num(m.classes()[1]) : num(m.classes()[k])},
                         {"intercept", num(m.intercept()(static_cast<Eigen::Index>(k)))},
                         {"coefficients", coef}});
    }
    nlohmann::json classes = nlohmann::json::array();
    for (const auto c : m.classes()) classes.push_back(num(c));
    j["model"] = {{"kind", m.loss() == classifier_loss::logistic ? "logistic" : "svm"},
                  {"loss", std::string(to_string(m.loss()))},
                  {"solver", std::string(to_string(m.solver()))},
                  {"classes", classes},
                  {"l2", m.l2()},
                  {"fit_intercept", m.fit_intercept()},
                  {"threshold", m.threshold()},
                  {"class_weights", m.class_weights()},
                  {"iterations", m.n_iter()},
                  {"n_samples", m.n_samples()},
                  {"outputs", outputs}};
  } else {
  const auto& m = p.model();
  nlohmann::json coef = nlohmann::json::object();
  for (std::size_t c = 0; c < p.features().size(); ++c) coef[p.features()[c]] = num(m.coef()(static_cast<Eigen::Index>(c)));
  const char* kind = m.solver() == linear_solver::recursive        ? "rls"
                     : m.solver() == linear_solver::gradient_descent ? "gd"
                     : m.l2() > 0                                    ? "ridge"
                                                                     : "linear";
  j["model"] = {{"kind", kind}, {"l2", m.l2()}, {"fit_intercept", m.fit_intercept()},
                {"intercept", num(m.intercept())}, {"coefficients", coef}, {"solver", std::string(to_string(m.solver()))},
                {"rank", m.rank()}, {"rcond", num(m.rcond())}, {"n_samples", m.n_samples()}};
  }
  const auto& r = p.report();
  nlohmann::json rs = nlohmann::json::array();
  for (const auto& s : r.steps) rs.push_back({{"step", s.step}, {"rows_in", s.rows_in}, {"rows_out", s.rows_out}});
  j["fit_report"] = {{"rows_in", r.rows_in}, {"rows_missing_target", r.rows_missing_target}, {"rows_used", r.rows_used}, {"steps", rs}};
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : p.metrics()) metrics[k] = num(v);
  j["metrics"] = metrics;
  return j;
}

}  // namespace io
MLOPS_NAMESPACE_END
