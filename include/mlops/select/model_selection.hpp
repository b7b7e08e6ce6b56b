// mlops/select/model_selection.hpp - cross-validation and grid search of whole pipelines.
//
//   auto p = mlops::pipeline<double>().impute().drop_outliers_iqr(1.5).standardize()
//                .estimator(mlops::LinearRegression<double>{.l2 = 1.0});
//   auto cv = mlops::cross_validate(p, frame, "price", mlops::KFold{5, true, 42});
//   fmt::print("{}", cv);                        // a table: metric, mean, std, each fold
//   double r2 = *cv.mean("r2");
//
//   mlops::param_grid grid;
//   grid.add("model.alpha", {0.1, 1.0, 10.0}).add("iqr.k", {1.5, 3.0});
//   auto gs = mlops::grid_search(p, grid, frame, "price", 5, "rmse");
//   gs.refitted->save("best.mlops");              // the best candidate refitted on all rows
//
// Each fold fits the whole pipeline - imputation, outlier dropping, scaling, trainer - on
// the fold's training rows only, then scores the untouched validation rows, so nothing of
// the validation fold leaks into any statistic. Folds (and grid candidates x folds) run on
// `threads` worker threads; each task is computed independently and deterministically, so
// the result equals the serial run exactly (timings aside).
#pragma once

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/parallel.hpp"
#include "mlops/eval/scoring.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/params.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/select/trainers.hpp"
// The shared-statistics engine's internals (pipeline/fold_stats.hpp) are needed only where
// it is defined: header-only, or the library's select room. Users of the compiled mode
// parse the one declaration below.
#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
#include "mlops/pipeline/fold_stats.hpp"
#endif

MLOPS_NAMESPACE_BEGIN

/// Sets one parameter of a pipeline by name:
///   "model.<p>" (aliases: estimator, and every name of trainer_list: linear, ridge, gd, sgd,
///       rls, tree, logistic, svm, tree_classifier) -
///       the estimator's parameter: alpha / fit_intercept (LinearRegression); C, max_iter,
///       tol, ftol, threshold, class_weight, solver (LogisticRegression); learning_rate, schedule,
///       l2, l1, batch_size, epochs... (gradient descent, LinearSVM); forgetting, delta (RLS);
///       max_depth, min_samples_split, min_samples_leaf, max_features, criterion (trees).
///   "<step>.<p>" - the first step of that kind, by any of its names (impute, iqr,
///       standardize, minmax, ...: each step type's `names`); "iqr#2.k" the second one.
///       Step parameters (each type's set_param): impute strategy, fill_value; iqr k,
///       include_target, on_new_data; standardize with_mean, with_std, ddof; minmax lo,
///       hi, clip.
/// argument_error names the valid parameters when `name` or the value does not fit.
template <scalar T>
void set_param(Pipeline<T>& p, std::string_view name, const param_value& value) {
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size())
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}': write <step or model>.<parameter>, e.g. model.alpha or iqr.k", name)));
  std::string_view owner = name.substr(0, dot);
  const std::string_view param = name.substr(dot + 1);
  if (owner == "model" || owner == "estimator" || find_trainer<T>(owner)) {  // any trainer's name (select/trainers.hpp)
    if (!p.estimator())
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}': the pipeline has no estimator; call estimator(...) first", name)));
    p.estimator()->set_param(param, value);
    return;
  }
  std::size_t nth = 1;
  if (const auto hash = owner.find('#'); hash != std::string_view::npos) {
    const auto digits = owner.substr(hash + 1);
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), nth);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || nth == 0)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}': '#' takes a step number from 1", name)));
    owner = owner.substr(0, hash);
  }
  if (!detail::is_step_name(owner))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}': unknown step '{}'; use model or a step: {}", name, owner,
                                                                   detail::step_names_list())));
  std::size_t seen = 0;
  for (auto& s : p.steps())
    if (s.answers_to(owner) && ++seen == nth) return s.set_param(param, value);
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}': the pipeline has {} '{}' step(s)", name, seen, owner)));
}

/// A parameter grid: every combination of the axes' values (the last axis varies fastest).
struct param_grid {
  std::vector<std::pair<std::string, std::vector<param_value>>> axes;

