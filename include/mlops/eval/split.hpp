// mlops/eval/split.hpp - seeded, platform-independent train/test split.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
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
inline SplitIndices train_test_split_indices(std::size_t n, double test_size, std::uint64_t seed, bool shuffle = true) {
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

/// Splits a frame into {train, test}.
template <scalar T>
std::pair<DataFrame<T>, DataFrame<T>> train_test_split(const DataFrame<T>& frame, double test_size = 0.25,
                                                       std::uint64_t seed = 0, bool shuffle = true) {
  const auto s = train_test_split_indices(frame.rows(), test_size, seed, shuffle);
  return {frame.take(s.train), frame.take(s.test)};
}

MLOPS_NAMESPACE_END
