// Fuzzes the CSV reader (parse_csv): inferred types and a sniffed delimiter (then the
// writer and the table printer on what was read), and ';' read as numbers.
#include <string_view>

#include "fuzz_common.hpp"
#include "mlops/csv.hpp"

MLOPS_FUZZ_ENTRY(fuzz_csv_one) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto f = mlops::parse_csv<double>(text);  // inferred types, sniffed delimiter
    (void)f.describe();
    (void)mlops::to_csv(f);
    (void)fmt::format("{}", f);
  } catch (const mlops::error&) {
  }
  try {
    mlops::CsvOptions o;
    o.delimiter = ';';
    o.default_type = mlops::csv_type::numeric;
    (void)mlops::parse_csv<float>(text, o);
  } catch (const mlops::error&) {
  }
  return 0;
}
