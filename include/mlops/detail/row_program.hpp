// mlops/detail/row_program.hpp - the fused serving path.
// Every fitted column-wise step compiles itself into dense per-feature operations
// over the pipeline's feature order. Predicting a row runs these over a stack buffer:
// no allocation, no virtual calls, and the same floating-point operations, in the
// same order, as the steps' frame transforms (so batch and row predictions agree
// bit for bit).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mlops/config.hpp"
#include "mlops/detail/datetime.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

enum class row_op_kind : std::uint8_t {
  fill_missing = 1,  // x = isnan(x) ? a : x        (a = NaN: no-op)
  clip = 2,          // x = min(max(x, a), b)       (a = -inf, b = +inf: no-op; NaN stays NaN)
  flag = 3,          // outlier |= (x < a || x > b) (values unchanged)
  standardize = 4,   // x = (x - a) / b             (a = 0, b = 1: exact no-op)
};

template <class T>
struct row_op {
  row_op_kind kind{};
  std::vector<T> a, b;  // dense: one entry per pipeline feature
};

/// The scalar forms, shared by frame transforms and the row program.
template <class T>
inline T op_fill(T x, T a) noexcept { return std::isnan(x) ? a : x; }
template <class T>
inline T op_clip(T x, T lo, T hi) noexcept { return x < lo ? lo : (x > hi ? hi : x); }
template <class T>
inline T op_standardize(T x, T mean, T scale) noexcept { return (x - mean) / scale; }

/// How one input value becomes design values (the first stage of a program whose steps
/// change the row's width). Input encodings: a categorical value is its index in the
/// pipeline's level list for that column (NaN: missing; anything else, e.g. -1: a level
/// not seen in training); a datetime value is days since 1970-01-01 UTC.
enum class expand_kind : std::uint8_t {
  copy = 0,     // out[0] = x
  one_hot = 1,  // out[0 .. width) = 0, then out[slot[code]] = 1 (slot -1: no column); missing -> `missing_slot`
  ordinal = 2,  // out[0] = value[code] (unseen or missing: NaN unless given)
  date = 3,     // out[0 .. width) = the parts listed in `parts` (see prep/dates.hpp)
};

template <class T>
struct expand_entry {
  expand_kind kind = expand_kind::copy;
  std::size_t out = 0;                // first design position written
  std::size_t width = 1;              // design positions written
  std::vector<std::int32_t> slot;     // one_hot: per level, its column offset (-1: none)
  std::int32_t missing_slot = -1;     // one_hot: column offset of "missing" (-1: all zero)
  std::vector<T> value;               // ordinal: per level, its value
  T missing_value = std::numeric_limits<T>::quiet_NaN();  // ordinal: missing
  T unseen_value = std::numeric_limits<T>::quiet_NaN();   // ordinal: a level not seen in training
  std::vector<std::uint8_t> parts;    // date: the parts, in output order
};

/// The calendar parts a date expansion can produce (stable codes: saved in files).
enum class date_part : std::uint8_t { year = 1, month = 2, day = 3, weekday = 4, yearday = 5, hour = 6, timestamp = 7 };

/// A datetime value in the row form: days since 1970-01-01 UTC (NaN: missing). The one
/// conversion every path uses, so frame and row predictions see the same value.
template <class T>
inline T days_of(std::int64_t micros) noexcept {
  return micros == missing_time ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(static_cast<double>(micros) / 86400e6);
}

