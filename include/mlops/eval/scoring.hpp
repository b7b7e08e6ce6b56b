// mlops/eval/scoring.hpp - metrics by name: what cross_validate reports and what
// grid_search chooses by.
//
//   regression:      mse rmse mae r2 mape max_error explained_variance
//   classification:  accuracy balanced_accuracy precision recall f1 f1_macro f1_micro
//                    f1_weighted roc_auc log_loss brier
//
// Each name knows its task and whether greater is better (r2, explained_variance and the
// classification scores up to roc_auc; the errors, log_loss and brier are better lower).
// A value that is undefined for the data (ROC AUC with one class present, log loss of a
// model without probabilities) is an empty optional, never NaN.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"

MLOPS_NAMESPACE_BEGIN

enum class task_kind : std::uint8_t { regression = 1, classification = 2 };

constexpr std::string_view to_string(task_kind t) noexcept {
  return t == task_kind::regression ? "regression" : "classification";
}

struct metric_info {
  std::string_view name;
  task_kind task;
  bool greater_is_better;
};

namespace detail {
inline constexpr std::array<metric_info, 18> metric_table{{
    {"mse", task_kind::regression, false},
    {"rmse", task_kind::regression, false},
    {"mae", task_kind::regression, false},
    {"r2", task_kind::regression, true},
    {"mape", task_kind::regression, false},
    {"max_error", task_kind::regression, false},
    {"explained_variance", task_kind::regression, true},
    {"accuracy", task_kind::classification, true},
    {"balanced_accuracy", task_kind::classification, true},
    {"precision", task_kind::classification, true},
    {"recall", task_kind::classification, true},
    {"f1", task_kind::classification, true},
    {"f1_macro", task_kind::classification, true},
    {"f1_micro", task_kind::classification, true},
    {"f1_weighted", task_kind::classification, true},
    {"roc_auc", task_kind::classification, true},
    {"log_loss", task_kind::classification, false},
    {"brier", task_kind::classification, false},
}};
}  // namespace detail

/// Every metric name of a task, in the order above.
inline std::vector<std::string> metric_names(task_kind task) {
  std::vector<std::string> out;
  for (const auto& m : detail::metric_table)
    if (m.task == task) out.emplace_back(m.name);
  return out;
}
/// What cross_validate reports when no metrics are named.
inline std::vector<std::string> default_metrics(task_kind task) {
  if (task == task_kind::regression) return {"r2", "rmse", "mae", "mse"};
  return {"accuracy", "f1", "roc_auc", "log_loss"};
}
/// What grid_search chooses by when no metric is named.
constexpr std::string_view default_metric(task_kind task) noexcept { return task == task_kind::regression ? "r2" : "accuracy"; }

/// The metric of this name for this task; argument_error naming the valid ones otherwise.
inline const metric_info& find_metric(std::string_view name, task_kind task) {
  for (const auto& m : detail::metric_table)
    if (m.name == name && m.task == task) return m;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("unknown {} metric '{}'; choose from: {}", to_string(task), name,
                                                                 fmt::join(metric_names(task), ", "))));
}

/// The named value of a metrics record (names as above; the name must belong to the task).
inline std::optional<double> metric_value(const RegressionMetrics& m, std::string_view name) {
  (void)find_metric(name, task_kind::regression);
  if (name == "mse") return m.mse;
  if (name == "rmse") return m.rmse;
  if (name == "mae") return m.mae;
  if (name == "r2") return m.r2;
  if (name == "mape") return m.mape;
  if (name == "max_error") return m.max_error;
  return m.explained_variance;
}
inline std::optional<double> metric_value(const ClassificationMetrics& m, std::string_view name) {
  (void)find_metric(name, task_kind::classification);
  if (name == "accuracy") return m.accuracy;
  if (name == "balanced_accuracy") return m.balanced_accuracy;
  if (name == "precision") return m.precision;
  if (name == "recall") return m.recall;
  if (name == "f1") return m.f1;
  if (name == "f1_macro") return m.f1_macro;
  if (name == "f1_micro") return m.f1_micro;
  if (name == "f1_weighted") return m.f1_weighted;
  if (name == "roc_auc") return m.roc_auc;
  if (name == "log_loss") return m.log_loss;
  return m.brier;
}

MLOPS_NAMESPACE_END
