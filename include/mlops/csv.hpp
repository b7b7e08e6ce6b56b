// mlops/csv.hpp - read_csv / write_csv for DataFrame<T>.
// RFC 4180 quoting (quoted fields, doubled quotes, delimiters and newlines inside
// quotes), LF / CRLF / CR line ends, UTF-8 BOM, missing markers, a delimiter given or
// sniffed, and a type per column: inferred from the values (numbers -> numeric, ISO 8601
// dates/datetimes -> datetime, anything else -> categorical) or forced per column. Bad
// input raises parse_error naming source:line:field and quoting the field; no input
// crashes the reader.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <istream>
#include <iterator>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/csv_options.hpp"
#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/csv_reader.hpp"
#include "mlops/detail/parallel.hpp"
#include "mlops/detail/utf8.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN


/// Parses CSV text already in memory (see CsvOptions for delimiter and type rules).
template <scalar T = double>
DataFrame<T> parse_csv(std::string_view text, const CsvOptions& options = {}) {
  // The lines before the header (skip_rows, then comment lines) are cut off here; errors
  // keep the file's line numbers (first_line numbers the text's first line).
  std::size_t first_line = 1;
  if (options.skip_rows > 0 || options.comment != '\0') {
    std::string_view rest = detail::strip_bom(text);
    std::size_t skipped = 0;
    for (; skipped < options.skip_rows && !rest.empty(); ++skipped) rest = rest.substr(rest.size() - detail::after_line(rest));
    for (; options.comment != '\0' && !rest.empty() && rest.front() == options.comment; ++skipped)
      rest = rest.substr(rest.size() - detail::after_line(rest));
    if (skipped > 0) text = rest, first_line = 1 + skipped;
  }
  CsvOptions opt_copy;
  const CsvOptions* opt_p = &options;
  if (options.delimiter == '\0') {  // sniff once, for every pass
    opt_copy = options;
    opt_copy.delimiter = detail::sniff_delimiter(detail::strip_bom(text), options.quote);
    opt_p = &opt_copy;
  }
  const CsvOptions& opt = *opt_p;
  if (opt.comment != '\0' && (opt.comment == opt.quote || opt.comment == opt.delimiter || opt.comment == '\n' || opt.comment == '\r'))
    MLOPS_THROW(argument_error(errc::invalid_argument,
                               fmt::format("CsvOptions::comment {} is also the quote character, the delimiter or a line end; "
                                           "choose another (--comment)", detail::quote_for_message(std::string_view(&opt.comment, 1)))));
  std::vector<detail::csv_column_builder<T>> cols;
  std::vector<std::size_t> active;  // builders read in this pass
  bool have_header = false, first_is_index = false;
  std::size_t records = 0, header_line = 0;
  const std::size_t rows_hint = detail::csv_rows_hint(detail::strip_bom(text), opt.header);
  // Lengths of the missing-value markers (bit L: one is L bytes long; bit 63: one is 63 or
  // longer): most fields are tested against none of them.
  std::uint64_t na_lengths = 0;
  for (const auto& na : opt.na_values) na_lengths |= std::uint64_t{1} << (std::min)(na.size(), std::size_t{63});
  auto is_missing = [&](std::string_view v) {
    if (((na_lengths >> (std::min)(v.size(), std::size_t{63})) & 1u) == 0) return false;
    for (const auto& na : opt.na_values)
      if (v == na) return true;
    return false;
  };
  auto on_header = [&](std::span<const detail::csv_field> fields, std::size_t line) {
    std::unordered_set<std::string_view> seen;
    std::vector<std::string> names(fields.size());
    std::size_t numeric_names = 0;
    for (std::size_t k = 0; k < fields.size(); ++k) {
      std::string name = opt.header ? std::string(detail::trim_spaces(fields[k].value())) : "column_" + std::to_string(k);
      // Names are checked here, where they enter: everything downstream (model files,
      // cards, the registry's JSON) can then write them.
      if (name.size() > detail::csv_max_name_bytes)
        MLOPS_THROW(parse_error(errc::csv_bad_name,
                                fmt::format("{}:{}:{}: the column name is {} bytes long; the limit is {} (is the first row really a header?)",
                                            opt.source, line, k + 1, name.size(), detail::csv_max_name_bytes),
                                opt.source, line, k + 1));
      if (const auto at = detail::utf8_error_at(name); at != name.size())
        MLOPS_THROW(parse_error(errc::csv_bad_name,
                                fmt::format("{}:{}:{}: the column name is not valid UTF-8 (byte {} of it is 0x{:02x}); re-encode the file "
                                            "as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                                            opt.source, line, k + 1, at + 1, static_cast<unsigned char>(name[at])),
                                opt.source, line, k + 1));
      if (name.empty()) name = "Unnamed: " + std::to_string(k);
      if (opt.header) {
        T x;
        numeric_names += detail::parse_number(std::string_view(name), x);
      }
      names[k] = std::move(name);
    }
    for (std::size_t k = 0; k < names.size(); ++k)
      if (!seen.insert(names[k]).second) {
        const auto j = static_cast<std::size_t>(std::find(names.begin(), names.end(), names[k]) - names.begin());
        MLOPS_THROW(parse_error(errc::csv_duplicate_header,
                                fmt::format("{}:{}:{}: duplicate column name '{}' (also column {}); column names must be unique",
                                            opt.source, line, k + 1, names[k], j + 1),
                                opt.source, line, k + 1));
      }
    if (opt.header && opt.check_header && !names.empty() && numeric_names == names.size())
      MLOPS_THROW(parse_error(errc::csv_header_is_data,
                              fmt::format("{}:{}: every field of the header row is a number ({}...), so it looks like data; "
                                          "give the file a header row, or read it with CsvOptions::header = false (--no-header)",
                                          opt.source, line, detail::quote_for_message(names[0])),
                              opt.source, line, 1));
    first_is_index = opt.header && opt.detect_index && !names.empty() && names[0] == "Unnamed: 0";
    header_line = line;
    cols.resize(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
      auto& b = cols[k];
      b.name = std::move(names[k]);
      b.rows_hint = rows_hint;
      b.forced = detail::csv_type_of<T>(opt, b.name);
      if (b.forced == csv_type::skip) continue;
      active.push_back(k);
      if (b.forced == csv_type::numeric) b.decide(column_kind::numeric);
      else if (b.forced == csv_type::categorical) b.decide(column_kind::categorical);
      else if (b.forced == csv_type::datetime) b.decide(column_kind::datetime);
    }
  };
  auto put_record = [&](std::vector<detail::csv_column_builder<T>>& bs, std::span<const detail::csv_field> fields, std::size_t line) {
    if (fields.size() != bs.size()) {
      // The first row after the header: the header may be a count line (scikit-learn's
      // "569,30,malignant,benign": rows, features, labels) above rows of features + 1 fields.
      std::string hint;
      if (opt.header && records == 2 && bs.size() >= 2) {
        std::size_t n0 = 0, n1 = 0;
        if (detail::csv_count(bs[0].name, n0) && detail::csv_count(bs[1].name, n1) && n1 + 1 == fields.size()) {
          bool numbers = true;
          for (const auto& fd : fields) {
            T x;
            numbers &= detail::parse_number(detail::trim_spaces(fd.value()), x);
          }
          hint = fmt::format("; line {} looks like a count line above the {} (rows, features, labels), not a header: skip it "
                             "with CsvOptions::skip_rows = {} (--skip-rows {}){}",
                             header_line, numbers ? "data" : "header", header_line, header_line,
                             numbers ? " and read without a header (header = false, --no-header)" : "");
        }
      }
      MLOPS_THROW(parse_error(errc::csv_ragged_row,
                              fmt::format("{}:{}: row has {} fields but the header has {}; every row needs one field per column{}",
                                          opt.source, line, fields.size(), bs.size(), hint),
                              opt.source, line, fields.size()));
    }
    for (const std::size_t k : active) {
      const std::string_view v = detail::trim_spaces(fields[k].value());
      detail::csv_put(bs[k], v, is_missing(v), line, k + 1, opt);
    }
  };
  auto read_records = [&](std::string_view part, bool first_pass) {
    have_header = false;
    detail::csv_records(part, opt, [&](std::span<const detail::csv_field> fields, std::size_t line) {
      if (first_pass) ++records;
      if (!have_header) {
        have_header = true;
        if (first_pass) on_header(fields, line);
        if (opt.header) return;
      }
      put_record(cols, fields, line);
    }, first_line);
  };
  // Several threads (a large text without quotes, so every line end ends a record): the
  // first record on this one, the rest cut after line feeds into parts read at once, each
  // into its own builders with its true line numbers, then joined in order. false when a
  // part fails or the parts disagree: the caller reads the text again on one thread,
  // which gives the error, or the frame, the one-thread reader gives.
  auto read_parallel = [&](std::size_t threads) -> bool {
    const std::string_view all = detail::strip_bom(text);
    std::size_t e = 0;
    while (e < all.size() && (all[e] == '\n' || all[e] == '\r')) ++e;  // blank lines before the first record
    while (e < all.size() && all[e] != '\n' && all[e] != '\r') ++e;
    if (e < all.size() && all[e] == '\r' && e + 1 < all.size() && all[e + 1] == '\n') ++e;
    if (e < all.size()) ++e;
    read_records(text.substr(0, static_cast<std::size_t>(all.data() - text.data()) + e), true);
    const std::string_view body = all.substr(e);
    if (body.empty()) return true;
    std::vector<std::size_t> cut{0};
    for (std::size_t p = 1; p < threads; ++p) {
      const std::size_t at = body.size() / threads * p;
      if (at <= cut.back()) continue;
      const void* lf = std::memchr(body.data() + at, '\n', body.size() - at);
      if (lf == nullptr) break;
      const auto next = static_cast<std::size_t>(static_cast<const char*>(lf) - body.data()) + 1;
      if (next >= body.size()) break;
      cut.push_back(next);
    }
    cut.push_back(body.size());
    const std::size_t parts = cut.size() - 1;
    auto part_text = [&](std::size_t p) { return body.substr(cut[p], cut[p + 1] - cut[p]); };
    std::vector<std::size_t> ends(parts), first(parts), part_records(parts, 0);
    std::vector<std::vector<detail::csv_column_builder<T>>> built(parts);
#if MLOPS_HAS_EXCEPTIONS
    try {
#endif
      detail::parallel_tasks(parts, threads, [&](std::size_t p) { ends[p] = detail::csv_line_ends(part_text(p)); });
      first[0] = first_line + detail::csv_line_ends(all.substr(0, e));
      for (std::size_t p = 1; p < parts; ++p) first[p] = first[p - 1] + ends[p - 1];
      detail::parallel_tasks(parts, threads, [&](std::size_t p) {
        auto& bs = built[p];
        bs.resize(cols.size());
        for (const std::size_t k : active) {
          bs[k].name = cols[k].name;
          bs[k].forced = cols[k].forced;
          // The first part's columns become the frame's when the header holds no data: sized
          // for every row, the later parts are appended to them (one copy of those parts).
          bs[k].rows_hint = p == 0 && opt.header ? rows_hint : ends[p] + 1;
          if (cols[k].decided) bs[k].decide(cols[k].kind);  // a forced kind
        }
        detail::csv_records(part_text(p), opt, [&](std::span<const detail::csv_field> fields, std::size_t line) {
          ++part_records[p];
          put_record(bs, fields, line);
        }, first[p]);
      });
#if MLOPS_HAS_EXCEPTIONS
    } catch (...) {
      return false;
    }
#endif
    for (std::size_t p = 0; p < parts; ++p) {
      records += part_records[p];
      for (const std::size_t k : active) {
        if (p == 0 && opt.header) std::swap(cols[k], built[0][k]);  // the header record held no values
        else if (!detail::csv_merge(cols[k], built[p][k])) return false;
      }
      std::vector<detail::csv_column_builder<T>>().swap(built[p]);  // its memory back before the next part's copy
    }
    return true;
  };
  const std::size_t threads = opt.threads == 0 ? (std::max)(1u, std::thread::hardware_concurrency()) : opt.threads;
  const bool parallel = MLOPS_HAS_EXCEPTIONS && threads > 1 && text.size() >= csv_parallel_min_bytes &&
                        std::memchr(text.data(), opt.quote, text.size()) == nullptr;
  if (!parallel || !read_parallel(threads)) {
    if (parallel) cols.clear(), active.clear(), records = 0, first_is_index = false;  // start again on one thread
    read_records(text, true);
  }
  if (records == 0)
    MLOPS_THROW(parse_error(errc::csv_empty, opt.source + ": the input is empty; a CSV needs at least a header row", opt.source, 1, 0));
  // A header that is scikit-learn's count line ("150,4,setosa,versicolor,virginica": rows,
  // features, labels) above as many data rows (no header follows it) or one more (the
  // header follows it): named, with the options that read the file.
  if (opt.header && opt.check_header && cols.size() >= 2 && records >= 2) {
    std::size_t n0 = 0, n1 = 0;
    const std::size_t rows = records - 1;
    if (detail::csv_count(cols[0].name, n0) && detail::csv_count(cols[1].name, n1) && n1 + 1 == cols.size() && (n0 == rows || n0 + 1 == rows)) {
      const bool header_follows = n0 + 1 == rows;
      MLOPS_THROW(parse_error(errc::csv_header_is_data,
                              fmt::format("{}:{}: the first line ({},{},...) looks like a count line ({} rows, {} features, then labels), "
                                          "not a header: skip it with CsvOptions::skip_rows = {} (--skip-rows {}){}",
                                          opt.source, header_line, cols[0].name, cols[1].name, n0, n1, header_line, header_line,
                                          header_follows ? "" : " and read without a header (header = false, --no-header)"),
                              opt.source, header_line, 1));
    }
  }

  // Inferred columns whose values contradict their tentative kind: a few strays are an
  // error; more make the column categorical, read again from the text.
  std::vector<std::size_t> reread;
  for (const std::size_t k : active) {
    auto& b = cols[k];
    if (b.forced != csv_type::infer || !b.decided) continue;
    if (b.kind != column_kind::categorical && b.conflicts > 0) {
      if (detail::few_strays(b.conflicts, b.matched + b.conflicts))
        detail::throw_bad_value(opt, b, b.kind == column_kind::numeric, b.conflict_line, b.conflict_field, b.conflict_value,
                                fmt::format(" ({} of the column's {} values are not)", b.conflicts, b.matched + b.conflicts));
      reread.push_back(k);
    } else if (b.kind == column_kind::categorical) {
      // Mostly numbers (or dates) with a few texts: the texts are strays.
      std::size_t numbers = 0, dates = 0, total = 0, first_other = b.dict.levels.size();
      for (std::size_t l = 0; l < b.dict.levels.size(); ++l) {
        T x;
        total += b.level_counts[l];
        if (detail::parse_number(std::string_view(b.dict.levels[l]), x)) numbers += b.level_counts[l];
        else if (detail::parse_iso8601(b.dict.levels[l]).ok) dates += b.level_counts[l];
        else if (first_other == b.dict.levels.size()) first_other = l;
      }
      const std::size_t like = (std::max)(numbers, dates);
      if (first_other < b.dict.levels.size() && detail::few_strays(total - like, total))
        detail::throw_bad_value(opt, b, numbers >= dates, b.level_first[first_other].first, b.level_first[first_other].second,
                                b.dict.levels[first_other], fmt::format(" ({} of the column's {} values are not)", total - like, total));
    }
  }
  if (!reread.empty()) {
    active = reread;
    for (const std::size_t k : reread) {
      auto& b = cols[k];
      const std::string name = std::move(b.name);
      b = detail::csv_column_builder<T>{};
      b.name = name;
      b.rows_hint = rows_hint;
      b.forced = csv_type::categorical;
      b.decide(column_kind::categorical);
    }
    read_records(text, false);
  }

  DataFrame<T> f;
  for (auto& b : cols) {
    if (b.forced == csv_type::skip) continue;
    if (!b.decided) b.decide(column_kind::numeric);  // no value at all: a numeric column of missing values
    switch (b.kind) {
      case column_kind::numeric: f.add_column(std::move(b.name), b.numbers.take()); break;
      case column_kind::categorical: f.add_categorical(std::move(b.name), std::move(b.codes), std::move(b.dict.levels)); break;
      case column_kind::datetime: f.add_datetime(std::move(b.name), std::move(b.times), b.has_time); break;
    }
  }
  if (first_is_index && f.contains("Unnamed: 0")) f.set_id("Unnamed: 0");
  return f;
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
MLOPS_FUNC void append_csv_name(std::string& out, std::string_view s, char delim);
template <class T>
inline void append_number(std::string& out, T v) {
  if (std::isnan(v)) return;  // missing -> empty field
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}
}  // namespace detail

/// CSV text of a frame: shortest round-trip numbers (exact on reading back), missing
/// values as empty fields, categorical levels and names quoted where needed, datetimes
/// in ISO 8601 (dates alone when the column has no times), LF line ends.
template <scalar T>
std::string to_csv(const DataFrame<T>& f, char delimiter = ',') {
  std::string out;
  out.reserve(f.rows() * f.cols() * 12 + 64);
  for (std::size_t c = 0; c < f.cols(); ++c) {
    if (c) out += delimiter;
    detail::append_csv_name(out, f.names()[c], delimiter);
  }
  out += '\n';
  struct bound {
    column_kind kind;
    std::span<const T> numbers;
    CategoricalView cat;
    DatetimeView time;
  };
  std::vector<bound> cols;
  for (std::size_t c = 0; c < f.cols(); ++c) {
    bound b{f.kind(c), {}, {}, {}};
    if (b.kind == column_kind::numeric) b.numbers = f.column(c);
    else if (b.kind == column_kind::categorical) b.cat = f.categorical(c);
    else b.time = f.datetime(c);
    cols.push_back(b);
  }
  for (std::size_t r = 0; r < f.rows(); ++r) {
    for (std::size_t c = 0; c < cols.size(); ++c) {
      if (c) out += delimiter;
      const auto& b = cols[c];
      if (b.kind == column_kind::numeric) detail::append_number(out, b.numbers[r]);
      else if (b.kind == column_kind::categorical) detail::append_csv_name(out, b.cat.label(r), delimiter);
      else out += detail::format_iso8601(b.time.values[r], b.time.has_time);
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

// The compiled mode holds these (src/frame.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE(DataFrame<float> parse_csv<float>(std::string_view, const CsvOptions&))
MLOPS_EXTERN_TEMPLATE(DataFrame<double> parse_csv<double>(std::string_view, const CsvOptions&))
MLOPS_EXTERN_TEMPLATE(void write_csv<float>(const DataFrame<float>&, std::ostream&, char))
MLOPS_EXTERN_TEMPLATE(void write_csv<double>(const DataFrame<double>&, std::ostream&, char))

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC void append_csv_name(std::string& out, std::string_view s, char delim) {
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
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
