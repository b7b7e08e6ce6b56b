// mlops/detail/csv_reader.hpp - the pieces of read_csv (internal): records and fields,
// numbers, the column builders that infer a kind while reading, and joining the builders
// of a text's parts read on several threads. parse_csv (csv.hpp) puts them together.
#pragma once

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/csv_options.hpp"
#include "mlops/error.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

struct csv_field {
  std::string_view text;  // raw field text (unquoted fields) ...
  std::string owned;      // ... or the unescaped text of a quoted field
  bool quoted = false;
  std::string_view value() const noexcept { return quoted ? std::string_view(owned) : text; }
};

MLOPS_FUNC std::string quote_for_message(std::string_view s);

/// `data` without its leading byte-order marks (every one: a file converted to UTF-8
/// twice carries two, and the second would otherwise start the first column's name).
inline std::string_view strip_bom(std::string_view data) noexcept {
  while (data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0xEF && static_cast<unsigned char>(data[1]) == 0xBB &&
         static_cast<unsigned char>(data[2]) == 0xBF)
    data.remove_prefix(3);
  return data;
}

/// The longest column name read from a header, in bytes.
inline constexpr std::size_t csv_max_name_bytes = 4096;

/// The delimiter of `data`: among , tab ; | and space (in that order of preference), the
/// first that occurs the same non-zero number of times, outside quotes, on each of the
/// first lines (up to 50 records or 64 KiB); else the one most frequent on the first
/// line; ',' when none occurs.
MLOPS_FUNC char sniff_delimiter(std::string_view data, char quote) noexcept;

/// The first position at or after i holding the delimiter d, a line feed or a carriage
/// return (data.size() when none): eight bytes at a time on little-endian machines (the
/// lowest byte a word's zero-byte test flags is the first match: a false flag can only
/// sit above a true one).
inline std::size_t field_end(std::string_view data, std::size_t i, char d) noexcept {
  const std::size_t n = data.size();
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const std::uint64_t dd = ones * static_cast<unsigned char>(d), lf = ones * '\n', cr = ones * '\r';
    auto zero_bytes = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, data.data() + i, 8);
      const std::uint64_t t = zero_bytes(w ^ dd) | zero_bytes(w ^ lf) | zero_bytes(w ^ cr);
      if (t != 0) return i + static_cast<std::size_t>(std::countr_zero(t) >> 3);
    }
  }
  while (i < n && data[i] != d && data[i] != '\n' && data[i] != '\r') ++i;
  return i;
}

