// The compiled mode's prep room: every step's options and fitted types for float and
// double. A step header that declares its instantiations extern lists them here too (a
// missing one is a link error in every user of mlops::compiled).
// Defines the room's non-template functions (MLOPS_FUNC, config.hpp) once.
#define MLOPS_DEFINE_PREP
#include "mlops/prep/steps.hpp"
#include "mlops/prep/categorical.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/dates.hpp"

MLOPS_NAMESPACE_BEGIN
#define MLOPS_INSTANTIATE_FD(kind_and_name) \
  template kind_and_name<float>;            \
  template kind_and_name<double>;
MLOPS_INSTANTIATE_FD(struct SimpleImputer)
MLOPS_INSTANTIATE_FD(class FittedSimpleImputer)
MLOPS_INSTANTIATE_FD(struct IqrOutlierFilter)
MLOPS_INSTANTIATE_FD(class FittedIqrOutlierFilter)
MLOPS_INSTANTIATE_FD(struct StandardScaler)
MLOPS_INSTANTIATE_FD(class FittedStandardScaler)
MLOPS_INSTANTIATE_FD(struct MinMaxScaler)
MLOPS_INSTANTIATE_FD(class FittedMinMaxScaler)
MLOPS_INSTANTIATE_FD(struct OneHotEncoder)
MLOPS_INSTANTIATE_FD(class FittedOneHotEncoder)
MLOPS_INSTANTIATE_FD(struct OrdinalEncoder)
MLOPS_INSTANTIATE_FD(class FittedOrdinalEncoder)
MLOPS_INSTANTIATE_FD(struct DateFeatures)
MLOPS_INSTANTIATE_FD(class FittedDateFeatures)
MLOPS_NAMESPACE_END
