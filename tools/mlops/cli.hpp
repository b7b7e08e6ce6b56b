// tools/mlops/cli.hpp - what the commands of the mlops command line share: the data flags,
// and the pipeline flags of train and tune.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "json_text.hpp"
#include "mlops/csv.hpp"
#include "mlops/frame.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/pipeline/auto.hpp"
#include "mlops/registry.hpp"
#include "mlops/eval/time_split.hpp"
#include "mlops/select/model_selection.hpp"
#include "mlops/select/trainers.hpp"

namespace mlops_cli {

using json = nlohmann::json;

/// How a command reads its CSV (every data argument): delimiter, types, missing markers.
struct data_args {
  std::string delimiter;                            // one character, or tab; empty: sniffed
  std::vector<std::string> categorical, datetime;   // columns forced to a type
  std::vector<std::string> na;                      // extra texts that mean missing
  bool no_header = false;
  std::size_t read_threads = 0;                     // threads parsing a large file (0: one per core)
  std::size_t skip_rows = 0;                        // lines before the header
  std::string comment, quote;                       // one character each; empty: none / '"'
};
void add_data_flags(CLI::App* cmd, data_args& d);
/// Reads a table; `typed` columns (a model's inputs) are read as the kind the model
/// knows them as, so a bad value there is reported at its line and field.
mlops::DataFrame<double> read_table(const std::string& path, const data_args& d,
                                    const std::map<std::string, mlops::csv_type>& typed = {});
/// The kind a model reads each of its inputs (and, when given, its target) as.
std::map<std::string, mlops::csv_type> model_columns(const mlops::FittedPipeline<double>& p, const std::string& target = {});
/// The metrics that fit the task of a fitted pipeline, as JSON and as one text line.
json evaluate_json(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f);
std::string evaluate_text(const mlops::FittedPipeline<double>& p, const mlops::DataFrame<double>& f);

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
  // trees (--model tree): a classifier with --criterion gini|entropy
  std::size_t max_depth = 0, min_samples_leaf = 1, min_samples_split = 2;
  std::string max_features = "all", criterion = "squared_error";
  std::vector<std::string> params;  // --param NAME=VALUE: any parameter of the trainer
  std::size_t bins = 10;  // drift profile
  bool gd_flags_given = false;  // any of the gradient-descent flags given explicitly (svm keeps its own defaults otherwise)
  std::vector<std::string> gd_given;  // which of them (sgd takes scikit-learn's defaults for the others)
  std::size_t n_iter_no_change = 0;
  // model selection
  std::size_t cv = 0, threads = 0;  // threads: 0 = one per hardware thread
  std::vector<std::string> grid;
  std::string metric;
  // registry
  std::string register_name, registry = "models";
  // columns
  data_args data_opts;
  std::vector<std::string> drop, features, ids, keep;
  std::string split = "random", time_col;  // --split time --time-col C: the past trains, the future tests
};

/// The flags train and tune share (data, target, pipeline steps, trainer and its options, split).
void add_pipeline_flags(CLI::App* cmd, train_args& a);
/// Marks which gradient-descent flags were given (after parsing).
void note_gd_flags(const CLI::App& cmd, train_args& a);
/// The trainer's name in mlops::trainer_list: --model, where tree with --criterion gini
/// or entropy is tree_classifier.
std::string trainer_name(const train_args& a);
/// true when the flags ask for a classifier (the trainer's task in mlops::trainer_list).
bool is_classifier_model(const train_args& a);
/// The training table as the column flags shape it (see tools/mlops/pipeline_flags.cpp).
mlops::DataFrame<double> read_training_table(const train_args& a, std::vector<std::string>& labels);
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
mlops::Estimator<double> make_estimator(const train_args& a, const fit_reports& reports);
/// The pipeline the flags describe on `rows` (the training rows): auto_pipeline's choices
/// (returned in `choices`) with the flags' steps and trainer.
mlops::Pipeline<double> make_pipeline(const train_args& a, const fit_reports& reports, const mlops::DataFrame<double>& rows,
                                      std::vector<mlops::auto_choice>& choices);
/// One line per automatic choice ("auto: 'COL' left out: ...").
void print_choices(std::FILE* out, const std::vector<mlops::auto_choice>& choices);
json choices_json(const std::vector<mlops::auto_choice>& choices);
/// The drift profile's baseline error measured on the held-out part (when it has labels).
void set_baseline_from(mlops::FittedPipeline<double>& fitted, const mlops::DataFrame<double>& test);
/// The train/test split the flags ask for (stratified for classifiers). With --test-size 0
/// every row trains: train() is the table itself (not a copy; it must outlive the split)
/// and test() is empty.
struct train_test_parts {
  const mlops::DataFrame<double>* whole = nullptr;
  mlops::DataFrame<double> train_part, test_part;
  const mlops::DataFrame<double>& train() const noexcept { return whole ? *whole : train_part; }
  const mlops::DataFrame<double>& test() const noexcept { return test_part; }
};
train_test_parts split_for(const train_args& a, const mlops::DataFrame<double>& frame);
mlops::cv_options cv_options_for(const train_args& a);
/// The folds of k-fold cross-validation on `train`: k as the library folds it, or with
/// --split time TimeSeriesSplit(k) over its rows with a target, in time order.
mlops::cv_folds cv_folds_for(const train_args& a, const mlops::DataFrame<double>& train, std::size_t k);
/// --split time: the last training time and the first held-out time ({} otherwise).
json split_json(const train_args& a, const train_test_parts& parts);

/// --on-alert: runs `sh -c cmd` with `payload` and a newline on its stdin and returns
/// its exit status (128 + signal when killed; -1 when it could not be started).
int run_hook(const std::string& cmd, const std::string& payload);

/// Writes a model to `out`: a file (saved atomically), or standard output for "-".
void save_model(const mlops::FittedPipeline<double>& p, const std::string& out);
/// Where a command's report goes: standard error when the model itself goes to standard
/// output (`--out -`), else standard output.
std::FILE* report_stream(const std::string& out);

/// The registry at `dir`, its warnings (repairs made on the way) printed on stderr.
mlops::ModelRegistry open_registry(const std::string& dir);

#ifdef MLOPS_CLI_SIGN
/// A load check requiring a signature by one of the keys in these public key files
/// (sign.cpp; built with libsodium).
mlops::ModelRegistry::load_check require_signatures(const std::vector<std::string>& public_key_files);
#endif

}  // namespace mlops_cli
