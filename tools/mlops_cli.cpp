// mlops - the command-line face of the library.
//   mlops train DATA.csv --target COL [--impute mean|median] [--iqr K] [--standardize] [--minmax]
//               [--model linear|ridge|gd|sgd|logistic|svm|rls] [--alpha A] [--forgetting F] [--delta D]
//               [--learning-rate R] [--schedule constant|invscaling|exponential] [--adam] [--epochs N]
//               [--batch-size B] [--tol T] [--l1 A] [--l2 A] [--validation-fraction F] [--patience P]
//               [--C C] [--solver auto|newton|lbfgs|gd] [--max-iter N] [--gtol G] [--ftol F] [--class-weight balanced]
//               [--threshold P]
//               [--test-size F] [--seed N] [--cv K] [--threads N] --out MODEL [--json]
//   mlops tune DATA.csv --target COL [the train flags] --grid NAME=V1,V2,... [--grid ...]
//              [--cv K] [--metric NAME] [--threads N] [--out MODEL] [--json]
//   mlops train ... --register NAME [--registry DIR]      (--out optional with --register)
//   mlops registry list [NAME] | show NAME VERSION|ALIAS | promote NAME VERSION ALIAS |
//                  rollback NAME ALIAS | compare NAME V1 V2 | history NAME ALIAS
//                  [--registry DIR] [--json]                  (DIR default ./models)
//   mlops predict MODEL DATA.csv [--out FILE] [--id COL]...
//   mlops evaluate MODEL DATA.csv --target COL [--json]
//   mlops inspect MODEL [--json]
//   mlops monitor MODEL STREAM.csv [--json] [--prometheus] [--target COL] [--window N] [--step N]
//                 [--state FILE] [--alerts] [--fail-on-drift]
// Columns (train, tune): [--drop COL]... [--features COL,...] [--id COL]...; --test-size 0 trains on every row.
// Data flags (train, tune, predict, evaluate, monitor): [--delimiter C|tab] [--categorical COL]...
//               [--datetime COL]... [--na TEXT]... [--no-header]
// Errors: one line on stderr ("mlops: error: ..."), exit status 1 (2 for bad usage).
#include <cstdio>
#include <cstdlib>
#include <map>
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

/// How a command reads its CSV (every data argument): delimiter, types, missing markers.
struct data_args {
  std::string delimiter;                            // one character, or tab; empty: sniffed
  std::vector<std::string> categorical, datetime;   // columns forced to a type
  std::vector<std::string> na;                      // extra texts that mean missing
  bool no_header = false;
};

void add_data_flags(CLI::App* cmd, data_args& d) {
  cmd->add_option("--delimiter", d.delimiter, "field delimiter: one character, or 'tab' (default: sniffed among , ; tab | space)");
  cmd->add_option("--categorical", d.categorical, "read this column as categorical text (repeatable)");
  cmd->add_option("--datetime", d.datetime, "read this column as ISO 8601 dates/datetimes (repeatable)");
  cmd->add_option("--na", d.na, "also treat this text as missing (repeatable; default: empty, NA, N/A, NaN, nan, null, NULL)");
  cmd->add_flag("--no-header", d.no_header, "the file has no header row (columns are column_0, column_1, ...)");
}

/// Reads a table; `typed` columns (a model's inputs) are read as the kind the model
/// knows them as, so a bad value there is reported at its line and field.
mlops::DataFrame<double> read_table(const std::string& path, const data_args& d,
                                    const std::map<std::string, mlops::csv_type>& typed = {}) {
  mlops::CsvOptions o;
  for (const auto& [c, t] : typed) o.column_types[c] = t;
  if (d.delimiter == "tab" || d.delimiter == "\\t") o.delimiter = '\t';
  else if (d.delimiter.size() == 1) o.delimiter = d.delimiter[0];
  else if (!d.delimiter.empty())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--delimiter '{}': give one character (e.g. ';' or '|') or 'tab'", d.delimiter));
  for (const auto& c : d.categorical) o.column_types[c] = mlops::csv_type::categorical;
  for (const auto& c : d.datetime) o.column_types[c] = mlops::csv_type::datetime;
  for (const auto& v : d.na) o.na_values.push_back(v);
  o.header = !d.no_header;
  return mlops::read_csv<double>(path, o);
}

/// The metrics that fit the task of a fitted pipeline, as JSON and as one text line.
json evaluate_json(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? json(p.evaluate_classifier(f)) : json(p.evaluate(f));
}
std::string evaluate_text(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f) {
  return p.is_classifier() ? fmt::format("{}", p.evaluate_classifier(f)) : fmt::format("{}", p.evaluate(f));
}

