// mlops/prep/stats.hpp - mergeable fit statistics of the steps: what a step learns from
// its training rows, gathered block by block (`update`), combined across chunks, folds or
// ranks (`merge`), and turned into the fitted step (`fit_from`). A step's plain `fit` is
// `fit_from` of the statistics of one block, so there is one implementation of each.
//
//   mlops::StandardScaler<double> s;
//   auto st = s.make_stats(columns);        // empty, over these columns
//   for (const auto& chunk : chunks) st.update(chunk);
//   st.merge(other_rank_stats);             // same columns, any order of blocks
//   auto fitted = s.fit_from(st);
//
// Merging is exact for counts, levels, minima, maxima and kept values; sums and moments
// merge to rounding (Chan et al.'s pairwise formula), so a different split of the rows
// can change the last bits, never the meaning. Median imputation's statistics keep the
// column's present values (exact, O(n) memory): the median of merged blocks is the
// median of all rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/stats.hpp"
#include "mlops/error.hpp"
#include "mlops/frame.hpp"
#include "mlops/prep/categorical.hpp"
#include "mlops/prep/common.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Statistics of one step over named columns: one S per column. S::of(frame, column)
/// reads a block's column; S::merge adds another block's statistics.
template <class S>
struct column_stats {
  std::vector<std::string> columns;
  std::vector<S> per_column;
  std::uint64_t rows = 0;  // rows seen over all blocks

  column_stats() = default;
  explicit column_stats(std::vector<std::string> cols) : columns(std::move(cols)), per_column(columns.size()) {}

  /// Adds one block of rows (its columns found by name; schema_error when one is missing).
  template <class T>
  void update(const DataFrame<T>& block) {
    for (std::size_t c = 0; c < columns.size(); ++c) per_column[c].merge(S::of(block, columns[c]));
    rows += block.rows();
  }
  /// Adds another set of blocks' statistics over the same columns (argument_error otherwise).
  void merge(const column_stats& o) {
    if (o.columns != columns)
      MLOPS_THROW(argument_error(errc::invalid_argument, "merging step statistics over different columns; make both with the same step"));
    for (std::size_t c = 0; c < columns.size(); ++c) per_column[c].merge(o.per_column[c]);
    rows += o.rows;
  }
};

/// Count, missing count and sum of the present values (the mean imputer's statistics).
struct sum_stat {
  std::uint64_t count = 0, missing = 0;
  double sum = 0;
  template <class T>
  static sum_stat of(const DataFrame<T>& f, const std::string& col) {
    const auto x = f.column(col);
    const auto s = nan_sum<T>(x);
    return {s.count, x.size() - s.count, s.sum};
  }
  void merge(const sum_stat& o) noexcept { count += o.count, missing += o.missing, sum += o.sum; }
};

/// Count, mean and sum of squared deviations of the present values (the scaler's).
struct moment_stat {
  std::uint64_t count = 0, missing = 0;
  double mean = 0, m2 = 0;
  template <class T>
  static moment_stat of(const DataFrame<T>& f, const std::string& col) {
    const auto x = f.column(col);
    const auto m = nan_moments<T>(x, 0);
    if (m.count == 0) return {0, x.size(), 0, 0};
    return {m.count, x.size() - m.count, m.mean, m.m2};
  }
  /// Chan et al.: exact for one side empty (the single-block fit keeps its bits).
  void merge(const moment_stat& o) noexcept {
    const std::uint64_t missing_sum = missing + o.missing;
    if (o.count == 0) {
      missing = missing_sum;
      return;
    }
    if (count == 0) {
      *this = o;
      missing = missing_sum;
      return;
    }
    const double na = static_cast<double>(count), nb = static_cast<double>(o.count), n = na + nb;
    const double delta = o.mean - mean;
    mean += delta * (nb / n);
    m2 += o.m2 + delta * delta * (na * nb / n);
    count += o.count;
    missing = missing_sum;
  }
};

