// mlops - the command-line face of the library.
//   mlops train DATA.csv --target COL [--impute mean|median] [--iqr K] [--standardize]
//               [--model linear|ridge|gd|sgd|logistic|svm|rls] [--alpha A] [--forgetting F] [--delta D]
//               [--learning-rate R] [--schedule constant|invscaling|exponential] [--adam] [--epochs N]
//               [--batch-size B] [--tol T] [--l1 A] [--l2 A] [--validation-fraction F] [--patience P]
//               [--C C] [--solver auto|newton|lbfgs|gd] [--max-iter N] [--class-weight balanced]
//               [--threshold P]
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
  return {{"n", m.n},       {"mse", m.mse},   {"rmse", m.rmse},           {"mae", m.mae},
          {"r2", m.r2},     {"mape", m.mape}, {"max_error", m.max_error}, {"explained_variance", m.explained_variance}};
}
json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json metrics_json(const mlops::ClassificationMetrics& m) {
  return {{"n", m.n},
          {"accuracy", m.accuracy},
          {"balanced_accuracy", m.balanced_accuracy},
          {"precision", m.precision},
          {"recall", m.recall},
          {"f1", m.f1},
          {"f1_macro", m.f1_macro},
          {"f1_micro", m.f1_micro},
          {"f1_weighted", m.f1_weighted},
          {"roc_auc", opt_json(m.roc_auc)},
          {"log_loss", opt_json(m.log_loss)},
          {"brier", opt_json(m.brier)},
          {"labels", m.labels},
          {"confusion", m.confusion}};
}
/// The metrics that fit the task of a fitted pipeline, as JSON and as one text line.
json evaluate_json(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? metrics_json(p.evaluate_classifier(f)) : metrics_json(p.evaluate(f));
}
std::string evaluate_text(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? fmt::format("{}", p.evaluate_classifier(f)) : fmt::format("{}", p.evaluate(f));
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
  // classifiers (--model logistic|svm)
  double C = 1.0, threshold = NAN;
  std::string solver = "auto", class_weight;
  std::size_t max_iter = 200;
  bool gd_flags_given = false;  // any of the gradient-descent flags given explicitly (svm keeps its own defaults otherwise)
};

/// The gradient-descent flags onto the core's options.
void apply_gd_flags(const train_args& a, mlops::gd_options& gd) {
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
  if (::isatty(2)) {  // a progress line on an interactive terminal only
    gd.on_epoch = [](const mlops::epoch_info& e) {
      std::fprintf(stderr, "\repoch %zu  loss %.6g  val %.6g  |grad| %.3g  ", e.epoch, e.loss, e.validation_loss, e.gradient_norm);
      return true;
    };
  }
}
struct optimizer_report {
  bool present = false;
  mlops::fit_status status = mlops::fit_status::converged;
  std::size_t epochs = 0;
  double loss = NAN, validation_loss = NAN;
  std::string message;
  template <class R>
  void take(const R& r) {
    present = true, status = r.status, epochs = r.epochs, loss = r.loss, validation_loss = r.validation_loss, message = r.message;
  }
};

