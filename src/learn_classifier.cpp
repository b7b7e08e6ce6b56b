// The compiled mode's learn room, part classifier: the linear classifier and its
// trainers (logistic regression, linear SVM), for float and double (the row kernels and
// online updates stay inline in the headers).
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_LEARN_CLASSIFIER
// The trainers' bodies and solvers are compiled here (MLOPS_TEMPLATE_BODIES, config.hpp).
#define MLOPS_BUILDING_LIBRARY
#include "mlops/learn/classifier.hpp"

MLOPS_NAMESPACE_BEGIN
template class LinearClassifier<float>;
template class LinearClassifier<double>;
template struct LogisticRegression<float>;
template struct LogisticRegression<double>;
template struct LinearSVM<float>;
template struct LinearSVM<double>;
MLOPS_NAMESPACE_END