  param_grid& add(std::string name, std::vector<param_value> values) {
    if (values.empty())
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("param_grid: '{}' needs at least one value", name)));
    axes.emplace_back(std::move(name), std::move(values));
    return *this;
  }
  param_grid& add(std::string name, std::initializer_list<double> values) {
    return add(std::move(name), std::vector<param_value>(values.begin(), values.end()));
  }
  /// Number of candidates (1 for an empty grid: the pipeline as it is).
  std::size_t size() const noexcept {
    std::size_t n = 1;
    for (const auto& a : axes) n *= a.second.size();
    return n;
  }
  std::vector<std::pair<std::string, param_value>> candidate(std::size_t i) const {
    std::vector<std::pair<std::string, param_value>> out(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      const std::size_t m = axes[a].second.size();
      out[a] = {axes[a].first, axes[a].second[i % m]};
      i /= m;
    }
    return out;
  }
};

// ---- cross-validation ---------------------------------------------------------------------

/// How to fold: a number k (KFold, shuffled with cv_options::seed, for regressors;
/// StratifiedKFold for classifiers), a KFold or StratifiedKFold, or explicit folds (row
/// indices into the rows that have a target).
struct cv_folds {
  std::variant<std::size_t, KFold, StratifiedKFold, std::vector<SplitIndices>> spec = std::size_t{5};
  cv_folds() = default;
  cv_folds(std::size_t k) : spec(k) {}                       // NOLINT(google-explicit-constructor)
  cv_folds(int k) : spec(static_cast<std::size_t>(k < 0 ? 0 : k)) {}  // NOLINT
  cv_folds(KFold f) : spec(f) {}                              // NOLINT
  cv_folds(StratifiedKFold f) : spec(f) {}                    // NOLINT
  cv_folds(std::vector<SplitIndices> f) : spec(std::move(f)) {}  // NOLINT
};

struct cv_options {
  std::size_t threads = 1;     // worker threads; 0: one per hardware thread
  bool shuffle = true;         // for cv_folds given as a number k
  std::uint64_t seed = 0;      // for cv_folds given as a number k
  bool train_scores = false;   // also score each fold's model on its own training rows
  /// Shared-statistics path (double data, folds that partition the rows, every step
  /// fitting from statistics - imputation, the IQR filter, standardization, min-max,
  /// one-hot - and a trainer that fits from least-squares statistics): every fold's steps
  /// and model come from per-block sums gathered in a few passes, instead of K copies and
  /// K fits; the result equals the per-fold fits to rounding. false: always fit each fold
  /// separately. See pipeline/fold_stats.hpp.
  bool one_pass = true;
};

/// Mean and standard deviation (population, ddof = 0, as scikit-learn's cv_results_) of
/// one metric over the folds where it is defined.
struct metric_summary {
  std::string name;
  std::optional<double> mean, std;
  std::size_t defined = 0;  // folds where the metric had a value
};

struct CvFold {
  std::size_t index = 0;
  std::size_t train_rows = 0, test_rows = 0;  // rows given to the fit / scored
  std::size_t rows_used = 0;                  // training rows left after the steps (e.g. IQR drops)
  double fit_seconds = 0, score_seconds = 0;
  std::vector<std::optional<double>> test, train;  // one per metric (train: with cv_options::train_scores)
};

struct CvResult {
  task_kind task = task_kind::regression;
  std::vector<std::string> metrics;
  std::vector<CvFold> folds;
  std::vector<metric_summary> test, train;  // one per metric
  std::size_t rows = 0, rows_missing_target = 0;
  bool one_pass = false;  // the folds came from the shared-statistics path (cv_options::one_pass)

  const metric_summary& summary(std::string_view metric) const {
    for (const auto& s : test)
      if (s.name == metric) return s;
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("metric '{}' was not computed; the result has: {}", metric, fmt::join(metrics, ", "))));
  }
  std::optional<double> mean(std::string_view metric) const { return summary(metric).mean; }
  std::optional<double> std(std::string_view metric) const { return summary(metric).std; }
};