struct train_args {
  std::string data, target, out, impute, model = "linear";
  std::optional<double> iqr;
  bool standardize = false, minmax = false, json_out = false;
  // encoders
  std::string encode;                  // onehot | ordinal (empty: none)
  std::size_t max_categories = 0;
  double min_frequency = 0;
  std::vector<std::string> date_features;  // parts, or "all"
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
  std::optional<double> gtol, ftol;  // logistic (Newton / L-BFGS) stopping rules; the library's defaults when absent
  std::size_t bins = 10;  // drift profile
  bool gd_flags_given = false;  // any of the gradient-descent flags given explicitly (svm keeps its own defaults otherwise)
  // model selection
  std::size_t cv = 0, threads = 1;
  std::vector<std::string> grid;
  std::string metric;
  // registry
  std::string register_name, registry = "models";
  // columns
  data_args data_opts;
  std::vector<std::string> drop, features, ids;
};

bool is_classifier_model(const std::string& m);

/// The training table as the column flags shape it: --drop removes columns, --id marks
/// columns carried but never used as features, --features picks the features.
/// A text target of a classifier is turned into class indices here (so the split can
/// stratify by it); the labels go into the model after fitting (`labels`).
mlops::DataFrame<double> read_training_table(const train_args& a, std::vector<std::string>& labels) {
  auto frame = read_table(a.data, a.data_opts);
  const auto kind = frame.kind(a.target);
  if (kind == mlops::column_kind::categorical && is_classifier_model(a.model)) {
    labels = mlops::encode_labels(frame, a.target);
  } else if (kind != mlops::column_kind::numeric) {
    throw mlops::schema_error(mlops::errc::schema_column_type,
                              fmt::format("{}: target '{}' was read as {}; a regressor needs a numeric target (a text target needs "
                                          "--model logistic or svm): fix its values or list stray texts as missing (--na TEXT)",
                                          a.data, a.target, mlops::kind_name(kind)));
  }
  for (const auto& c : a.drop) {
    if (c == a.target) throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("--drop '{}' is the target", c));
    (void)frame.index_of(c);
  }
  frame.drop_inplace(a.drop);
  for (const auto& c : a.ids) {
    if (c == a.target) throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("--id '{}' is the target", c));
    frame.set_id(c);
  }
  return frame;
}

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

/// The trainer the flags describe; gradient-descent and classifier trainers report their
/// optimizer outcome into the shared results.
struct fit_reports {
  std::shared_ptr<mlops::GdResult<double>> gd = std::make_shared<mlops::GdResult<double>>();
  std::shared_ptr<mlops::ClassifierResult<double>> classifier = std::make_shared<mlops::ClassifierResult<double>>();
};
mlops::Estimator<double> make_estimator(const train_args& a, const fit_reports& reports) {
  if (a.model == "gd" || a.model == "sgd") {
    mlops::GradientDescentRegressor<double> gd;
    apply_gd_flags(a, gd);
    gd.batch_size = a.model == "gd" ? a.batch_size : (a.batch_size == 0 ? 1 : a.batch_size);
    gd.report_to = reports.gd;
    return gd;
  }
  if (a.model == "logistic") {
    mlops::LogisticRegression<double> lr;
    lr.C = a.C;
    lr.max_iter = a.max_iter;
    if (a.gtol) lr.tol = *a.gtol;
    if (a.ftol) lr.ftol = *a.ftol;
    if (a.solver == "newton") lr.solver = mlops::classifier_solver::newton;
    else if (a.solver == "lbfgs") lr.solver = mlops::classifier_solver::lbfgs;
    else if (a.solver == "gd") lr.solver = mlops::classifier_solver::gradient_descent;
    lr.class_weight.balanced = a.class_weight == "balanced";
    if (std::isfinite(a.threshold)) lr.threshold = a.threshold;
    apply_gd_flags(a, lr.gd);
    lr.gd.batch_size = a.batch_size;
    lr.report_to = reports.classifier;
    return lr;
  }
  if (a.model == "svm") {
    mlops::LinearSVM<double> svm;
    if (a.gd_flags_given) {
      apply_gd_flags(a, svm);
      if (a.batch_size) svm.batch_size = a.batch_size;
    }
    svm.class_weight.balanced = a.class_weight == "balanced";
    if (std::isfinite(a.threshold)) svm.threshold = a.threshold;
    svm.report_to = reports.classifier;
    return svm;
  }
  if (a.model == "rls") return mlops::RecursiveLeastSquaresTrainer<double>{{a.forgetting, a.delta, true}};
  mlops::LinearRegression<double> est;
  if (a.model == "ridge") est.l2 = a.alpha;
  return est;
}

