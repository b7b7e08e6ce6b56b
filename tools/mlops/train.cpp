// tools/mlops/train.cpp - `mlops train`: fit a pipeline on a CSV file, report, save,
// register.
#include <unistd.h>

#include "cli.hpp"
#include "mlops/io/card.hpp"
#include "mlops/select/report.hpp"

namespace mlops_cli {
namespace {

/// The flags that shaped the model, as the registry's parameters.
std::map<std::string, std::string> flag_parameters(const train_args& a) {
  std::map<std::string, std::string> p{{"model", a.model}, {"target", a.target}, {"data", a.data},
                                       {"test_size", fmt::format("{}", a.test_size)}, {"seed", fmt::format("{}", a.seed)},
                                       {"standardize", a.standardize ? "true" : "false"}};
  if (a.minmax) p["minmax"] = "true";
  if (!a.encode.empty()) p["encode"] = a.encode;
  if (a.max_categories) p["max_categories"] = fmt::format("{}", a.max_categories);
  if (a.min_frequency > 0) p["min_frequency"] = fmt::format("{}", a.min_frequency);
  if (!a.date_features.empty()) p["date_features"] = fmt::format("{}", fmt::join(a.date_features, ","));
  if (!a.impute.empty()) p["impute"] = a.impute;
  if (a.iqr) p["iqr"] = fmt::format("{}", *a.iqr);
  if (a.model == "ridge") p["alpha"] = fmt::format("{}", a.alpha);
  if (a.model == "rls") p["forgetting"] = fmt::format("{}", a.forgetting), p["delta"] = fmt::format("{}", a.delta);
  if (a.model == "logistic") {
    p["C"] = fmt::format("{}", a.C), p["solver"] = a.solver;
    if (a.gtol) p["gtol"] = fmt::format("{}", *a.gtol);
    if (a.ftol) p["ftol"] = fmt::format("{}", *a.ftol);
  }
  if (a.model == "gd" || a.model == "sgd" || (a.model == "svm" && a.gd_flags_given)) {  // as the trainer was set (sgd's defaults included)
    for (const auto& [k, v] : make_estimator(a, fit_reports{}).params())
      if (k == "learning_rate" || k == "schedule" || k == "power" || k == "epochs" || k == "batch_size" || k == "l1" || k == "l2" ||
          k == "tol" || k == "n_iter_no_change")
        p[k] = mlops::to_string(v);
  }
  for (const auto& kv : a.params) {  // --param NAME=VALUE
    const auto eq = kv.find('=');
    if (eq != std::string::npos) p["param." + kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (a.model == "tree" || a.model == "tree_classifier") {
    p["max_depth"] = fmt::format("{}", a.max_depth), p["min_samples_leaf"] = fmt::format("{}", a.min_samples_leaf);
    p["min_samples_split"] = fmt::format("{}", a.min_samples_split), p["max_features"] = a.max_features, p["criterion"] = a.criterion;
  }
  if (!a.class_weight.empty()) p["class_weight"] = a.class_weight;
  if (!a.drop.empty()) p["drop"] = fmt::format("{}", fmt::join(a.drop, ","));
  if (!a.features.empty()) p["features"] = fmt::format("{}", fmt::join(a.features, ","));
  if (!a.ids.empty()) p["id"] = fmt::format("{}", fmt::join(a.ids, ","));
  if (!a.keep.empty()) p["keep"] = fmt::format("{}", fmt::join(a.keep, ","));
  if (a.split == "time") p["split"] = "time", p["time_col"] = a.time_col;
  return p;
}

std::uint64_t register_trained(const train_args& a, const mlops::FittedPipeline<double>& fitted, const mlops::DataFrame<double>& data) {
  auto reg = open_registry(a.registry);
  mlops::ModelMetadata meta;
  meta.parameters = flag_parameters(a);
  meta.data_fingerprint = mlops::data_fingerprint(data);
  if (const char* user = std::getenv("USER")) meta.tags["user"] = user;
  return reg.register_model(a.register_name, fitted, meta);
}

int cmd_train(const train_args& a) {
  std::vector<std::string> labels;
  const auto frame = read_training_table(a, labels);
  const fit_reports reports;
  const auto parts = split_for(a, frame);
  const auto& train = parts.train();
  const auto& test = parts.test();
  std::vector<mlops::auto_choice> choices;  // decided on the training part only
  const auto p = make_pipeline(a, reports, train, choices);
  // Cross-validation on the training part (the held-out part stays untouched).
  std::optional<mlops::CvResult> cv;
  if (a.cv > 0) cv = mlops::cross_validate(p, train, a.target, cv_folds_for(a, train, a.cv), {}, cv_options_for(a));
  mlops::FittedPipeline<double> fitted = p.fit(train, a.target);
  if (!labels.empty()) fitted.set_class_labels(labels);
  optimizer_report opt;
  if (a.model == "gd" || a.model == "sgd") opt.take(*reports.gd);
  else if (a.model == "logistic" || a.model == "svm") opt.take(*reports.classifier);
  if (::isatty(2) && opt.present) std::fprintf(stderr, "\n");
  if (opt.present && opt.status == mlops::fit_status::diverged)
    throw mlops::training_error(mlops::errc::training_diverged, opt.message + "; no model was written");
  // With --test-size 0 there is no held-out part: no test metrics, and the drift
  // profile's baseline error stays the one fit measured on the training rows.
  const bool held_out = test.rows() > 0;
  json train_j, test_j = nullptr;
  std::string train_t, test_t = "none (--test-size 0: every row was used for training)";
  if (fitted.is_classifier()) {
    const auto train_m = fitted.evaluate_classifier(train);
    train_j = train_m, train_t = fmt::format("{}", train_m);
    if (held_out) {
      const auto test_m = fitted.evaluate_classifier(test);
      fitted.set_metrics("test", test_m);
      test_j = test_m, test_t = fmt::format("{}", test_m);
    }
  } else {
    const auto train_m = fitted.stored_metrics("train").value();  // computed by fit
    train_j = train_m, train_t = fmt::format("{}", train_m);
    if (held_out) {
      const auto test_m = fitted.evaluate(test);
      fitted.set_metrics("test", test_m);
      test_j = test_m, test_t = fmt::format("{}", test_m);
    }
  }
  if (cv)
    for (const auto& s : cv->test)
      if (s.mean) fitted.set_metric("cv." + s.name, *s.mean);
  set_baseline_from(fitted, test);
  fitted.set_metric("split.seed", static_cast<double>(a.seed));
  fitted.set_metric("split.test_size", a.test_size);
  if (!a.out.empty()) save_model(fitted, a.out);
  std::FILE* const rep = report_stream(a.out);  // stderr when the model goes to stdout
  std::optional<std::uint64_t> registered;
  if (!a.register_name.empty()) registered = register_trained(a, fitted, frame);
  if (a.json_out) {
    json j = {{"model", a.out.empty() ? json(nullptr) : json(a.out)},
              {"trainer", a.model},
              {"task", fitted.is_classifier() ? "classification" : "regression"},
              {"target", a.target},
              {"rows", {{"total", frame.rows()}, {"train", train.rows()}, {"test", test.rows()}, {"used_for_fit", fitted.report().rows_used}}},
              {"train", train_j},
              {"test", test_j},
              {"card", mlops::io::model_card(fitted)}};
    if (cv) j["cv"] = *cv;
    j["auto"] = choices_json(choices);
    j["split"] = split_json(a, parts);
    if (registered) j["registered"] = {{"registry", a.registry}, {"name", a.register_name}, {"version", *registered}};
    if (opt.present)
      j["optimizer"] = {{"status", std::string(mlops::to_string(opt.status))}, {"epochs", opt.epochs},
                        {"loss", std::isfinite(opt.loss) ? json(opt.loss) : json(nullptr)},
                        {"validation_loss", std::isfinite(opt.validation_loss) ? json(opt.validation_loss) : json(nullptr)}};
    fmt::print(rep, "{}\n", to_text(j));
  } else {
    print_choices(rep, choices);
    fmt::print(rep, "trained {} on {} rows ({} after cleaning), held out {}\n", a.model, train.rows(), fitted.report().rows_used, test.rows());
    if (a.split == "time") {
      const auto s = split_json(a, parts);
      auto shown = [&](const char* k) {
        return !s.contains(k) ? std::string("-") : s[k].is_string() ? s[k].get<std::string>() : s[k].dump();
      };
      fmt::print(rep, "split by time on '{}': trained up to {}, held out from {}\n", a.time_col, shown("train_until"), shown("test_from"));
    }
    if (opt.present)
      fmt::print(rep, "optimizer: {} after {} {}, loss {:.6g}\n", mlops::to_string(opt.status), opt.epochs,
                 a.model == "logistic" && a.solver != "gd" ? "iterations" : "epochs", opt.loss);
    for (const auto& s : fitted.report().steps) fmt::print(rep, "  {:<12} {} -> {} rows\n", s.step, s.rows_in, s.rows_out);
    if (cv) fmt::print(rep, "{}", *cv);
    fmt::print(rep, "train: {}\ntest:  {}\n", train_t, test_t);
    if (!a.out.empty()) fmt::print(rep, "wrote {}\n", a.out == "-" ? "the model to standard output" : a.out);
    if (registered) fmt::print(rep, "registered {} version {} in {}\n", a.register_name, *registered, a.registry);
  }
  return 0;
}

}  // namespace

std::function<int()> setup_train(CLI::App& cmd) {
  auto a = std::make_shared<train_args>();
  add_pipeline_flags(&cmd, *a);
  cmd.add_option("--cv", a->cv, "also cross-validate with K folds on the training part (per-fold and mean/std metrics)")
      ->check(CLI::Range(2, 1000));
  cmd.add_option("--out", a->out, "where to write the model (required unless --register; -: standard output, the report then goes to standard error)");
  cmd.add_option("--register", a->register_name, "also register the model under this name in the registry");
  cmd.add_option("--registry", a->registry, "registry directory (default ./models)");
  return [a, &cmd] {
    note_gd_flags(cmd, *a);
    if (a->out.empty() && a->register_name.empty())
      throw mlops::argument_error(mlops::errc::invalid_argument, "train needs --out MODEL, --register NAME, or both");
    if (!a->time_col.empty()) a->split = "time";
    return cmd_train(*a);
  };
}

}  // namespace mlops_cli
