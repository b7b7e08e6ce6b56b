// The compiled mode's learn room, part gd: the gradient-descent regressor, for float and
// double (the row kernels and online updates stay inline in the headers).
#include "mlops/learn/gd.hpp"

MLOPS_NAMESPACE_BEGIN
template struct GradientDescentRegressor<float>;
template struct GradientDescentRegressor<double>;
MLOPS_NAMESPACE_END