/// The drift profile's baseline error measured on the held-out part (when it has labels).
void set_baseline_from(mlops::FittedPipeline<double>& fitted, const mlops::DataFrame<double>& test) {
  if (!fitted.has_drift_profile() || test.rows() == 0) return;
  const auto y = test.column(fitted.target());
  if (std::any_of(y.begin(), y.end(), [](double v) { return !std::isnan(v); })) fitted.set_baseline(test);
}

mlops::Pipeline<double> make_pipeline(const train_args& a, const fit_reports& reports) {
  auto p = mlops::pipeline<double>();
  // Encoders first: their numeric outputs (dates, ordinal codes) are then imputed and
  // scaled like any numeric feature; one-hot indicators are left as 0/1.
  if (a.encode == "onehot") p.add(mlops::OneHotEncoder<double>{a.min_frequency, a.max_categories, {}});
  else if (a.encode == "ordinal") p.add(mlops::OrdinalEncoder<double>{});
  if (!a.date_features.empty()) {
    mlops::DateFeatures<double> d;
    for (const auto& part : a.date_features)
      if (part != "all") d.parts.push_back(mlops::parse_date_part(part));
    p.add(std::move(d));
  }
  if (a.impute == "mean") p.impute(mlops::impute_strategy::mean);
  else if (a.impute == "median") p.impute(mlops::impute_strategy::median);
  if (a.iqr) p.drop_outliers_iqr(*a.iqr);
  if (a.standardize) p.standardize();
  if (a.minmax) p.add(mlops::MinMaxScaler<double>{});
  if (!a.features.empty()) p.features(a.features);
  p.drift_profile(a.bins);
  p.estimator(make_estimator(a, reports));
  return p;
}

bool is_classifier_model(const std::string& m) { return m == "logistic" || m == "svm"; }

/// Classifiers: a stratified split (each label keeps its share in both parts) of the
/// rows that have a label; regressors: a plain shuffled split.
/// --test-size 0: every row trains and the held-out part is empty.
std::pair<mlops::DataFrame<double>, mlops::DataFrame<double>> split_for(const train_args& a, const mlops::DataFrame<double>& frame) {
  if (a.test_size == 0) return {frame, frame.head(0)};
  if (a.test_size >= 1)
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--test-size {}: the held-out fraction must be below 1 (0 trains on every row)", a.test_size));
  if (is_classifier_model(a.model))
    return mlops::stratified_train_test_split(frame.filter(mlops::detail::present_mask(frame.column(a.target))), a.target, a.test_size,
                                              a.seed);
  return mlops::train_test_split(frame, a.test_size, a.seed);
}

mlops::cv_options cv_options_for(const train_args& a) {
  mlops::cv_options o;
  o.threads = a.threads;
  o.seed = a.seed;
  return o;
}

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
  if (a.model == "gd" || a.model == "sgd" || (a.model == "svm" && a.gd_flags_given)) {
    p["learning_rate"] = fmt::format("{}", a.learning_rate), p["schedule"] = a.schedule, p["epochs"] = fmt::format("{}", a.epochs);
    p["batch_size"] = fmt::format("{}", a.batch_size), p["l1"] = fmt::format("{}", a.l1), p["l2"] = fmt::format("{}", a.l2);
  }
  if (!a.class_weight.empty()) p["class_weight"] = a.class_weight;
  if (!a.drop.empty()) p["drop"] = fmt::format("{}", fmt::join(a.drop, ","));
  if (!a.features.empty()) p["features"] = fmt::format("{}", fmt::join(a.features, ","));
  if (!a.ids.empty()) p["id"] = fmt::format("{}", fmt::join(a.ids, ","));
  return p;
}

