// tools/mlops/pipeline_flags.cpp - the flags train and tune share, and what they build:
// the training table, the pipeline, its trainer, the split.
#include <unistd.h>

#include <tuple>

#include "cli.hpp"
#include "mlops/prep/steps.hpp"

namespace mlops_cli {

/// The training table as the column flags shape it: --drop removes columns, --id marks
/// columns carried but never used as features, --features picks the features.
/// A text target of a classifier is turned into class indices here (so the split can
/// stratify by it); the labels go into the model after fitting (`labels`).
mlops::DataFrame<double> read_training_table(const train_args& a, std::vector<std::string>& labels) {
  auto frame = read_table(a.data, a.data_opts);
  const auto kind = frame.kind(a.target);
  if (kind == mlops::column_kind::categorical && is_classifier_model(a)) {
    labels = mlops::encode_labels(frame, a.target);
  } else if (kind != mlops::column_kind::numeric) {
    throw mlops::schema_error(mlops::errc::schema_column_type,
                              fmt::format("{}: target '{}' was read as {}; a regressor needs a numeric target (a text target needs "
                                          "--model logistic, svm, or tree --criterion gini): fix its values or list stray texts as missing (--na TEXT)",
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
  gd.n_iter_no_change = a.n_iter_no_change;
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
namespace {
mlops::Estimator<double> preset_estimator(const train_args& a, const fit_reports& reports) {
  if (a.model == "gd" || a.model == "sgd") {
    mlops::GradientDescentRegressor<double> gd;
    apply_gd_flags(a, gd);
    gd.batch_size = a.model == "gd" ? a.batch_size : (a.batch_size == 0 ? 1 : a.batch_size);
    if (a.model == "sgd") {  // scikit-learn's SGDRegressor() defaults for every flag not given
      auto given = [&](std::string_view f) { return std::find(a.gd_given.begin(), a.gd_given.end(), f) != a.gd_given.end(); };
      if (!given("--schedule")) gd.rate = mlops::inverse_scaling{a.learning_rate, a.power};
      if (!given("--tol")) gd.tol = 1e-3;
      if (!given("--n-iter-no-change")) gd.n_iter_no_change = 5;
      if (!given("--l2")) gd.l2 = 1e-4;
    }
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
  if (a.model != "linear" && a.model != "ridge") {  // the other trainers of the list: flags by parameter name
    auto e = mlops::make_trainer<double>(trainer_name(a));
    if (a.model == "tree" || a.model == "tree_classifier") {
      e.set_param("max_depth", static_cast<double>(a.max_depth));
      e.set_param("min_samples_leaf", static_cast<double>(a.min_samples_leaf));
      e.set_param("min_samples_split", static_cast<double>(a.min_samples_split));
      e.set_param("max_features", mlops::parse_param_value(a.max_features));
      e.set_param("seed", static_cast<double>(a.seed));
      if (e.is_classifier()) {
        e.set_param("criterion", a.criterion == "squared_error" ? std::string("gini") : a.criterion);
        if (std::isfinite(a.threshold)) e.set_param("threshold", a.threshold);
      }
    }
    return e;
  }
  mlops::LinearRegression<double> est;
  if (a.model == "ridge") est.l2 = a.alpha;
  return est;
}
}  // namespace

/// The trainer of --model with its flags, then every --param NAME=VALUE by name
/// (argument_error naming the trainer's parameters when one does not apply).
mlops::Estimator<double> make_estimator(const train_args& a, const fit_reports& reports) {
  auto e = preset_estimator(a, reports);
  for (const auto& p : a.params) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size())
      throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("--param '{}': write NAME=VALUE, e.g. max_depth=6", p));
    e.set_param(std::string_view(p).substr(0, eq), mlops::parse_param_value(std::string_view(p).substr(eq + 1)));
  }
  return e;
}

std::string trainer_name(const train_args& a) {
  if (a.model == "tree" && a.criterion != "squared_error") return "tree_classifier";
  return a.model;
}

/// The drift profile's baseline error measured on the held-out part (when it has labels).
void set_baseline_from(mlops::FittedPipeline<double>& fitted, const mlops::DataFrame<double>& test) {
  if (!fitted.has_drift_profile() || test.rows() == 0) return;
  const auto y = test.column(fitted.target());
  if (std::any_of(y.begin(), y.end(), [](double v) { return !std::isnan(v); })) fitted.set_baseline(test);
}

/// The library's automatic choices (mlops::auto_pipeline) with what the flags fixed by
/// hand: --encode (then every text input is encoded as told, identifiers included),
/// --max-categories, --date-features, --impute (told: no automatic imputer), --keep,
/// --features (each listed column is used).
mlops::auto_options auto_options_for(const train_args& a) {
  mlops::auto_options o;
  if (a.encode == "ordinal") o.text = mlops::auto_options::text_inputs::ordinal;
  else if (a.encode == "none") o.text = mlops::auto_options::text_inputs::leave_out;
  if (!a.encode.empty()) o.identifier_share = 0, o.max_categories = a.max_categories;
  else if (a.max_categories) o.max_categories = a.max_categories;
  o.min_frequency = a.min_frequency;
  for (const auto& part : a.date_features) {
    if (part == "none") o.dates = false;
    else if (part == "all") o.all_date_parts = true;
    else o.date_parts.push_back(mlops::parse_date_part(part));
  }
  if (!o.dates && a.date_features.size() > 1)
    throw mlops::argument_error(mlops::errc::invalid_argument, "--date-features none cannot be given with parts");
  o.impute = a.impute.empty();
  o.keep = a.keep;
  o.keep.insert(o.keep.end(), a.features.begin(), a.features.end());
  o.features = a.features;
  return o;
}

mlops::Pipeline<double> make_pipeline(const train_args& a, const fit_reports& reports, const mlops::DataFrame<double>& rows,
                                      std::vector<mlops::auto_choice>& choices) {
  // Encoders first (auto_pipeline): their numeric outputs (dates, ordinal codes) are then
  // imputed and scaled like any numeric feature; one-hot indicators are left as 0/1.
  auto plan = mlops::auto_pipeline(rows, a.target, auto_options_for(a));
  choices = std::move(plan.choices);
  auto p = std::move(plan.pipeline);
  if (a.impute == "mean") p.impute(mlops::impute_strategy::mean);
  else if (a.impute == "median") p.impute(mlops::impute_strategy::median);
  if (a.iqr) p.drop_outliers_iqr(*a.iqr);
  if (a.standardize) p.standardize();
  if (a.minmax) p.add(mlops::MinMaxScaler<double>{});
  p.drift_profile(a.bins);
  p.threads(a.threads);
  p.estimator(make_estimator(a, reports));
  return p;
}

void print_choices(std::FILE* out, const std::vector<mlops::auto_choice>& choices) {
  for (const auto& c : choices) fmt::print(out, "auto: '{}' {}: {}\n", c.column, c.action, c.reason);
}

json choices_json(const std::vector<mlops::auto_choice>& choices) {
  json j = json::array();
  for (const auto& c : choices) j.push_back({{"column", c.column}, {"action", c.action}, {"reason", c.reason}});
  return j;
}

bool is_classifier_model(const train_args& a) {
  const auto* e = mlops::find_trainer<double>(trainer_name(a));
  return e && e->task == mlops::task_kind::classification;
}

/// Classifiers: a stratified split (each label keeps its share in both parts) of the
/// rows that have a label; regressors: a plain shuffled split.
/// --test-size 0: every row trains and the held-out part is empty.
train_test_parts split_for(const train_args& a, const mlops::DataFrame<double>& frame) {
  train_test_parts out;
  if (a.split == "time") {  // time order: the latest rows are held out, the training part keeps time order (for its folds)
    if (a.time_col.empty())
      throw mlops::argument_error(mlops::errc::invalid_argument, "--split time needs --time-col COL (the column that orders the rows)");
    if (a.time_col == a.target) throw mlops::argument_error(mlops::errc::invalid_argument, "--time-col cannot be the target");
    if (a.test_size == 0) {
      out.train_part = frame.take(mlops::time_order(frame, a.time_col));
      out.test_part = frame.head(0);
    } else {
      if (a.test_size >= 1)
        throw mlops::argument_error(mlops::errc::invalid_argument,
                                    fmt::format("--test-size {}: the held-out fraction must be below 1 (0 trains on every row)", a.test_size));
      std::tie(out.train_part, out.test_part) = mlops::time_train_test_split(frame, a.time_col, a.test_size);
    }
    return out;
  }
  if (a.test_size == 0) {
    out.whole = &frame;
    out.test_part = frame.head(0);
    return out;
  }
  if (a.test_size >= 1)
    throw mlops::argument_error(mlops::errc::invalid_argument,
                                fmt::format("--test-size {}: the held-out fraction must be below 1 (0 trains on every row)", a.test_size));
  if (is_classifier_model(a))
    std::tie(out.train_part, out.test_part) = mlops::stratified_train_test_split(
        frame.filter(mlops::detail::present_mask(frame.column(a.target))), a.target, a.test_size, a.seed);
  else
    std::tie(out.train_part, out.test_part) = mlops::train_test_split(frame, a.test_size, a.seed);
  return out;
}

mlops::cv_folds cv_folds_for(const train_args& a, const mlops::DataFrame<double>& train, std::size_t k) {
  if (a.split != "time") return k;
  const auto y = train.column(a.target);
  const auto labelled = static_cast<std::size_t>(std::count_if(y.begin(), y.end(), [](double v) { return v == v; }));
  return mlops::TimeSeriesSplit{k}.split(labelled);  // cross-validation folds the rows with a target, which keep time order
}

json split_json(const train_args& a, const train_test_parts& parts) {
  if (a.split != "time") return {{"kind", "random"}, {"seed", a.seed}};
  json j = {{"kind", "time"}, {"time_col", a.time_col}};
  auto at = [&](const mlops::DataFrame<double>& f, std::size_t row) -> json {
    if (f.kind(a.time_col) == mlops::column_kind::datetime)
      return mlops::detail::format_iso8601(f.datetime(a.time_col).values[row], f.datetime(a.time_col).has_time);
    return f.column(a.time_col)[row];
  };
  const auto& tr = parts.train();
  const auto& te = parts.test();
  if (tr.rows()) j["train_until"] = at(tr, tr.rows() - 1);
  if (te.rows()) j["test_from"] = at(te, 0);
  return j;
}

mlops::cv_options cv_options_for(const train_args& a) {
  mlops::cv_options o;
  o.threads = a.threads;
  o.seed = a.seed;
  return o;
}

/// The flags train and tune share (data, target, pipeline steps, trainer and its options, split).
void add_pipeline_flags(CLI::App* cmd, train_args& a) {
  cmd->add_option("data", a.data, "training data (CSV with a header row; - for standard input)")->required();
  cmd->add_option("--target", a.target, "column to predict")->required();
  cmd->add_option("--impute", a.impute,
                  "fill missing values: mean, median, or none (default: the mean, when a numeric feature has missing values)")
      ->check(CLI::IsMember({"mean", "median", "none"}));
  cmd->add_option("--iqr", a.iqr, "drop training rows outside Q1-K*IQR, Q3+K*IQR (clip on new data)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--standardize", a.standardize, "z-score every feature");
  cmd->add_option("--encode", a.encode,
                  "encode text (categorical) features: onehot (one 0/1 column per level), ordinal (level rank) or none (leave "
                  "them out); default: onehot with at most 20 columns per feature, text columns that look like identifiers "
                  "left out")
      ->check(CLI::IsMember({"onehot", "ordinal", "none"}));
  cmd->add_option("--max-categories", a.max_categories,
                  "onehot: at most N columns per feature, rarest levels grouped as infrequent (default: 20 without --encode, "
                  "else no limit)")
      ->check(CLI::Range(std::size_t(2), std::size_t(1) << 30));
  cmd->add_option("--min-frequency", a.min_frequency, "onehot: levels seen fewer times (a share of rows when below 1) are infrequent")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--date-features", a.date_features,
                  "turn datetime features into numbers: a list of year,month,day,weekday,yearday,hour,timestamp, all, or none "
                  "(leave them out); default year,month,day,weekday (+hour for columns with times)")
      ->delimiter(',');
  cmd->add_flag("--minmax", a.minmax, "scale every feature to [0, 1] by its training range (after --standardize if both)");
  cmd->add_option("--bins", a.bins, "bins per feature of the drift reference profile saved with the model (0: none)")
      ->check(CLI::Range(0, 256));
  {
    std::string help = "the trainer:";
    std::vector<std::string> names;
    for (const auto& e : mlops::trainer_list<double>()) {
      help += fmt::format("\n  {:<16} {}", e.name, e.description);
      names.emplace_back(e.name);
    }
    help += "\n(tree with --criterion gini or entropy is tree_classifier)";
    cmd->add_option("--model", a.model, help)->check(CLI::IsMember(names));
  }
  cmd->add_option("--param", a.params, "NAME=VALUE (repeatable): any parameter of the trainer by name, e.g. max_features=sqrt");
  cmd->add_option("--max-depth", a.max_depth, "tree: deepest level (0: unlimited)");
  cmd->add_option("--min-samples-leaf", a.min_samples_leaf, "tree: fewest training rows in a leaf")->check(CLI::PositiveNumber);
  cmd->add_option("--min-samples-split", a.min_samples_split, "tree: fewest rows a node needs to be split")->check(CLI::Range(2, 1 << 30));
  cmd->add_option("--max-features", a.max_features, "tree: features tried per split: all, sqrt, log2, a count, or a fraction in (0, 1)");
  cmd->add_option("--criterion", a.criterion, "tree: squared_error (regression), gini or entropy (classification)")
      ->check(CLI::IsMember({"squared_error", "gini", "entropy"}));
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
  cmd->add_option("--schedule", a.schedule,
                  "gd/sgd: constant, invscaling (rate/(1+t)^power) or exponential (rate*decay^epoch); gd default constant, sgd "
                  "invscaling")
      ->check(CLI::IsMember({"constant", "invscaling", "exponential"}));
  cmd->add_option("--power", a.power, "gd/sgd: exponent of invscaling");
  cmd->add_option("--decay", a.decay, "gd/sgd: factor per epoch of exponential");
  cmd->add_flag("--adam", a.adam, "gd/sgd: Adam update rule");
  cmd->add_option("--epochs", a.epochs, "gd/sgd: maximum epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a.batch_size, "gd/sgd: rows per step (gd default: all; sgd default: 1)");
  cmd->add_option("--tol", a.tol,
                  "gd/sgd: relative loss change that counts as converged (default 1e-6); with --n-iter-no-change, the absolute "
                  "improvement on the best epoch loss that counts (sgd default 1e-3)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--n-iter-no-change", a.n_iter_no_change,
                  "gd/sgd: stop after N epochs in a row that do not beat the best loss by --tol, scikit-learn's SGD rule "
                  "(sgd default 5; 0: the relative-change rule)");
  cmd->add_option("--l1", a.l1, "gd/sgd: L1 penalty (proximal)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--l2", a.l2, "gd/sgd: L2 penalty (sgd default 1e-4, scikit-learn's alpha)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--validation-fraction", a.validation_fraction, "gd/sgd: early stopping on this share of the training rows")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--patience", a.patience, "gd/sgd: epochs without validation progress before stopping");
  cmd->add_option("--test-size", a.test_size, "held-out fraction, in [0, 1); 0 trains on every row (no held-out metrics)")
      ->check(CLI::Range(0.0, 1.0));
  add_data_flags(cmd, a.data_opts);
  cmd->add_option("--drop", a.drop, "leave this column out entirely (repeatable)");
  cmd->add_option("--features", a.features, "use exactly these feature columns, in this order (COL,COL,...)")->delimiter(',');
  cmd->add_option("--id", a.ids, "an id column: kept beside the data, never a feature (repeatable)");
  cmd->add_option("--keep", a.keep, "never leave this column out automatically (an identifier-like text, an empty column; repeatable)");
  cmd->add_option("--seed", a.seed, "seed of the train/test split");
  cmd->add_option("--split", a.split,
                  "random (default: shuffled; stratified for classifiers) or time (with --time-col: the latest rows are held out, and "
                  "--cv folds are expanding windows, scikit-learn's TimeSeriesSplit)")
      ->check(CLI::IsMember({"random", "time"}));
  cmd->add_option("--time-col", a.time_col, "the column (dates or numbers) that orders the rows for --split time (implies it)");
  cmd->add_option("--threads", a.threads,
                  "threads for cross-validation (folds, or the shared statistics' passes and scoring), the fit's statistics, "
                  "training predictions and drift profile; results do not depend on it (0, the default: one per hardware thread)");
  cmd->add_flag("--json", a.json_out, "print a JSON report");
}


void note_gd_flags(const CLI::App& cmd, train_args& a) {
  for (const char* f : {"--learning-rate", "--schedule", "--power", "--decay", "--adam", "--epochs", "--batch-size", "--tol", "--l1",
                        "--l2", "--validation-fraction", "--patience", "--n-iter-no-change"})
    if (cmd.count(f) > 0) a.gd_flags_given = true, a.gd_given.emplace_back(f);
}

}  // namespace mlops_cli
