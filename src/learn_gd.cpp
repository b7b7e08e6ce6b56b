// The compiled mode's learn room, part gd: the gradient-descent regressor, for float and
// double (the row kernels and online updates stay inline in the headers).
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_LEARN_GD
// The regressor's bodies and the core are compiled here (MLOPS_TEMPLATE_BODIES, config.hpp).
#define MLOPS_BUILDING_LIBRARY
#include "mlops/learn/gd.hpp"
#include "mlops/learn/gd_kernels.hpp"

MLOPS_NAMESPACE_BEGIN
template struct GradientDescentRegressor<float>;
template struct GradientDescentRegressor<double>;
MLOPS_NAMESPACE_END
