// mlops/error.hpp - one error hierarchy, rooted at mlops::error, with stable ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// Stable error codes. The numeric values and the string ids never change meaning;
/// new codes are only appended.
enum class errc : std::uint16_t {
  invalid_argument = 1,   // "argument.invalid"
  io = 2,                 // "io.failed"
  csv_empty = 10,         // "csv.empty"
  csv_ragged_row = 11,    // "csv.ragged_row"
  csv_unclosed_quote = 12,// "csv.unclosed_quote"
  csv_bad_number = 13,    // "csv.bad_number"
  csv_duplicate_header = 14, // "csv.duplicate_header"
  csv_bad_quote = 15,     // "csv.bad_quote"
  csv_header_is_data = 16, // "csv.header_is_data"
  csv_bad_datetime = 17,  // "csv.bad_datetime"
  csv_bad_name = 18,      // "csv.bad_name"
  schema_missing_column = 20, // "schema.missing_column"
  schema_mismatch = 21,   // "schema.mismatch"
  schema_column_type = 22, // "schema.column_type"
  data_empty = 30,        // "data.empty"
  data_non_finite = 31,   // "data.non_finite"
  data_shape = 32,        // "data.shape"
  data_single_class = 33, // "data.single_class"
  data_labels = 34,       // "data.labels"
  format_bad_magic = 40,  // "format.bad_magic"
  format_version = 41,    // "format.version"
  format_scalar_type = 42,// "format.scalar_type"
  format_truncated = 43,  // "format.truncated"
  format_checksum = 44,   // "format.checksum"
  format_corrupt = 45,    // "format.corrupt"
  training_diverged = 50, // "train.diverged"
  training_separable = 51, // "train.separable"
  registry_not_found = 60, // "registry.not_found"
  registry_bad_name = 61,  // "registry.bad_name"
  registry_alias = 62,     // "registry.alias"
  registry_in_use = 63,    // "registry.in_use"
  registry_corrupt = 64,   // "registry.corrupt"
  signature_missing = 70,  // "signature.missing"
  signature_invalid = 71,  // "signature.invalid"
  signature_key = 72,      // "signature.key"
};

/// The stable, dotted string id of a code (what scripts and logs should match on).
constexpr std::string_view error_id(errc c) noexcept {
  switch (c) {
    case errc::invalid_argument: return "argument.invalid";
    case errc::io: return "io.failed";
    case errc::csv_empty: return "csv.empty";
    case errc::csv_ragged_row: return "csv.ragged_row";
    case errc::csv_unclosed_quote: return "csv.unclosed_quote";
    case errc::csv_bad_number: return "csv.bad_number";
    case errc::csv_duplicate_header: return "csv.duplicate_header";
    case errc::csv_bad_quote: return "csv.bad_quote";
    case errc::csv_header_is_data: return "csv.header_is_data";
    case errc::csv_bad_datetime: return "csv.bad_datetime";
    case errc::csv_bad_name: return "csv.bad_name";
    case errc::schema_missing_column: return "schema.missing_column";
    case errc::schema_mismatch: return "schema.mismatch";
    case errc::schema_column_type: return "schema.column_type";
    case errc::data_empty: return "data.empty";
    case errc::data_non_finite: return "data.non_finite";
    case errc::data_shape: return "data.shape";
    case errc::data_single_class: return "data.single_class";
    case errc::data_labels: return "data.labels";
    case errc::format_bad_magic: return "format.bad_magic";
    case errc::format_version: return "format.version";
    case errc::format_scalar_type: return "format.scalar_type";
    case errc::format_truncated: return "format.truncated";
    case errc::format_checksum: return "format.checksum";
    case errc::format_corrupt: return "format.corrupt";
    case errc::training_diverged: return "train.diverged";
    case errc::training_separable: return "train.separable";
    case errc::registry_not_found: return "registry.not_found";
    case errc::registry_bad_name: return "registry.bad_name";
    case errc::registry_alias: return "registry.alias";
    case errc::registry_in_use: return "registry.in_use";
    case errc::registry_corrupt: return "registry.corrupt";
    case errc::signature_missing: return "signature.missing";
    case errc::signature_invalid: return "signature.invalid";
    case errc::signature_key: return "signature.key";
  }
  return "unknown";
}

namespace detail {
/// "[id] message", built in one buffer (GCC 12's -Wrestrict misfires on the chained
/// operator+ of std::string at -O2: GCC bug 105329).
inline std::string error_text(errc code, const std::string& message) {
  const std::string_view id = error_id(code);
  std::string s(id.size() + 3 + message.size(), ' ');
  s[0] = '[';
  id.copy(s.data() + 1, id.size());
  s[id.size() + 1] = ']';
  message.copy(s.data() + id.size() + 3, message.size());
  return s;
}
}  // namespace detail

/// Root of every error mlops raises. what() reads "[id] message".
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& message) : std::runtime_error(detail::error_text(code, message)), code_(code) {}
  errc code() const noexcept { return code_; }
  std::string_view id() const noexcept { return error_id(code_); }

 private:
  errc code_;
};

/// A caller passed an argument outside its domain (negative k, unknown option...).
class argument_error : public error {
 public:
  using error::error;
};
/// Reading or writing a file failed at the operating-system level.
class io_error : public error {
 public:
  using error::error;
};
/// Text input (CSV) could not be parsed; carries where.
class parse_error : public error {
 public:
  parse_error(errc code, const std::string& message, std::string source, std::size_t line, std::size_t column)
      : error(code, message), source_(std::move(source)), line_(line), column_(column) {}
  const std::string& source() const noexcept { return source_; }
  std::size_t line() const noexcept { return line_; }      // 1-based
  std::size_t column() const noexcept { return column_; }  // 1-based field index
 private:
  std::string source_;
  std::size_t line_;
  std::size_t column_;
};
/// Columns missing, extra or of the wrong shape for a fitted object.
class schema_error : public error {
 public:
  using error::error;
};
/// Data unusable for the requested computation: empty, NaN/Inf, mismatched lengths.
class data_error : public error {
 public:
  using error::error;
};
/// Training could not produce a usable model (diverged, unbounded optimum).
class training_error : public error {
 public:
  using error::error;
};
/// A saved file is not a valid mlops file (bad magic, version, checksum, truncation).
class format_error : public error {
 public:
  using error::error;
};

/// The model registry: unknown name/version/alias, an invalid name, an alias without a
/// previous holder, a version an alias still needs, a damaged registry file.
class registry_error : public error {
 public:
  using error::error;
};

/// Model signing (mlops/io/signing.hpp): a version or file without a signature where one
/// is required, a signature that does not verify with a trusted key, a damaged key file.
class signature_error : public error {
 public:
  using error::error;
};

/// Called (then abort) when an error is raised in a build without exceptions.
using error_handler = void (*)(const error& e);

namespace detail {
inline void default_error_handler(const error& e) { std::fprintf(stderr, "mlops: fatal: %s\n", e.what()); }
inline error_handler& error_handler_slot() noexcept {
  static error_handler handler = &default_error_handler;
  return handler;
}
[[noreturn]] inline void fail_without_exceptions(const error& e) noexcept {
  error_handler_slot()(e);
  std::abort();
}
}  // namespace detail

/// Install the handler used when exceptions are disabled; returns the previous one.
inline error_handler set_error_handler(error_handler h) noexcept {
  error_handler old = detail::error_handler_slot();
  detail::error_handler_slot() = h ? h : &detail::default_error_handler;
  return old;
}

MLOPS_NAMESPACE_END
