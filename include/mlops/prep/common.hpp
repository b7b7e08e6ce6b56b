// mlops/prep/common.hpp - what every preprocessing step shares.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <span>
#include <string>
#include <vector>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/row_program.hpp"
#include "mlops/detail/step_card.hpp"
#include "mlops/frame.hpp"
#include "mlops/params.hpp"

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

/// A fitted step, as the pipeline's step list needs it: a stable format tag and name,
/// the columns it reads, its frame transform, its row-program form, save/load and what
/// it says on the model card.
template <class F, class T>
concept fitted_step = requires(const F& f, DataFrame<T>& frame, detail::row_program<T>& program,
                               std::span<const std::string> features, detail::byte_writer& w, detail::byte_reader& r,
                               detail::step_card& card) {
  { F::tag } -> std::convertible_to<std::uint8_t>;
  { F::name } -> std::convertible_to<std::string_view>;
  { f.columns() } -> std::convertible_to<const std::vector<std::string>&>;
  f.transform_inplace(frame);
  f.compile(features, program);
  f.save(w);
  { F::load(r) } -> std::same_as<F>;
  f.describe(card);
};

/// A step's options, as the list needs them: the fitted type, the names set_param knows
/// it by (the first is its name), fitting on a frame (transforming or cutting the frame
/// as training does), and parameters by name.
template <class S, class T>
concept step_options = requires(const S& s, S& m, DataFrame<T>& frame, std::span<const std::string> features, std::string_view target,
                                const param_value& v) {
  typename S::fitted_type;
  requires fitted_step<typename S::fitted_type, T>;
  { S::names[0] } -> std::convertible_to<std::string_view>;
  { s.fit_step(frame, features, target) } -> std::same_as<typename S::fitted_type>;
  m.set_param(std::string_view{}, v);
};

MLOPS_NAMESPACE_END
