// The compiled mode's pipeline room: Pipeline and FittedPipeline for float and double,
// with every trainer of the Estimator list that Pipeline::fit_estimator dispatches to.
// The bodies of the pipeline's members (pipeline/batch.hpp, format.hpp, steps_builder.hpp)
// are compiled here and nowhere else (MLOPS_TEMPLATE_BODIES, config.hpp).
#define MLOPS_BUILDING_LIBRARY
#include "mlops/pipeline.hpp"
#include "mlops/pipeline/auto.hpp"

MLOPS_NAMESPACE_BEGIN
template class Pipeline<float>;
template class Pipeline<double>;
template class FittedPipeline<float>;
template class FittedPipeline<double>;
template auto_plan<float> auto_pipeline<float>(const DataFrame<float>&, std::string_view, const auto_options&);
template auto_plan<double> auto_pipeline<double>(const DataFrame<double>&, std::string_view, const auto_options&);
MLOPS_NAMESPACE_END
