// The compiled mode's learn room, part trees: the fitted trees and the CART trainers
// (the row kernels stay inline in the headers), for float and double.
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_LEARN_TREE
// The builder's body is compiled here (MLOPS_TEMPLATE_BODIES, config.hpp).
#define MLOPS_BUILDING_LIBRARY
#include "mlops/learn/tree/trainers.hpp"

MLOPS_NAMESPACE_BEGIN
template class RegressionTree<float>;
template class RegressionTree<double>;
template class ClassificationTree<float>;
template class ClassificationTree<double>;
template struct DecisionTreeRegressor<float>;
template struct DecisionTreeRegressor<double>;
template struct DecisionTreeClassifier<float>;
template struct DecisionTreeClassifier<double>;
MLOPS_NAMESPACE_END