namespace detail {

/// Every fold's pipeline fitted from statistics the folds share, or nothing when the
/// pipeline, the data or the folds need per-fold fits (pipeline/fold_stats.hpp).
MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_folds_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                        const std::vector<std::string>& features,
                                                                                        const std::string& target, const fold_blocks& blocks,
                                                                                        std::size_t threads);
MLOPS_FUNC std::vector<metric_summary> summarise_folds(const std::vector<std::string>& metrics, const std::vector<CvFold>& folds, bool train);


/// What every fold of a cross-validation shares: the labelled rows reduced to features +
/// target, the folds, the task and the metric names. The reduced copy (`base`) is made
/// when rows lack a target, or by materialize() before per-fold fits; the shared-statistics
/// path reads the caller's frame directly (`source`) when every row has a target. Folds
/// that partition the rows (KFold's, StratifiedKFold's, or explicit ones that do) are kept
/// as `blocks`, what the shared-statistics path reads; their K train and test lists
/// (`splits`) are made by materialize(), for the per-fold fits only.
template <scalar T>
struct cv_plan {
  const DataFrame<T>* source = nullptr;
  DataFrame<T> base;
  bool materialized = false;
  std::vector<std::string> features;
  std::string target;
  std::size_t k = 0;                          // folds
  std::optional<fold_blocks> blocks;          // when the folds partition the rows (at most 32)
  std::vector<SplitIndices> splits;           // every fold's lists: explicit folds, or made by materialize()
  task_kind task = task_kind::regression;
  std::vector<std::string> metrics;
  std::size_t rows = 0, rows_missing_target = 0;

