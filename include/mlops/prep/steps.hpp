// mlops/prep/steps.hpp - the list of pipeline steps. A new step is one header (its
// options type with the step_options traits, its fitted type with the fitted_step
// traits; see prep/common.hpp) plus one entry here. A pipeline holds its steps as
// Step / FittedStep (prep/step.hpp), which any such type converts to; what needs every
// step type is generated from this list: loading by the file format's step tags (each
// type's own `tag`, never a position), the step names and set_param's vocabulary. Only
// the code that loads a model or names every step includes this header.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "mlops/detail/type_list.hpp"
#include "mlops/prep/dates.hpp"
#include "mlops/prep/impute.hpp"
#include "mlops/prep/minmax.hpp"
#include "mlops/prep/onehot.hpp"
#include "mlops/prep/ordinal.hpp"
#include "mlops/prep/outliers.hpp"
#include "mlops/prep/scale.hpp"
#include "mlops/prep/step.hpp"

MLOPS_NAMESPACE_BEGIN

/// Every step type a pipeline can hold, by its options type.
template <scalar T>
using step_types = detail::type_list<SimpleImputer<T>, IqrOutlierFilter<T>, StandardScaler<T>, MinMaxScaler<T>, OneHotEncoder<T>,
                                    OrdinalEncoder<T>, DateFeatures<T>>;

namespace detail {
template <class L>
struct fitted_list;
template <class... S>
struct fitted_list<type_list<S...>> {
  using type = type_list<typename S::fitted_type...>;
};
template <class L, class T>
struct all_step_options;
template <class... S, class T>
struct all_step_options<type_list<S...>, T> : std::bool_constant<(step_options<S, T> && ...)> {};
template <scalar T>
inline constexpr bool steps_are_well_formed = all_step_options<step_types<T>, T>::value;
}  // namespace detail

/// The fitted step types, in the same order.
template <scalar T>
using fitted_step_types = typename detail::fitted_list<step_types<T>>::type;

static_assert(detail::steps_are_well_formed<double> && detail::steps_are_well_formed<float>,
              "every entry of step_types must meet step_options (see prep/common.hpp)");
static_assert(detail::distinct_tags(fitted_step_types<double>{}), "step format tags must be distinct and non-zero");

namespace detail {
/// Reads the step whose format tag is `tag`; nullopt for an unknown tag.
template <scalar T>
std::optional<FittedStep<T>> load_step(std::uint8_t tag, byte_reader& r) {
  std::optional<FittedStep<T>> out;
  any_of_types(fitted_step_types<T>{}, [&]<class F>(F*) {
    if (F::tag != tag) return false;
    out.emplace(F::load(r));
    return true;
  });
  return out;
}
}  // namespace detail

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_PREP)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN
namespace detail {
MLOPS_FUNC bool is_step_name(std::string_view owner) {
  return any_of_types(step_types<double>{}, [&]<class S>(S*) {
    for (const auto n : S::names)
      if (n == owner) return true;
    return false;
  });
}
MLOPS_FUNC std::string step_names_list() {
  std::string out;
  any_of_types(step_types<double>{}, [&]<class S>(S*) {
    out += out.empty() ? std::string(S::names[0]) : ", " + std::string(S::names[0]);
    return false;
  });
  return out;
}
MLOPS_FUNC bool is_fitted_step_name(std::string_view name) {
  return any_of_types(fitted_step_types<double>{}, [&]<class F>(F*) { return F::name == name; });
}
}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_PREP
