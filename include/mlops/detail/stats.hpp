// mlops/detail/stats.hpp - moments and O(n) quantiles by selection.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// numpy's linear interpolation between a and b at t in [0,1] (numpy._lerp):
/// the second form for t >= 0.5 keeps the result monotone and exact at t = 1.
template <class T>
inline T numpy_lerp(T a, T b, T t) noexcept {
  const T diff = b - a;
  return t >= T(0.5) ? b - diff * (T(1) - t) : a + diff * t;
}

/// Quantiles with linear interpolation (numpy's and pandas' default, "method=linear"),
/// by selection: O(n) expected per quantile, no sort. `work` holds the values (no NaN)
/// and is reordered. `probs` must be ascending in [0,1]. Results go to `out`.
template <class T>
inline void quantiles_inplace(std::span<T> work, std::span<const double> probs, std::span<T> out) noexcept {
  const std::size_t n = work.size();
  MLOPS_ASSERT(out.size() == probs.size(), "one output per probability");
  if (n == 0) {
    for (auto& o : out) o = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  std::size_t done = 0;  // elements [0, done) are <= every element after them
  for (std::size_t q = 0; q < probs.size(); ++q) {
    const double h = static_cast<double>(n - 1) * probs[q];
    std::size_t lo = static_cast<std::size_t>(std::floor(h));
    if (lo >= n) lo = n - 1;
    const T frac = static_cast<T>(h - static_cast<double>(lo));
    if (lo >= done) {
      std::nth_element(work.begin() + static_cast<std::ptrdiff_t>(done), work.begin() + static_cast<std::ptrdiff_t>(lo),
                       work.end());
      done = lo;
    }
    const T a = work[lo];
    T b = a;
    if (lo + 1 < n && frac != T(0)) {
      // The next order statistic is the minimum of the part above lo.
      b = *std::min_element(work.begin() + static_cast<std::ptrdiff_t>(lo + 1), work.end());
    }
    out[q] = (frac == T(0)) ? a : numpy_lerp(a, b, frac);
  }
}

/// Copies the non-NaN values of `column` into `work` (resized) and returns how many.
template <class T>
inline std::size_t copy_present(std::span<const T> column, std::vector<T>& work) {
  work.resize(column.size());
  std::size_t m = 0;
  for (const T v : column) {
    work[m] = v;
    m += !std::isnan(v);  // branch-free compaction
  }
  work.resize(m);
  return m;
}

/// Mean and variance over non-NaN values, two passes with the rounding correction
/// (as numpy/scikit-learn do): var = (sum d^2 - (sum d)^2 / n) / (n - ddof).
template <class T>
struct moments {
  std::size_t count = 0;
  double mean = 0;
  double var = 0;  // with the requested ddof
  double m2 = 0;   // sum of squared deviations (corrected)
};

template <class T>
inline moments<T> nan_moments(std::span<const T> x, int ddof = 0) noexcept {
  moments<T> m;
  double sum = 0;
  std::size_t n = 0;
  for (const T v : x) {
    if (!std::isnan(v)) {
      sum += static_cast<double>(v);
      ++n;
    }
  }
  m.count = n;
  if (n == 0) {
    m.mean = std::numeric_limits<double>::quiet_NaN();
    m.var = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  m.mean = sum / static_cast<double>(n);
  double s1 = 0, s2 = 0;
  for (const T v : x) {
    if (!std::isnan(v)) {
      const double d = static_cast<double>(v) - m.mean;
      s1 += d;
      s2 += d * d;
    }
  }
  m.m2 = s2 - s1 * s1 / static_cast<double>(n);
  if (m.m2 < 0) m.m2 = 0;
  m.var = (static_cast<std::ptrdiff_t>(n) - ddof > 0) ? m.m2 / static_cast<double>(static_cast<std::ptrdiff_t>(n) - ddof)
                                                        : std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace detail
MLOPS_NAMESPACE_END
