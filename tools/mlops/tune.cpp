// tools/mlops/tune.cpp - `mlops tune`: grid search by cross-validation, refit the best.
#include "cli.hpp"
#include "mlops/select/report.hpp"

namespace mlops_cli {
namespace {

/// "model.alpha=0.1,1,10" -> ("model.alpha", {0.1, 1, 10}).
std::pair<std::string, std::vector<mlops::param_value>> parse_grid_axis(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--grid '{}': write NAME=V1,V2,... (e.g. model.alpha=0.1,1,10 or iqr.k=1.5,3)", text));
  std::vector<mlops::param_value> values;
  std::string_view rest(text.data() + eq + 1, text.size() - eq - 1);
  while (true) {
    const auto comma = rest.find(',');
    const auto item = rest.substr(0, comma);
    if (item.empty()) throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("--grid '{}': an empty value", text));
    values.push_back(mlops::parse_param_value(item));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {text.substr(0, eq), std::move(values)};
}

int cmd_tune(const train_args& a) {
  std::vector<std::string> labels;
  const auto frame = read_training_table(a, labels);
  const fit_reports reports;
  mlops::param_grid grid;
  for (const auto& g : a.grid) {
    auto [name, values] = parse_grid_axis(g);
    grid.add(std::move(name), std::move(values));
  }
  const auto parts = split_for(a, frame);
  const auto& train = parts.train();
  const auto& test = parts.test();
  std::vector<mlops::auto_choice> choices;  // decided on the training part only
  const auto p = make_pipeline(a, reports, train, choices);
  mlops::grid_options o;
  static_cast<mlops::cv_options&>(o) = cv_options_for(a);
  const auto gs = mlops::grid_search(p, grid, train, a.target, cv_folds_for(a, train, a.cv == 0 ? 5 : a.cv), a.metric, {}, o);
  auto fitted = *gs.refitted;  // the best candidate refitted on the whole training part
  if (!labels.empty()) fitted.set_class_labels(labels);
  const bool held_out = test.rows() > 0;
  const json test_j = held_out ? evaluate_json(fitted, test) : json(nullptr);
  const std::string test_t = held_out ? evaluate_text(fitted, test) : "none (--test-size 0: every row was used for training)";
  for (const auto& s : gs.best_candidate().cv.test)
    if (s.mean) fitted.set_metric("cv." + s.name, *s.mean);
  if (held_out) {
    if (fitted.is_classifier()) fitted.set_metrics("test", fitted.evaluate_classifier(test));
    else fitted.set_metrics("test", fitted.evaluate(test));
  }
  set_baseline_from(fitted, test);
  if (!a.out.empty()) save_model(fitted, a.out);
  std::FILE* const rep = report_stream(a.out);  // stderr when the model goes to stdout
  if (a.json_out) {
    json j = {{"trainer", a.model},
              {"task", fitted.is_classifier() ? "classification" : "regression"},
              {"target", a.target},
              {"rows", {{"total", frame.rows()}, {"train", train.rows()}, {"test", test.rows()}}},
              {"search", gs},
              {"auto", choices_json(choices)},
              {"split", split_json(a, parts)},
              {"test", test_j},
              {"model", a.out.empty() ? json(nullptr) : json(a.out)}};
    fmt::print(rep, "{}\n", to_text(j));
  } else {
    print_choices(rep, choices);
    fmt::print(rep, "{}", gs);
    std::string best;
    for (const auto& [k, v] : gs.best_candidate().params) best += (best.empty() ? "" : " ") + k + "=" + mlops::to_string(v);
    fmt::print(rep, "best: {}\ntest:  {}\n", best.empty() ? "(as given)" : best, test_t);
    if (!a.out.empty()) fmt::print(rep, "wrote {}\n", a.out == "-" ? "the model to standard output" : a.out);
  }
  return 0;
}

}  // namespace

std::function<int()> setup_tune(CLI::App& cmd) {
  auto a = std::make_shared<train_args>();
  add_pipeline_flags(&cmd, *a);
  cmd.add_option("--grid", a->grid, "NAME=V1,V2,... (repeatable): model.alpha, model.C, model.learning_rate, iqr.k, impute.strategy...")
      ->required();
  cmd.add_option("--cv", a->cv, "folds (default 5)")->check(CLI::Range(2, 1000));
  cmd.add_option("--metric", a->metric, "choose by this metric (default r2 / accuracy); lower-is-better metrics are minimised");
  cmd.add_option("--out", a->out, "write the best pipeline, refitted on the training part (-: standard output, the report then goes to standard error)");
  return [a, &cmd] {
    note_gd_flags(cmd, *a);
    if (!a->time_col.empty()) a->split = "time";
    return cmd_tune(*a);
  };
}

}  // namespace mlops_cli