/// Count, minimum and maximum of the present values (the min-max scaler's).
template <class T>
struct range_stat {
  std::uint64_t count = 0;
  T min = std::numeric_limits<T>::infinity(), max = -std::numeric_limits<T>::infinity();
  static range_stat of(const DataFrame<T>& f, const std::string& col) {
    range_stat r;
    for (const T v : f.column(col)) {
      if (std::isnan(v)) continue;
      r.min = (std::min)(r.min, v), r.max = (std::max)(r.max, v), ++r.count;
    }
    return r;
  }
  void merge(const range_stat& o) noexcept {
    count += o.count;
    min = (std::min)(min, o.min), max = (std::max)(max, o.max);
  }
};

/// The levels present (byte order) with their counts, and the missing count (the
/// encoders'). Blocks' level lists differ; merging matches them by text.
struct level_stat {
  level_counts lc;
  template <class T>
  static level_stat of(const DataFrame<T>& f, const std::string& col) {
    return {count_levels(f.categorical(col))};
  }
  void merge(const level_stat& o) {
    if (lc.rows == 0 && lc.levels.empty()) {
      lc = o.lc;
      return;
    }
    level_counts m;
    m.missing = lc.missing + o.lc.missing;
    m.rows = lc.rows + o.lc.rows;
    std::size_t i = 0, j = 0;
    while (i < lc.levels.size() || j < o.lc.levels.size()) {
      if (j == o.lc.levels.size() || (i < lc.levels.size() && lc.levels[i] < o.lc.levels[j])) {
        m.levels.push_back(lc.levels[i]), m.counts.push_back(lc.counts[i]), ++i;
      } else if (i == lc.levels.size() || o.lc.levels[j] < lc.levels[i]) {
        m.levels.push_back(o.lc.levels[j]), m.counts.push_back(o.lc.counts[j]), ++j;
      } else {
        m.levels.push_back(lc.levels[i]), m.counts.push_back(lc.counts[i] + o.lc.counts[j]), ++i, ++j;
      }
    }
    lc = std::move(m);
  }
};

/// What a fitted step does to one numeric column of its own training rows, when it is
///   x -> isnan(x) ? fill : (x - offset) / divisor    (fill NaN: a missing value stays missing)
/// (imputation: fill; standardization and min-max scaling: offset and divisor). Steps
/// say this through `forms` (form_sink); statistics are pushed through it (`push`), so a
/// later step's statistics follow from the raw column's without transforming the rows.
struct column_map {
  double fill = std::numeric_limits<double>::quiet_NaN();
  double offset = 0, divisor = 1;
  double operator()(double x) const noexcept { return x != x ? fill : (x - offset) / divisor; }
  /// This map, then `next`.
  column_map then(const column_map& next) const noexcept {
    return {next(fill), offset + next.offset * divisor, divisor * next.divisor};  // next(NaN) is next.fill
  }
};

/// Statistics of a column after `m` (its statistics before, pushed forward).
inline sum_stat push(sum_stat s, const column_map& m) noexcept {
  s.sum = (s.sum - m.offset * static_cast<double>(s.count)) / m.divisor;
  if (m.fill == m.fill) s.sum += m.fill * static_cast<double>(s.missing), s.count += s.missing, s.missing = 0;
  return s;
}
inline moment_stat push(moment_stat s, const column_map& m) noexcept {
  if (s.count > 0) s.mean = (s.mean - m.offset) / m.divisor, s.m2 /= m.divisor * m.divisor;
  if (m.fill == m.fill && s.missing > 0) {
    const std::uint64_t missing = s.missing;
    s.missing = 0;
    s.merge({missing, 0, m.fill, 0.0});
  }
  return s;
}
template <class T>
range_stat<T> push(range_stat<T> s, const column_map& m, std::uint64_t missing) noexcept {
  if (s.count > 0) {
    const T a = static_cast<T>(m(static_cast<double>(s.min))), b = static_cast<T>(m(static_cast<double>(s.max)));
    s.min = (std::min)(a, b), s.max = (std::max)(a, b);
  }
  if (m.fill == m.fill && missing > 0) s.merge({missing, static_cast<T>(m.fill), static_cast<T>(m.fill)});
  return s;
}

/// A training-time row filter's fence on one column: a row whose value there lies below
/// lo or above hi is dropped (a missing value is kept).
struct row_fence {
  std::string column;
  double lo = 0, hi = 0;
};

