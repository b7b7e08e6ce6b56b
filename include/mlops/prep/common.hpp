// mlops/prep/common.hpp - what every preprocessing step shares.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "mlops/detail/row_program.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
template <class...>
inline constexpr bool always_false = false;

/// The columns a step works on: its own list if given, else the defaults (all features).
inline std::vector<std::string> resolve_columns(const std::vector<std::string>& own,
                                                std::span<const std::string> defaults) {
  return own.empty() ? std::vector<std::string>(defaults.begin(), defaults.end()) : own;
}

/// Position of each step column in the pipeline's feature list (schema_error if absent).
inline std::vector<std::size_t> feature_positions(const std::vector<std::string>& columns,
                                                  std::span<const std::string> features, const char* step) {
  std::vector<std::size_t> pos;
  pos.reserve(columns.size());
  for (const auto& c : columns) {
    const auto it = std::find(features.begin(), features.end(), c);
    if (it == features.end())
      MLOPS_THROW(schema_error(errc::schema_missing_column,
                               fmt::format("{}: column '{}' is not a feature of this pipeline; choose among the feature columns",
                                           step, c)));
    pos.push_back(static_cast<std::size_t>(it - features.begin()));
  }
  return pos;
}
}  // namespace detail

/// Holds options only. Calling transform on it is a compile-time error that says why.
#define MLOPS_UNFITTED_STEP(Name)                                                                          \
  template <class... Args>                                                                                 \
  void transform(Args&&...) const {                                                                        \
    static_assert(::mlops::detail::always_false<Args...>,                                                  \
                  #Name " holds options only and cannot transform data: call .fit(frame) first and use "   \
                        "the Fitted" #Name " it returns");                                                 \
  }                                                                                                        \
  template <class... Args>                                                                                 \
  void transform_inplace(Args&&...) const {                                                                \
    static_assert(::mlops::detail::always_false<Args...>,                                                  \
                  #Name " holds options only and cannot transform data: call .fit(frame) first and use "   \
                        "the Fitted" #Name " it returns");                                                 \
  }

/// A fitted column-wise step: transforms frames and compiles into the row program.
template <class F, class T>
concept fitted_step = requires(const F& f, DataFrame<T>& frame, detail::row_program<T>& program,
                               std::span<const std::string> features) {
  { f.columns() } -> std::convertible_to<const std::vector<std::string>&>;
  f.transform_inplace(frame);
  f.compile(features, program);
};

MLOPS_NAMESPACE_END
