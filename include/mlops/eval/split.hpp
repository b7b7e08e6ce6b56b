// mlops/eval/split.hpp - seeded, platform-independent train/test split.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/rng.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN

struct SplitIndices {
  std::vector<std::size_t> train, test;
};

/// Row indices for a split: ceil(test_size * n) test rows (scikit-learn's rule), the
/// rest train. shuffle = true permutes with our own xoshiro256** + Fisher-Yates, so a
/// seed gives the same split on every platform. Both parts must be non-empty.
MLOPS_FUNC SplitIndices train_test_split_indices(std::size_t n, double test_size, std::uint64_t seed, bool shuffle = true);

/// Splits a frame into {train, test}.
template <scalar T>
std::pair<DataFrame<T>, DataFrame<T>> train_test_split(const DataFrame<T>& frame, double test_size = 0.25,
                                                       std::uint64_t seed = 0, bool shuffle = true) {
  const auto s = train_test_split_indices(frame.rows(), test_size, seed, shuffle);
  return {frame.take(s.train), frame.take(s.test)};
}

namespace detail {
/// Rows of each distinct label (labels sorted ascending), in row order.
template <class T>
std::vector<std::vector<std::size_t>> rows_by_label(std::span<const T> labels) {
  std::vector<T> classes(labels.begin(), labels.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<std::vector<std::size_t>> rows(classes.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != labels[i])
      MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("stratified split: label at row {} is missing (NaN)", i)));
    rows[static_cast<std::size_t>(std::lower_bound(classes.begin(), classes.end(), labels[i]) - classes.begin())].push_back(i);
  }
  return rows;
}
/// Train/test row lists of each fold from the fold of every row: built in row order, so
/// every list is sorted without sorting; O(n k).
MLOPS_FUNC std::vector<SplitIndices> folds_from_assignment(const std::vector<std::size_t>& fold_of, std::size_t k);

/// Folds whose validation parts ("blocks") partition the rows: fold f validates on block f
/// and trains on every other block. What fitting from statistics reads
/// (pipeline/fold_stats.hpp): the blocks' row lists hold n indices in all, where K folds'
/// train and test lists hold K n.
struct fold_blocks {
  std::vector<std::uint8_t> fold_of;           // each row's block
  std::vector<std::vector<std::size_t>> rows;  // each block's rows, ascending
  std::size_t k() const noexcept { return rows.size(); }
  std::size_t n() const noexcept { return fold_of.size(); }
  std::size_t train_size(std::size_t f) const noexcept { return fold_of.size() - rows[f].size(); }
};
/// The blocks of an assignment of rows to k <= 255 folds.
MLOPS_FUNC fold_blocks blocks_from_assignment(const std::vector<std::size_t>& fold_of, std::size_t k);
/// The blocks of 2 to 32 folds whose validation parts partition rows 0 .. n-1 and whose
/// training parts are the rest, every index list strictly increasing (KFold's); nothing
/// for any other folds.
MLOPS_FUNC std::optional<fold_blocks> fold_partition(const std::vector<SplitIndices>& splits, std::size_t n);
/// Each fold's train and test lists (folds_from_assignment of the blocks).
MLOPS_FUNC std::vector<SplitIndices> splits_of(const fold_blocks& b);
}  // namespace detail

