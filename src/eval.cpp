// The compiled mode's evaluation room: metrics, classification reports, scoring and
// splits hold no class template instantiated here; this unit defines their non-template
// functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_EVAL
#include "mlops/eval/classification.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/eval/scoring.hpp"
#include "mlops/eval/split.hpp"
