// mlops/io/card.hpp - the human-readable model card (JSON, via nlohmann/json).
#pragma once

#include <Eigen/Core>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mlops/detail/json_limits.hpp"
#include "mlops/monitor/json.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN
namespace io {

namespace detail_card {
// JSON has no NaN/Inf: non-finite values become strings so the card stays valid JSON.
MLOPS_FUNC nlohmann::json num(double v);
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
  if (p.design_columns() != p.features()) j["design"] = p.design_columns();
  nlohmann::json inputs = nlohmann::json::array();
  bool typed = false;
  for (std::size_t k = 0; k < p.features().size(); ++k) {
    nlohmann::json in = {{"name", p.features()[k]}, {"kind", std::string(kind_name(p.input_kind(k)))}};
    if (p.input_kind(k) == column_kind::categorical) in["levels"] = p.input_levels(k).size();
    typed |= p.input_kind(k) != column_kind::numeric;
    inputs.push_back(std::move(in));
  }
  if (typed) j["inputs"] = std::move(inputs);
  if (!p.class_labels().empty()) j["class_labels"] = p.class_labels();
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : p.steps()) {
    nlohmann::json js;
    js["step"] = std::string(step_name<T>(s));
    detail::step_card card;
    s.describe(card);
    auto value = [](const detail::card_value& v) -> nlohmann::json {
      if (const auto* d = std::get_if<double>(&v)) return num(*d);
      if (const auto* n = std::get_if<std::uint64_t>(&v)) return *n;
      if (const auto* f = std::get_if<bool>(&v)) return *f;
      return std::get<std::string>(v);
    };
    for (const auto& [k, v] : card.fields.items) js[k] = value(v);
    for (const auto& [col, fields] : card.columns)
      for (const auto& [k, v] : fields.items) js["columns"][col][k] = value(v);
    steps.push_back(std::move(js));
  }
  j["steps"] = std::move(steps);
  nlohmann::json model = nlohmann::json::object();
  std::visit([&](const auto& m) { m.describe(model, std::span<const std::string>(p.design_columns()), num); }, p.estimator());
  j["model"] = std::move(model);
  if (!p.trainer_name().empty()) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [k, v] : p.trainer_params()) {
      if (const auto* d = std::get_if<double>(&v)) params[k] = num(*d);
      else params[k] = std::get<std::string>(v);
    }
    j["trainer"] = {{"name", p.trainer_name()}, {"params", std::move(params)}};
  }
  const auto& r = p.report();
  nlohmann::json rs = nlohmann::json::array();
  for (const auto& s : r.steps) rs.push_back({{"step", s.step}, {"rows_in", s.rows_in}, {"rows_out", s.rows_out}});
  j["fit_report"] = {{"rows_in", r.rows_in}, {"rows_missing_target", r.rows_missing_target}, {"rows_used", r.rows_used}, {"steps", rs}};
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : p.metrics()) metrics[k] = num(v);
  j["metrics"] = metrics;
  if (!p.notes().empty()) j["notes"] = p.notes();  // e.g. auto_pipeline's choices
  if (p.has_drift_profile()) j["drift_profile"] = p.drift_profile();  // format 1.1
  return j;
}

/// A model card read back: the essentials typed, everything else in `json`.
struct ModelCard {
  std::string format_version;   // "1.0"
  std::string mlops_version, scalar, target, model_kind;
  std::vector<std::string> features;
  std::vector<std::string> steps;                    // step names in order
  std::map<std::string, double> coefficients;        // regressors: by feature
  std::optional<double> intercept;                   // regressors
  std::vector<double> classes;                       // classifiers
  std::map<std::string, double> metrics;
  nlohmann::json json;                               // the whole card
};

namespace detail_card {
[[noreturn]] inline void bad(std::string_view source, const std::string& what) {
  MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("model card '{}': {}", source, what)));
}
/// A number, or the strings the writer uses for non-finite values.
MLOPS_FUNC double number(const nlohmann::json& v, std::string_view source, std::string_view field);
MLOPS_FUNC const nlohmann::json& member(const nlohmann::json& o, const char* key, nlohmann::json::value_t type, std::string_view source);
}  // namespace detail_card

/// Parses a card written by model_card() (at most 32 levels deep and 64 MiB; every field
/// type checked); format_error (format.corrupt or format.version) on anything wrong.
MLOPS_FUNC ModelCard parse_model_card(std::string_view text, std::string_view source = "<card>");

/// Writes the card next to a model (atomically); reads it back.
template <scalar T>
void save_model_card(const FittedPipeline<T>& p, const std::filesystem::path& path) {
  mlops::detail::atomic_write_file(path, model_card(p).dump(2) + "\n");
}
MLOPS_FUNC ModelCard load_model_card(const std::filesystem::path& path);

