// mlops/eval/report.hpp - moved to mlops/select/report.hpp (cross-validation, grid search and
// their reports sit above the pipeline); this header keeps existing includes working.
#pragma once
#include "mlops/select/report.hpp"