std::uint64_t register_trained(const train_args& a, const mlops::FittedPipeline<double>& fitted, const mlops::DataFrame<double>& data) {
  mlops::ModelRegistry reg(a.registry);
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
  const auto p = make_pipeline(a, reports);
  const auto [train, test] = split_for(a, frame);
  // Cross-validation on the training part (the held-out part stays untouched).
  std::optional<mlops::CvResult> cv;
  if (a.cv > 0) cv = mlops::cross_validate(p, train, a.target, a.cv, {}, cv_options_for(a));
  mlops::FittedPipeline<double> fitted = p.fit(train, a.target);
  if (!labels.empty()) fitted.set_class_labels(labels);
  optimizer_report opt;
  if (a.model == "gd" || a.model == "sgd") opt.take(*reports.gd);
  else if (is_classifier_model(a.model)) opt.take(*reports.classifier);
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
  if (!a.out.empty()) fitted.save(a.out);
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
    if (registered) j["registered"] = {{"registry", a.registry}, {"name", a.register_name}, {"version", *registered}};
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
    if (cv) fmt::print("{}", *cv);
    fmt::print("train: {}\ntest:  {}\n", train_t, test_t);
    if (!a.out.empty()) fmt::print("wrote {}\n", a.out);
    if (registered) fmt::print("registered {} version {} in {}\n", a.register_name, *registered, a.registry);
  }
  return 0;
}

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
  const auto p = make_pipeline(a, reports);
  mlops::param_grid grid;
  for (const auto& g : a.grid) {
    auto [name, values] = parse_grid_axis(g);
    grid.add(std::move(name), std::move(values));
  }
  const auto [train, test] = split_for(a, frame);
  mlops::grid_options o;
  static_cast<mlops::cv_options&>(o) = cv_options_for(a);
  const auto gs = mlops::grid_search(p, grid, train, a.target, a.cv == 0 ? 5 : a.cv, a.metric, {}, o);
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
  if (!a.out.empty()) fitted.save(a.out);
  if (a.json_out) {
    json j = {{"trainer", a.model},
              {"task", fitted.is_classifier() ? "classification" : "regression"},
              {"target", a.target},
              {"rows", {{"total", frame.rows()}, {"train", train.rows()}, {"test", test.rows()}}},
              {"search", gs},
              {"test", test_j},
              {"model", a.out.empty() ? json(nullptr) : json(a.out)}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", gs);
    std::string best;
    for (const auto& [k, v] : gs.best_candidate().params) best += (best.empty() ? "" : " ") + k + "=" + mlops::to_string(v);
    fmt::print("best: {}\ntest:  {}\n", best.empty() ? "(as given)" : best, test_t);
    if (!a.out.empty()) fmt::print("wrote {}\n", a.out);
  }
  return 0;
}

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
  mlops::ModelRegistry reg(r.dir);
  if (r.name.empty()) {
    json out = json::array();
    for (const auto& n : reg.models()) {
      const auto vs = reg.versions(n);
      json al = reg.aliases(n);
      out.push_back({{"name", n}, {"versions", vs.size()}, {"latest", vs.empty() ? json(nullptr) : json(vs.back().version)}, {"aliases", al}});
    }
    if (r.json_out) fmt::print("{}\n", out.dump(2));
    else
      for (const auto& m : out)
        fmt::print("{:<24} {:>4} version(s)  latest {}  aliases {}\n", m["name"].get<std::string>(), m["versions"].get<std::size_t>(),
                   m["latest"].dump(), m["aliases"].dump());
    return 0;
  }
  const auto vs = reg.versions(r.name);
  if (r.json_out) {
    fmt::print("{}\n", json(vs).dump(2));
    return 0;
  }
  fmt::print("{:>7}  {:<20}  {:<14}  {:<20}  {}\n", "version", "created (UTC)", "task", "aliases", "metrics");
  for (const auto& v : vs)
    fmt::print("{:>7}  {:<20}  {:<14}  {:<20}  {}\n", v.version, v.created_at, v.task, fmt::join(v.aliases, ","),
               metrics_line(v.metadata.metrics));
  return 0;
}

