// mlops/eval/one_pass_cv.hpp - moved to mlops/select/one_pass_cv.hpp (cross-validation, grid search and
// their reports sit above the pipeline); this header keeps existing includes working.
#pragma once
#include "mlops/select/one_pass_cv.hpp"
