// The compiled mode's monitor room: the drift monitor for float and double (observe
// stays inline in the header).
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_MONITOR
#include "mlops/monitor/drift.hpp"
#include "mlops/monitor/json.hpp"
#include "mlops/monitor/prometheus.hpp"
#include "mlops/serve/metrics.hpp"

MLOPS_NAMESPACE_BEGIN
template class DriftMonitor<float>;
template class DriftMonitor<double>;
MLOPS_NAMESPACE_END
