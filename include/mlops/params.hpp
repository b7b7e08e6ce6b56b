// mlops/params.hpp - parameters by name: the values a grid, the command line and
// set_param pass to steps and trainers, and the checked conversions every owner uses.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN

/// A parameter value: a number (booleans as 0/1) or a word (an enum such as "median").
using param_value = std::variant<double, std::string>;
/// A trainer's parameters by name, in an order that set_param can replay.
using param_list = std::vector<std::pair<std::string, param_value>>;

/// "1.5" -> 1.5, "inf" -> infinity, "median" -> "median" (the command line's grid values).
MLOPS_FUNC param_value parse_param_value(std::string_view text);
MLOPS_FUNC std::string to_string(const param_value& v);

namespace detail {
[[noreturn]] inline void unknown_param(std::string_view owner, std::string_view name, std::string_view known) {
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{} has no parameter '{}'; it has: {}", owner, name, known)));
}
MLOPS_FUNC double param_number(std::string_view name, const param_value& v);
MLOPS_FUNC std::size_t param_count(std::string_view name, const param_value& v);
MLOPS_FUNC bool param_bool(std::string_view name, const param_value& v);
MLOPS_FUNC std::string_view param_word(std::string_view name, const param_value& v);
template <class E>
E param_enum(std::string_view name, const param_value& v, std::initializer_list<std::pair<std::string_view, E>> choices) {
  const auto w = param_word(name, v);
  std::string all;
  for (const auto& [k, e] : choices) {
    if (k == w) return e;
    all += all.empty() ? std::string(k) : ", " + std::string(k);
  }
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}' = '{}': choose from {}", name, w, all)));
}
}  // namespace detail

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC param_value parse_param_value(std::string_view text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (r.ec == std::errc() && r.ptr == end && !text.empty()) return v;
  if (text == "inf" || text == "infinity") return std::numeric_limits<double>::infinity();
  if (text == "true") return 1.0;
  if (text == "false") return 0.0;
  return std::string(text);
}

MLOPS_FUNC std::string to_string(const param_value& v) {
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return std::get<std::string>(v);
}

namespace detail {
MLOPS_FUNC double param_number(std::string_view name, const param_value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}' takes a number, not '{}'", name, std::get<std::string>(v))));
}

MLOPS_FUNC std::size_t param_count(std::string_view name, const param_value& v) {
  const double d = param_number(name, v);
  if (!(d >= 0 && d <= 1e15 && d == std::floor(d)))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}' takes a whole number >= 0, not {}", name, d)));
  return static_cast<std::size_t>(d);
}

MLOPS_FUNC bool param_bool(std::string_view name, const param_value& v) {
  const double d = param_number(name, v);
  if (d != 0 && d != 1)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}' takes true/false (1/0), not {}", name, d)));
  return d != 0;
}

MLOPS_FUNC std::string_view param_word(std::string_view name, const param_value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("parameter '{}' takes a word, not the number {}", name, std::get<double>(v))));
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
