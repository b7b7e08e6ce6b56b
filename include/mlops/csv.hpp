// mlops/csv.hpp - read_csv / write_csv for DataFrame<T>.
// RFC 4180 quoting (quoted fields, doubled quotes, delimiters and newlines inside
// quotes), LF / CRLF / CR line ends, UTF-8 BOM, missing markers -> NaN, numbers by
// std::from_chars. Bad input raises parse_error naming source:line:field and quoting
// the field; no input crashes the reader.
#pragma once

#include <charconv>
#include <filesystem>
#include <istream>
#include <iterator>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "mlops/detail/atomic_file.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  bool header = true;  // first record names the columns; otherwise column_0, column_1, ...
  /// Field texts (after trimming spaces) that mean "missing" and become NaN.
  std::vector<std::string> na_values = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"};
  /// Name used in error messages when reading from a stream.
  std::string source = "<stream>";
};

namespace detail {

struct csv_field {
  std::string_view text;  // raw field text (unquoted fields) ...
  std::string owned;      // ... or the unescaped text of a quoted field
  bool quoted = false;
  std::string_view value() const noexcept { return quoted ? std::string_view(owned) : text; }
};

inline std::string quote_for_message(std::string_view s) {
  std::string out(s.substr(0, 60));
  if (s.size() > 60) out += "...";
  return "'" + out + "'";
}

/// Splits the buffer into records; calls on_record(fields, line) for each non-blank one.
template <class OnRecord>
void csv_records(std::string_view data, const CsvOptions& opt, OnRecord&& on_record) {
  if (data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0xEF && static_cast<unsigned char>(data[1]) == 0xBB &&
      static_cast<unsigned char>(data[2]) == 0xBF)
    data.remove_prefix(3);
  const char d = opt.delimiter, q = opt.quote;
  std::vector<csv_field> fields;
  std::size_t nfields = 0;
  std::size_t i = 0, line = 1;
  const std::size_t n = data.size();
  while (i < n) {
    const std::size_t record_line = line;
    nfields = 0;
    bool end_of_record = false;
    // A line holding nothing at all is skipped (blank line).
    if (data[i] == '\n' || data[i] == '\r') {
      if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') ++i;
      ++i;
      ++line;
      continue;
    }
    while (!end_of_record) {
      if (nfields == fields.size()) fields.emplace_back();
      csv_field& f = fields[nfields++];
      f.owned.clear();
      f.quoted = false;
      if (i < n && data[i] == q) {
        f.quoted = true;
        const std::size_t open_line = line;
        ++i;
        for (;;) {
          if (i >= n)
            MLOPS_THROW(parse_error(errc::csv_unclosed_quote,
                                    opt.source + ":" + std::to_string(open_line) + ":" + std::to_string(nfields) +
                                        ": a quoted field is never closed; add the closing quote character",
                                    opt.source, open_line, nfields));
          const char c = data[i];
          if (c == q) {
            if (i + 1 < n && data[i + 1] == q) {
              f.owned.push_back(q);
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n' || (c == '\r' && !(i + 1 < n && data[i + 1] == '\n'))) ++line;
          f.owned.push_back(c);
          ++i;
        }
        if (i < n && data[i] != d && data[i] != '\n' && data[i] != '\r')
          MLOPS_THROW(parse_error(errc::csv_bad_quote,
                                  opt.source + ":" + std::to_string(line) + ":" + std::to_string(nfields) +
                                      ": unexpected character " + quote_for_message(std::string_view(&data[i], 1)) +
                                      " after a closing quote; quote the whole field and double any quote inside it",
                                  opt.source, line, nfields));
      } else {
        const std::size_t start = i;
        while (i < n && data[i] != d && data[i] != '\n' && data[i] != '\r') ++i;
        f.text = data.substr(start, i - start);
      }
      if (i >= n) {
        end_of_record = true;
      } else if (data[i] == d) {
        ++i;
      } else {  // line end
        if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') ++i;
        ++i;
        ++line;
        end_of_record = true;
      }
    }
    on_record(std::span<const csv_field>(fields.data(), nfields), record_line);
  }
}

inline std::string_view trim_spaces(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
inline bool parse_number(std::string_view s, T& out) noexcept {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace detail

/// Parses CSV text already in memory.
template <scalar T = double>
DataFrame<T> parse_csv(std::string_view text, const CsvOptions& opt = {}) {
  std::vector<std::string> names;
  std::vector<std::vector<T>> cols;
  bool have_header = false;
  std::size_t records = 0;
  detail::csv_records(text, opt, [&](std::span<const detail::csv_field> fields, std::size_t line) {
    ++records;
    if (!have_header) {
      have_header = true;
      cols.resize(fields.size());
      for (std::size_t k = 0; k < fields.size(); ++k) {
        std::string name = opt.header ? std::string(detail::trim_spaces(fields[k].value())) : "column_" + std::to_string(k);
        if (name.empty()) name = "Unnamed: " + std::to_string(k);
        for (std::size_t j = 0; j < names.size(); ++j)
          if (names[j] == name)
            MLOPS_THROW(parse_error(errc::csv_duplicate_header,
                                    fmt::format("{}:{}:{}: duplicate column name '{}' (also column {}); column names must be unique",
                                                opt.source, line, k + 1, name, j + 1),
                                    opt.source, line, k + 1));
        names.push_back(std::move(name));
      }
      if (opt.header) return;
    }
    if (fields.size() != names.size())
      MLOPS_THROW(parse_error(errc::csv_ragged_row,
                              fmt::format("{}:{}: row has {} fields but the header has {}; every row needs one field per column",
                                          opt.source, line, fields.size(), names.size()),
                              opt.source, line, fields.size()));
    for (std::size_t k = 0; k < fields.size(); ++k) {
      const std::string_view v = detail::trim_spaces(fields[k].value());
      T x;
      bool missing = false;
      for (const auto& na : opt.na_values)
        if (v == na) {
          missing = true;
          break;
        }
      if (missing) {
        x = std::numeric_limits<T>::quiet_NaN();
      } else if (!detail::parse_number(v, x)) {
        MLOPS_THROW(parse_error(errc::csv_bad_number,
                                fmt::format("{}:{}:{}: column '{}': cannot read {} as a number{}; fix the value or mark it missing (empty or NA)",
                                            opt.source, line, k + 1, names[k], detail::quote_for_message(v),
                                            std::is_same_v<T, float> ? " (float)" : ""),
                                opt.source, line, k + 1));
      }
      cols[k].push_back(x);
    }
  });
  if (records == 0)
    MLOPS_THROW(parse_error(errc::csv_empty, opt.source + ": the input is empty; a CSV needs at least a header row", opt.source, 1, 0));
  return DataFrame<T>::from_columns(std::move(names), cols);
}

/// Reads a CSV file. Errors name the file, line and field.
template <scalar T = double>
DataFrame<T> read_csv(const std::filesystem::path& path, CsvOptions opt = {}) {
  const std::string text = detail::read_file(path);
  if (opt.source == "<stream>") opt.source = path.string();
  return parse_csv<T>(text, opt);
}
/// Reads CSV from a stream (opt.source names it in errors).
template <scalar T = double>
DataFrame<T> read_csv(std::istream& in, const CsvOptions& opt = {}) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_csv<T>(text, opt);
}

namespace detail {
inline void append_csv_name(std::string& out, std::string_view s, char delim) {
  const bool needs = s.find_first_of(std::string{delim, '"', '\n', '\r'}) != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!needs) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}
template <class T>
inline void append_number(std::string& out, T v) {
  if (std::isnan(v)) return;  // missing -> empty field
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}
}  // namespace detail

/// CSV text of a frame: shortest round-trip numbers (exact on reading back), NaN as
/// an empty field, names quoted where needed, LF line ends.
template <scalar T>
std::string to_csv(const DataFrame<T>& f, char delimiter = ',') {
  std::string out;
  out.reserve(f.rows() * f.cols() * 12 + 64);
  for (std::size_t c = 0; c < f.cols(); ++c) {
    if (c) out += delimiter;
    detail::append_csv_name(out, f.names()[c], delimiter);
  }
  out += '\n';
  std::vector<std::span<const T>> cols;
  for (std::size_t c = 0; c < f.cols(); ++c) cols.push_back(f.column(c));
  for (std::size_t r = 0; r < f.rows(); ++r) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c) out += delimiter;
      detail::append_number(out, cols[c][r]);
    }
    out += '\n';
  }
  return out;
}
template <scalar T>
void write_csv(const DataFrame<T>& f, std::ostream& os, char delimiter = ',') {
  const std::string s = to_csv(f, delimiter);
  os.write(s.data(), static_cast<std::streamsize>(s.size()));
}
/// Writes atomically: the previous file survives any failure.
template <scalar T>
void write_csv(const DataFrame<T>& f, const std::filesystem::path& path, char delimiter = ',') {
  detail::atomic_write_file(path, to_csv(f, delimiter));
}

MLOPS_NAMESPACE_END
