// mlops/eval/model_selection.hpp - moved to mlops/select/model_selection.hpp (cross-validation, grid search and
// their reports sit above the pipeline); this header keeps existing includes working.
#pragma once
#include "mlops/select/model_selection.hpp"
