// mlops/csv_options.hpp - how read_csv reads a text: delimiter, quotes, header, missing
// markers, a type per column, threads. Data only (the reader is in csv.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// How read_csv treats a column.
enum class csv_type : std::uint8_t {
  infer = 0,    // from the values (see CsvOptions)
  numeric = 1,  // every non-missing value must be a number (csv.bad_number otherwise)
  categorical = 2,
  datetime = 3,  // every non-missing value must be an ISO 8601 date or datetime (csv.bad_datetime otherwise)
  skip = 4,      // not read into the frame
};

struct CsvOptions {
  /// Field delimiter; '\0' sniffs it from the first lines among , tab ; | and space.
  char delimiter = '\0';
  char quote = '"';
  bool header = true;  // first record names the columns; otherwise column_0, column_1, ...
  /// Lines skipped at the start of the text, before the header: a preamble such as
  /// scikit-learn's count line ("569,30,malignant,benign"). Physical lines (LF, CRLF or a
  /// lone CR end one); error messages keep the file's line numbers.
  std::size_t skip_rows = 0;
  /// Lines whose first character is this one are skipped wherever they are ('\0': none;
  /// e.g. '#'). Only whole lines: a comment character inside a line is data.
  char comment = '\0';
  /// Field texts (after trimming spaces) that mean "missing".
  std::vector<std::string> na_values = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"};
  /// Name used in error messages when reading from a stream.
  std::string source = "<stream>";
  /// Per-column type, by header name (columns not named here get default_type).
  std::map<std::string, csv_type, std::less<>> column_types{};
  /// infer: a column whose values are all numbers (or missing) is numeric, all ISO 8601
  /// dates is datetime, anything else categorical, except that a column of numbers (or
  /// dates) with a few stray texts (at most 1 in 20 of its values) is an error naming the
  /// first stray value: fix it, list it in na_values, or force the column's type.
  /// numeric: every column must be numbers (the reader of mlops 0.1).
  csv_type default_type = csv_type::infer;
  /// A first column whose header is empty or "Unnamed: 0" (the index pandas writes) is
  /// marked as an id column (DataFrame::is_id): kept, but never a default feature.
  bool detect_index = true;
  /// A header row whose every field is a number is refused (csv.header_is_data): it is
  /// almost surely data. false accepts such names.
  bool check_header = true;
  /// Threads that parse a large text (0: one per hardware thread). A text of at least
  /// csv_parallel_min_bytes with no quote character is cut at line ends and its parts
  /// parsed at once, then joined in order: the frame, and any error (with its line), are
  /// the one-thread reader's. Columns whose parts disagree on a kind, or hold stray
  /// values, are read again on one thread.
  std::size_t threads = 1;
};

/// The smallest text parse_csv splits across threads (CsvOptions::threads).
inline constexpr std::size_t csv_parallel_min_bytes = std::size_t{1} << 20;

MLOPS_NAMESPACE_END
