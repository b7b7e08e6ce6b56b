// mlops/eval/time_split.hpp - splits of time-ordered rows: the past trains, the future
// tests. time_order sorts rows by a time column, time_train_test_split holds out the
// latest rows, TimeSeriesSplit gives scikit-learn's expanding-window folds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN

/// Folds for rows in time order, as scikit-learn 1.2's TimeSeriesSplit: fold i tests on
/// the test_size rows that start at n - (n_splits - i) test_size and trains on every
/// earlier row (the last max_train_size of them when set), leaving `gap` rows out between
/// the two. Training parts grow; no fold trains on a later row than it tests.
struct TimeSeriesSplit {
  std::size_t n_splits = 5;
  std::size_t test_size = 0;       // rows per test part; 0: n / (n_splits + 1)
  std::size_t gap = 0;             // rows left out between a training part and its test part
  std::size_t max_train_size = 0;  // 0: every earlier row

  /// The folds of rows 0 .. n-1 (argument_error when they cannot all have rows).
  std::vector<SplitIndices> split(std::size_t n) const {
    if (n_splits < 2)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("TimeSeriesSplit: n_splits must be at least 2 (got {})", n_splits)));
    if (n_splits + 1 > n)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("TimeSeriesSplit: {} splits need at least {} rows (got {})",
                                                                     n_splits, n_splits + 1, n)));
    const std::size_t t = test_size ? test_size : n / (n_splits + 1);
    if (t == 0 || t * n_splits + gap >= n)
      MLOPS_THROW(argument_error(errc::invalid_argument,
                                 fmt::format("TimeSeriesSplit: {} splits of {} test rows with a gap of {} leave no training rows in {} "
                                             "rows: use fewer splits, a smaller test_size or gap",
                                             n_splits, t, gap, n)));
    std::vector<SplitIndices> out(n_splits);
    for (std::size_t i = 0; i < n_splits; ++i) {
      const std::size_t start = n - (n_splits - i) * t, train_end = start - gap;
      const std::size_t train_begin = max_train_size && max_train_size < train_end ? train_end - max_train_size : 0;
      out[i].train.resize(train_end - train_begin);
      std::iota(out[i].train.begin(), out[i].train.end(), train_begin);
      out[i].test.resize(t);
      std::iota(out[i].test.begin(), out[i].test.end(), start);
    }
    return out;
  }
};

/// The rows of `frame` in the order of its time column (datetime or numeric), ties in row
/// order. A missing time is data_error naming the column and the row.
template <scalar T>
std::vector<std::size_t> time_order(const DataFrame<T>& frame, std::string_view column) {
  const column_kind k = frame.kind(column);
  std::vector<std::size_t> order(frame.rows());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto missing = [&](std::size_t row) {
    MLOPS_THROW(data_error(errc::data_non_finite,
                           fmt::format("time column '{}' has no value at row {}: a time split needs a time on every row (drop or fill "
                                       "those rows)",
                                       column, row)));
  };
  if (k == column_kind::datetime) {
    const auto v = frame.datetime(column).values;
    for (std::size_t r = 0; r < v.size(); ++r)
      if (v[r] == missing_time) missing(r);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  } else if (k == column_kind::numeric) {
    const auto v = frame.column(column);
    for (std::size_t r = 0; r < v.size(); ++r)
      if (!std::isfinite(v[r])) missing(r);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  } else {
    MLOPS_THROW(schema_error(errc::schema_column_type,
                             fmt::format("time column '{}' is text: a time column holds dates or numbers (read it as a date: "
                                         "CsvOptions::column_types, --datetime {})",
                                         column, column)));
  }
  return order;
}

/// {train, test}: the rows in time order, the latest ceil(test_size * n) of them held out
/// (the rule of train_test_split); both parts keep time order. Rows that share the time
/// at the cut may fall on either side, in row order.
template <scalar T>
std::pair<DataFrame<T>, DataFrame<T>> time_train_test_split(const DataFrame<T>& frame, std::string_view column, double test_size = 0.25) {
  auto order = time_order(frame, column);
  const std::size_t n_test = train_test_split_indices(order.size(), test_size, 0, false).test.size();  // its size rule and checks
  const auto cut = order.begin() + static_cast<std::ptrdiff_t>(order.size() - n_test);
  return {frame.take(std::vector<std::size_t>(order.begin(), cut)), frame.take(std::vector<std::size_t>(cut, order.end()))};
}

MLOPS_NAMESPACE_END