  cv_plan(const Pipeline<T>& p, const DataFrame<T>& frame, std::string_view tgt, const cv_folds& folds,
          std::vector<std::string> wanted, const cv_options& opt)
      : target(tgt) {
    if (!p.estimator())
      MLOPS_THROW(argument_error(errc::invalid_argument, "cross-validation: the pipeline has no estimator; call estimator(...) first"));
    task = p.estimator()->is_classifier() ? task_kind::classification : task_kind::regression;
    metrics = wanted.empty() ? default_metrics(task) : std::move(wanted);
    for (const auto& m : metrics) (void)find_metric(m, task);
    features = p.resolve_features(frame, target);
    rows = frame.rows();
    auto cols = features;
    cols.push_back(target);
    const auto y = frame.column(target);
    source = &frame;
    if (std::any_of(y.begin(), y.end(), [](T v) { return std::isnan(v); })) {
      base = frame.select(cols).filter(present_mask(y));
      materialized = true;
    }
    const DataFrame<T>& rows_with_target = materialized ? base : frame;
    const std::size_t n = rows_with_target.rows();
    rows_missing_target = rows - n;
    const std::span<const T> labels = rows_with_target.column(target);
    // Generated folds come as an assignment (row -> fold): blocks when there are at most 32,
    // else the lists. Explicit folds are checked, and kept as blocks too when they
    // partition the rows.
    std::optional<std::vector<std::size_t>> assigned;
    std::visit(
        [&](const auto& f) {
          using F = std::decay_t<decltype(f)>;
          if constexpr (std::is_same_v<F, std::size_t>) {
            k = f;
            if (task == task_kind::classification) assigned = StratifiedKFold{f, opt.shuffle, opt.seed}.assign(labels);
            else assigned = KFold{f, opt.shuffle, opt.seed}.assign(n);
          } else if constexpr (std::is_same_v<F, KFold> || std::is_same_v<F, StratifiedKFold>) {
            if constexpr (std::is_same_v<F, KFold>) assigned = f.assign(n);
            else assigned = f.assign(labels);
            k = f.k;
          } else {
            splits = f;
            k = f.size();
          }
        },
        folds.spec);
    if (assigned) {
      if (k <= 32) blocks = blocks_from_assignment(*assigned, k);
      else splits = folds_from_assignment(*assigned, k);
      return;  // KFold checked k >= 2 and n >= k: no fold has an empty part
    }
    if (splits.empty()) MLOPS_THROW(argument_error(errc::invalid_argument, "cross-validation: no folds"));
    for (std::size_t i = 0; i < splits.size(); ++i) {
      if (splits[i].train.empty() || splits[i].test.empty())
        MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("cross-validation: fold {} has an empty train or test part", i + 1)));
      for (const auto* part : {&splits[i].train, &splits[i].test})
        for (const auto r : *part)
          if (r >= n)
            MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("cross-validation: fold {} names row {}, but only {} rows have a "
                                                                           "target", i + 1, r, n)));
    }
    blocks = fold_partition(splits, n);
  }

  /// Makes the features + target copy the per-fold fits take their rows from (once).
  void materialize() {
    if (splits.empty()) splits = splits_of(*blocks);
    if (materialized) return;
    auto cols = features;
    cols.push_back(target);
    base = source->select(cols);
    materialized = true;
  }

  /// Fits `p` (a private copy: callbacks and report_to are cleared, they would be shared
  /// between threads) on fold i's training rows and scores both parts. Needs materialize().
  CvFold run(Pipeline<T> p, std::size_t i, bool train_scores) const {
    p.estimator()->clear_callbacks();
    using clock = std::chrono::steady_clock;
    const auto& s = splits[i];
    CvFold f;
    f.index = i;
    f.train_rows = s.train.size();
    f.test_rows = s.test.size();
    const auto t0 = clock::now();
    const FittedPipeline<T> fitted = p.fit_prepared(base.take(s.train), features, target);
    const auto t1 = clock::now();
    f.rows_used = fitted.report().rows_used;
    f.test = score(fitted, base.take(s.test));
    if (train_scores) f.train = score(fitted, base.take(s.train));
    f.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
    f.score_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return f;
  }

  std::vector<std::optional<double>> score(const FittedPipeline<T>& fitted, const DataFrame<T>& part) const {
    std::vector<std::optional<double>> out;
    if (task == task_kind::classification) {
      const auto m = fitted.evaluate_classifier(part);
      for (const auto& name : metrics) out.push_back(metric_value(m, name));
    } else {
      const auto m = fitted.evaluate(part);
      for (const auto& name : metrics) out.push_back(metric_value(m, name));
    }
    return out;
  }

  /// Every fold from statistics the folds share (fold_stats.hpp): sums gathered in a few
  /// passes over the rows, each fold's pipeline fitted from them
  /// (Pipeline::fit_from_source), its validation rows scored as a per-fold fit's. Nothing
  /// when the pipeline, the data or the options need the per-fold fits.
  std::optional<std::vector<CvFold>> run_one_pass(const Pipeline<T>& p, const cv_options& opt) const {
    if constexpr (std::is_same_v<T, double>) {
      if (!opt.one_pass || opt.train_scores || task != task_kind::regression || !blocks) return std::nullopt;
      using clock = std::chrono::steady_clock;
      const DataFrame<T>& data = materialized ? base : *source;
      const std::size_t K = k;
      const auto t0 = clock::now();
      auto fitted = fit_folds_from_statistics(p, data, features, target, *blocks, opt.threads);
      if (!fitted) return std::nullopt;
      const double fits = std::chrono::duration<double>(clock::now() - t0).count() / static_cast<double>(K);
      // Every row predicted by its own fold's pipeline, rows in order (the columns read
      // as streams) in fixed blocks on the threads, then each fold's metrics over its rows.
      const auto s0 = clock::now();
      const std::size_t n = data.rows();
      const std::vector<std::uint8_t>& fold_of = blocks->fold_of;
      const auto bound = (*fitted)[0].bind(data);  // every fold's pipeline has the same inputs
      std::vector<T> pred(n);
      constexpr std::size_t block = 16384;
      std::atomic<bool> finite{true};
      parallel_tasks((n + block - 1) / block, opt.threads, [&](std::size_t b) {
        std::vector<T> row(bound.columns.size());
        for (std::size_t r = b * block, end = (std::min)(n, r + block); r < end && finite.load(std::memory_order_relaxed); ++r) {
          for (std::size_t j = 0; j < row.size(); ++j) row[j] = bound.columns[j][r];
          pred[r] = (*fitted)[fold_of[r]].predict_row(row);
          if (!std::isfinite(pred[r])) finite.store(false, std::memory_order_relaxed);
        }
      });
      if (!finite) return std::nullopt;  // the per-fold path names the row and the cause
      const double per_fold = std::chrono::duration<double>(clock::now() - s0).count() / static_cast<double>(K);
      std::vector<CvFold> out(K);
      const auto y = data.column(target);
      for (std::size_t f = 0; f < K; ++f) {
        const auto m0 = clock::now();
        CvFold& r = out[f];
        const auto& held = blocks->rows[f];
        r.index = f;
        r.train_rows = blocks->train_size(f);
        r.test_rows = held.size();
        r.rows_used = (*fitted)[f].report().rows_used;
        std::vector<T> truth(held.size()), guess(held.size());
        for (std::size_t i = 0; i < held.size(); ++i) truth[i] = y[held[i]], guess[i] = pred[held[i]];
        const auto m = regression_metrics<T>(truth, guess);
        for (const auto& name : metrics) r.test.push_back(metric_value(m, name));
        r.fit_seconds = fits;
        r.score_seconds = per_fold + std::chrono::duration<double>(clock::now() - m0).count();
      }
      return out;
    } else {
      (void)p;
      (void)opt;
      return std::nullopt;
    }
  }

  CvResult result(std::vector<CvFold> folds, bool train_scores) const {
    CvResult r;
    r.task = task;
    r.metrics = metrics;
    r.rows = rows;
    r.rows_missing_target = rows_missing_target;
    r.test = summarise_folds(metrics, folds, false);
    if (train_scores) r.train = summarise_folds(metrics, folds, true);
    r.folds = std::move(folds);
    return r;
  }
};
}  // namespace detail

