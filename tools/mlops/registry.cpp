// tools/mlops/registry.cpp - `mlops registry list|show|promote|rollback|compare|history`.
#include <cstdlib>

#include "cli.hpp"

namespace mlops_cli {
namespace {

struct registry_args {
  std::string dir = "models", name, spec, spec2, alias;
  std::uint64_t version = 0;
  bool json_out = false;
};

std::string who() {
  const char* u = std::getenv("USER");
  return u ? u : "";
}

std::string metrics_line(const std::map<std::string, double>& m) {
  std::string s;
  for (const char* k : {"test.r2", "test.rmse", "test.accuracy", "test.f1", "cv.r2", "cv.accuracy"})
    if (auto it = m.find(k); it != m.end()) s += fmt::format("{}{}={:.6g}", s.empty() ? "" : " ", k, it->second);
  return s;
}

int cmd_registry_list(const registry_args& r) {
  auto reg = open_registry(r.dir);
  if (r.name.empty()) {
    json out = json::array();
    for (const auto& n : reg.models()) {
      const auto vs = reg.versions(n);
      json al = reg.aliases(n);
      out.push_back({{"name", n}, {"versions", vs.size()}, {"latest", vs.empty() ? json(nullptr) : json(vs.back().version)}, {"aliases", al}});
    }
    if (r.json_out) fmt::print("{}\n", to_text(out));
    else
      for (const auto& m : out)
        fmt::print("{:<24} {:>4} version(s)  latest {}  aliases {}\n", m["name"].get<std::string>(), m["versions"].get<std::size_t>(),
                   to_text(m["latest"], -1), to_text(m["aliases"], -1));
    return 0;
  }
  const auto vs = reg.versions(r.name);
  if (r.json_out) {
    fmt::print("{}\n", to_text(json(vs)));
    return 0;
  }
  fmt::print("{:>7}  {:<20}  {:<14}  {:<20}  {}\n", "version", "created (UTC)", "task", "aliases", "metrics");
  for (const auto& v : vs)
    fmt::print("{:>7}  {:<20}  {:<14}  {:<20}  {}\n", v.version, v.created_at, v.task, fmt::join(v.aliases, ","),
               metrics_line(v.metadata.metrics));
  return 0;
}

int cmd_registry_show(const registry_args& r) {
  const auto reg = open_registry(r.dir);
  const auto v = reg.get(r.name, r.spec);
  if (r.json_out) {
    fmt::print("{}\n", to_text(json(v)));
    return 0;
  }
  fmt::print("{} version {}  (created {}, parent {})\n  aliases: {}\n  task: {} ({}), target {}\n  features: {}\n  data fingerprint: {}\n",
             v.name, v.version, v.created_at, v.metadata.parent ? fmt::format("{}", *v.metadata.parent) : "none",
             v.aliases.empty() ? "-" : fmt::format("{}", fmt::join(v.aliases, ", ")), v.task, v.scalar, v.target,
             fmt::join(v.features, ", "), v.metadata.data_fingerprint.empty() ? "-" : v.metadata.data_fingerprint);
  fmt::print("  parameters:\n");
  for (const auto& [k, x] : v.metadata.parameters) fmt::print("    {:<20} {}\n", k, x);
  fmt::print("  metrics:\n");
  for (const auto& [k, x] : v.metadata.metrics) fmt::print("    {:<20} {:.6g}\n", k, x);
  for (const auto& [k, x] : v.metadata.tags) fmt::print("  tag {} = {}\n", k, x);
  return 0;
}

int cmd_registry_promote(const registry_args& r) {
  auto reg = open_registry(r.dir);
  const auto before = reg.aliases(r.name);
  reg.promote(r.name, r.version, r.alias, who());
  const auto it = before.find(r.alias);
  if (r.json_out)
    fmt::print("{}\n", to_text(json{{"name", r.name}, {"alias", r.alias}, {"version", r.version},
                            {"previous", it == before.end() ? json(nullptr) : json(it->second)}}));
  else fmt::print("{} {} -> version {}{}\n", r.name, r.alias, r.version, it == before.end() ? "" : fmt::format(" (was {})", it->second));
  return 0;
}

int cmd_registry_rollback(const registry_args& r) {
  auto reg = open_registry(r.dir);
  const auto before = reg.aliases(r.name).at(r.alias);
  const auto now = reg.rollback(r.name, r.alias, who());
  if (r.json_out)
    fmt::print("{}\n", to_text(json{{"name", r.name}, {"alias", r.alias}, {"version", now}, {"previous", before}}));
  else fmt::print("{} {} rolled back: version {} -> {}\n", r.name, r.alias, before, now);
  return 0;
}

int cmd_registry_compare(const registry_args& r) {
  const auto reg = open_registry(r.dir);
  const auto c = reg.compare(r.name, r.spec, r.spec2);
  if (r.json_out) {
    fmt::print("{}\n", to_text(json(c)));
    return 0;
  }
  auto opt = [](const auto& v) { return v ? fmt::format("{:.6g}", *v) : std::string("-"); };
  fmt::print("{} version {} vs {}{}\n{:<24} {:>14} {:>14} {:>14}\n", r.name, c.a, c.b, c.same_schema ? "" : "  (different schema)",
             "metric", fmt::format("v{}", c.a), fmt::format("v{}", c.b), "delta");
  for (const auto& e : c.metrics)
    fmt::print("{:<24} {:>14} {:>14} {:>14}\n", e.key, opt(e.a), opt(e.b), e.a && e.b ? fmt::format("{:+.6g}", *e.b - *e.a) : "-");
  if (!c.parameters.empty()) fmt::print("parameters that differ:\n");
  for (const auto& e : c.parameters) fmt::print("  {:<22} {} -> {}\n", e.key, e.a.value_or("-"), e.b.value_or("-"));
  return 0;
}

int cmd_registry_history(const registry_args& r) {
  const auto reg = open_registry(r.dir);
  const auto h = reg.history(r.name, r.alias);
  if (r.json_out) {
    fmt::print("{}\n", to_text(json(h)));
    return 0;
  }
  for (const auto& e : h)
    fmt::print("{:>4}  {}  {:<8} {} -> {}{}\n", e.seq, e.time, e.action, e.previous ? fmt::format("{}", *e.previous) : "-",
               e.version ? fmt::format("{}", *e.version) : "-", e.who.empty() ? "" : "  by " + e.who);
  return 0;
}

}  // namespace

std::function<int()> setup_registry(CLI::App& registry) {
  auto ra = std::make_shared<registry_args>();
  registry.require_subcommand(1);
  auto add_common = [ra](CLI::App* c) {
    c->add_option("--registry", ra->dir, "registry directory (default ./models)");
    c->add_flag("--json", ra->json_out, "print JSON");
  };
  auto* r_list = registry.add_subcommand("list", "models, or the versions of one model");
  r_list->add_option("name", ra->name, "model name");
  add_common(r_list);
  auto* r_show = registry.add_subcommand("show", "one version's metadata");
  r_show->add_option("name", ra->name, "model name")->required();
  r_show->add_option("version", ra->spec, "version number, alias or latest")->required();
  add_common(r_show);
  auto* r_promote = registry.add_subcommand("promote", "point an alias at a version");
  r_promote->add_option("name", ra->name, "model name")->required();
  r_promote->add_option("version", ra->version, "version number")->required();
  r_promote->add_option("alias", ra->alias, "alias, e.g. production or staging")->required();
  add_common(r_promote);
  auto* r_rollback = registry.add_subcommand("rollback", "return an alias to its previous holder");
  r_rollback->add_option("name", ra->name, "model name")->required();
  r_rollback->add_option("alias", ra->alias, "alias")->required();
  add_common(r_rollback);
  auto* r_compare = registry.add_subcommand("compare", "metrics and parameters of two versions");
  r_compare->add_option("name", ra->name, "model name")->required();
  r_compare->add_option("v1", ra->spec, "version, alias or latest")->required();
  r_compare->add_option("v2", ra->spec2, "version, alias or latest")->required();
  add_common(r_compare);
  auto* r_history = registry.add_subcommand("history", "every change of an alias");
  r_history->add_option("name", ra->name, "model name")->required();
  r_history->add_option("alias", ra->alias, "alias")->required();
  add_common(r_history);
  return [=] {
    if (*r_list) return cmd_registry_list(*ra);
    if (*r_show) return cmd_registry_show(*ra);
    if (*r_promote) return cmd_registry_promote(*ra);
    if (*r_rollback) return cmd_registry_rollback(*ra);
    if (*r_compare) return cmd_registry_compare(*ra);
    return cmd_registry_history(*ra);
  };
}

}  // namespace mlops_cli
