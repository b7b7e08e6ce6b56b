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
// model without probabilities) is an empty optional, never NaN. The table, find_metric
// and metric_value live next to the metrics (eval/metrics.hpp, eval/classification.hpp),
// so the streaming accumulators answer value(name) too; this header adds the defaults.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"  // metric names, find_metric, metric_value

MLOPS_NAMESPACE_BEGIN

/// What cross_validate reports when no metrics are named.
MLOPS_FUNC std::vector<std::string> default_metrics(task_kind task);
/// What grid_search chooses by when no metric is named.
constexpr std::string_view default_metric(task_kind task) noexcept { return task == task_kind::regression ? "r2" : "accuracy"; }

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_EVAL)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC std::vector<std::string> default_metrics(task_kind task) {
  if (task == task_kind::regression) return {"r2", "rmse", "mae", "mse"};
  return {"accuracy", "f1", "roc_auc", "log_loss"};
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_EVAL
