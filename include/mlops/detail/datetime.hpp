// mlops/detail/datetime.hpp - ISO 8601 dates and datetimes <-> UTC instants.
// An instant is a signed count of microseconds since 1970-01-01T00:00:00Z (proleptic
// Gregorian calendar); missing_time marks a missing instant. Civil-date conversion is
// exact integer arithmetic (days from civil and back), the same on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// The missing instant of a datetime column.
inline constexpr std::int64_t missing_time = (std::numeric_limits<std::int64_t>::min)();

namespace detail {

inline constexpr std::int64_t micros_per_second = 1'000'000;
inline constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

constexpr bool is_leap_year(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr int days_in_month(std::int64_t y, int m) noexcept {
  constexpr int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : d[m - 1];
}

/// Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31).
constexpr std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;                                      // [0, 399]
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;     // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct civil_time {
  std::int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  std::int64_t micros = 0;  // [0, 1e6)
  int weekday = 3;          // 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)
  int yearday = 1;          // 1 ... 366
};

/// The civil UTC time of an instant (not missing_time).
constexpr civil_time civil_from_micros(std::int64_t t) noexcept {
  std::int64_t days = t / micros_per_day, rem = t % micros_per_day;
  if (rem < 0) rem += micros_per_day, --days;
  civil_time c;
  c.micros = rem % micros_per_second;
  const std::int64_t secs = rem / micros_per_second;
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  const std::int64_t wd = (days + 3) % 7;  // 1970-01-01: Thursday = 3
  c.weekday = static_cast<int>(wd < 0 ? wd + 7 : wd);
  c.yearday = static_cast<int>(days - days_from_civil(c.year, 1, 1) + 1);
  return c;
}

/// Result of parsing one field as an ISO 8601 date or datetime.
struct parsed_time {
  bool ok = false;
  bool has_time = false;  // a time of day was written
  std::int64_t micros = 0;
};

/// Parses YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM[:SS[.fraction]],
/// optionally followed by 'Z' or an offset +HH:MM / +HHMM / +HH (converted to UTC).
/// Anything else (other separators, trailing text, an impossible date) is not a datetime.
inline parsed_time parse_iso8601(std::string_view s) noexcept {
  parsed_time r;
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto digits = [&](std::size_t count, int& out) {
    if (i + count > n) return false;
    int v = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    i += count;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(4, y) || i >= n || s[i] != '-') return r;
  ++i;
  if (!digits(2, mo) || i >= n || s[i] != '-') return r;
  ++i;
  if (!digits(2, d)) return r;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return r;
  std::int64_t frac = 0;
  std::int64_t offset_minutes = 0;
  if (i < n) {
    if (s[i] != 'T' && s[i] != ' ') return r;
    ++i;
    if (!digits(2, h) || i >= n || s[i] != ':') return r;
    ++i;
    if (!digits(2, mi)) return r;
    if (i < n && s[i] == ':') {
      ++i;
      if (!digits(2, sec)) return r;
      if (i < n && (s[i] == '.' || s[i] == ',')) {
        ++i;
        std::size_t k = 0;
        std::int64_t scale = 100000;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
          if (scale > 0) frac += (s[i] - '0') * scale, scale /= 10;  // digits past microseconds are truncated
          ++i, ++k;
        }
        if (k == 0) return r;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) return r;
    if (i < n) {
      if (s[i] == 'Z' && i + 1 == n) {
        ++i;
      } else if (s[i] == '+' || s[i] == '-') {
        const int sign = s[i] == '-' ? -1 : 1;
        ++i;
        int oh = 0, om = 0;
        if (!digits(2, oh)) return r;
        if (i < n && s[i] == ':') ++i;
        if (i < n && !digits(2, om)) return r;
        if (oh > 23 || om > 59) return r;
        offset_minutes = sign * (oh * 60 + om);
      }
      if (i != n) return r;
    }
    r.has_time = true;
  }
  const std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
  r.micros = secs * micros_per_second + frac;
  r.ok = true;
  return r;
}

/// ISO 8601 text of an instant: "YYYY-MM-DD" when !with_time, else
/// "YYYY-MM-DD HH:MM:SS" with ".ffffff" when the instant has a fraction of a second.
/// Empty for missing_time. Parsing the text gives the instant back.
MLOPS_FUNC std::string format_iso8601(std::int64_t t, bool with_time);

/// A datetime value in the row form: days since 1970-01-01 UTC (NaN: missing). The one
/// conversion every path uses, so frame and row predictions see the same value.
template <class T>
inline T days_of(std::int64_t micros) noexcept {
  return micros == missing_time ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(static_cast<double>(micros) / 86400e6);
}

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::string format_iso8601(std::int64_t t, bool with_time) {
  if (t == missing_time) return {};
  const civil_time c = civil_from_micros(t);
  char buf[48];
  auto put = [&](char* p, std::int64_t v, int width) {
    for (int k = width - 1; k >= 0; --k) p[k] = static_cast<char>('0' + v % 10), v /= 10;
    return p + width;
  };
  char* p = buf;
  std::int64_t year = c.year;
  if (year < 0) *p++ = '-', year = -year;
  p = put(p, year, year > 9999 ? (year > 99999 ? 6 : 5) : 4);
  *p++ = '-';
  p = put(p, c.month, 2);
  *p++ = '-';
  p = put(p, c.day, 2);
  if (with_time) {
    *p++ = ' ';
    p = put(p, c.hour, 2);
    *p++ = ':';
    p = put(p, c.minute, 2);
    *p++ = ':';
    p = put(p, c.second, 2);
    if (c.micros) *p++ = '.', p = put(p, c.micros, 6);
  }
  return std::string(buf, p);
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