/// Cross-validates a pipeline (its steps and its estimator, set with
/// Pipeline::estimator): per fold, fits everything on the training rows and scores the
/// validation rows with `metrics` (default: default_metrics(task)). Rows whose target is
/// missing are left out first (counted in rows_missing_target); folds index the rest.
template <scalar T>
CvResult cross_validate(const Pipeline<T>& pipeline, const DataFrame<T>& frame, std::string_view target, const cv_folds& folds = {},
                        std::vector<std::string> metrics = {}, const cv_options& opt = {}) {
  detail::cv_plan<T> plan(pipeline, frame, target, folds, std::move(metrics), opt);
  if (auto shared = plan.run_one_pass(pipeline, opt)) {
    CvResult r = plan.result(std::move(*shared), opt.train_scores);
    r.one_pass = true;
    return r;
  }
  plan.materialize();
  std::vector<CvFold> out(plan.k);
  detail::parallel_tasks(out.size(), opt.threads, [&](std::size_t i) { out[i] = plan.run(pipeline, i, opt.train_scores); });
  return plan.result(std::move(out), opt.train_scores);
}

// ---- grid search ---------------------------------------------------------------------------

struct GridCandidate {
  std::vector<std::pair<std::string, param_value>> params;
  CvResult cv;
  std::size_t rank = 0;  // 1 = best by the chosen metric; candidates without a value rank last
};

template <scalar T>
struct GridSearchResult {
  std::string metric;               // chosen by
  bool greater_is_better = true;
  std::vector<GridCandidate> candidates;  // in grid order
  std::size_t best = 0;             // index into candidates
  std::optional<FittedPipeline<T>> refitted;  // the best candidate fitted on every row (grid_options::refit)

  const GridCandidate& best_candidate() const { return candidates.at(best); }
  /// The pipeline of the best candidate, unfitted (apply to more data, cross-validate again).
  Pipeline<T> best_pipeline(Pipeline<T> base) const {
    for (const auto& [k, v] : best_candidate().params) set_param(base, k, v);
    return base;
  }
};

struct grid_options : cv_options {
  bool refit = true;  // fit the best candidate on all rows (FittedPipeline::fit, with training metrics)
};

