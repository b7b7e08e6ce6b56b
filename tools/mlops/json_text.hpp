// tools/mlops/json_text.hpp - how the command prints JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mlops_cli {

/// JSON as text, `indent` spaces a level (-1: one line). A string that is not valid UTF-8
/// prints with U+FFFD in place of the bad bytes, never an exception: every JSON the
/// command prints (reports, errors, HTTP bodies, hook arguments) goes through here.
inline std::string to_text(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mlops_cli