/// Writes the parts of `days` (days since 1970-01-01 UTC; NaN: missing) into out.
template <class T>
inline void op_date_parts(T days, const std::uint8_t* parts, std::size_t n, T* out) noexcept {
  if (!(std::fabs(days) <= T(3.0e6))) {  // missing, or beyond about +-8,000 years
    for (std::size_t k = 0; k < n; ++k) out[k] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  const double d = static_cast<double>(days);
  const double whole = std::floor(d);
  const civil_time c = civil_from_micros(static_cast<std::int64_t>(whole) * micros_per_day);
  for (std::size_t k = 0; k < n; ++k) {
    switch (static_cast<date_part>(parts[k])) {
      case date_part::year: out[k] = static_cast<T>(c.year); break;
      case date_part::month: out[k] = static_cast<T>(c.month); break;
      case date_part::day: out[k] = static_cast<T>(c.day); break;
      case date_part::weekday: out[k] = static_cast<T>(c.weekday); break;
      case date_part::yearday: out[k] = static_cast<T>(c.yearday); break;
      case date_part::hour: out[k] = static_cast<T>(std::floor((d - whole) * 24.0 + 1e-9)); break;
      case date_part::timestamp: out[k] = days; break;
      default: out[k] = std::numeric_limits<T>::quiet_NaN(); break;
    }
  }
}

template <class T>
struct row_program {
  std::size_t n_features = 0;          // the design width (the model's)
  std::size_t n_inputs = 0;            // the input row's width
  std::vector<expand_entry<T>> expand; // one per input when the steps change the width; empty: inputs are the design
  std::vector<row_op<T>> ops;

  bool expands() const noexcept { return !expand.empty(); }
  /// Input row -> design row (out holds n_features values). Allocation-free.
  void run_expand(std::span<const T> in, T* out) const noexcept {
    for (std::size_t j = 0; j < expand.size(); ++j) {
      const auto& e = expand[j];
      const T x = in[j];
      T* o = out + e.out;
      switch (e.kind) {
        case expand_kind::copy: o[0] = x; break;
        case expand_kind::one_hot: {
          for (std::size_t k = 0; k < e.width; ++k) o[k] = T(0);
          std::int32_t s = -1;
          if (std::isnan(x)) s = e.missing_slot;
          else if (x >= T(0) && x < static_cast<T>(e.slot.size()) && x == std::floor(x)) s = e.slot[static_cast<std::size_t>(x)];
          if (s >= 0) o[s] = T(1);
          break;
        }
        case expand_kind::ordinal: {
          if (std::isnan(x)) o[0] = e.missing_value;
          else if (x >= T(0) && x < static_cast<T>(e.value.size()) && x == std::floor(x)) o[0] = e.value[static_cast<std::size_t>(x)];
          else o[0] = e.unseen_value;
          break;
        }
        case expand_kind::date: op_date_parts(x, e.parts.data(), e.parts.size(), o); break;
      }
    }
  }

  row_op<T>& add(row_op_kind kind) {
    row_op<T> op;
    op.kind = kind;
    const T inf = std::numeric_limits<T>::infinity();
    switch (kind) {
      case row_op_kind::fill_missing: op.a.assign(n_features, std::numeric_limits<T>::quiet_NaN()); break;
      case row_op_kind::clip:
      case row_op_kind::flag:
        op.a.assign(n_features, -inf);
        op.b.assign(n_features, inf);
        break;
      case row_op_kind::standardize:
        op.a.assign(n_features, T(0));
        op.b.assign(n_features, T(1));
        break;
    }
    ops.push_back(std::move(op));
    return ops.back();
  }

  /// Applies every op to buf, which holds features [first, first + buf.size()).
  /// Returns true if a flag op saw a value outside its fences.
  bool run(std::span<T> buf, std::size_t first) const noexcept {
    bool outlier = false;
    const std::size_t m = buf.size();
    T* x = buf.data();
    for (const auto& op : ops) {
      const T* a = op.a.data() + first;
      const T* b = op.b.empty() ? nullptr : op.b.data() + first;
      switch (op.kind) {
        case row_op_kind::fill_missing:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_fill(x[k], a[k]);
          break;
        case row_op_kind::clip:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_clip(x[k], a[k], b[k]);
          break;
        case row_op_kind::flag:
          for (std::size_t k = 0; k < m; ++k) outlier |= (x[k] < a[k]) | (x[k] > b[k]);
          break;
        case row_op_kind::standardize:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_standardize(x[k], a[k], b[k]);
          break;
      }
    }
    return outlier;
  }
};

}  // namespace detail
MLOPS_NAMESPACE_END
