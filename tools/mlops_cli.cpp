// mlops - the command-line face of the library.
//   mlops train DATA.csv --target COL [--impute mean|median] [--iqr K] [--standardize]
//               [--model linear|ridge|gd|sgd|rls] [--alpha A] [--forgetting F] [--delta D]
//               [--learning-rate R] [--schedule constant|invscaling|exponential] [--adam] [--epochs N]
//               [--batch-size B] [--tol T] [--l1 A] [--l2 A] [--validation-fraction F] [--patience P]
//               [--test-size F] [--seed N] --out MODEL [--json]
//   mlops predict MODEL DATA.csv [--out FILE]
//   mlops evaluate MODEL DATA.csv --target COL [--json]
//   mlops inspect MODEL [--json]
// Errors: one line on stderr ("mlops: error: ..."), exit status 1 (2 for bad usage).
#include <cstdio>
#include <iostream>
#include <optional>
#include <memory>
#include <string>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "mlops/mlops.hpp"

namespace {

using json = nlohmann::json;

json metrics_json(const mlops::RegressionMetrics& m) {
  return {{"n", m.n}, {"mse", m.mse}, {"rmse", m.rmse}, {"mae", m.mae}, {"r2", m.r2}};
}

struct train_args {
  std::string data, target, out, impute, model = "linear";
  std::optional<double> iqr;
  bool standardize = false, json_out = false;
  double alpha = 1.0, test_size = 0.2, forgetting = 1.0, delta = 1.0;
  // gradient descent (--model gd|sgd)
  double learning_rate = 0.01, tol = 1e-6, l1 = 0, l2 = 0, validation_fraction = 0, decay = 0.99, power = 0.25;
  std::size_t epochs = 1000, batch_size = 0, patience = 5;
  std::string schedule = "constant";
  bool adam = false;
  std::uint64_t seed = 42;
};

int cmd_train(const train_args& a) {
  const auto frame = mlops::read_csv<double>(a.data);
  (void)frame.index_of(a.target);
  auto p = mlops::pipeline<double>();
  if (a.impute == "mean") p.impute(mlops::impute_strategy::mean);
  else if (a.impute == "median") p.impute(mlops::impute_strategy::median);
  if (a.iqr) p.drop_outliers_iqr(*a.iqr);
  if (a.standardize) p.standardize();
  const auto [train, test] = mlops::train_test_split(frame, a.test_size, a.seed);
  mlops::FittedPipeline<double> fitted;
  auto gd_report = std::make_shared<mlops::GdResult<double>>();
  if (a.model == "gd" || a.model == "sgd") {
    mlops::GradientDescentRegressor<double> gd;
    gd.batch_size = a.model == "gd" ? a.batch_size : (a.batch_size == 0 ? 1 : a.batch_size);
    gd.max_epochs = a.epochs;
    gd.tol = a.tol;
    gd.l1 = a.l1;
    gd.l2 = a.l2;
    gd.seed = a.seed;
    gd.validation_fraction = a.validation_fraction;
    gd.patience = a.patience;
    if (a.schedule == "invscaling") gd.rate = mlops::inverse_scaling{a.learning_rate, a.power};
    else if (a.schedule == "exponential") gd.rate = mlops::exponential_decay{a.learning_rate, a.decay};
    else gd.rate = mlops::constant_rate{a.learning_rate};
    if (a.adam) gd.rule = mlops::adam_step{};
    gd.report_to = gd_report;
    if (::isatty(2)) {  // a progress line on an interactive terminal only
      gd.on_epoch = [](const mlops::epoch_info& e) {
        std::fprintf(stderr, "\repoch %zu  loss %.6g  val %.6g  |grad| %.3g  ", e.epoch, e.loss, e.validation_loss, e.gradient_norm);
        return true;
      };
    }
    fitted = p.fit(gd, train, a.target);
    if (::isatty(2)) std::fprintf(stderr, "\n");
    if (gd_report->status == mlops::fit_status::diverged)
      throw mlops::data_error(mlops::errc::training_diverged, gd_report->message + "; no model was written");
  } else if (a.model == "rls") {
    fitted = p.fit(mlops::RecursiveLeastSquaresTrainer<double>{{a.forgetting, a.delta, true}}, train, a.target);
  } else {
    mlops::LinearRegression<double> est;
    if (a.model == "ridge") est.l2 = a.alpha;
    fitted = p.fit(est, train, a.target);
  }
  const auto train_m = fitted.stored_metrics("train").value();  // computed by fit
  const auto test_m = fitted.evaluate(test);
  fitted.set_metrics("test", test_m);
  fitted.set_metric("split.seed", static_cast<double>(a.seed));
  fitted.set_metric("split.test_size", a.test_size);
  fitted.save(a.out);
  if (a.json_out) {
    json j = {{"model", a.out},
              {"trainer", a.model},
              {"target", a.target},
              {"rows", {{"total", frame.rows()}, {"train", train.rows()}, {"test", test.rows()}, {"used_for_fit", fitted.report().rows_used}}},
              {"train", metrics_json(train_m)},
              {"test", metrics_json(test_m)},
              {"card", mlops::io::model_card(fitted)}};
    if (a.model == "gd" || a.model == "sgd")
      j["optimizer"] = {{"status", std::string(mlops::to_string(gd_report->status))}, {"epochs", gd_report->epochs},
                        {"loss", gd_report->loss}, {"validation_loss", std::isfinite(gd_report->validation_loss) ? json(gd_report->validation_loss) : json(nullptr)}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("trained {} on {} rows ({} after cleaning), held out {}\n", a.model, train.rows(), fitted.report().rows_used, test.rows());
    if (a.model == "gd" || a.model == "sgd")
      fmt::print("optimizer: {} after {} epochs, loss {:.6g}\n", mlops::to_string(gd_report->status), gd_report->epochs, gd_report->loss);
    for (const auto& s : fitted.report().steps) fmt::print("  {:<12} {} -> {} rows\n", s.step, s.rows_in, s.rows_out);
    fmt::print("train: {}\ntest:  {}\nwrote {}\n", train_m, test_m, a.out);
  }
  return 0;
}

int cmd_predict(const std::string& model, const std::string& data, const std::string& out) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  auto frame = mlops::read_csv<double>(data);
  const auto pred = p.predict(frame);
  if (frame.contains("prediction")) frame = frame.drop({"prediction"});
  frame.add_column("prediction", std::span<const double>(pred));
  if (out.empty() || out == "-") mlops::write_csv(frame, std::cout);
  else mlops::write_csv(frame, std::filesystem::path(out));
  return 0;
}

int cmd_evaluate(const std::string& model, const std::string& data, const std::string& target, bool json_out) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  if (target != p.target())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--target '{}' differs from the model's target '{}'", target, p.target()));
  const auto frame = mlops::read_csv<double>(data);
  const auto m = p.evaluate(frame);
  if (json_out) fmt::print("{}\n", json{{"model", model}, {"data", data}, {"metrics", metrics_json(m)}}.dump(2));
  else fmt::print("{}\n", m);
  return 0;
}

