// mlops/frame.hpp - DataFrame<T>: named, typed columns of equal length.
// A column is numeric (T, NaN = missing), categorical (int32 codes into an ordered list
// of levels held once, -1 = missing) or datetime (UTC instants in microseconds since the
// epoch, missing_time = missing). Columns may be marked as ids: carried beside the data
// (and beside predictions), never used as features unless named explicitly.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/detail/datetime.hpp"
#include "mlops/detail/stats.hpp"
#include "mlops/detail/xt_bridge.hpp"
#include "mlops/error.hpp"
#include "mlops/fwd.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
struct Description;

/// What a column holds.
enum class column_kind : std::uint8_t { numeric = 0, categorical = 1, datetime = 2 };
constexpr std::string_view kind_name(column_kind k) noexcept {
  switch (k) {
    case column_kind::numeric: return "numeric";
    case column_kind::categorical: return "categorical";
    case column_kind::datetime: return "datetime";
  }
  return "unknown";
}

/// A categorical column: one code per row into `levels` (-1: missing).
struct CategoricalView {
  static constexpr std::int32_t missing = -1;
  std::span<const std::int32_t> codes;
  const std::vector<std::string>* levels = nullptr;
  std::size_t size() const noexcept { return codes.size(); }
  std::size_t n_levels() const noexcept { return levels->size(); }
  /// The level of a row; empty for a missing value.
  std::string_view label(std::size_t row) const noexcept {
    const std::int32_t c = codes[row];
    return c < 0 ? std::string_view() : std::string_view((*levels)[static_cast<std::size_t>(c)]);
  }
};

/// A datetime column: UTC instants in microseconds since 1970-01-01 (missing_time: missing).
struct DatetimeView {
  std::span<const std::int64_t> values;
  bool has_time = false;  // some value carries a time of day (else dates only)
  std::size_t size() const noexcept { return values.size(); }
};

namespace detail {
/// out[k] = src[rows[k]]: a plain function with restrict pointers, so the loop keeps its
/// pointers in registers and the compiler may use gathers.
template <class T>
inline void gather_rows(const T* __restrict src, const std::size_t* __restrict rows, std::size_t n, T* __restrict out) noexcept {
  for (std::size_t k = 0; k < n; ++k) out[k] = src[rows[k]];
}

/// One column of a frame: exactly one of the three stores is in use, as `kind` says.
/// Categorical levels are shared (immutable) between frames cut from one another.
template <class T>
struct frame_column {
  column_kind kind = column_kind::numeric;
  column_storage<T> values;                                // numeric
  std::vector<std::int32_t> codes;                         // categorical
  std::shared_ptr<const std::vector<std::string>> levels;  // categorical
  std::vector<std::int64_t> times;                         // datetime
  bool has_time = false;                                   // datetime

  std::size_t size() const noexcept {
    return kind == column_kind::numeric ? values.size() : kind == column_kind::categorical ? codes.size() : times.size();
  }
  /// The same kind and levels, holding no rows.
  frame_column like() const {
    frame_column c;
    c.kind = kind, c.levels = levels, c.has_time = has_time;
    return c;
  }
};
}  // namespace detail

/// A table of named, typed columns of equal length. Numeric columns are contiguous
/// (xtensor storage behind detail/xt_bridge.hpp); NaN marks a missing value. Copying a
/// DataFrame copies its data (categorical levels are shared); moving is cheap.
template <scalar T>
class DataFrame {
 public:
  using value_type = T;
  using column_type = detail::column_storage<T>;
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

  DataFrame() = default;