/// Where a step fitted from statistics reads them: one set of training rows (a fold's,
/// in cross-validation; a rank's merged blocks, later), each column's statistics as the
/// step would have computed them on the rows the earlier steps made. false: this source
/// cannot give that statistic for that column (the caller fits on the rows instead).
template <class T>
class stats_source {
 public:
  virtual ~stats_source() = default;
  virtual std::uint64_t rows() const = 0;
  virtual bool get(const std::string& column, sum_stat& out) = 0;
  virtual bool get(const std::string& column, moment_stat& out) = 0;
  virtual bool get(const std::string& column, range_stat<T>& out) = 0;
  virtual bool get(const std::string& column, level_stat& out) = 0;
  /// Quantiles `probs` (ascending; numpy's linear method, as nan_quantiles) of the
  /// column's present values, and how many values there are (`count`).
  virtual bool quantiles(const std::string& column, std::span<const double> probs, std::span<double> out, std::uint64_t& count) = 0;
  /// For a filter step about to drop rows with these fences (form_sink::filter): the rows
  /// entering it, the rows it keeps, and per fence the rows outside it (as counted on the
  /// rows); false when the source does not know them (the step keeps its counts at 0).
  virtual bool filter_counts(std::span<const row_fence> fences, std::uint64_t& rows_in, std::uint64_t& rows_out,
                             std::span<std::uint64_t> outside) {
    (void)fences, (void)rows_in, (void)rows_out, (void)outside;
    return false;
  }

  /// Every column of `st` from this source; false when one cannot be given.
  template <class S>
  bool read(column_stats<S>& st) {
    for (std::size_t c = 0; c < st.columns.size(); ++c)
      if (!get(st.columns[c], st.per_column[c])) return false;
    st.rows = rows();
    return true;
  }
};

/// What a fitted step tells about its effect on its own training rows (its `forms`
/// member): numeric columns mapped one by one (`map`), categorical columns replaced by
/// columns that are functions of the level (`expand`: output k is 1 where the row's level
/// has slot k, else 0), training rows dropped (`filter`: later statistics are of the kept
/// rows). A step without `forms` (one whose effect is none of these) makes the callers fit
/// on the rows.
template <class T>
class form_sink {
 public:
  virtual ~form_sink() = default;
  virtual void map(const std::string& column, const column_map& m) = 0;
  /// The level list of a categorical input as the data codes it (what slots index).
  virtual const std::vector<std::string>& levels(const std::string& column) = 0;
  virtual void expand(const std::string& column, std::vector<std::string> outputs, std::span<const std::int32_t> slot_of_level,
                      std::int32_t missing_slot) = 0;
  /// A categorical input becomes one numeric column of the same name: value_of_level[k]
  /// for level k of levels(column), missing_value for a missing cell (NaN: still missing).
  virtual void recode(const std::string& column, std::span<const double> value_of_level, double missing_value) = 0;
  virtual void filter(std::span<const row_fence> fences) = 0;
};

/// The fit_step counterpart for a source of statistics: the step's statistics over
/// `cols` read from `src`, then fit_from, then the layout updated (an encoder). Nothing
/// when the source cannot give them.
template <class S, class T>
auto fit_from_source(const S& step, stats_source<T>& src, design_layout& layout, std::span<const std::string> cols)
    -> std::optional<typename S::fitted_type> {
  auto st = step.make_stats(cols);
  bool ok;
  if constexpr (requires { st.read_from(src); }) ok = st.read_from(src);
  else ok = src.read(st);
  if (!ok) return std::nullopt;
  auto f = step.fit_from(st);
  if constexpr (requires { f.update_layout(layout); }) f.update_layout(layout);
  return f;
}

}  // namespace detail

/// A step whose fit can be made from mergeable statistics: `make_stats(columns)` gives
/// empty statistics (`update(block)`, `merge(other)`), `fit_from(stats)` the fitted step.
template <class S, class T>
concept mergeable_step = requires(const S& s, std::span<const std::string> cols, const DataFrame<T>& f) {
  typename S::stats_type;
  { s.make_stats(cols) } -> std::same_as<typename S::stats_type>;
  requires requires(typename S::stats_type st, const typename S::stats_type& other) {
    st.update(f);
    st.merge(other);
  };
  { s.fit_from(std::declval<const typename S::stats_type&>()) } -> std::same_as<typename S::fitted_type>;
};

MLOPS_NAMESPACE_END
