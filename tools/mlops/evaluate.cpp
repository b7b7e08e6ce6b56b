// tools/mlops/evaluate.cpp - `mlops evaluate`: score a model on labelled data.
#include "cli.hpp"

namespace mlops_cli {
namespace {

int cmd_evaluate(const std::string& model, const std::string& data, const std::string& target, bool json_out, const data_args& d) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  if (target != p.target())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--target '{}' differs from the model's target '{}'", target, p.target()));
  const auto frame = read_table(data, d, model_columns(p, p.target()));
  if (json_out)
    fmt::print("{}\n", to_text(json{{"model", model}, {"data", data}, {"task", p.is_classifier() ? "classification" : "regression"},
                            {"metrics", evaluate_json(p, frame)}}));
  else fmt::print("{}\n", evaluate_text(p, frame));
  return 0;
}

struct evaluate_args {
  std::string model, data, target;
  bool json_out = false;
  data_args data_opts;
};

}  // namespace

std::function<int()> setup_evaluate(CLI::App& cmd) {
  auto a = std::make_shared<evaluate_args>();
  cmd.add_option("model", a->model, "model file")->required();
  cmd.add_option("data", a->data, "CSV with features and target (- for standard input)")->required();
  cmd.add_option("--target", a->target, "target column")->required();
  cmd.add_flag("--json", a->json_out, "print JSON");
  add_data_flags(&cmd, a->data_opts);
  return [a] { return cmd_evaluate(a->model, a->data, a->target, a->json_out, a->data_opts); };
}

}  // namespace mlops_cli