  /// Builds a frame from names and equal-length numeric columns (data_error otherwise).
  static DataFrame from_columns(std::vector<std::string> names, const std::vector<std::vector<T>>& columns) {
    check_name_count(names.size(), columns.size());
    DataFrame f;
    for (std::size_t i = 0; i < names.size(); ++i) f.add_column(std::move(names[i]), std::span<const T>(columns[i]));
    return f;
  }
  /// A frame of the matrix's columns, named in order (one copy, column by column).
  template <class Derived>
  static DataFrame from_matrix(const Eigen::MatrixBase<Derived>& m, std::vector<std::string> names) {
    check_name_count(names.size(), static_cast<std::size_t>(m.cols()));
    DataFrame f;
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      auto col = detail::make_column<T>(static_cast<std::size_t>(m.rows()));
      for (Eigen::Index i = 0; i < m.rows(); ++i) col.data()[i] = static_cast<T>(m(i, j));
      f.add_column(std::move(names[static_cast<std::size_t>(j)]), std::move(col));
    }
    return f;
  }

  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_.size(); }
  std::pair<std::size_t, std::size_t> shape() const noexcept { return {rows_, cols_.size()}; }
  bool empty() const noexcept { return rows_ == 0 || cols_.empty(); }
  const std::vector<std::string>& names() const noexcept { return names_; }

  std::optional<std::size_t> find(std::string_view name) const noexcept {
    const auto it = index_.find(std::string(name));
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  bool contains(std::string_view name) const noexcept { return find(name).has_value(); }
  /// Index of a column; schema_error naming the available columns if absent.
  std::size_t index_of(std::string_view name) const {
    if (auto i = find(name)) return *i;
    MLOPS_THROW(schema_error(errc::schema_missing_column,
                             fmt::format("no column named '{}'; the frame has: {}", name, join_names(names_))));
  }

  /// What column i (or the named column) holds.
  column_kind kind(std::size_t i) const {
    check_index(i);
    return cols_[i].kind;
  }
  column_kind kind(std::string_view name) const { return cols_[index_of(name)].kind; }
  bool is_numeric(std::string_view name) const { return kind(name) == column_kind::numeric; }
  /// Names of the columns of one kind, in column order.
  std::vector<std::string> names_of(column_kind k) const {
    std::vector<std::string> out;
    for (std::size_t c = 0; c < cols_.size(); ++c)
      if (cols_[c].kind == k) out.push_back(names_[c]);
    return out;
  }

  /// Id columns: carried beside the data, never default features.
  bool is_id(std::string_view name) const { return ids_[index_of(name)] != 0; }
  void set_id(std::string_view name, bool id = true) { ids_[index_of(name)] = id ? 1 : 0; }
  std::vector<std::string> id_columns() const {
    std::vector<std::string> out;
    for (std::size_t c = 0; c < cols_.size(); ++c)
      if (ids_[c]) out.push_back(names_[c]);
    return out;
  }

  /// Appends a numeric column (copied). data_error on length mismatch or duplicate name.
  void add_column(std::string name, std::span<const T> values) {
    auto col = detail::make_column<T>(values.size());
    std::copy(values.begin(), values.end(), col.data());
    add_column(std::move(name), std::move(col));
  }
  void add_column(std::string name, column_type&& values) {
    detail::frame_column<T> c;
    c.values = std::move(values);
    add(std::move(name), std::move(c));
  }
  /// Appends a categorical column: codes in [-1, levels.size()) (-1: missing) into
  /// distinct levels. data_error on a code out of range or a repeated level.
  void add_categorical(std::string name, std::vector<std::int32_t> codes, std::vector<std::string> levels) {
    add_categorical(std::move(name), std::move(codes), std::make_shared<const std::vector<std::string>>(std::move(levels)));
  }
  void add_categorical(std::string name, std::vector<std::int32_t> codes, std::shared_ptr<const std::vector<std::string>> levels) {
    if (!levels) levels = std::make_shared<const std::vector<std::string>>();
    if (levels->size() > static_cast<std::size_t>((std::numeric_limits<std::int32_t>::max)()))
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("column '{}': more than 2^31 - 1 levels", name)));
    std::unordered_map<std::string_view, std::size_t> seen;
    for (std::size_t k = 0; k < levels->size(); ++k)
      if (!seen.emplace((*levels)[k], k).second)
        MLOPS_THROW(data_error(errc::data_shape, fmt::format("column '{}': level '{}' appears twice; levels must be distinct", name,
                                                             (*levels)[k])));
    const auto n = static_cast<std::int32_t>(levels->size());
    for (std::size_t r = 0; r < codes.size(); ++r)
      if (codes[r] < -1 || codes[r] >= n)
        MLOPS_THROW(data_error(errc::data_shape, fmt::format("column '{}' row {}: code {} is outside [-1, {})", name, r, codes[r], n)));
    detail::frame_column<T> c;
    c.kind = column_kind::categorical;
    c.codes = std::move(codes);
    c.levels = std::move(levels);
    add(std::move(name), std::move(c));
  }
  /// Appends a categorical column from one text per row; `missing` texts become -1.
  /// Levels are numbered in order of first appearance.
  void add_categorical(std::string name, std::span<const std::string> values, std::span<const std::string> missing = {}) {
    std::vector<std::int32_t> codes(values.size());
    std::vector<std::string> levels;
    std::unordered_map<std::string_view, std::int32_t> code_of;
    for (std::size_t r = 0; r < values.size(); ++r) {
      if (std::find(missing.begin(), missing.end(), values[r]) != missing.end()) {
        codes[r] = CategoricalView::missing;
        continue;
      }
      const auto [it, fresh] = code_of.emplace(values[r], static_cast<std::int32_t>(code_of.size()));
      if (fresh) levels.push_back(values[r]);
      codes[r] = it->second;
    }
    add_categorical(std::move(name), std::move(codes), std::move(levels));
  }
  /// Appends a datetime column (microseconds since the epoch, UTC; missing_time: missing).
  void add_datetime(std::string name, std::vector<std::int64_t> values, bool has_time) {
    detail::frame_column<T> c;
    c.kind = column_kind::datetime;
    c.times = std::move(values);
    c.has_time = has_time;
    add(std::move(name), std::move(c));
  }

  /// A numeric column's values; schema_error naming the kind if the column is not numeric.
  std::span<const T> column(std::size_t i) const { return detail::column_span(numeric(i)); }
  std::span<T> column(std::size_t i) { return detail::column_span(const_cast<column_type&>(std::as_const(*this).numeric(i))); }
  std::span<const T> column(std::string_view name) const { return column(index_of(name)); }
  std::span<T> column(std::string_view name) { return column(index_of(name)); }
  /// The xtensor storage of a numeric column, for callers who want xtensor expressions.
  const column_type& xcolumn(std::string_view name) const { return numeric(index_of(name)); }
  /// A categorical column (schema_error if the column is of another kind).
  CategoricalView categorical(std::string_view name) const { return categorical(index_of(name)); }
  CategoricalView categorical(std::size_t i) const {
    const auto& c = typed(i, column_kind::categorical);
    return {std::span<const std::int32_t>(c.codes), c.levels.get()};
  }
  /// A datetime column (schema_error if the column is of another kind).
  DatetimeView datetime(std::string_view name) const { return datetime(index_of(name)); }
  DatetimeView datetime(std::size_t i) const {
    const auto& c = typed(i, column_kind::datetime);
    return {std::span<const std::int64_t>(c.times), c.has_time};
  }

  /// Zero-copy Eigen view of one numeric column.
  Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> column_map(std::string_view name) const {
    auto s = column(name);
    return {s.data(), static_cast<Eigen::Index>(s.size())};
  }

  /// A new frame with these columns, in this order (kinds and id marks kept).
  DataFrame select(const std::vector<std::string>& names) const {
    DataFrame f;
    for (const auto& n : names) {
      const std::size_t i = index_of(n);
      f.add(n, detail::frame_column<T>(cols_[i]));
      f.ids_.back() = ids_[i];
    }
    if (names.empty()) f.rows_ = 0;
    return f;
  }
  /// A new frame without these columns (each must exist).
  DataFrame drop(const std::vector<std::string>& names) const {
    for (const auto& n : names) (void)index_of(n);
    std::vector<std::string> keep;
    for (const auto& n : names_)
      if (std::find(names.begin(), names.end(), n) == names.end()) keep.push_back(n);
    return select(keep);
  }
  /// Removes these columns from this frame (each must exist), without copying the rest.
  void drop_inplace(const std::vector<std::string>& names) {
    for (const auto& n : names) (void)index_of(n);
    std::size_t w = 0;
    for (std::size_t c = 0; c < cols_.size(); ++c) {
      if (std::find(names.begin(), names.end(), names_[c]) != names.end()) continue;
      if (w != c) cols_[w] = std::move(cols_[c]), names_[w] = std::move(names_[c]), ids_[w] = ids_[c];
      ++w;
    }
    cols_.resize(w), names_.resize(w), ids_.resize(w);
    index_.clear();
    for (std::size_t c = 0; c < w; ++c) index_.emplace(names_[c], c);
    if (cols_.empty()) rows_ = 0;
  }
  /// Rows where mask is non-zero. data_error if the mask length differs.
  DataFrame filter(std::span<const std::uint8_t> mask) const {
    if (mask.size() != rows_)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("filter: mask has {} entries but the frame has {} rows", mask.size(), rows_)));
    // Kept rows as runs [begin, end): a filter that drops few rows copies long runs.
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    std::size_t kept = 0;
    for (std::size_t r = 0; r < rows_;) {
      while (r < rows_ && mask[r] == 0) ++r;
      const std::size_t b = r;
      while (r < rows_ && mask[r] != 0) ++r;
      if (r > b) runs.emplace_back(b, r), kept += r - b;
    }
    if (runs.size() * 8 > kept) {  // short runs: gather row by row
      std::vector<std::size_t> keep;
      keep.reserve(kept);
      for (const auto& [b, e] : runs)
        for (std::size_t r = b; r < e; ++r) keep.push_back(r);
      return gather(keep);
    }
    return rebuild(kept, [&](const auto* src, auto* out) {
      for (const auto& [b, e] : runs) out = std::copy(src + b, src + e, out);
    });
  }
  /// Rows at these indices, in this order (argument_error on an index out of range).
  DataFrame take(std::span<const std::size_t> rows) const {
    for (auto r : rows)
      if (r >= rows_) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("take: row {} is out of range (frame has {} rows)", r, rows_)));
    return gather(rows);
  }
  DataFrame head(std::size_t n = 5) const {
    std::vector<std::size_t> idx((std::min)(n, rows_));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    return take(idx);
  }

  /// Missing values per column, in column order (NaN, code -1, missing_time).
  std::vector<std::size_t> missing_counts() const {
    std::vector<std::size_t> out(cols_.size());
    for (std::size_t c = 0; c < cols_.size(); ++c) {
      const auto& col = cols_[c];
      switch (col.kind) {
        case column_kind::numeric:
          for (const T v : detail::column_span(col.values)) out[c] += std::isnan(v);
          break;
        case column_kind::categorical:
          for (const auto v : col.codes) out[c] += v < 0;
          break;
        case column_kind::datetime:
          for (const auto v : col.times) out[c] += v == missing_time;
          break;
      }
    }
    return out;
  }

  /// The selected numeric columns as a column-major Eigen matrix (one copy).
  matrix_type to_matrix(const std::vector<std::string>& names) const {
    matrix_type m(static_cast<Eigen::Index>(rows_), static_cast<Eigen::Index>(names.size()));
    for (std::size_t j = 0; j < names.size(); ++j) {
      auto s = column(names[j]);
      std::copy(s.begin(), s.end(), m.col(static_cast<Eigen::Index>(j)).data());
    }
    return m;
  }
  /// Every numeric column as a matrix.
  matrix_type to_matrix() const { return to_matrix(names_of(column_kind::numeric)); }

  /// Summary statistics per numeric column, as pandas' DataFrame.describe() (std with ddof=1).
  Description<T> describe() const;

 private:
  static void check_name_count(std::size_t names, std::size_t columns) {
    if (names != columns)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("{} names but {} columns; pass one name per column", names, columns)));
  }
  void add(std::string name, detail::frame_column<T>&& col) {
    if (!cols_.empty() && col.size() != rows_)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("column '{}' has {} rows but the frame has {}; columns must have equal length",
                                                           name, col.size(), rows_)));
    if (contains(name))
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("a column named '{}' already exists; column names must be unique", name)));
    if (cols_.empty()) rows_ = col.size();
    index_.emplace(name, names_.size());
    names_.push_back(std::move(name));
    cols_.push_back(std::move(col));
    ids_.push_back(0);
  }
  const detail::frame_column<T>& typed(std::size_t i, column_kind k) const {
    check_index(i);
    if (cols_[i].kind != k)
      MLOPS_THROW(schema_error(errc::schema_column_type,
                               fmt::format("column '{}' is {}, not {}{}", names_[i], kind_name(cols_[i].kind), kind_name(k),
                                           k == column_kind::numeric
                                               ? "; encode it first (a one-hot, ordinal or date-features step), or drop it"
                                               : "")));
    return cols_[i];
  }
  const column_type& numeric(std::size_t i) const { return typed(i, column_kind::numeric).values; }
  /// A frame of `n` rows with every column rebuilt by copy(src, out) over its store.
  template <class Copy>
  DataFrame rebuild(std::size_t n, Copy&& copy) const {
    DataFrame f;
    for (std::size_t c = 0; c < cols_.size(); ++c) {
      const auto& src = cols_[c];
      auto col = src.like();
      switch (src.kind) {
        case column_kind::numeric:
          col.values = detail::make_column<T>(n);
          copy(src.values.data(), col.values.data());
          break;
        case column_kind::categorical:
          col.codes.resize(n);
          copy(src.codes.data(), col.codes.data());
          break;
        case column_kind::datetime:
          col.times.resize(n);
          copy(src.times.data(), col.times.data());
          break;
      }
      f.add(names_[c], std::move(col));
      f.ids_.back() = ids_[c];
    }
    f.rows_ = n;
    return f;
  }
  /// Copies rows (indices checked by the caller) column by column into new columns.
  DataFrame gather(std::span<const std::size_t> rows) const {
    return rebuild(rows.size(), [&](const auto* src, auto* out) { detail::gather_rows(src, rows.data(), rows.size(), out); });
  }
  void check_index(std::size_t i) const {
    if (i >= cols_.size())
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("column index {} is out of range (frame has {} columns)", i, cols_.size())));
  }
  static std::string join_names(const std::vector<std::string>& n) {
    if (n.empty()) return "(no columns)";
    return fmt::format("'{}'", fmt::join(n, "', '"));
  }

  std::vector<std::string> names_;
  std::vector<detail::frame_column<T>> cols_;
  std::vector<std::uint8_t> ids_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t rows_ = 0;
};