/// Cross-validates every candidate of `grid` (each a copy of `pipeline` with its
/// parameters set) on the same folds, ranks them by the mean of `metric` (default:
/// default_metric(task); it is added to `metrics` if missing), and refits the best on all
/// rows. Ties keep grid order. Candidates x folds run on cv_options::threads threads.
template <scalar T>
GridSearchResult<T> grid_search(const Pipeline<T>& pipeline, const param_grid& grid, const DataFrame<T>& frame, std::string_view target,
                                const cv_folds& folds = {}, std::string metric = {}, std::vector<std::string> metrics = {},
                                const grid_options& opt = {}) {
  if (!pipeline.estimator())
    MLOPS_THROW(argument_error(errc::invalid_argument, "grid_search: the pipeline has no estimator; call estimator(...) first"));
  const task_kind task = pipeline.estimator()->is_classifier() ? task_kind::classification : task_kind::regression;
  if (metric.empty()) metric = std::string(default_metric(task));
  const metric_info& info = find_metric(metric, task);
  if (metrics.empty()) metrics = default_metrics(task);
  if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) metrics.insert(metrics.begin(), metric);

  // Every candidate's pipeline is built (and its parameters checked) before any fitting.
  std::vector<Pipeline<T>> configured;
  GridSearchResult<T> r;
  r.metric = metric;
  r.greater_is_better = info.greater_is_better;
  for (std::size_t c = 0; c < grid.size(); ++c) {
    Pipeline<T> p = pipeline;
    auto params = grid.candidate(c);
    for (const auto& [k, v] : params) set_param(p, k, v);
    if (p.estimator()->is_classifier() != (task == task_kind::classification))
      MLOPS_THROW(argument_error(errc::invalid_argument, "grid_search: every candidate must solve the same task"));
    configured.push_back(std::move(p));
    r.candidates.push_back({std::move(params), {}, 0});
  }
  detail::cv_plan<T> plan(pipeline, frame, target, folds, metrics, opt);
  const std::size_t K = plan.k;
  std::vector<CvFold> out(configured.size() * K);
  // Candidates the shared-statistics path can run take it (each with every thread); the
  // folds of the others are fitted one by one, candidates x folds on the threads.
  std::vector<std::size_t> pending;
  std::vector<std::uint8_t> shared_path(configured.size(), 0);
  for (std::size_t c = 0; c < configured.size(); ++c) {
    if (auto shared = plan.run_one_pass(configured[c], opt)) {
      std::move(shared->begin(), shared->end(), out.begin() + static_cast<std::ptrdiff_t>(c * K));
      shared_path[c] = 1;
    } else {
      for (std::size_t i = 0; i < K; ++i) pending.push_back(c * K + i);
    }
  }
  if (!pending.empty()) plan.materialize();
  detail::parallel_tasks(pending.size(), opt.threads, [&](std::size_t t) {
    const std::size_t job = pending[t];
    out[job] = plan.run(configured[job / K], job % K, opt.train_scores);
  });
  for (std::size_t c = 0; c < configured.size(); ++c)
    r.candidates[c].cv = plan.result(std::vector<CvFold>(out.begin() + static_cast<std::ptrdiff_t>(c * K),
                                                         out.begin() + static_cast<std::ptrdiff_t>((c + 1) * K)),
                                     opt.train_scores);
  for (std::size_t c = 0; c < configured.size(); ++c) r.candidates[c].cv.one_pass = shared_path[c] != 0;

  // Rank: defined means first, better first, ties in grid order.
  std::vector<std::size_t> order(configured.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](std::size_t c) { return r.candidates[c].cv.mean(metric); };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ka = key(a), kb = key(b);
    if (!ka || !kb) return ka.has_value() && !kb.has_value();
    return info.greater_is_better ? *ka > *kb : *ka < *kb;
  });
  for (std::size_t i = 0; i < order.size(); ++i) r.candidates[order[i]].rank = i + 1;
  r.best = order.front();
  if (opt.refit) r.refitted = configured[r.best].fit(frame, target);
  return r;
}

// The compiled mode holds these (src/select.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE(CvResult cross_validate<float>(const Pipeline<float>&, const DataFrame<float>&, std::string_view, const cv_folds&,
                                                     std::vector<std::string>, const cv_options&))
