// The compiled mode's monitor room: the drift monitor for float and double (observe
// stays inline in the header).
#include "mlops/monitor/drift.hpp"

MLOPS_NAMESPACE_BEGIN
template class DriftMonitor<float>;
template class DriftMonitor<double>;
MLOPS_NAMESPACE_END