int cmd_registry_show(const registry_args& r) {
  const mlops::ModelRegistry reg(r.dir);
  const auto v = reg.get(r.name, r.spec);
  if (r.json_out) {
    fmt::print("{}\n", json(v).dump(2));
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
  mlops::ModelRegistry reg(r.dir);
  const auto before = reg.aliases(r.name);
  reg.promote(r.name, r.version, r.alias, who());
  const auto it = before.find(r.alias);
  if (r.json_out)
    fmt::print("{}\n", json{{"name", r.name}, {"alias", r.alias}, {"version", r.version},
                            {"previous", it == before.end() ? json(nullptr) : json(it->second)}}.dump(2));
  else fmt::print("{} {} -> version {}{}\n", r.name, r.alias, r.version, it == before.end() ? "" : fmt::format(" (was {})", it->second));
  return 0;
}

int cmd_registry_rollback(const registry_args& r) {
  mlops::ModelRegistry reg(r.dir);
  const auto before = reg.aliases(r.name).at(r.alias);
  const auto now = reg.rollback(r.name, r.alias, who());
  if (r.json_out)
    fmt::print("{}\n", json{{"name", r.name}, {"alias", r.alias}, {"version", now}, {"previous", before}}.dump(2));
  else fmt::print("{} {} rolled back: version {} -> {}\n", r.name, r.alias, before, now);
  return 0;
}

int cmd_registry_compare(const registry_args& r) {
  const mlops::ModelRegistry reg(r.dir);
  const auto c = reg.compare(r.name, r.spec, r.spec2);
  if (r.json_out) {
    fmt::print("{}\n", json(c).dump(2));
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
  const mlops::ModelRegistry reg(r.dir);
  const auto h = reg.history(r.name, r.alias);
  if (r.json_out) {
    fmt::print("{}\n", json(h).dump(2));
    return 0;
  }
  for (const auto& e : h)
    fmt::print("{:>4}  {}  {:<8} {} -> {}{}\n", e.seq, e.time, e.action, e.previous ? fmt::format("{}", *e.previous) : "-",
               e.version ? fmt::format("{}", *e.version) : "-", e.who.empty() ? "" : "  by " + e.who);
  return 0;
}

/// The kind a model reads each of its inputs (and, when given, its target) as.
std::map<std::string, mlops::csv_type> model_columns(const mlops::FittedPipeline<double>& p, const std::string& target = {}) {
  std::map<std::string, mlops::csv_type> out;
  for (std::size_t j = 0; j < p.features().size(); ++j)
    out[p.features()[j]] = p.input_kind(j) == mlops::column_kind::categorical ? mlops::csv_type::categorical
                           : p.input_kind(j) == mlops::column_kind::datetime  ? mlops::csv_type::datetime
                                                                              : mlops::csv_type::numeric;
  if (!target.empty()) out[target] = p.class_labels().empty() ? mlops::csv_type::numeric : mlops::csv_type::categorical;
  return out;
}

/// Writes the input's columns (or only the --id columns) beside the predictions.
int cmd_predict(const std::string& model, const std::string& data, const std::string& out, const data_args& d,
                const std::vector<std::string>& ids) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  auto frame = read_table(data, d, model_columns(p));
  const auto pred = p.predict(frame);
  const bool proba = p.is_classifier() && p.classifier().has_proba();
  const Eigen::MatrixXd P = proba ? p.predict_proba(frame) : Eigen::MatrixXd();
  if (!ids.empty()) {
    for (const auto& c : ids) (void)frame.index_of(c);
    frame = frame.select(ids);
  }
  if (frame.contains("prediction")) frame.drop_inplace({"prediction"});
  if (p.class_labels().empty()) {
    frame.add_column("prediction", std::span<const double>(pred));
  } else {  // the classes' own labels
    std::vector<std::int32_t> codes(pred.size());
    for (std::size_t r = 0; r < pred.size(); ++r) codes[r] = static_cast<std::int32_t>(pred[r]);
    frame.add_categorical("prediction", std::move(codes), p.class_labels());
  }
  if (proba) {  // one probability column per class, named after its label
    for (std::size_t k = 0; k < p.classifier().n_classes(); ++k) {
      const double cls = p.classifier().classes()[k];
      const auto name = p.class_labels().empty() ? fmt::format("proba_{}", cls) : fmt::format("proba_{}", p.label_of(cls));
      if (frame.contains(name)) frame.drop_inplace({name});
      std::vector<double> col(P.col(static_cast<Eigen::Index>(k)).data(), P.col(static_cast<Eigen::Index>(k)).data() + P.rows());
      frame.add_column(name, std::span<const double>(col));
    }
  }
  if (out.empty() || out == "-") mlops::write_csv(frame, std::cout);
  else mlops::write_csv(frame, std::filesystem::path(out));
  return 0;
}

int cmd_evaluate(const std::string& model, const std::string& data, const std::string& target, bool json_out, const data_args& d) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  if (target != p.target())
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--target '{}' differs from the model's target '{}'", target, p.target()));
  const auto frame = read_table(data, d, model_columns(p, p.target()));
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
  for (std::size_t j = 0; j < p.features().size(); ++j)
    if (p.input_kind(j) != mlops::column_kind::numeric)
      fmt::print("  input {}: {}{}\n", p.features()[j], mlops::kind_name(p.input_kind(j)),
                 p.input_kind(j) == mlops::column_kind::categorical ? fmt::format(" ({} levels)", p.input_levels(j).size()) : "");
  if (p.design_columns() != p.features()) fmt::print("  model columns: {}\n", fmt::join(p.design_columns(), ", "));
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
  } else {
    fmt::print("  model: {} (solver {}, rank {}, l2 {})\n", m["kind"].get<std::string>(), m["solver"].get<std::string>(),
               m["rank"].dump(), m["l2"].dump());
    for (std::size_t c = 0; c < p.design_columns().size(); ++c)
      fmt::print("    coef {:<20} {:.10g}\n", p.design_columns()[c], p.model().coef()(static_cast<Eigen::Index>(c)));
    fmt::print("    intercept {:>25.10g}\n  metrics:\n", p.model().intercept());
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

/// The flags train and tune share (data, target, pipeline steps, trainer and its options, split).
void add_pipeline_flags(CLI::App* cmd, train_args& a) {
  cmd->add_option("data", a.data, "training data (CSV with a header row)")->required();
  cmd->add_option("--target", a.target, "column to predict")->required();
  cmd->add_option("--impute", a.impute, "fill missing values: mean or median")->check(CLI::IsMember({"mean", "median"}));
  cmd->add_option("--iqr", a.iqr, "drop training rows outside Q1-K*IQR, Q3+K*IQR (clip on new data)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--standardize", a.standardize, "z-score every feature");
  cmd->add_option("--encode", a.encode, "encode text (categorical) features: onehot (one 0/1 column per level) or ordinal (level rank)")
      ->check(CLI::IsMember({"onehot", "ordinal"}));
  cmd->add_option("--max-categories", a.max_categories, "onehot: at most N columns per feature, rarest levels grouped as infrequent")
      ->check(CLI::Range(std::size_t(2), std::size_t(1) << 30));
  cmd->add_option("--min-frequency", a.min_frequency, "onehot: levels seen fewer times (a share of rows when below 1) are infrequent")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--date-features", a.date_features,
                  "turn datetime features into numbers: all, or a list of year,month,day,weekday,yearday,hour,timestamp")
      ->delimiter(',');
  cmd->add_flag("--minmax", a.minmax, "scale every feature to [0, 1] by its training range (after --standardize if both)");
  cmd->add_option("--bins", a.bins, "bins per feature of the drift reference profile saved with the model (0: none)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--model", a.model,
                    "linear, ridge, gd (full-batch gradient descent), sgd (stochastic), logistic, svm (linear, hinge) or rls")
      ->check(CLI::IsMember({"linear", "ridge", "gd", "sgd", "logistic", "svm", "rls"}));
  cmd->add_option("--C", a.C, "logistic: inverse L2 strength as scikit-learn's C (l2 = 1/(C n)); inf: no penalty");
  cmd->add_option("--solver", a.solver, "logistic: auto, newton, lbfgs or gd (the gradient-descent flags apply)")
      ->check(CLI::IsMember({"auto", "newton", "lbfgs", "gd"}));
  cmd->add_option("--max-iter", a.max_iter, "logistic: Newton / L-BFGS iterations")->check(CLI::PositiveNumber);
  cmd->add_option("--gtol", a.gtol, "logistic (newton, lbfgs): converged when max |gradient| of the mean objective is below this (default 1e-8)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ftol", a.ftol,
                  "logistic (lbfgs): also stop at this relative decrease of the objective in an iteration (default 64 eps; "
                  "scikit-learn 1.2's lbfgs: 2.22e-9)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--class-weight", a.class_weight, "logistic/svm: balanced (n / (K * count of the class))")
      ->check(CLI::IsMember({"balanced"}));
  cmd->add_option("--threshold", a.threshold, "binary classifiers: logistic probability (default 0.5) or svm score (default 0)");
  cmd->add_option("--alpha", a.alpha, "ridge penalty (with --model ridge)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--forgetting", a.forgetting, "RLS forgetting factor in (0, 1] (with --model rls)");
  cmd->add_option("--delta", a.delta, "RLS initial P = I/delta, i.e. a ridge penalty delta (with --model rls)");
  cmd->add_option("--learning-rate", a.learning_rate, "gd/sgd: base learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--schedule", a.schedule, "gd/sgd: constant, invscaling (rate/(1+t)^power) or exponential (rate*decay^epoch)")
      ->check(CLI::IsMember({"constant", "invscaling", "exponential"}));
  cmd->add_option("--power", a.power, "gd/sgd: exponent of invscaling");
  cmd->add_option("--decay", a.decay, "gd/sgd: factor per epoch of exponential");
  cmd->add_flag("--adam", a.adam, "gd/sgd: Adam update rule");
  cmd->add_option("--epochs", a.epochs, "gd/sgd: maximum epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a.batch_size, "gd/sgd: rows per step (gd default: all; sgd default: 1)");
  cmd->add_option("--tol", a.tol, "gd/sgd: relative loss change that counts as converged")->check(CLI::NonNegativeNumber);
  cmd->add_option("--l1", a.l1, "gd/sgd: L1 penalty (proximal)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--l2", a.l2, "gd/sgd: L2 penalty")->check(CLI::NonNegativeNumber);
  cmd->add_option("--validation-fraction", a.validation_fraction, "gd/sgd: early stopping on this share of the training rows")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--patience", a.patience, "gd/sgd: epochs without validation progress before stopping");
  cmd->add_option("--test-size", a.test_size, "held-out fraction, in [0, 1); 0 trains on every row (no held-out metrics)")
      ->check(CLI::Range(0.0, 1.0));
  add_data_flags(cmd, a.data_opts);
  cmd->add_option("--drop", a.drop, "leave this column out entirely (repeatable)");
  cmd->add_option("--features", a.features, "use exactly these feature columns, in this order (COL,COL,...)")->delimiter(',');
  cmd->add_option("--id", a.ids, "an id column: kept beside the data, never a feature (repeatable)");
  cmd->add_option("--seed", a.seed, "seed of the train/test split");
  cmd->add_option("--threads", a.threads, "cross-validation: folds fitted in parallel (0: one per hardware thread)");
  cmd->add_flag("--json", a.json_out, "print a JSON report");
}

struct monitor_args {
  std::string model, data, target, state;
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
  const auto frame = read_table(a.data, a.data_opts, model_columns(p, a.target.empty() ? p.target() : a.target));
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
  json alerts = json::array();
  mon.on_alert([&](const mlops::DriftAlert& al) {
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
    fmt::print("{}", mlops::to_prometheus(rep, {{"model", std::filesystem::path(a.model).stem().string()}}));
  } else if (a.json_out) {
    json j = rep;
    j["model"] = a.model;
    if (a.alerts) j["alerts_fired"] = alerts;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{:t}", rep);
  }
  return a.fail_on_drift && rep.retrain_recommended ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mlops: train, tune, evaluate, inspect and serve linear models from CSV files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MLOPS_VERSION_STRING);

  train_args ta, tu;
  auto* train = app.add_subcommand("train", "train a pipeline on a CSV file and save it");
  add_pipeline_flags(train, ta);
  train->add_option("--cv", ta.cv, "also cross-validate with K folds on the training part (per-fold and mean/std metrics)")
      ->check(CLI::Range(2, 1000));
  train->add_option("--out", ta.out, "where to write the model (required unless --register)");
  train->add_option("--register", ta.register_name, "also register the model under this name in the registry");
  train->add_option("--registry", ta.registry, "registry directory (default ./models)");

  auto* tune = app.add_subcommand("tune", "grid-search pipeline and trainer parameters by cross-validation");
  add_pipeline_flags(tune, tu);
  tune->add_option("--grid", tu.grid, "NAME=V1,V2,... (repeatable): model.alpha, model.C, model.learning_rate, iqr.k, impute.strategy...")
      ->required();
  tune->add_option("--cv", tu.cv, "folds (default 5)")->check(CLI::Range(2, 1000));
  tune->add_option("--metric", tu.metric, "choose by this metric (default r2 / accuracy); lower-is-better metrics are minimised");
  tune->add_option("--out", tu.out, "write the best pipeline, refitted on the training part");

  registry_args ra;
  auto* registry = app.add_subcommand("registry", "the model registry: versions, aliases, history");
  registry->require_subcommand(1);
  auto add_common = [&](CLI::App* c) {
    c->add_option("--registry", ra.dir, "registry directory (default ./models)");
    c->add_flag("--json", ra.json_out, "print JSON");
  };
  auto* r_list = registry->add_subcommand("list", "models, or the versions of one model");
  r_list->add_option("name", ra.name, "model name");
  add_common(r_list);
  auto* r_show = registry->add_subcommand("show", "one version's metadata");
  r_show->add_option("name", ra.name, "model name")->required();
  r_show->add_option("version", ra.spec, "version number, alias or latest")->required();
  add_common(r_show);
  auto* r_promote = registry->add_subcommand("promote", "point an alias at a version");
  r_promote->add_option("name", ra.name, "model name")->required();
  r_promote->add_option("version", ra.version, "version number")->required();
  r_promote->add_option("alias", ra.alias, "alias, e.g. production or staging")->required();
  add_common(r_promote);
  auto* r_rollback = registry->add_subcommand("rollback", "return an alias to its previous holder");
  r_rollback->add_option("name", ra.name, "model name")->required();
  r_rollback->add_option("alias", ra.alias, "alias")->required();
  add_common(r_rollback);
  auto* r_compare = registry->add_subcommand("compare", "metrics and parameters of two versions");
  r_compare->add_option("name", ra.name, "model name")->required();
  r_compare->add_option("v1", ra.spec, "version, alias or latest")->required();
  r_compare->add_option("v2", ra.spec2, "version, alias or latest")->required();
  add_common(r_compare);
  auto* r_history = registry->add_subcommand("history", "every change of an alias");
  r_history->add_option("name", ra.name, "model name")->required();
  r_history->add_option("alias", ra.alias, "alias")->required();
  add_common(r_history);

  std::string model, data, out, target;
  bool json_out = false;
  data_args data_opts;
  std::vector<std::string> predict_ids;
  auto* predict = app.add_subcommand("predict", "predict every row of a CSV file");
  predict->add_option("model", model, "model file")->required();
  predict->add_option("data", data, "CSV with the model's feature columns")->required();
  predict->add_option("--out", out, "output CSV (default: standard output)");
  predict->add_option("--id", predict_ids, "write only this column (repeatable) beside the predictions, instead of every input column");
  add_data_flags(predict, data_opts);

  auto* evaluate = app.add_subcommand("evaluate", "score a model on labelled data");
  evaluate->add_option("model", model, "model file")->required();
  evaluate->add_option("data", data, "CSV with features and target")->required();
  evaluate->add_option("--target", target, "target column")->required();
  evaluate->add_flag("--json", json_out, "print JSON");
  add_data_flags(evaluate, data_opts);

  auto* inspect = app.add_subcommand("inspect", "print the model card");
  inspect->add_option("model", model, "model file")->required();
  inspect->add_flag("--json", json_out, "print JSON");

  monitor_args ma;
  auto* monitor = app.add_subcommand("monitor", "replay a CSV stream through the model's drift monitor and print the report");
  monitor->add_option("model", ma.model, "model file (with a drift profile)")->required();
  monitor->add_option("stream", ma.data, "CSV with the model's feature columns (and the target, for concept drift)")->required();
  monitor->add_flag("--json", ma.json_out, "print the report as JSON");
  add_data_flags(monitor, ma.data_opts);
  monitor->add_flag("--prometheus", ma.prometheus, "print the report in the Prometheus text exposition format");
  monitor->add_option("--target", ma.target, "label column (default: the model's target, when present)");
  monitor->add_option("--window", ma.window, "rows per window (default 1000; 0: every row)");
  monitor->add_option("--step", ma.step, "rows between evaluations: a divisor of the window (sliding); default the window (tumbling)");
  monitor->add_option("--state", ma.state, "resume from this monitor state file if it exists, and save the state there afterwards");
  monitor->add_flag("--alerts", ma.alerts, "print each alert as it fires (stderr; with --json in the report)");
  monitor->add_flag("--fail-on-drift", ma.fail_on_drift, "exit with status 3 when retraining is recommended");
  monitor->get_option("--prometheus")->excludes("--json");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const char* f : {"--learning-rate", "--schedule", "--power", "--decay", "--adam", "--epochs", "--batch-size", "--tol", "--l1",
                        "--l2", "--validation-fraction", "--patience"})
    ta.gd_flags_given |= train->count(f) > 0, tu.gd_flags_given |= tune->count(f) > 0;
  try {
    if (*train) {
      if (ta.out.empty() && ta.register_name.empty())
        throw mlops::argument_error(mlops::errc::invalid_argument, "train needs --out MODEL, --register NAME, or both");
      return cmd_train(ta);
    }
    if (*r_list) return cmd_registry_list(ra);
    if (*r_show) return cmd_registry_show(ra);
    if (*r_promote) return cmd_registry_promote(ra);
    if (*r_rollback) return cmd_registry_rollback(ra);
    if (*r_compare) return cmd_registry_compare(ra);
    if (*r_history) return cmd_registry_history(ra);
    if (*tune) return cmd_tune(tu);
    if (*predict) return cmd_predict(model, data, out, data_opts, predict_ids);
    if (*evaluate) return cmd_evaluate(model, data, target, json_out, data_opts);
    if (*inspect) return cmd_inspect(model, json_out);
    if (*monitor) return cmd_monitor(ma);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "mlops: error: %s\n", msg.c_str());
    return 1;
  }
  return 1;
}
