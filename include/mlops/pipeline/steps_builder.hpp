// mlops/pipeline/steps_builder.hpp - the builder's shorthands for the library's common
// steps (Pipeline::impute, drop_outliers_iqr, standardize). They need the step types, so
// they live beside them rather than in the builder: in the compiled mode only the
// library includes this header (MLOPS_TEMPLATE_BODIES, config.hpp).
#pragma once

#include <utility>

#include "mlops/pipeline/builder.hpp"
#include "mlops/prep/impute.hpp"
#include "mlops/prep/outliers.hpp"
#include "mlops/prep/scale.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
Pipeline<T>& Pipeline<T>::impute(impute_strategy s, T fill_value) {
  return add(SimpleImputer<T>{s, fill_value, {}});
}
template <scalar T>
Pipeline<T>& Pipeline<T>::impute(SimpleImputer<T> s) {
  return add(std::move(s));
}
template <scalar T>
Pipeline<T>& Pipeline<T>::drop_outliers_iqr(double k, outlier_action on_new_data) {
  IqrOutlierFilter<T> f;
  f.k = k;
  f.on_new_data = on_new_data;
  return add(std::move(f));
}
template <scalar T>
Pipeline<T>& Pipeline<T>::drop_outliers_iqr(IqrOutlierFilter<T> f) {
  return add(std::move(f));
}
template <scalar T>
Pipeline<T>& Pipeline<T>::standardize() {
  return add(StandardScaler<T>{});
}
template <scalar T>
Pipeline<T>& Pipeline<T>::standardize(StandardScaler<T> s) {
  return add(std::move(s));
}

MLOPS_NAMESPACE_END