namespace detail {
/// 1 where the value is present (not NaN): rows with a label, rows to score.
template <class T>
inline std::vector<std::uint8_t> present_mask(std::span<const T> v) {
  std::vector<std::uint8_t> keep(v.size());
  for (std::size_t r = 0; r < v.size(); ++r) keep[r] = !std::isnan(v[r]);
  return keep;
}
}  // namespace detail

/// describe(): one row of statistics per column. Prints as a table via fmt.
template <scalar T>
struct Description {
  struct row {
    std::string name;
    std::size_t count = 0;    // non-missing values
    std::size_t missing = 0;  // NaN values
    double mean = 0, std = 0, min = 0, q25 = 0, q50 = 0, q75 = 0, max = 0;
  };
  std::vector<row> rows;
};

template <scalar T>
Description<T> DataFrame<T>::describe() const {
  Description<T> d;
  std::vector<T> work;
  static constexpr double probs[] = {0.0, 0.25, 0.5, 0.75, 1.0};
  for (std::size_t c = 0; c < cols_.size(); ++c) {
    if (cols_[c].kind != column_kind::numeric) continue;
    auto s = detail::column_span(cols_[c].values);
    typename Description<T>::row r;
    r.name = names_[c];
    const auto m = detail::nan_moments<T>(s, 1);
    r.count = m.count;
    r.missing = s.size() - m.count;
    r.mean = m.mean;
    r.std = m.var >= 0 ? std::sqrt(m.var) : m.var;
    T q[5];
    detail::nan_quantiles<T>(s, probs, q, work);
    r.min = q[0];
    r.q25 = q[1];
    r.q50 = q[2];
    r.q75 = q[3];
    r.max = q[4];
    d.rows.push_back(r);
  }
  return d;
}

