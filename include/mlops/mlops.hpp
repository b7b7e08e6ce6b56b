// mlops/mlops.hpp - umbrella header: every public header.
#pragma once

#include "mlops/config.hpp"
#include "mlops/error.hpp"
#include "mlops/fwd.hpp"
#include "mlops/frame.hpp"
#include "mlops/csv.hpp"
#include "mlops/prep/impute.hpp"
#include "mlops/prep/outliers.hpp"
#include "mlops/prep/scale.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/online.hpp"
#include "mlops/learn/gd.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/io/container.hpp"
#include "mlops/io/card.hpp"
#include "mlops/pipeline.hpp"
