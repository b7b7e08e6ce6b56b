// The compiled mode's non-template code: every function the headers declare with
// MLOPS_FUNC (config.hpp) is defined here, once, with external linkage.
#define MLOPS_DEFINE_FUNCTIONS
#include "mlops/mlops.hpp"
