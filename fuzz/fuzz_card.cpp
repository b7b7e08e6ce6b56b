// Fuzzes the JSON model card loader (io::parse_model_card: depth and size limits, types).
#include <string_view>

#include "fuzz_common.hpp"
#include "mlops/io/card.hpp"

MLOPS_FUZZ_ENTRY(fuzz_card_one) {
  try {
    (void)mlops::io::parse_model_card(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const mlops::error&) {
  }
  return 0;
}
