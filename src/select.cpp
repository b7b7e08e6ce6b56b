// The compiled mode's model-selection room: cross-validation and grid search for float
// and double.
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_SELECT
#include "mlops/select/model_selection.hpp"
#include "mlops/pipeline/fold_stats.hpp"
#include "mlops/select/report.hpp"

MLOPS_NAMESPACE_BEGIN
template CvResult cross_validate<float>(const Pipeline<float>&, const DataFrame<float>&, std::string_view, const cv_folds&,
                                        std::vector<std::string>, const cv_options&);
template CvResult cross_validate<double>(const Pipeline<double>&, const DataFrame<double>&, std::string_view, const cv_folds&,
                                         std::vector<std::string>, const cv_options&);
template GridSearchResult<float> grid_search<float>(const Pipeline<float>&, const param_grid&, const DataFrame<float>&, std::string_view,
                                                    const cv_folds&, std::string, std::vector<std::string>, const grid_options&);
template GridSearchResult<double> grid_search<double>(const Pipeline<double>&, const param_grid&, const DataFrame<double>&, std::string_view,
                                                      const cv_folds&, std::string, std::vector<std::string>, const grid_options&);
MLOPS_NAMESPACE_END