/// A split that keeps each label's share in both parts. The test part has
/// ceil(test_size * n) rows, given to the labels in proportion to their counts (largest
/// remainder, ties to the smaller label); within a label the rows are chosen by our own
/// seeded shuffle. Each part is sorted by row index. NaN labels are a data_error.
template <class T>
SplitIndices stratified_train_test_split_indices(std::span<const T> labels, double test_size, std::uint64_t seed) {
  const std::size_t n = labels.size();
  (void)train_test_split_indices(n, test_size, seed, false);  // the same argument checks
  const auto n_test = static_cast<std::size_t>(std::ceil(test_size * static_cast<double>(n)));
  auto groups = detail::rows_by_label(labels);
  const std::size_t K = groups.size();
  std::vector<std::size_t> take(K);
  std::vector<std::pair<double, std::size_t>> rem(K);
  std::size_t given = 0;
  for (std::size_t k = 0; k < K; ++k) {
    const double exact = static_cast<double>(n_test) * static_cast<double>(groups[k].size()) / static_cast<double>(n);
    take[k] = static_cast<std::size_t>(std::floor(exact));
    given += take[k];
    rem[k] = {exact - static_cast<double>(take[k]), k};
  }
  std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; given < n_test; i = (i + 1) % K)
    if (take[rem[i].second] < groups[rem[i].second].size()) ++take[rem[i].second], ++given;
  detail::xoshiro256ss rng(seed);
  SplitIndices s;
  for (std::size_t k = 0; k < K; ++k) {
    detail::shuffle(groups[k].begin(), groups[k].end(), rng);
    s.test.insert(s.test.end(), groups[k].begin(), groups[k].begin() + static_cast<std::ptrdiff_t>(take[k]));
    s.train.insert(s.train.end(), groups[k].begin() + static_cast<std::ptrdiff_t>(take[k]), groups[k].end());
  }
  std::sort(s.test.begin(), s.test.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

/// Splits a frame keeping the share of each value of `label_column` in both parts.
template <scalar T>
std::pair<DataFrame<T>, DataFrame<T>> stratified_train_test_split(const DataFrame<T>& frame, std::string_view label_column,
                                                                  double test_size = 0.25, std::uint64_t seed = 0) {
  const auto s = stratified_train_test_split_indices<T>(frame.column(label_column), test_size, seed);
  return {frame.take(s.train), frame.take(s.test)};
}

/// K-fold cross-validation indices: fold i is the test part of split i. Fold sizes are
/// n/k, the first n % k folds one larger (scikit-learn's KFold). shuffle permutes the rows
/// first with our seeded generator (same folds on every platform); otherwise folds are
/// contiguous.
struct KFold {
  std::size_t k = 5;
  bool shuffle = false;
  std::uint64_t seed = 0;

  std::vector<SplitIndices> split(std::size_t n) const { return detail::folds_from_assignment(assign(n), k); }
  /// The fold of each of n rows (fold i: the test part of split i), without the index lists.
  std::vector<std::size_t> assign(std::size_t n) const {
    check(n);
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    if (shuffle) {
      detail::xoshiro256ss rng(seed);
      detail::shuffle(idx.begin(), idx.end(), rng);
    }
    std::vector<std::size_t> fold_of(n);
    std::size_t start = 0;
    for (std::size_t f = 0; f < k; ++f) {
      const std::size_t size = n / k + (f < n % k ? 1 : 0);
      for (std::size_t i = start; i < start + size; ++i) fold_of[idx[i]] = f;
      start += size;
    }
    return fold_of;
  }
  void check(std::size_t n) const {
    if (k < 2) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("KFold: k = {} must be at least 2", k)));
    if (n < k) MLOPS_THROW(data_error(errc::data_empty, fmt::format("KFold: {} rows cannot fill {} folds", n, k)));
  }
};

/// K folds that each keep every label's share: the rows of each label (shuffled when
/// `shuffle`) are dealt to the folds in turn, each label starting at the fold after the
/// one where the previous label stopped, so fold sizes differ by at most one. A label
/// with fewer than k rows is absent from some folds (documented, not an error).
struct StratifiedKFold {
  std::size_t k = 5;
  bool shuffle = false;
  std::uint64_t seed = 0;

