// mlops/prep/common.hpp - what every preprocessing step shares.
#pragma once

#include <algorithm>
#include <iterator>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/row_program.hpp"
#include "mlops/detail/step_card.hpp"
#include "mlops/frame.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
template <class...>
inline constexpr bool always_false = false;

/// A column of the row the steps build while fitting, from the input features to the
/// model's columns. Encoders replace a categorical or datetime column by the numeric
/// columns they make; one-hot's 0/1 columns are indicators.
struct layout_column {
  std::string name;
  column_kind kind = column_kind::numeric;
  bool indicator = false;
};
class design_layout {
 public:
  design_layout() = default;
  explicit design_layout(std::vector<layout_column> cols) : cols_(std::move(cols)) {}
  const std::vector<layout_column>& columns() const noexcept { return cols_; }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& c : cols_) out.push_back(c.name);
    return out;
  }
  /// The default columns of a numeric step: numeric columns that are not indicators.
  std::vector<std::string> numeric() const {
    std::vector<std::string> out;
    for (const auto& c : cols_)
      if (c.kind == column_kind::numeric && !c.indicator) out.push_back(c.name);
    return out;
  }
  std::vector<std::string> of_kind(column_kind k) const {
    std::vector<std::string> out;
    for (const auto& c : cols_)
      if (c.kind == k) out.push_back(c.name);
    return out;
  }
  /// Replaces column `name` by `with` at its place; schema_error if it is absent or a new
  /// name is taken.
  void replace(std::string_view name, std::vector<layout_column> with, const char* step) {
    const auto it = std::find_if(cols_.begin(), cols_.end(), [&](const layout_column& c) { return c.name == name; });
    if (it == cols_.end())
      MLOPS_THROW(schema_error(errc::schema_missing_column, fmt::format("{}: column '{}' is not a feature of this pipeline", step, name)));
    for (const auto& w : with)
      for (const auto& c : cols_)
        if (c.name == w.name && c.name != name)
          MLOPS_THROW(schema_error(errc::schema_mismatch, fmt::format("{}: the column '{}' it makes from '{}' already exists; rename one",
                                                                      step, w.name, name)));
    const auto at = it - cols_.begin();
    cols_.erase(it);
    cols_.insert(cols_.begin() + at, std::make_move_iterator(with.begin()), std::make_move_iterator(with.end()));
  }

 private:
  std::vector<layout_column> cols_;
};

/// The fit_step of a step that learns from `cols`, then transforms the frame as training
/// does, and (an encoder) replaces its columns in the layout.
template <class S, class T>
auto fit_and_apply(const S& step, DataFrame<T>& frame, design_layout& layout, std::span<const std::string> cols) {
  auto f = step.fit(frame, cols);
  f.transform_inplace(frame);
  if constexpr (requires { f.update_layout(layout); }) f.update_layout(layout);
  return f;
}

/// What a fitted step compiles against: the input columns (what predict_row takes, in
/// order), the design columns (the model's), and each categorical input's level list (the
/// row form's codes index it; empty for other inputs).
struct compile_context {
  std::span<const std::string> inputs;
  std::span<const std::string> design;
  std::span<const std::vector<std::string>> levels;
  std::size_t input(std::string_view name, const char* step) const { return position(inputs, name, step, "an input column"); }
  std::size_t design_at(std::string_view name, const char* step) const { return position(design, name, step, "a model column"); }

 private:
  static std::size_t position(std::span<const std::string> list, std::string_view name, const char* step, const char* what) {
    const auto it = std::find(list.begin(), list.end(), name);
    if (it == list.end())
      MLOPS_THROW(schema_error(errc::schema_missing_column, fmt::format("{}: column '{}' is not {} of this pipeline", step, name, what)));
    return static_cast<std::size_t>(it - list.begin());
  }
};

/// The columns a step works on: its own list if given, else the defaults (all features).
MLOPS_FUNC std::vector<std::string> resolve_columns(const std::vector<std::string>& own,
                                                std::span<const std::string> defaults);

/// Position of each step column in the pipeline's feature list (schema_error if absent).
MLOPS_FUNC std::vector<std::size_t> feature_positions(const std::vector<std::string>& columns,
                                                  std::span<const std::string> features, const char* step);
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
/// the columns it reads, its frame transform, its row-program form (compiled against the
/// pipeline's input and design columns), save/load and what it says on the model card.
template <class F, class T>
concept fitted_step = requires(const F& f, DataFrame<T>& frame, detail::row_program<T>& program,
                               const detail::compile_context& features, detail::byte_writer& w, detail::byte_reader& r,
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
/// as training does, and updating the layout when it changes the columns), and
/// parameters by name.
template <class S, class T>
concept step_options = requires(const S& s, S& m, DataFrame<T>& frame, detail::design_layout& features, std::string_view target,
                                const param_value& v) {
  typename S::fitted_type;
  requires fitted_step<typename S::fitted_type, T>;
  { S::names[0] } -> std::convertible_to<std::string_view>;
  { s.fit_step(frame, features, target) } -> std::same_as<typename S::fitted_type>;
  m.set_param(std::string_view{}, v);
};

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_PREP)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::vector<std::string> resolve_columns(const std::vector<std::string>& own,
                                                std::span<const std::string> defaults) {
  return own.empty() ? std::vector<std::string>(defaults.begin(), defaults.end()) : own;
}

MLOPS_FUNC std::vector<std::size_t> feature_positions(const std::vector<std::string>& columns,
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

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_PREP
