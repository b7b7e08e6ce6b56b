// mlops/pipeline/rows.hpp - what a row prediction takes and returns: input_value (one value of a
// row in mixed form) and predict_status (the checked path's result).
#pragma once

#include <cstdint>
#include <string_view>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// One value of a row in mixed form, for predict_row(std::span<const input_value>): a
/// number (numeric inputs; for a categorical input, its level's index), a level's text
/// (categorical inputs), an instant (datetime inputs: UTC microseconds since the epoch,
/// see detail::parse_iso8601), or missing. Holds a view: the text must outlive the call.
struct input_value {
  enum class kind_t : std::uint8_t { missing = 0, number = 1, text = 2, instant = 3 };
  kind_t kind = kind_t::missing;
  double number = 0;
  std::string_view text{};
  std::int64_t micros = 0;
  static constexpr input_value of(double v) noexcept { return {kind_t::number, v, {}, 0}; }
  static constexpr input_value of(std::string_view s) noexcept { return {kind_t::text, 0, s, 0}; }
  static constexpr input_value at(std::int64_t us) noexcept { return {kind_t::instant, 0, {}, us}; }
  static constexpr input_value none() noexcept { return {}; }
};

/// Result of try_predict (the non-aborting row path).
enum class predict_status : std::uint8_t { ok = 0, wrong_length = 1, non_finite = 2 };

MLOPS_NAMESPACE_END
