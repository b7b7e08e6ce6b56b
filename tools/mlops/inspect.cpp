// tools/mlops/inspect.cpp - `mlops inspect`: print the model card.
#include "cli.hpp"
#include "mlops/io/card.hpp"

namespace mlops_cli {
namespace {

int cmd_inspect(const std::string& model, bool json_out) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  const json card = mlops::io::model_card(p);
  if (json_out) {
    fmt::print("{}\n", to_text(card));
    return 0;
  }
  fmt::print("model card: {}\n  format {} (mlops {}), scalar {}\n  target: {}\n  features: {}\n", model,
             card["format"]["version"].get<std::string>(), card["mlops_version"].get<std::string>(), card["scalar"].get<std::string>(),
             p.target(), fmt::join(p.features(), ", "));
  for (std::size_t j = 0; j < p.features().size(); ++j)
    if (p.input_kind(j) != mlops::column_kind::numeric)
      fmt::print("  input {}: {}{}\n", p.features()[j], mlops::kind_name(p.input_kind(j)),
                 p.input_kind(j) == mlops::column_kind::categorical ? fmt::format(" ({} levels)", p.input_levels(j).size()) : "");
  if (p.design_columns() != p.features()) fmt::print("  model columns: {}\n", fmt::join(p.design_columns(), ", "));
  for (const auto& s : card["steps"]) {
    fmt::print("  step {}:", s["step"].get<std::string>());
    for (auto it = s.begin(); it != s.end(); ++it)
      if (it.key() != "step" && it.key() != "columns") fmt::print(" {}={}", it.key(), to_text(it.value(), -1));
    fmt::print("\n");
    if (s.contains("columns"))
      for (auto it = s["columns"].begin(); it != s["columns"].end(); ++it) fmt::print("    {}: {}\n", it.key(), to_text(it.value(), -1));
  }
  const auto& m = card["model"];
  if (const auto* lc = p.model_if<mlops::LinearClassifier<double>>()) {
    const auto& c = *lc;
    fmt::print("  model: {} (solver {}, classes {}, l2 {}, threshold {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
               fmt::join(c.classes(), ", "), to_text(m["l2"], -1), c.threshold());
    if (!p.class_labels().empty()) fmt::print("    class labels: {}\n", fmt::join(p.class_labels(), ", "));
    for (std::size_t k = 0; k < c.n_outputs(); ++k) {
      const double cls = c.n_outputs() == 1 ? c.classes()[1] : c.classes()[k];
      if (p.class_labels().empty()) fmt::print("    output for class {}:\n", cls);
      else fmt::print("    output for class {}:\n", p.label_of(cls));
      for (std::size_t f = 0; f < p.design_columns().size(); ++f)
        fmt::print("      coef {:<18} {:.10g}\n", p.design_columns()[f], c.coef()(static_cast<Eigen::Index>(f), static_cast<Eigen::Index>(k)));
      fmt::print("      intercept {:>23.10g}\n", c.intercept()(static_cast<Eigen::Index>(k)));
    }
    fmt::print("  metrics:\n");
  } else if (p.model_if<mlops::LinearModel<double>>()) {
    fmt::print("  model: {} (solver {}, rank {}, l2 {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
               to_text(m["rank"], -1), to_text(m["l2"], -1));
    for (std::size_t c = 0; c < p.design_columns().size(); ++c)
      fmt::print("    coef {:<20} {:.10g}\n", p.design_columns()[c], p.model().coef()(static_cast<Eigen::Index>(c)));
    fmt::print("    intercept {:>25.10g}\n  metrics:\n", p.model().intercept());
  } else {  // any other model: the fields of its card section
    fmt::print("  model: {}", m["kind"].get<std::string>());
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "kind" && !it.value().is_object()) fmt::print(" {}={}", it.key(), to_text(it.value(), -1));
    fmt::print("\n");
    if (!p.class_labels().empty()) fmt::print("    class labels: {}\n", fmt::join(p.class_labels(), ", "));
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.value().is_object()) {
        fmt::print("    {}:\n", it.key());
        for (auto f = it.value().begin(); f != it.value().end(); ++f) fmt::print("      {:<20} {}\n", f.key(), to_text(f.value(), -1));
      }
    fmt::print("  metrics:\n");
  }
  for (const auto& [k, v] : p.metrics()) fmt::print("    {:<14} {:.6g}\n", k, v);
  if (p.has_drift_profile()) {
    const auto& dp = p.drift_profile();
    const auto& b = dp.baseline;
    fmt::print("  drift profile: {} bins; baseline {} {:.6g} (sd {:.6g}, {} rows, {})\n", dp.bins,
               b.kind == mlops::BaselineError::kind_t::misclassification ? "error rate" : "mean absolute error", b.mean, b.std, b.n,
               b.source);
    for (std::size_t c = 0; c <= dp.features.size(); ++c) {
      const auto& f = c < dp.features.size() ? dp.features[c] : dp.prediction;
      fmt::print("    {:<18} bins {:>3}  mean {:<12.6g} sd {:<12.6g} missing {:.4f}\n", f.name, f.bins(), f.mean, f.std, f.missing_rate);
    }
  } else {
    fmt::print("  drift profile: none\n");
  }
  return 0;
}

struct inspect_args {
  std::string model;
  bool json_out = false;
};

}  // namespace

std::function<int()> setup_inspect(CLI::App& cmd) {
  auto a = std::make_shared<inspect_args>();
  cmd.add_option("model", a->model, "model file")->required();
  cmd.add_flag("--json", a->json_out, "print JSON");
  return [a] { return cmd_inspect(a->model, a->json_out); };
}

}  // namespace mlops_cli
