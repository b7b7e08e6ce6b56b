// mlops/select/report.hpp - metrics reports as JSON (nlohmann/json) and as tables (fmt).
//
//   nlohmann::json j = fitted.evaluate(test);          // every regression metric
//   nlohmann::json k = mlops::cross_validate(p, f, "y");  // per fold, mean and std
//   fmt::print("{:t}", fitted.evaluate(test));          // a metric | value table
//   fmt::print("{:t}", fitted.evaluate_classifier(t));  // per-class precision/recall/F1
//
// Undefined values (ROC AUC with one class, log loss without probabilities) are JSON
// null; JSON has no NaN. Kept apart from the metric headers so that code which does not
// export JSON does not compile nlohmann/json.
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mlops/detail/json_limits.hpp"
#include "mlops/select/model_selection.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC nlohmann::json opt_json(const std::optional<double>& v);
}  // namespace detail

MLOPS_FUNC void to_json(nlohmann::json& j, const RegressionMetrics& m);

MLOPS_FUNC void to_json(nlohmann::json& j, const ClassificationMetrics& m);

namespace detail {
MLOPS_FUNC nlohmann::json param_json(const param_value& v);
}  // namespace detail

/// {"task", "k", "rows", "rows_missing_target", "one_pass", "metrics": [...], "mean": {metric: v},
///  "std": {...}, "folds": [{"fold", "train_rows", "test_rows", "rows_used",
///  "fit_seconds", "score_seconds", "test": {metric: v}, "train": {...}}], "train_mean"/"train_std" when
///  training scores were computed}
MLOPS_FUNC void to_json(nlohmann::json& j, const CvResult& r);

/// {"metric", "greater_is_better", "best": index, "best_params": {...},
///  "candidates": [{"params": {...}, "rank", "mean": {...}, "std": {...}, "folds": [...]}]}
template <scalar T>
void to_json(nlohmann::json& j, const GridSearchResult<T>& r) {
  auto params = [](const std::vector<std::pair<std::string, param_value>>& ps) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, v] : ps) o[k] = detail::param_json(v);
    return o;
  };
  nlohmann::json cands = nlohmann::json::array();
  for (const auto& c : r.candidates) {
    nlohmann::json cv = c.cv;
    cands.push_back({{"params", params(c.params)}, {"rank", c.rank}, {"mean", cv["mean"]}, {"std", cv["std"]}, {"folds", cv["folds"]}});
  }
  j = {{"metric", r.metric},
       {"greater_is_better", r.greater_is_better},
       {"best", r.best},
       {"best_params", params(r.best_candidate().params)},
       {"candidates", std::move(cands)}};
}

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC nlohmann::json opt_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace detail

MLOPS_FUNC void to_json(nlohmann::json& j, const RegressionMetrics& m) {
  using detail::finite_json;
  j = {{"n", m.n},
       {"mse", finite_json(m.mse)},
       {"rmse", finite_json(m.rmse)},
       {"mae", finite_json(m.mae)},
       {"r2", finite_json(m.r2)},
       {"mape", finite_json(m.mape)},
       {"max_error", finite_json(m.max_error)},
       {"explained_variance", finite_json(m.explained_variance)}};
  if (!m.note.empty()) j["note"] = m.note;
}

MLOPS_FUNC void to_json(nlohmann::json& j, const ClassificationMetrics& m) {
  using detail::opt_json;
  j = {{"n", m.n},
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
  if (!m.label_names.empty()) j["label_names"] = m.label_names;
}

namespace detail {
MLOPS_FUNC nlohmann::json param_json(const param_value& v) {
  if (const auto* d = std::get_if<double>(&v)) return finite_json(*d);
  return std::get<std::string>(v);
}
}  // namespace detail

MLOPS_FUNC void to_json(nlohmann::json& j, const CvResult& r) {
  using detail::opt_json;
  auto by_metric = [&](const std::vector<metric_summary>& s, bool mean) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& m : s) o[m.name] = opt_json(mean ? m.mean : m.std);
    return o;
  };
  j = {{"task", std::string(to_string(r.task))},
       {"k", r.folds.size()},
       {"rows", r.rows},
       {"rows_missing_target", r.rows_missing_target},
       {"one_pass", r.one_pass},
       {"metrics", r.metrics},
       {"mean", by_metric(r.test, true)},
       {"std", by_metric(r.test, false)}};
  if (!r.train.empty()) j["train_mean"] = by_metric(r.train, true), j["train_std"] = by_metric(r.train, false);
  nlohmann::json folds = nlohmann::json::array();
  for (const auto& f : r.folds) {
    nlohmann::json fj = {{"fold", f.index + 1}, {"train_rows", f.train_rows}, {"test_rows", f.test_rows},
                         {"rows_used", f.rows_used}, {"fit_seconds", f.fit_seconds}, {"score_seconds", f.score_seconds}};
    nlohmann::json t = nlohmann::json::object(), tr = nlohmann::json::object();
    for (std::size_t m = 0; m < r.metrics.size(); ++m) {
      t[r.metrics[m]] = opt_json(m < f.test.size() ? f.test[m] : std::nullopt);
      if (!f.train.empty()) tr[r.metrics[m]] = opt_json(m < f.train.size() ? f.train[m] : std::nullopt);
    }
    fj["test"] = std::move(t);
    if (!f.train.empty()) fj["train"] = std::move(tr);
    folds.push_back(std::move(fj));
  }
  j["folds"] = std::move(folds);
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