  template <class T>
  std::vector<SplitIndices> split(std::span<const T> labels) const {
    return detail::folds_from_assignment(assign(labels), k);
  }
  /// The fold of each row (fold i: the test part of split i), without the index lists.
  template <class T>
  std::vector<std::size_t> assign(std::span<const T> labels) const {
    KFold{k, shuffle, seed}.check(labels.size());
    auto groups = detail::rows_by_label(labels);
    detail::xoshiro256ss rng(seed);
    std::vector<std::size_t> fold_of(labels.size());
    std::size_t next = 0;
    for (auto& g : groups) {
      if (shuffle) detail::shuffle(g.begin(), g.end(), rng);
      for (const auto r : g) {
        fold_of[r] = next;
        next = (next + 1) % k;
      }
    }
    return fold_of;
  }
};

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_EVAL)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC SplitIndices train_test_split_indices(std::size_t n, double test_size, std::uint64_t seed, bool shuffle) {
  if (!(test_size > 0 && test_size < 1))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("train_test_split: test_size = {} must be in (0, 1)", test_size)));
  const auto n_test = static_cast<std::size_t>(std::ceil(test_size * static_cast<double>(n)));
  if (n_test == 0 || n_test >= n)
    MLOPS_THROW(data_error(errc::data_empty, fmt::format("train_test_split: {} rows with test_size {} leave an empty train or test part", n, test_size)));
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (shuffle) {
    detail::xoshiro256ss rng(seed);
    detail::shuffle(idx.begin(), idx.end(), rng);
  }
  SplitIndices s;
  s.test.assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_test));
  s.train.assign(idx.begin() + static_cast<std::ptrdiff_t>(n_test), idx.end());
  return s;
}

namespace detail {
MLOPS_FUNC std::vector<SplitIndices> folds_from_assignment(const std::vector<std::size_t>& fold_of, std::size_t k) {
  const std::size_t n = fold_of.size();
  std::vector<std::size_t> size(k, 0);
  for (const auto f : fold_of) ++size[f];
  std::vector<SplitIndices> out(k);
  for (std::size_t f = 0; f < k; ++f) {
    // Branch-free: write every row, advance only where it belongs (one slot of slack).
    auto& test = out[f].test;
    auto& train = out[f].train;
    test.resize(size[f] + 1);
    train.resize(n - size[f] + 1);
    std::size_t a = 0, b = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const bool in = fold_of[r] == f;
      test[a] = r;
      train[b] = r;
      a += in;
      b += !in;
    }
    test.resize(a);
    train.resize(b);
  }
  return out;
}

MLOPS_FUNC fold_blocks blocks_from_assignment(const std::vector<std::size_t>& fold_of, std::size_t k) {
  fold_blocks b;
  b.fold_of.resize(fold_of.size());
  b.rows.resize(k);
  std::vector<std::size_t> size(k, 0);
  for (const auto f : fold_of) ++size[f];
  for (std::size_t f = 0; f < k; ++f) b.rows[f].reserve(size[f]);
  for (std::size_t r = 0; r < fold_of.size(); ++r) {
    b.fold_of[r] = static_cast<std::uint8_t>(fold_of[r]);
    b.rows[fold_of[r]].push_back(r);
  }
  return b;
}

MLOPS_FUNC std::optional<fold_blocks> fold_partition(const std::vector<SplitIndices>& splits, std::size_t n) {
  const std::size_t K = splits.size();
  if (K < 2 || K > 32) return std::nullopt;
  fold_blocks b;
  b.fold_of.assign(n, 0xff);
  std::size_t total = 0;
  for (std::size_t f = 0; f < K; ++f) {
    const auto& t = splits[f].test;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] >= n || b.fold_of[t[i]] != 0xff || (i > 0 && t[i] <= t[i - 1])) return std::nullopt;
      b.fold_of[t[i]] = static_cast<std::uint8_t>(f);
    }
    total += t.size();
  }
  if (total != n) return std::nullopt;
  for (std::size_t f = 0; f < K; ++f) {
    const auto& tr = splits[f].train;
    if (tr.size() != n - splits[f].test.size()) return std::nullopt;
    for (std::size_t i = 0; i < tr.size(); ++i)
      if (tr[i] >= n || b.fold_of[tr[i]] == f || (i > 0 && tr[i] <= tr[i - 1])) return std::nullopt;
  }
  b.rows.resize(K);
  for (std::size_t f = 0; f < K; ++f) b.rows[f] = splits[f].test;
  return b;
}

MLOPS_FUNC std::vector<SplitIndices> splits_of(const fold_blocks& b) {
  return folds_from_assignment(std::vector<std::size_t>(b.fold_of.begin(), b.fold_of.end()), b.k());
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_EVAL
