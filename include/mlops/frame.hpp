// mlops/frame.hpp - DataFrame<T>: named numeric columns, NaN marks a missing value.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
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

#include "mlops/detail/stats.hpp"
#include "mlops/detail/xt_bridge.hpp"
#include "mlops/error.hpp"
#include "mlops/fwd.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
struct Description;

namespace detail {
/// out[k] = src[rows[k]]: a plain function with restrict pointers, so the loop keeps its
/// pointers in registers and the compiler may use gathers.
template <class T>
inline void gather_rows(const T* __restrict src, const std::size_t* __restrict rows, std::size_t n, T* __restrict out) noexcept {
  for (std::size_t k = 0; k < n; ++k) out[k] = src[rows[k]];
}
}  // namespace detail

/// A table of named numeric columns of equal length. Columns are contiguous
/// (xtensor storage behind detail/xt_bridge.hpp); NaN marks a missing value.
/// Copying a DataFrame copies its data; moving is cheap.
template <scalar T>
class DataFrame {
 public:
  using value_type = T;
  using column_type = detail::column_storage<T>;
  using matrix_type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

  DataFrame() = default;

  /// Builds a frame from names and equal-length columns (data_error otherwise).
  static DataFrame from_columns(std::vector<std::string> names, const std::vector<std::vector<T>>& columns) {
    if (names.size() != columns.size())
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("from_columns: {} names but {} columns; pass one name per column",
                                                           names.size(), columns.size())));
    DataFrame f;
    for (std::size_t i = 0; i < names.size(); ++i) f.add_column(std::move(names[i]), std::span<const T>(columns[i]));
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

  /// Appends a column (copied). data_error on length mismatch or duplicate name.
  void add_column(std::string name, std::span<const T> values) {
    auto col = detail::make_column<T>(values.size());
    std::copy(values.begin(), values.end(), col.data());
    add_column(std::move(name), std::move(col));
  }
  void add_column(std::string name, column_type&& col) {
    if (!cols_.empty() && col.size() != rows_)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("column '{}' has {} rows but the frame has {}; columns must have equal length",
                                                           name, col.size(), rows_)));
    if (contains(name))
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("a column named '{}' already exists; column names must be unique", name)));
    if (cols_.empty()) rows_ = col.size();
    index_.emplace(name, names_.size());
    names_.push_back(std::move(name));
    cols_.push_back(std::move(col));
  }

  std::span<const T> column(std::size_t i) const {
    check_index(i);
    return detail::column_span(cols_[i]);
  }
  std::span<T> column(std::size_t i) {
    check_index(i);
    return detail::column_span(cols_[i]);
  }
  std::span<const T> column(std::string_view name) const { return column(index_of(name)); }
  std::span<T> column(std::string_view name) { return column(index_of(name)); }
  /// The xtensor storage of a column, for callers who want xtensor expressions.
  const column_type& xcolumn(std::string_view name) const { return cols_[index_of(name)]; }

  /// Zero-copy Eigen view of one column.
  Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> column_map(std::string_view name) const {
    auto s = column(name);
    return {s.data(), static_cast<Eigen::Index>(s.size())};
  }

  /// A new frame with these columns, in this order.
  DataFrame select(const std::vector<std::string>& names) const {
    DataFrame f;
    for (const auto& n : names) f.add_column(n, column(n));
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
    DataFrame f;
    for (std::size_t c = 0; c < cols_.size(); ++c) {
      auto col = detail::make_column<T>(kept);
      T* out = col.data();
      const T* src = cols_[c].data();
      for (const auto& [b, e] : runs) out = std::copy(src + b, src + e, out);
      f.add_column(names_[c], std::move(col));
    }
    f.rows_ = kept;
    return f;
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

  /// Missing values (NaN) per column, in column order.
  std::vector<std::size_t> missing_counts() const {
    std::vector<std::size_t> out(cols_.size());
    for (std::size_t c = 0; c < cols_.size(); ++c)
      for (const T v : detail::column_span(cols_[c])) out[c] += std::isnan(v);
    return out;
  }

  /// The selected columns as a column-major Eigen matrix (one copy, contiguous per column).
  matrix_type to_matrix(const std::vector<std::string>& names) const {
    matrix_type m(static_cast<Eigen::Index>(rows_), static_cast<Eigen::Index>(names.size()));
    for (std::size_t j = 0; j < names.size(); ++j) {
      auto s = column(names[j]);
      std::copy(s.begin(), s.end(), m.col(static_cast<Eigen::Index>(j)).data());
    }
    return m;
  }
  matrix_type to_matrix() const { return to_matrix(names_); }

  /// Summary statistics per column, as pandas' DataFrame.describe() (std with ddof=1).
  Description<T> describe() const;

 private:
  /// Copies rows (indices checked by the caller) column by column into new columns.
  DataFrame gather(std::span<const std::size_t> rows) const {
    DataFrame f;
    for (std::size_t c = 0; c < cols_.size(); ++c) {
      auto col = detail::make_column<T>(rows.size());
      detail::gather_rows(cols_[c].data(), rows.data(), rows.size(), col.data());
      f.add_column(names_[c], std::move(col));
    }
    f.rows_ = rows.size();
    return f;
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
  std::vector<column_type> cols_;
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
    auto s = detail::column_span(cols_[c]);
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