int cmd_train(const train_args& a) {
  const auto frame = mlops::read_csv<double>(a.data);
  (void)frame.index_of(a.target);
  auto p = mlops::pipeline<double>();
  if (a.impute == "mean") p.impute(mlops::impute_strategy::mean);
  else if (a.impute == "median") p.impute(mlops::impute_strategy::median);
  if (a.iqr) p.drop_outliers_iqr(*a.iqr);
  if (a.standardize) p.standardize();
  // Classifiers: a stratified split (each label keeps its share in both parts) of the
  // rows that have a label; regressors: a plain shuffled split.
  const bool classify = a.model == "logistic" || a.model == "svm";
  const auto [train, test] =
      classify ? mlops::stratified_train_test_split(frame.filter(mlops::detail::present_mask(frame.column(a.target))), a.target,
                                                    a.test_size, a.seed)
               : mlops::train_test_split(frame, a.test_size, a.seed);
  mlops::FittedPipeline<double> fitted;
  optimizer_report opt;
  if (a.model == "gd" || a.model == "sgd") {
    auto report = std::make_shared<mlops::GdResult<double>>();
    mlops::GradientDescentRegressor<double> gd;
    apply_gd_flags(a, gd);
    gd.batch_size = a.model == "gd" ? a.batch_size : (a.batch_size == 0 ? 1 : a.batch_size);
    gd.report_to = report;
    fitted = p.fit(gd, train, a.target);
    opt.take(*report);
  } else if (a.model == "logistic") {
    auto report = std::make_shared<mlops::ClassifierResult<double>>();
    mlops::LogisticRegression<double> lr;
    lr.C = a.C;
    lr.max_iter = a.max_iter;
    if (a.solver == "newton") lr.solver = mlops::classifier_solver::newton;
    else if (a.solver == "lbfgs") lr.solver = mlops::classifier_solver::lbfgs;
    else if (a.solver == "gd") lr.solver = mlops::classifier_solver::gradient_descent;
    lr.class_weight.balanced = a.class_weight == "balanced";
    if (std::isfinite(a.threshold)) lr.threshold = a.threshold;
    apply_gd_flags(a, lr.gd);
    lr.gd.batch_size = a.batch_size;
    lr.report_to = report;
    fitted = p.fit(lr, train, a.target);
    opt.take(*report);
  } else if (a.model == "svm") {
    auto report = std::make_shared<mlops::ClassifierResult<double>>();
    mlops::LinearSVM<double> svm;
    if (a.gd_flags_given) {
      apply_gd_flags(a, svm);
      if (a.batch_size) svm.batch_size = a.batch_size;
    }
    svm.class_weight.balanced = a.class_weight == "balanced";
    if (std::isfinite(a.threshold)) svm.threshold = a.threshold;
    svm.report_to = report;
    fitted = p.fit(svm, train, a.target);
    opt.take(*report);
  } else if (a.model == "rls") {
    fitted = p.fit(mlops::RecursiveLeastSquaresTrainer<double>{{a.forgetting, a.delta, true}}, train, a.target);
  } else {
    mlops::LinearRegression<double> est;
    if (a.model == "ridge") est.l2 = a.alpha;
    fitted = p.fit(est, train, a.target);
  }
  if (::isatty(2) && opt.present) std::fprintf(stderr, "\n");
  if (opt.present && opt.status == mlops::fit_status::diverged)
    throw mlops::training_error(mlops::errc::training_diverged, opt.message + "; no model was written");
  json train_j, test_j;
  std::string train_t, test_t;
  if (fitted.is_classifier()) {
    const auto test_m = fitted.evaluate_classifier(test);
    const auto train_m = fitted.evaluate_classifier(train);
    fitted.set_metrics("test", test_m);
    train_j = metrics_json(train_m), test_j = metrics_json(test_m);
    train_t = fmt::format("{}", train_m), test_t = fmt::format("{}", test_m);
  } else {
    const auto train_m = fitted.stored_metrics("train").value();  // computed by fit
    const auto test_m = fitted.evaluate(test);
    fitted.set_metrics("test", test_m);
    train_j = metrics_json(train_m), test_j = metrics_json(test_m);
    train_t = fmt::format("{}", train_m), test_t = fmt::format("{}", test_m);
  }
  fitted.set_metric("split.seed", static_cast<double>(a.seed));
  fitted.set_metric("split.test_size", a.test_size);
  fitted.save(a.out);
  if (a.json_out) {
    json j = {{"model", a.out},
              {"trainer", a.model},
              {"task", fitted.is_classifier() ? "classification" : "regression"},
              {"target", a.target},
              {"rows", {{"total", frame.rows()}, {"train", train.rows()}, {"test", test.rows()}, {"used_for_fit", fitted.report().rows_used}}},
              {"train", train_j},
              {"test", test_j},
              {"card", mlops::io::model_card(fitted)}};
    if (opt.present)
      j["optimizer"] = {{"status", std::string(mlops::to_string(opt.status))}, {"epochs", opt.epochs},
                        {"loss", std::isfinite(opt.loss) ? json(opt.loss) : json(nullptr)},
                        {"validation_loss", std::isfinite(opt.validation_loss) ? json(opt.validation_loss) : json(nullptr)}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("trained {} on {} rows ({} after cleaning), held out {}\n", a.model, train.rows(), fitted.report().rows_used, test.rows());
    if (opt.present)
      fmt::print("optimizer: {} after {} {}, loss {:.6g}\n", mlops::to_string(opt.status), opt.epochs,
                 a.model == "logistic" && a.solver != "gd" ? "iterations" : "epochs", opt.loss);
    for (const auto& s : fitted.report().steps) fmt::print("  {:<12} {} -> {} rows\n", s.step, s.rows_in, s.rows_out);
    fmt::print("train: {}\ntest:  {}\nwrote {}\n", train_t, test_t, a.out);
  }
  return 0;
}

int cmd_predict(const std::string& model, const std::string& data, const std::string& out) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  auto frame = mlops::read_csv<double>(data);
  const auto pred = p.predict(frame);
  if (frame.contains("prediction")) frame = frame.drop({"prediction"});
  frame.add_column("prediction", std::span<const double>(pred));
  if (p.is_classifier() && p.classifier().has_proba()) {  // one probability column per class
    const Eigen::MatrixXd P = p.predict_proba(frame);
    for (std::size_t k = 0; k < p.classifier().n_classes(); ++k) {
      const auto name = fmt::format("proba_{}", p.classifier().classes()[k]);
      if (frame.contains(name)) frame = frame.drop({name});
      std::vector<double> col(P.col(static_cast<Eigen::Index>(k)).data(), P.col(static_cast<Eigen::Index>(k)).data() + P.rows());
      frame.add_column(name, std::span<const double>(col));
    }
  }
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
  if (json_out)
    fmt::print("{}\n", json{{"model", model}, {"data", data}, {"task", p.is_classifier() ? "classification" : "regression"},
                            {"metrics", evaluate_json(p, frame)}}.dump(2));
  else fmt::print("{}\n", evaluate_text(p, frame));
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
  if (p.is_classifier()) {
    const auto& c = p.classifier();
    fmt::print("  model: {} (solver {}, classes {}, l2 {}, threshold {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
               fmt::join(c.classes(), ", "), m["l2"].dump(), c.threshold());
    for (std::size_t k = 0; k < c.n_outputs(); ++k) {
      fmt::print("    output for class {}:\n", c.n_outputs() == 1 ? c.classes()[1] : c.classes()[k]);
      for (std::size_t f = 0; f < p.features().size(); ++f)
        fmt::print("      coef {:<18} {:.10g}\n", p.features()[f], c.coef()(static_cast<Eigen::Index>(f), static_cast<Eigen::Index>(k)));
      fmt::print("      intercept {:>23.10g}\n", c.intercept()(static_cast<Eigen::Index>(k)));
    }
    fmt::print("  metrics:\n");
  } else {
    fmt::print("  model: {} (solver {}, rank {}, l2 {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
               m["rank"].dump(), m["l2"].dump());
    for (std::size_t c = 0; c < p.features().size(); ++c)
      fmt::print("    coef {:<20} {:.10g}\n", p.features()[c], p.model().coef()(static_cast<Eigen::Index>(c)));
    fmt::print("    intercept {:>25.10g}\n  metrics:\n", p.model().intercept());
  }
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
  train->add_option("--model", ta.model,
                    "linear, ridge, gd (full-batch gradient descent), sgd (stochastic), logistic, svm (linear, hinge) or rls")
      ->check(CLI::IsMember({"linear", "ridge", "gd", "sgd", "logistic", "svm", "rls"}));
  train->add_option("--C", ta.C, "logistic: inverse L2 strength as scikit-learn's C (l2 = 1/(C n)); inf: no penalty");
  train->add_option("--solver", ta.solver, "logistic: auto, newton, lbfgs or gd (the gradient-descent flags apply)")
      ->check(CLI::IsMember({"auto", "newton", "lbfgs", "gd"}));
  train->add_option("--max-iter", ta.max_iter, "logistic: Newton / L-BFGS iterations")->check(CLI::PositiveNumber);
  train->add_option("--class-weight", ta.class_weight, "logistic/svm: balanced (n / (K * count of the class))")
      ->check(CLI::IsMember({"balanced"}));
  train->add_option("--threshold", ta.threshold, "binary classifiers: logistic probability (default 0.5) or svm score (default 0)");
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
  for (const char* f : {"--learning-rate", "--schedule", "--power", "--decay", "--adam", "--epochs", "--batch-size", "--tol", "--l1",
                        "--l2", "--validation-fraction", "--patience"})
    if (train->count(f) > 0) ta.gd_flags_given = true;
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