// The compiled mode holds these (src/frame.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class DataFrame)

MLOPS_NAMESPACE_END

template <mlops::scalar T>
struct fmt::formatter<mlops::Description<T>> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const mlops::Description<T>& d, Ctx& ctx) const {
    std::size_t w = 6;
    for (const auto& r : d.rows) w = (std::max)(w, r.name.size());
    auto out = fmt::format_to(ctx.out(), "{:<{}} {:>9} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}\n", "column", w,
                              "count", "missing", "mean", "std", "min", "25%", "50%", "75%", "max");
    for (const auto& r : d.rows)
      out = fmt::format_to(out, "{:<{}} {:>9} {:>8} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g} {:>12.6g}\n", r.name, w,
                           r.count, r.missing, r.mean, r.std, r.min, r.q25, r.q50, r.q75, r.max);
    return out;
  }
};

/// A frame as a table: the column names, their kinds, the first rows ("{}": 10, "{:N}":
/// N), then the shape. Numbers in %g form, missing values as NA.
template <mlops::scalar T>
struct fmt::formatter<mlops::DataFrame<T>> {
  std::size_t max_rows = 10;
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    std::size_t n = 0;
    bool digits = false;
    while (it != ctx.end() && *it >= '0' && *it <= '9') n = n * 10 + static_cast<std::size_t>(*it - '0'), ++it, digits = true;
    if (digits) max_rows = n;
    return it;
  }
  template <class Ctx>
  auto format(const mlops::DataFrame<T>& f, Ctx& ctx) const {
    const std::size_t shown = (std::min)(max_rows, f.rows());
    std::vector<std::vector<std::string>> cells(f.cols());
    std::vector<std::size_t> width(f.cols());
    for (std::size_t c = 0; c < f.cols(); ++c) {
      auto& col = cells[c];
      col.push_back(f.names()[c]);
      col.push_back(std::string(mlops::kind_name(f.kind(c))) + (f.is_id(f.names()[c]) ? ", id" : ""));
      for (std::size_t r = 0; r < shown; ++r) {
        switch (f.kind(c)) {
          case mlops::column_kind::numeric: {
            const T v = f.column(c)[r];
            col.push_back(std::isnan(v) ? std::string("NA") : fmt::format("{:.6g}", v));
            break;
          }
          case mlops::column_kind::categorical: {
            const auto v = f.categorical(c);
            col.push_back(v.codes[r] < 0 ? std::string("NA") : std::string(v.label(r).substr(0, 24)));
            break;
          }
          case mlops::column_kind::datetime: {
            const auto v = f.datetime(c);
            col.push_back(v.values[r] == mlops::missing_time ? std::string("NA") : mlops::detail::format_iso8601(v.values[r], v.has_time));
            break;
          }
        }
      }
      for (const auto& s : col) width[c] = (std::max)(width[c], s.size());
    }
    auto out = ctx.out();
    for (std::size_t line = 0; line < shown + 2; ++line) {
      for (std::size_t c = 0; c < f.cols(); ++c)
        out = fmt::format_to(out, "{}{:>{}}", c ? "  " : "", cells[c][line], width[c]);
      out = fmt::format_to(out, "\n");
    }
    if (shown < f.rows()) out = fmt::format_to(out, "... {} more rows\n", f.rows() - shown);
    return fmt::format_to(out, "[{} rows x {} columns]\n", f.rows(), f.cols());
  }
};
