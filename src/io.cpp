// The compiled mode's io room: the model card of a fitted pipeline for float and double.
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_IO
#include "mlops/io/card.hpp"
#include "mlops/registry.hpp"

MLOPS_NAMESPACE_BEGIN
namespace io {
template nlohmann::json model_card<float>(const FittedPipeline<float>&);
template nlohmann::json model_card<double>(const FittedPipeline<double>&);
template void save_model_card<float>(const FittedPipeline<float>&, const std::filesystem::path&);
template void save_model_card<double>(const FittedPipeline<double>&, const std::filesystem::path&);
}  // namespace io
MLOPS_NAMESPACE_END
