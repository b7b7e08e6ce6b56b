// tools/mlops/monitor.cpp - `mlops monitor`: replay a CSV stream through the model's
// drift monitor.
#include <cstdio>

#include "cli.hpp"
#include "mlops/monitor/json.hpp"

namespace mlops_cli {
namespace {

struct monitor_args {
  std::string model, data, target, state, on_alert, time_col;
  data_args data_opts;
  std::size_t window = 1000, step = 0;
  bool json_out = false, prometheus = false, alerts = false, fail_on_drift = false;
};

/// Replays a CSV through the model and its drift monitor and prints the report.
int cmd_monitor(const monitor_args& a) {
  const auto p = mlops::FittedPipeline<double>::load(a.model);
  if (!p.has_drift_profile())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("{} has no drift profile (trained with --bins 0 or by an older mlops); retrain it to monitor",
                                            a.model));
  auto frame = read_table(a.data, a.data_opts, model_columns(p, a.target.empty() ? p.target() : a.target));
  if (!a.time_col.empty()) frame = frame.take(mlops::time_order(frame, a.time_col));  // windows follow time, not file order
  std::vector<std::string> missing;
  for (const auto& f : p.features())
    if (!frame.contains(f)) missing.push_back(f);
  if (!missing.empty())
    throw mlops::schema_error(mlops::errc::schema_missing_column,
                              fmt::format("{}: lacks feature column(s) '{}' the model was trained on", a.data, fmt::join(missing, "', '")));
  const auto bound = p.bind(frame);  // the rows in the model's numeric form
  const auto& cols = bound.columns;
  // Labels: --target, or the model's target when the stream has that column.
  std::optional<std::span<const double>> labels;
  const std::string target = a.target.empty() ? p.target() : a.target;
  std::vector<double> label_values;  // a text target as the model's class indices
  if (const auto i = frame.find(target)) {
    if (frame.kind(*i) == mlops::column_kind::numeric) labels = frame.column(*i);
    else label_values = p.target_values(frame), labels = std::span<const double>(label_values);
  }
  else if (!a.target.empty())
    throw mlops::schema_error(mlops::errc::schema_missing_column, fmt::format("{}: no target column '{}'", a.data, a.target));
  mlops::DriftConfig cfg;
  cfg.window = a.window;
  cfg.step = a.step;
  auto mon = p.monitor(cfg);
  if (!a.state.empty() && std::filesystem::exists(a.state)) mon.load_state(a.state);
  json alerts = json::array(), hooks = json::array();
  const std::string model_name = std::filesystem::path(a.model).stem().string();
  mon.on_alert([&](const mlops::DriftAlert& al) {
    if (!a.on_alert.empty()) {
      json h = al;
      h["event"] = "alert";
      h["model"] = model_name;
      hooks.push_back(std::move(h));
    }
    if (!a.alerts) return;
    if (a.json_out) alerts.push_back(al);
    else
      std::fprintf(stderr, "alert: %s %s%s%s value %.6g threshold %.6g rows [%llu, %llu)\n", std::string(mlops::level_name(al.level)).c_str(),
                   std::string(mlops::statistic_name(al.statistic)).c_str(), al.feature.empty() ? "" : " of ",
                   std::string(al.feature).c_str(), al.value, al.threshold, static_cast<unsigned long long>(al.window_begin),
                   static_cast<unsigned long long>(al.window_end));
  });
  std::vector<double> row(cols.size());
  for (std::size_t r = 0; r < frame.rows(); ++r) {
    for (std::size_t j = 0; j < cols.size(); ++j) row[j] = cols[j][r];
    double y = NAN;
    if (p.try_predict(row, y) != mlops::predict_status::ok) y = NAN;  // counted as a missing prediction
    mon.observe(row, y);
    if (labels) mon.observe_label((*labels)[r], y);
  }
  if (!a.state.empty()) mon.save_state(a.state);
  const auto rep = mon.report();
  if (a.prometheus) {
    fmt::print("{}", mlops::to_prometheus(rep, {{"model", model_name}}));
  } else if (a.json_out) {
    json j = rep;
    j["model"] = a.model;
    if (a.alerts) j["alerts_fired"] = alerts;
    fmt::print("{}\n", to_text(j));
  } else {
    fmt::print("{:t}", rep);
  }
  // --on-alert: each alert, in the order fired, once the report is printed.
  for (const auto& h : hooks) {
    std::fflush(stdout);
    const int rc = run_hook(a.on_alert, to_text(h, -1));
    if (rc != 0)
      std::fprintf(stderr, "mlops: warning: --on-alert '%s' %s\n", a.on_alert.c_str(),
                   rc < 0 ? "could not be started" : fmt::format("exited with status {}", rc).c_str());
  }
  return a.fail_on_drift && rep.retrain_recommended ? 3 : 0;
}

}  // namespace

std::function<int()> setup_monitor(CLI::App& cmd) {
  auto ma = std::make_shared<monitor_args>();
  cmd.add_option("model", ma->model, "model file (with a drift profile)")->required();
  cmd.add_option("stream", ma->data, "CSV with the model's feature columns (and the target, for concept drift; - for standard input)")->required();
  cmd.add_flag("--json", ma->json_out, "print the report as JSON");
  add_data_flags(&cmd, ma->data_opts);
  cmd.add_flag("--prometheus", ma->prometheus, "print the report in the Prometheus text exposition format");
  cmd.add_option("--target", ma->target, "label column (default: the model's target, when present)");
  cmd.add_option("--window", ma->window, "rows per window (default 1000; 0: every row)");
  cmd.add_option("--time-col", ma->time_col, "replay the rows in the order of this column (dates or numbers), so windows follow time");
  cmd.add_option("--step", ma->step, "rows between evaluations: a divisor of the window (sliding); default the window (tumbling)");
  cmd.add_option("--state", ma->state, "resume from this monitor state file if it exists, and save the state there afterwards");
  cmd.add_flag("--alerts", ma->alerts, "print each alert as it fires (stderr; with --json in the report)");
  cmd.add_option("--on-alert", ma->on_alert, "run this shell command once per alert, with the alert as JSON on stdin");
  cmd.add_flag("--fail-on-drift", ma->fail_on_drift, "exit with status 3 when retraining is recommended");
  cmd.get_option("--prometheus")->excludes("--json");
  return [ma] { return cmd_monitor(*ma); };
}

}  // namespace mlops_cli