/// Whether s is a plain non-negative integer (a count line's field), and its value.
inline bool csv_count(std::string_view s, std::size_t& v) noexcept {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

/// The length of what follows the first line of s (its end: LF, CRLF or a lone CR): 0 when
/// s is one line.
inline std::size_t after_line(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && s[i] != '\n' && s[i] != '\r') ++i;
  if (i < s.size() && s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
  return i < s.size() ? s.size() - i - 1 : 0;
}

/// Splits the buffer into records; calls on_record(fields, line) for each non-blank one
/// that is not a comment line (CsvOptions::comment).
/// `first_line` numbers the buffer's first line (a part of a larger text); a byte-order
/// mark is skipped only at the text's start (first_line 1).
template <class OnRecord>
void csv_records(std::string_view data, const CsvOptions& opt, OnRecord&& on_record, std::size_t first_line = 1) {
  if (first_line == 1) data = strip_bom(data);
  const char d = opt.delimiter == '\0' ? sniff_delimiter(data, opt.quote) : opt.delimiter, q = opt.quote;
  std::vector<csv_field> fields;
  std::size_t nfields = 0;
  std::size_t i = 0, line = first_line;
  const std::size_t n = data.size();
  while (i < n) {
    const std::size_t record_line = line;
    nfields = 0;
    bool end_of_record = false;
    // A line holding nothing at all is skipped (blank line), and so is a comment line.
    if (data[i] == '\n' || data[i] == '\r') {
      if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') ++i;
      ++i;
      ++line;
      continue;
    }
    if (opt.comment != '\0' && data[i] == opt.comment) {
      while (i < n && data[i] != '\n' && data[i] != '\r') ++i;
      if (i < n) {
        if (data[i] == '\r' && i + 1 < n && data[i + 1] == '\n') ++i;
        ++i;
        ++line;
      }
      continue;
    }
    while (!end_of_record) {
      if (nfields == fields.size()) fields.emplace_back();
      csv_field& f = fields[nfields++];
      f.quoted = false;
      if (i < n && data[i] == q) {
        f.quoted = true;
        f.owned.clear();
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
        i = field_end(data, i, d);
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
  if (s.empty() || (s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t')) return s;  // the usual field
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

enum class number_parse : std::uint8_t { ok, not_a_number, out_of_range };

/// A plain decimal in the whole of s ([-]digits[.digits][e[+-]digits]) whose digits fit
/// in 53 bits and whose power of ten is at most 22 either way, as the correctly rounded
/// double: both the digits and the power are exact doubles, so one multiplication or
/// division rounds once (Clinger's fast path; from_chars gives the same bits). false
/// for anything else, which from_chars then reads.
inline bool parse_simple_decimal(std::string_view s, double& out) noexcept {
  const char* p = s.data();
  const char* const end = p + s.size();
  const bool negative = p != end && *p == '-';
  p += negative;
  std::uint64_t m = 0;
  const char* const int_start = p;
  for (; p != end && static_cast<unsigned>(*p - '0') < 10; ++p) m = m * 10 + static_cast<unsigned>(*p - '0');
  std::ptrdiff_t digits = p - int_start;
  int scale = 0;
  if (p != end && *p == '.') {
    const char* const frac_start = ++p;
    for (; p != end && static_cast<unsigned>(*p - '0') < 10; ++p) m = m * 10 + static_cast<unsigned>(*p - '0');
    digits += p - frac_start;
    scale = -static_cast<int>((std::min)(p - frac_start, std::ptrdiff_t{64}));
  }
  if (digits == 0 || digits > 19) return false;  // no digits, or m may have wrapped
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool down = p != end && *p == '-';
    p += (p != end && (*p == '-' || *p == '+'));
    int e = 0, ed = 0;
    for (; p != end && static_cast<unsigned>(*p - '0') < 10 && ed < 4; ++p, ++ed) e = e * 10 + (*p - '0');
    if (ed == 0) return false;
    scale += down ? -e : e;
  }
  if (p != end || m > (std::uint64_t{1} << 53) || scale < -22 || scale > 22) return false;
  static constexpr double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const double v = static_cast<double>(m);
  out = scale < 0 ? v / pow10[-scale] : v * pow10[scale];
  if (negative) out = -out;
  return true;
}

/// A number in the whole of s: an optional sign (one), digits, a fraction, an exponent,
/// inf/infinity/nan. "+-1" and "--1" are not numbers.
template <class T>
inline number_parse parse_number_checked(std::string_view s, T& out) noexcept {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) return number_parse::not_a_number;
  }
  if (s.empty()) return number_parse::not_a_number;
  if constexpr (std::is_same_v<T, double>)
    if (parse_simple_decimal(s, out)) return number_parse::ok;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ptr != s.data() + s.size()) return number_parse::not_a_number;
  if (r.ec == std::errc::result_out_of_range) return number_parse::out_of_range;
  return r.ec == std::errc() ? number_parse::ok : number_parse::not_a_number;
}
template <class T>
inline bool parse_number(std::string_view s, T& out) noexcept {
  return parse_number_checked(s, out) == number_parse::ok;
}

struct transparent_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// A numeric column being read, written in place into column storage sized for the rows
/// the text holds (csv_rows_hint); a longer file grows it by half. When the hint was
/// exact, take() moves the storage into the frame: no copy.
template <class T>
struct csv_number_column {
  column_storage<T> store = make_column<T>(0);
  T* data = nullptr;    // store.data()
  std::size_t cap = 0;  // store.size()
  std::size_t n = 0;
  std::size_t size() const noexcept { return n; }
  void reserve(std::size_t rows) {
    if (rows > cap) grow_to(rows);
  }
  void push_back(T x) {
    if (n == cap) [[unlikely]]
      grow_to((std::max)(std::size_t{64}, cap + cap / 2));
    data[n++] = x;
  }
  void append(const T* v, std::size_t m) {
    if (n + m > cap) grow_to((std::max)(n + m, cap + cap / 2));
    std::copy_n(v, m, data + n);
    n += m;
  }
  void grow_to(std::size_t capacity) {
    auto next = make_column<T>(capacity);
    std::copy_n(store.data(), n, next.data());
    store = std::move(next);
    data = store.data();
    cap = store.size();
  }
  column_storage<T> take() {
    if (n != cap) grow_to(n);  // exactly n values
    n = 0;
    data = nullptr;
    cap = 0;
    return std::exchange(store, make_column<T>(0));
  }
};

/// A hash of a short text, eight bytes at a time (the level dictionary's).
inline std::uint64_t text_hash(std::string_view s) noexcept {
  std::uint64_t h = 0x9E3779B97F4A7C15u ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdu;
    h ^= h >> 32;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53u;
  }
  return h ^ (h >> 29);
}

/// A column's levels while reading: their texts in order of first appearance and an open
/// addressing table (linear probing, at most half full) from text to code.
struct csv_level_table {
  std::vector<std::string> levels;
  std::vector<std::uint64_t> hashes;  // per level
  std::vector<std::int32_t> slots;    // a code, or -1
  /// The code of v, or -1.
  std::int32_t find(std::string_view v, std::uint64_t h) const noexcept {
    if (slots.empty()) return -1;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::int32_t c = slots[i];
      if (c < 0) return -1;
      if (hashes[static_cast<std::size_t>(c)] == h && levels[static_cast<std::size_t>(c)] == v) return c;
    }
  }
  /// Adds v (not present) as the next code.
  std::int32_t add(std::string_view v, std::uint64_t h) {
    const auto c = static_cast<std::int32_t>(levels.size());
    levels.emplace_back(v);
    hashes.push_back(h);
    if (2 * levels.size() > slots.size()) {
      slots.assign(std::bit_ceil((std::max)(std::size_t{16}, 4 * levels.size())), -1);  // a power of two: the mask
      for (std::size_t k = 0; k < levels.size(); ++k) place(hashes[k], static_cast<std::int32_t>(k));
    } else {
      place(h, c);
    }
    return c;
  }

 private:
  void place(std::uint64_t h, std::int32_t c) noexcept {
    const std::size_t mask = slots.size() - 1;
    std::size_t i = h & mask;
    while (slots[i] >= 0) i = (i + 1) & mask;
    slots[i] = c;
  }
};

/// The data records a CSV text holds when no field spans lines and no line is blank (then
/// fewer): its line feeds, less the header's, plus an unterminated last line. Columns are
/// sized by it.
inline std::size_t csv_rows_hint(std::string_view text, bool header) noexcept {
  if (text.empty()) return 0;  // its data() may be null, which memchr must not see
  std::size_t lines = 0;
  for (const char* p = text.data(), *end = text.data() + text.size();
       (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr; ++p)
    ++lines;
  if (!text.empty() && text.back() != '\n') ++lines;
  return header && lines > 0 ? lines - 1 : lines;
}

/// One column while reading: the store of its (tentative) kind, and what contradicted it.
template <class T>
struct csv_column_builder {
  std::string name;
  csv_type forced = csv_type::infer;  // infer, or the kind every value must have
  bool decided = false;               // the kind is known (forced, or set by the first value)
  column_kind kind = column_kind::numeric;
  std::size_t leading_missing = 0;    // missing values before the kind was decided
  std::size_t rows_hint = 0;          // the rows the text likely holds (csv_rows_hint)
  csv_number_column<T> numbers;
  std::vector<std::int32_t> codes;
  csv_level_table dict;                   // the levels, in order of first appearance
  std::vector<std::size_t> level_counts;
  std::vector<std::pair<std::size_t, std::size_t>> level_first;  // (line, field) where each level first appears
  std::vector<std::int64_t> times;
  bool has_time = false;
  std::size_t matched = 0, conflicts = 0;  // values of the kind / values that are not (inferred columns)
  std::size_t conflict_line = 0, conflict_field = 0;
  std::string conflict_value;

  void decide(column_kind k) {
    decided = true;
    kind = k;
    switch (kind) {  // sized once (pages are touched only as values are written)
      case column_kind::numeric: numbers.reserve(rows_hint); break;
      case column_kind::categorical: codes.reserve(rows_hint); break;
      case column_kind::datetime: times.reserve(rows_hint); break;
    }
    for (std::size_t r = 0; r < leading_missing; ++r) push_missing();
  }
  void push_missing() {
    if (!decided) {
      ++leading_missing;
      return;
    }
    switch (kind) {
      case column_kind::numeric: numbers.push_back(std::numeric_limits<T>::quiet_NaN()); break;
      case column_kind::categorical: codes.push_back(CategoricalView::missing); break;
      case column_kind::datetime: times.push_back(missing_time); break;
    }
  }
  void push_level(std::string_view v, std::size_t line, std::size_t field) {
    const std::uint64_t h = text_hash(v);
    std::int32_t code = dict.find(v, h);
    if (code < 0) {
      if (dict.levels.size() >= static_cast<std::size_t>((std::numeric_limits<std::int32_t>::max)()))
        MLOPS_THROW(parse_error(errc::data_shape, fmt::format("column '{}': more than 2^31 - 1 distinct values", name), "", line, field));
      code = dict.add(v, h);
      level_counts.push_back(0);
      level_first.emplace_back(line, field);
    }
    ++level_counts[static_cast<std::size_t>(code)];
    codes.push_back(code);
  }
  void conflict(std::string_view v, std::size_t line, std::size_t field) {
    if (conflicts++ == 0) conflict_line = line, conflict_field = field, conflict_value = std::string(v.substr(0, 200));
    push_missing();
  }
};

/// A column of numbers or dates with at most this share of other texts is taken to have
/// stray values (an error naming the first); with more, it is categorical.
inline bool few_strays(std::size_t strays, std::size_t total) noexcept { return strays > 0 && strays * 20 <= total; }

template <class T>
[[noreturn]] void throw_bad_value(const CsvOptions& opt, const csv_column_builder<T>& b, bool as_number, std::size_t line,
                                  std::size_t field, std::string_view value, std::string_view why) {
  MLOPS_THROW(parse_error(
      as_number ? errc::csv_bad_number : errc::csv_bad_datetime,
      fmt::format("{}:{}:{}: column '{}': cannot read {} as {}{}; fix the value, list it as missing (CsvOptions::na_values, "
                  "--na), or read the column as text (CsvOptions::column_types, --categorical {})",
                  opt.source, line, field, b.name, quote_for_message(value),
                  as_number ? (std::is_same_v<T, float> ? "a number (float)" : "a number") : "an ISO 8601 date (YYYY-MM-DD[ HH:MM[:SS]])",
                  why, b.name),
      opt.source, line, field));
}

/// Reads one field into its column. Throws on a value a forced type cannot hold.
template <class T>
void csv_put(csv_column_builder<T>& b, std::string_view v, bool missing, std::size_t line, std::size_t field, const CsvOptions& opt) {
  if (missing) {
    b.push_missing();
    return;
  }
  if (!b.decided) {  // the first value decides an inferred column's tentative kind
    T x;
    const auto p = parse_number_checked(v, x);
    if (p == number_parse::out_of_range) throw_bad_value(opt, b, true, line, field, v, " (out of range)");
    if (p == number_parse::ok) b.decide(column_kind::numeric);
    else if (parse_iso8601(v).ok) b.decide(column_kind::datetime);
    else b.decide(column_kind::categorical);
  }
  switch (b.kind) {
    case column_kind::numeric: {
      T x;
      const auto p = parse_number_checked(v, x);
      if (p == number_parse::ok) {
        b.numbers.push_back(x);
        ++b.matched;
      } else if (p == number_parse::out_of_range) {
        throw_bad_value(opt, b, true, line, field, v, " (out of range)");
      } else if (b.forced == csv_type::numeric) {
        throw_bad_value(opt, b, true, line, field, v, "");
      } else {
        b.conflict(v, line, field);
      }
      break;
    }
    case column_kind::datetime: {
      const auto t = parse_iso8601(v);
      if (t.ok) {
        b.times.push_back(t.micros);
        b.has_time |= t.has_time;
        ++b.matched;
      } else if (b.forced == csv_type::datetime) {
        throw_bad_value(opt, b, false, line, field, v, "");
      } else {
        b.conflict(v, line, field);
      }
      break;
    }
    case column_kind::categorical: b.push_level(v, line, field); break;
  }
}

/// Appends what `src` read (a later part of the text) to `dst`, as if dst had gone on
/// reading: missing values before a kind was known, numbers, dates, levels (new ones
/// after dst's, in src's order of first appearance). false, with dst partly changed, when
/// the parts disagree on the column's kind or either holds stray values: the text is then
/// read again on one thread.
template <class T>
bool csv_merge(csv_column_builder<T>& dst, const csv_column_builder<T>& src) {
  if (dst.conflicts > 0 || src.conflicts > 0) return false;
  if (!src.decided) {
    for (std::size_t r = 0; r < src.leading_missing; ++r) dst.push_missing();
    return true;
  }
  if (!dst.decided) dst.decide(src.kind);
  else if (dst.kind != src.kind) return false;
  dst.matched += src.matched;
  switch (src.kind) {
    case column_kind::numeric: dst.numbers.append(src.numbers.data, src.numbers.n); break;
    case column_kind::datetime:
      dst.times.insert(dst.times.end(), src.times.begin(), src.times.end());
      dst.has_time |= src.has_time;
      break;
    case column_kind::categorical: {
      std::vector<std::int32_t> code_of(src.dict.levels.size());
      for (std::size_t l = 0; l < code_of.size(); ++l) {
        const std::string_view v = src.dict.levels[l];
        const std::uint64_t h = src.dict.hashes[l];
        std::int32_t c = dst.dict.find(v, h);
        if (c < 0) {
          c = dst.dict.add(v, h);
          dst.level_counts.push_back(0);
          dst.level_first.push_back(src.level_first[l]);
        }
        dst.level_counts[static_cast<std::size_t>(c)] += src.level_counts[l];
        code_of[l] = c;
      }
      dst.codes.reserve(dst.codes.size() + src.codes.size());
      for (const std::int32_t c : src.codes) dst.codes.push_back(c < 0 ? c : code_of[static_cast<std::size_t>(c)]);
      break;
    }
  }
  return true;
}

/// The line ends csv_records counts in a text without quoted fields: LF, CRLF, lone CR.
inline std::size_t csv_line_ends(std::string_view s) noexcept {
  if (s.empty()) return 0;
  std::size_t ends = 0;
  const char* const end = s.data() + s.size();
  for (const char* p = s.data(); (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr; ++p)
    ++ends;
  for (const char* p = s.data(); (p = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)))) != nullptr; ++p)
    ends += p + 1 == end || p[1] != '\n';
  return ends;
}

