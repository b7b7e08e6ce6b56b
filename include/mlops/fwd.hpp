// mlops/fwd.hpp - forward declarations only; cheap to include.
#pragma once

#include <type_traits>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
template <class T>
concept scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;
template <scalar T> class DataFrame;
template <scalar T> struct SimpleImputer;
template <scalar T> class FittedSimpleImputer;
template <scalar T> struct IqrOutlierFilter;
template <scalar T> class FittedIqrOutlierFilter;
template <scalar T> struct StandardScaler;
template <scalar T> class FittedStandardScaler;
template <scalar T> struct MinMaxScaler;
template <scalar T> class FittedMinMaxScaler;
template <scalar T> struct LinearRegression;
template <scalar T> class LinearModel;
template <scalar T> class LeastSquaresStats;
template <scalar T> class RecursiveLeastSquares;
template <scalar T> struct GradientDescentRegressor;
template <scalar T> class Pipeline;
template <scalar T> class FittedPipeline;
struct CsvOptions;
struct RegressionMetrics;
class error;
MLOPS_NAMESPACE_END
