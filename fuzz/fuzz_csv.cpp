// Fuzzes the CSV reader (parse_csv), with the default options and with ';' + no header.
#include <string_view>

#include "fuzz_common.hpp"
#include "mlops/csv.hpp"

MLOPS_FUZZ_ENTRY(fuzz_csv_one) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto f = mlops::parse_csv<double>(text);
    (void)f.describe();
  } catch (const mlops::error&) {
  }
  try {
    mlops::CsvOptions o;
    o.delimiter = ';';
    (void)mlops::parse_csv<float>(text, o);
  } catch (const mlops::error&) {
  }
  return 0;
}
