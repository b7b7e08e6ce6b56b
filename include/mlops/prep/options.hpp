// mlops/prep/options.hpp - the enumerations among the common steps' options that the
// pipeline builder's shorthands take (Pipeline::impute, Pipeline::drop_outliers_iqr),
// with their names. Light on purpose: the builder includes it, not the step headers.
#pragma once

#include <cstdint>
#include <string_view>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// How SimpleImputer fills a missing value (prep/impute.hpp).
enum class impute_strategy : std::uint8_t { mean = 1, median = 2, constant = 3 };

constexpr std::string_view to_string(impute_strategy s) noexcept {
  switch (s) {
    case impute_strategy::mean: return "mean";
    case impute_strategy::median: return "median";
    case impute_strategy::constant: return "constant";
  }
  return "?";
}

/// What a fitted IqrOutlierFilter does to a value outside its fences on new data
/// (prep/outliers.hpp); and whether a column whose IQR is zero gets fences.
enum class outlier_action : std::uint8_t { clip = 1, flag = 2, pass = 3 };
enum class zero_iqr_policy : std::uint8_t { skip = 1, apply = 2 };

constexpr std::string_view to_string(outlier_action a) noexcept {
  switch (a) {
    case outlier_action::clip: return "clip";
    case outlier_action::flag: return "flag";
    case outlier_action::pass: return "pass";
  }
  return "?";
}

MLOPS_NAMESPACE_END