int cmd_inspect(const std::string& model, bool json_out) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  const json card = mlops::io::model_card(p);
  if (json_out) {
    fmt::print("{}\n", card.dump(2));
    return 0;
  }
  fmt::print("model card: {}\n  format {} (mlops {}), scalar {}\n  target: {}\n  features: {}\n", model,
             card["format"]["version"].get<std::string>(), card["mlops_version"].get<std::string>(), card["scalar"].get<std::string>(),
             p.target(), fmt::join(p.features(), ", "));
  for (const auto& s : card["steps"]) {
    fmt::print("  step {}:", s["step"].get<std::string>());
    for (auto it = s.begin(); it != s.end(); ++it)
      if (it.key() != "step" && it.key() != "columns") fmt::print(" {}={}", it.key(), it.value().dump());
    fmt::print("\n");
    if (s.contains("columns"))
      for (auto it = s["columns"].begin(); it != s["columns"].end(); ++it) fmt::print("    {}: {}\n", it.key(), it.value().dump());
  }
  const auto& m = card["model"];
  fmt::print("  model: {} (solver {}, rank {}, l2 {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
             m["rank"].dump(), m["l2"].dump());
  for (std::size_t c = 0; c < p.features().size(); ++c)
    fmt::print("    coef {:<20} {:.10g}\n", p.features()[c], p.model().coef()(static_cast<Eigen::Index>(c)));
  fmt::print("    intercept {:>25.10g}\n  metrics:\n", p.model().intercept());
  for (const auto& [k, v] : p.metrics()) fmt::print("    {:<14} {:.6g}\n", k, v);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlops: train, evaluate, inspect and serve linear models from CSV files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MLOPS_VERSION_STRING);

  train_args ta;
  auto* train = app.add_subcommand("train", "train a pipeline on a CSV file and save it");
  train->add_option("data", ta.data, "training data (CSV with a header row)")->required();
  train->add_option("--target", ta.target, "column to predict")->required();
  train->add_option("--impute", ta.impute, "fill missing values: mean or median")->check(CLI::IsMember({"mean", "median"}));
  train->add_option("--iqr", ta.iqr, "drop training rows outside Q1-K*IQR, Q3+K*IQR (clip on new data)")
      ->check(CLI::NonNegativeNumber);
  train->add_flag("--standardize", ta.standardize, "z-score every feature");
  train->add_option("--model", ta.model, "linear, ridge, gd (full-batch gradient descent), sgd (stochastic) or rls")
      ->check(CLI::IsMember({"linear", "ridge", "gd", "sgd", "rls"}));
  train->add_option("--alpha", ta.alpha, "ridge penalty (with --model ridge)")->check(CLI::NonNegativeNumber);
  train->add_option("--forgetting", ta.forgetting, "RLS forgetting factor in (0, 1] (with --model rls)");
  train->add_option("--delta", ta.delta, "RLS initial P = I/delta, i.e. a ridge penalty delta (with --model rls)");
  train->add_option("--learning-rate", ta.learning_rate, "gd/sgd: base learning rate")->check(CLI::PositiveNumber);
  train->add_option("--schedule", ta.schedule, "gd/sgd: constant, invscaling (rate/(1+t)^power) or exponential (rate*decay^epoch)")
      ->check(CLI::IsMember({"constant", "invscaling", "exponential"}));
  train->add_option("--power", ta.power, "gd/sgd: exponent of invscaling");
  train->add_option("--decay", ta.decay, "gd/sgd: factor per epoch of exponential");
  train->add_flag("--adam", ta.adam, "gd/sgd: Adam update rule");
  train->add_option("--epochs", ta.epochs, "gd/sgd: maximum epochs")->check(CLI::PositiveNumber);
  train->add_option("--batch-size", ta.batch_size, "gd/sgd: rows per step (gd default: all; sgd default: 1)");
  train->add_option("--tol", ta.tol, "gd/sgd: relative loss change that counts as converged")->check(CLI::NonNegativeNumber);
  train->add_option("--l1", ta.l1, "gd/sgd: L1 penalty (proximal)")->check(CLI::NonNegativeNumber);
  train->add_option("--l2", ta.l2, "gd/sgd: L2 penalty")->check(CLI::NonNegativeNumber);
  train->add_option("--validation-fraction", ta.validation_fraction, "gd/sgd: early stopping on this share of the training rows")
      ->check(CLI::Range(0.0, 0.99));
  train->add_option("--patience", ta.patience, "gd/sgd: epochs without validation progress before stopping");
  train->add_option("--test-size", ta.test_size, "held-out fraction, in (0, 1)")->check(CLI::Range(0.0, 1.0));
  train->add_option("--seed", ta.seed, "seed of the train/test split");
  train->add_option("--out", ta.out, "where to write the model")->required();
  train->add_flag("--json", ta.json_out, "print a JSON report");

  std::string model, data, out, target;
  bool json_out = false;
  auto* predict = app.add_subcommand("predict", "predict every row of a CSV file");
  predict->add_option("model", model, "model file")->required();
  predict->add_option("data", data, "CSV with the model's feature columns")->required();
  predict->add_option("--out", out, "output CSV (default: standard output)");

  auto* evaluate = app.add_subcommand("evaluate", "score a model on labelled data");
  evaluate->add_option("model", model, "model file")->required();
  evaluate->add_option("data", data, "CSV with features and target")->required();
  evaluate->add_option("--target", target, "target column")->required();
  evaluate->add_flag("--json", json_out, "print JSON");

  auto* inspect = app.add_subcommand("inspect", "print the model card");
  inspect->add_option("model", model, "model file")->required();
  inspect->add_flag("--json", json_out, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*train) return cmd_train(ta);
    if (*predict) return cmd_predict(model, data, out);
    if (*evaluate) return cmd_evaluate(model, data, target, json_out);
    if (*inspect) return cmd_inspect(model, json_out);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "mlops: error: %s\n", msg.c_str());
    return 1;
  }
  return 1;
}