MLOPS_EXTERN_TEMPLATE(CvResult cross_validate<double>(const Pipeline<double>&, const DataFrame<double>&, std::string_view, const cv_folds&,
                                                      std::vector<std::string>, const cv_options&))
MLOPS_EXTERN_TEMPLATE(GridSearchResult<float> grid_search<float>(const Pipeline<float>&, const param_grid&, const DataFrame<float>&,
                                                                 std::string_view, const cv_folds&, std::string, std::vector<std::string>,
                                                                 const grid_options&))
MLOPS_EXTERN_TEMPLATE(GridSearchResult<double> grid_search<double>(const Pipeline<double>&, const param_grid&, const DataFrame<double>&,
                                                                   std::string_view, const cv_folds&, std::string, std::vector<std::string>,
                                                                   const grid_options&))

MLOPS_NAMESPACE_END

// ---- printing ------------------------------------------------------------------------------

template <>
struct fmt::formatter<mlops::CvResult> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const mlops::CvResult& r, Ctx& ctx) const {
    auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : std::string("-"); };
    std::size_t w = 6;
    for (const auto& m : r.metrics) w = (std::max)(w, m.size());
    auto out = fmt::format_to(ctx.out(), "{}-fold cross-validation ({}, {} rows", r.folds.size(), mlops::to_string(r.task), r.rows);
    if (r.rows_missing_target) out = fmt::format_to(out, ", {} without a target left out", r.rows_missing_target);
    out = fmt::format_to(out, ")\n{:<{}} {:>12} {:>12}", "metric", w, "mean", "std");
    for (const auto& f : r.folds) out = fmt::format_to(out, " {:>12}", fmt::format("fold {}", f.index + 1));
    out = fmt::format_to(out, "\n");
    for (std::size_t m = 0; m < r.metrics.size(); ++m) {
      out = fmt::format_to(out, "{:<{}} {:>12} {:>12}", r.metrics[m], w, opt(r.test[m].mean), opt(r.test[m].std));
      for (const auto& f : r.folds) out = fmt::format_to(out, " {:>12}", opt(f.test[m]));
      out = fmt::format_to(out, "\n");
    }
    return out;
  }
};

template <mlops::scalar T>
struct fmt::formatter<mlops::GridSearchResult<T>> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const mlops::GridSearchResult<T>& r, Ctx& ctx) const {
    auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.6g}", *v) : std::string("-"); };
    auto out = fmt::format_to(ctx.out(), "grid search: {} candidates, chosen by {} ({} is better)\n{:>4}  {:>12} {:>12}  {}\n",
                              r.candidates.size(), r.metric, r.greater_is_better ? "greater" : "lower", "rank", "mean", "std",
                              "parameters");
    std::vector<std::size_t> order(r.candidates.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return r.candidates[a].rank < r.candidates[b].rank; });
    for (const auto c : order) {
      const auto& cand = r.candidates[c];
      const auto& s = cand.cv.summary(r.metric);
      std::string params;
      for (const auto& [k, v] : cand.params) params += (params.empty() ? "" : " ") + k + "=" + mlops::to_string(v);
      out = fmt::format_to(out, "{:>4}  {:>12} {:>12}  {}\n", cand.rank, opt(s.mean), opt(s.std), params.empty() ? "(as given)" : params);
    }
    return out;
  }
};

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::vector<metric_summary> summarise_folds(const std::vector<std::string>& metrics, const std::vector<CvFold>& folds, bool train) {
  std::vector<metric_summary> out(metrics.size());
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    out[m].name = metrics[m];
    double sum = 0;
    for (const auto& f : folds) {
      const auto& v = train ? f.train : f.test;
      if (m < v.size() && v[m]) sum += *v[m], ++out[m].defined;
    }
    if (out[m].defined == 0) continue;
    const double mean = sum / static_cast<double>(out[m].defined);
    double ss = 0;
    for (const auto& f : folds) {
      const auto& v = train ? f.train : f.test;
      if (m < v.size() && v[m]) ss += (*v[m] - mean) * (*v[m] - mean);
    }
    out[m].mean = mean;
    out[m].std = std::sqrt(ss / static_cast<double>(out[m].defined));
  }
  return out;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
