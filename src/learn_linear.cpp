// The compiled mode's learn room, part linear: linear models, least-squares statistics,
// closed-form and RLS trainers, for float and double (the row kernels and online updates
// stay inline in the headers).
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_LEARN_LINEAR
#include "mlops/learn/linear.hpp"
#include "mlops/learn/online.hpp"

MLOPS_NAMESPACE_BEGIN
template class LinearModel<float>;
template class LinearModel<double>;
template class LeastSquaresStats<float>;
template class LeastSquaresStats<double>;
template struct LinearRegression<float>;
template struct LinearRegression<double>;
template struct RecursiveLeastSquaresTrainer<float>;
template struct RecursiveLeastSquaresTrainer<double>;
MLOPS_NAMESPACE_END