// The compiled mode holds these (src/io.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE(nlohmann::json model_card<float>(const FittedPipeline<float>&))
MLOPS_EXTERN_TEMPLATE(nlohmann::json model_card<double>(const FittedPipeline<double>&))
MLOPS_EXTERN_TEMPLATE(void save_model_card<float>(const FittedPipeline<float>&, const std::filesystem::path&))
MLOPS_EXTERN_TEMPLATE(void save_model_card<double>(const FittedPipeline<double>&, const std::filesystem::path&))

}  // namespace io
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_IO)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace io {
namespace detail_card {
MLOPS_FUNC nlohmann::json num(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

MLOPS_FUNC double number(const nlohmann::json& v, std::string_view source, std::string_view field) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  bad(source, fmt::format("'{}' is not a number", field));
}

MLOPS_FUNC const nlohmann::json& member(const nlohmann::json& o, const char* key, nlohmann::json::value_t type, std::string_view source) {
  if (!o.is_object() || !o.contains(key)) bad(source, fmt::format("missing '{}'", key));
  const auto& v = o[key];
  const bool ok = type == nlohmann::json::value_t::number_float ? v.is_number() : v.type() == type;
  if (!ok) bad(source, fmt::format("'{}' has the wrong type ({})", key, v.type_name()));
  return v;
}
}  // namespace detail_card

MLOPS_FUNC ModelCard parse_model_card(std::string_view text, std::string_view source) {
  using detail_card::bad;
  using detail_card::member;
  using vt = nlohmann::json::value_t;
  ModelCard c;
  c.json = detail::parse_json_limited<format_error>(text, source, errc::format_corrupt);
  const auto& j = c.json;
  if (!j.is_object()) bad(source, "not a JSON object");
  const auto& fmt_ = member(j, "format", vt::object, source);
  if (member(fmt_, "name", vt::string, source) != "mlops-pipeline") bad(source, "not an mlops pipeline card");
  c.format_version = member(fmt_, "version", vt::string, source).get<std::string>();
  if (c.format_version.substr(0, c.format_version.find('.')) != std::to_string(format_major))
    MLOPS_THROW(format_error(errc::format_version, fmt::format("model card '{}': format {} is not readable by this version (major {})",
                                                               source, c.format_version, format_major)));
  c.mlops_version = member(j, "mlops_version", vt::string, source).get<std::string>();
  c.scalar = member(j, "scalar", vt::string, source).get<std::string>();
  if (c.scalar != "float" && c.scalar != "double") bad(source, "'scalar' must be float or double");
  c.target = member(j, "target", vt::string, source).get<std::string>();
  for (const auto& f : member(j, "features", vt::array, source)) {
    if (!f.is_string()) bad(source, "a feature name is not a string");
    c.features.push_back(f.get<std::string>());
  }
  for (const auto& st : member(j, "steps", vt::array, source)) {
    const auto& name = member(st, "step", vt::string, source).get_ref<const std::string&>();
    if (!detail::is_fitted_step_name(name)) bad(source, fmt::format("unknown step '{}'", name));
    c.steps.push_back(name);
  }
  const auto& m = member(j, "model", vt::object, source);
  c.model_kind = member(m, "kind", vt::string, source).get<std::string>();
  // A model's own fields are its own (describe); the card reads the classes of a
  // classifier, and a linear regressor's intercept and coefficients (both required once
  // either is there).
  if (m.contains("classes"))
    for (const auto& k : member(m, "classes", vt::array, source)) c.classes.push_back(detail_card::number(k, source, "classes"));
  if ((m.contains("coefficients") || m.contains("intercept")) && !m.contains("outputs")) {  // a linear regressor: both
    c.intercept = detail_card::number(member(m, "intercept", vt::number_float, source), source, "intercept");
    for (const auto& [f, v] : member(m, "coefficients", vt::object, source).items())
      c.coefficients[f] = detail_card::number(v, source, "coefficients." + f);
    const std::size_t width = j.contains("design") ? member(j, "design", vt::array, source).size() : c.features.size();
    if (c.coefficients.size() != width) bad(source, "one coefficient per model column expected");
  }
  for (const auto& [k, v] : member(j, "metrics", vt::object, source).items()) c.metrics[k] = detail_card::number(v, source, "metrics." + k);
  return c;
}

MLOPS_FUNC ModelCard load_model_card(const std::filesystem::path& path) {
  return parse_model_card(mlops::detail::read_file(path, true, mlops::detail::max_json_bytes), path.string());
}
}  // namespace io

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_IO