template <class T>
csv_type csv_type_of(const CsvOptions& opt, std::string_view name) {
  const auto it = opt.column_types.find(name);
  return it != opt.column_types.end() ? it->second : opt.default_type;
}

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC std::string quote_for_message(std::string_view s) {
  std::string out(s.substr(0, 60));
  if (s.size() > 60) out += "...";
  return "'" + out + "'";
}

MLOPS_FUNC char sniff_delimiter(std::string_view data, char quote) noexcept {
  static constexpr char candidates[] = {',', '\t', ';', '|', ' '};
  constexpr std::size_t max_lines = 50, max_bytes = 64 * 1024;
  std::size_t counts[max_lines][5] = {};
  std::size_t lines = 0;
  bool in_quote = false, line_has_text = false;
  const std::size_t n = (std::min)(data.size(), max_bytes);
  const bool truncated = n < data.size();
  for (std::size_t i = 0; i < n && lines < max_lines; ++i) {
    const char c = data[i];
    if (c == quote) {
      in_quote = !in_quote;
      line_has_text = true;
      continue;
    }
    if (in_quote) continue;
    if (c == '\n' || c == '\r') {
      if (line_has_text) ++lines;
      line_has_text = false;
      continue;
    }
    line_has_text = true;
    for (std::size_t k = 0; k < 5; ++k) counts[lines][k] += c == candidates[k];
  }
  if (line_has_text && !truncated && lines < max_lines) ++lines;  // a last line without a newline
  if (lines == 0) return ',';
  for (std::size_t k = 0; k < 5; ++k) {
    bool same = counts[0][k] > 0;
    for (std::size_t l = 1; same && l < lines; ++l) same = counts[l][k] == counts[0][k];
    if (same) return candidates[k];
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < 4; ++k)
    if (counts[0][k] > counts[0][best]) best = k;
  return counts[0][best] > 0 ? candidates[best] : ',';
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
