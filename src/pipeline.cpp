// The compiled mode's pipeline room: Pipeline and FittedPipeline for float and double,
// with every trainer of the Estimator list that Pipeline::fit_estimator dispatches to.
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN
template class Pipeline<float>;
template class Pipeline<double>;
template class FittedPipeline<float>;
template class FittedPipeline<double>;
MLOPS_NAMESPACE_END
