// mlops/detail/json_limits.hpp - JSON parsing that a hostile file cannot abuse, and
// numbers JSON can hold.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// A number as JSON, or null when it is not finite (JSON has no NaN or infinity).
MLOPS_FUNC nlohmann::json finite_json(double v);

inline constexpr std::size_t max_json_depth = 32;
inline constexpr std::size_t max_json_bytes = std::size_t{64} << 20;

/// Parses JSON, refusing input over 64 MiB or nested deeper than `max_depth` (the
/// parser's recursion cannot exhaust the stack: the callback stops it at the limit).
/// Error (with `code`) naming `source` on any failure.
template <class Error>
nlohmann::json parse_json_limited(std::string_view text, std::string_view source, errc code, std::size_t max_depth = max_json_depth) {
  if (text.size() > max_json_bytes)
    MLOPS_THROW(Error(code, fmt::format("'{}' is {} bytes of JSON; the limit is {}", source, text.size(), max_json_bytes)));
  bool too_deep = false;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (static_cast<std::size_t>(depth) > max_depth) too_deep = true;
    return !too_deep;
  };
#if MLOPS_HAS_EXCEPTIONS
  try {
    auto j = nlohmann::json::parse(text.begin(), text.end(), cb);
    if (!too_deep) return j;
  } catch (const nlohmann::json::exception& e) {
    MLOPS_THROW(Error(code, fmt::format("'{}' is not valid JSON ({})", source, e.what())));
  }
#else
  auto j = nlohmann::json::parse(text.begin(), text.end(), cb, false);
  if (j.is_discarded() && !too_deep) MLOPS_THROW(Error(code, fmt::format("'{}' is not valid JSON", source)));
  if (!too_deep) return j;
#endif
  MLOPS_THROW(Error(code, fmt::format("'{}' nests deeper than {} levels", source, max_depth)));
}

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC nlohmann::json finite_json(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
