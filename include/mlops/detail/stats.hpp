// mlops/detail/stats.hpp - moments and O(n) quantiles by selection.
#pragma once

#include <algorithm>
#include <tuple>
#include <utility>
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

/// Quantiles (numpy's linear method) of the non-NaN values of `data`, which is not
/// modified. Exact, O(n), one pass over the data for large inputs (Floyd-Rivest's idea):
/// a fixed-stride sample is sorted, each wanted rank gets a bracket of sample values
/// around it with a safety margin, and one pass counts the values below each bracket and
/// gathers the ones inside; selection then runs on the small gathered sets. The ranks are
/// verified after the pass; if a bracket missed (an unrepresentative sample), the exact
/// fallback (selection on a copy) runs instead, so the result never depends on the sample.
/// `probs` ascending in [0,1]; `scratch` is reused working memory. Returns the number of
/// non-NaN values (0: every output is NaN).
namespace quantile_pass {
/// The single pass of nan_quantiles over NB brackets, branch-free: every value is written
/// at each bracket's cursor and the cursor advances only if the value is inside. Returns
/// false if a bracket overflowed its buffer (the caller then falls back to exact).
template <int NB, class T>
inline bool run(std::span<const T> data, const T* lo, const T* hi, std::size_t* below, T* const* buf,
                std::size_t* used, std::size_t cap, std::size_t& n) noexcept {
  constexpr auto nb = static_cast<std::size_t>(NB);
  std::size_t cnt = 0, bl[nb] = {}, k[nb] = {};
  T l[nb], h[nb];
  for (int j = 0; j < NB; ++j) {
    l[j] = lo[j];
    h[j] = hi[j];
  }
  for (const T v : data) {
    cnt += (v == v);  // NaN fails every comparison below, so it is never counted or kept
    for (int j = 0; j < NB; ++j) {
      bl[j] += (v < l[j]);
      buf[j][k[j]] = v;
      k[j] += (v >= l[j]) & (v <= h[j]);
    }
    if (MLOPS_UNLIKELY(((NB > 0 ? k[0] : 0) | (NB > 1 ? k[1] : 0) | (NB > 2 ? k[2] : 0) | (NB > 3 ? k[3] : 0)) >= cap))
      return false;
  }
  for (int j = 0; j < NB; ++j) {
    below[j] = bl[j];
    used[j] = k[j];
  }
  n = cnt;
  return true;
}
}  // namespace quantile_pass

template <class T>
inline std::size_t nan_quantiles(std::span<const T> data, std::span<const double> probs, std::span<T> out,
                                 std::vector<T>& scratch) {
  constexpr std::size_t small = 16384, sample_size = 4096;
  auto exact = [&]() {
    const std::size_t m = copy_present<T>(data, scratch);
    quantiles_inplace<T>(std::span<T>(scratch), probs, out);
    return m;
  };
  const std::size_t total = data.size();
  if (total < small || probs.empty()) return exact();
  // 1. Sample at a fixed stride and sort it.
  std::vector<T> sample;
  sample.reserve(sample_size);
  const std::size_t stride = total / sample_size;
  for (std::size_t i = stride / 2; i < total && sample.size() < sample_size; i += stride)
    if (data[i] == data[i]) sample.push_back(data[i]);
  if (sample.size() < sample_size / 4) return exact();  // mostly NaN
  std::sort(sample.begin(), sample.end());
  const std::size_t ms = sample.size();
  // 2. Brackets: 4 standard errors of the sample rank either side, merged where they overlap.
  constexpr int max_brackets = 4;
  T lo[max_brackets], hi[max_brackets];
  int nb = 0;
  std::vector<int> owner(probs.size());
  for (std::size_t q = 0; q < probs.size(); ++q) {
    const double p = probs[q];
    const double pos = p * static_cast<double>(ms - 1);
    const double margin = 4.0 * std::sqrt(static_cast<double>(ms) * p * (1 - p)) + 4.0;
    const double l = std::floor(pos - margin), h = std::ceil(pos + margin) + 1;
    const T blo = l <= 0 ? -std::numeric_limits<T>::infinity() : sample[static_cast<std::size_t>(l)];
    const T bhi = h >= static_cast<double>(ms - 1) ? std::numeric_limits<T>::infinity() : sample[static_cast<std::size_t>(h)];
    if (nb > 0 && blo <= hi[nb - 1]) {
      hi[nb - 1] = (std::max)(hi[nb - 1], bhi);
    } else {
      if (nb == max_brackets) return exact();
      lo[nb] = blo;
      hi[nb] = bhi;
      ++nb;
    }
    owner[q] = nb - 1;
  }
  // Room per bracket: 3x its expected share, plus one slot for the unconditional write.
  double widest = 0;
  for (int j = 0; j < nb; ++j) {
    auto rank_of = [&](T v) { return static_cast<double>(std::lower_bound(sample.begin(), sample.end(), v) - sample.begin()); };
    const double a = std::isinf(lo[j]) ? 0.0 : rank_of(lo[j]);
    const double b = std::isinf(hi[j]) ? static_cast<double>(ms) : static_cast<double>(std::upper_bound(sample.begin(), sample.end(), hi[j]) - sample.begin());
    widest = (std::max)(widest, (b - a + 1) / static_cast<double>(ms));
  }
  const std::size_t cap = (std::min)(total, static_cast<std::size_t>(3.0 * widest * static_cast<double>(total)) + 256);
  scratch.resize(static_cast<std::size_t>(nb) * (cap + 1));
  T* buf[max_brackets] = {};
  for (int j = 0; j < nb; ++j) buf[j] = scratch.data() + static_cast<std::size_t>(j) * (cap + 1);
  std::size_t below[max_brackets] = {}, used[max_brackets] = {}, n = 0;
  // 3. One pass.
  bool ok = false;
  switch (nb) {
    case 1: ok = quantile_pass::run<1, T>(data, lo, hi, below, buf, used, cap, n); break;
    case 2: ok = quantile_pass::run<2, T>(data, lo, hi, below, buf, used, cap, n); break;
    case 3: ok = quantile_pass::run<3, T>(data, lo, hi, below, buf, used, cap, n); break;
    default: ok = quantile_pass::run<4, T>(data, lo, hi, below, buf, used, cap, n); break;
  }
  if (!ok) return exact();
  if (n == 0) {
    for (auto& o : out) o = std::numeric_limits<T>::quiet_NaN();
    return 0;
  }
  // 4. Verify every needed rank fell inside its bracket, then select.
  for (std::size_t q = 0; q < probs.size(); ++q) {
    const double h = static_cast<double>(n - 1) * probs[q];
    std::size_t r = static_cast<std::size_t>(std::floor(h));
    if (r >= n) r = n - 1;
    const std::size_t r2 = r + 1 < n ? r + 1 : r;
    const int j = owner[q];
    if (r < below[j] || r2 >= below[j] + used[j]) return exact();
  }
  for (std::size_t q = 0; q < probs.size(); ++q) {
    const double h = static_cast<double>(n - 1) * probs[q];
    std::size_t r = static_cast<std::size_t>(std::floor(h));
    if (r >= n) r = n - 1;
    const int j = owner[q];
    T* first = buf[j];
    T* last = buf[j] + used[j];
    const std::size_t i = r - below[j];
    std::nth_element(first, first + i, last);
    const T a = first[i];
    const T frac = static_cast<T>(h - static_cast<double>(r));
    out[q] = (frac == T(0) || r + 1 >= n) ? a : numpy_lerp(a, *std::min_element(first + i + 1, last), frac);
  }
  return n;
}

/// Mean and variance over non-NaN values (see nan_moments).
template <class T>
struct moments {
  std::size_t count = 0;
  double mean = 0;
  double var = 0;  // with the requested ddof
  double m2 = 0;   // sum of squared deviations (corrected)
};

/// Count of the non-NaN values, and the sums of (x - shift) and (x - shift)^2 over them.
/// Eight independent lanes combined in a fixed order: the loop vectorises without
/// -ffast-math, and the result is the same on every platform (and more accurate than
/// one running sum).
struct centered_sums {
  double s1 = 0, s2 = 0;
  std::size_t count = 0;
};
template <class T>
inline centered_sums nan_centered_sums(std::span<const T> x, double shift) noexcept {
  constexpr std::size_t L = 8;
  double s1[L] = {}, s2[L] = {};
  std::size_t cnt[L] = {};
  const std::size_t n = x.size();
  std::size_t i = 0;
  for (; i + L <= n; i += L)
    for (std::size_t k = 0; k < L; ++k) {
      const T v = x[i + k];
      const bool ok = v == v;
      const double d = ok ? static_cast<double>(v) - shift : 0.0;
      s1[k] += d;
      s2[k] += d * d;
      cnt[k] += ok;
    }
  for (; i < n; ++i) {
    const T v = x[i];
    const bool ok = v == v;
    const double d = ok ? static_cast<double>(v) - shift : 0.0;
    s1[0] += d;
    s2[0] += d * d;
    cnt[0] += ok;
  }
  auto fold = [](const double* a) { return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); };
  return {fold(s1), fold(s2), ((cnt[0] + cnt[1]) + (cnt[2] + cnt[3])) + ((cnt[4] + cnt[5]) + (cnt[6] + cnt[7]))};
}

/// Sum and count of the non-NaN values (the shift-0 case of nan_centered_sums).
struct sum_count {
  double sum = 0;
  std::size_t count = 0;
};
/// True when every value is finite (no NaN, no +-Inf). Branch-free and vectorised: x - x
/// is 0 for a finite x and NaN otherwise, summed over 16 independent lanes (memory-bound).
template <class T>
inline bool all_finite(std::span<const T> x) noexcept {
  constexpr std::size_t L = 16;
  T acc[L] = {};
  const T* p = x.data();
  const std::size_t n = x.size(), n16 = n / L * L;
  for (std::size_t i = 0; i < n16; i += L)
    for (std::size_t l = 0; l < L; ++l) acc[l] += p[i + l] - p[i + l];
  T tail = 0;
  for (std::size_t i = n16; i < n; ++i) tail += p[i] - p[i];
  for (std::size_t l = 0; l < L; ++l) tail += acc[l];
  return tail == 0;
}

template <class T>
inline sum_count nan_sum(std::span<const T> x) noexcept {
  const auto c = nan_centered_sums<T>(x, 0.0);
  return {c.s1, c.count};
}

template <class T>
inline moments<T> nan_moments(std::span<const T> x, int ddof = 0) noexcept {
  moments<T> m;
  // Pilot shift K: the mean of up to 64 present values spread over the column. With
  // S1 = sum(x - K), S2 = sum((x - K)^2): mean = K + S1/n, M2 = S2 - S1^2/n, which is the
  // corrected two-pass formula with K for the mean, so one pass over the data suffices
  // when K is near the mean. If it is not (|mean - K| > 4 sd), a true second pass runs.
  double pilot = 0;
  std::size_t pilot_n = 0;
  const std::size_t step = x.size() / 64 + 1;
  for (std::size_t i = 0; i < x.size(); i += step)
    if (x[i] == x[i]) {
      pilot += static_cast<double>(x[i]);
      ++pilot_n;
    }
  double shift = pilot_n ? pilot / static_cast<double>(pilot_n) : 0.0;
  if (!std::isfinite(shift)) shift = 0;
  auto cs = nan_centered_sums<T>(x, shift);
  const std::size_t n = cs.count;
  m.count = n;
  if (n == 0) {
    m.mean = std::numeric_limits<double>::quiet_NaN();
    m.var = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  const double nd = static_cast<double>(n);
  double d = cs.s1 / nd;
  m.mean = shift + d;
  if (d * d > 16.0 * (cs.s2 / nd - d * d)) {  // K was far off: a true second pass
    cs = nan_centered_sums<T>(x, m.mean);
    m.mean += cs.s1 / nd;
  }
  const double s1 = cs.s1, s2 = cs.s2;
  m.m2 = s2 - s1 * s1 / static_cast<double>(n);
  if (m.m2 < 0) m.m2 = 0;
  m.var = (static_cast<std::ptrdiff_t>(n) - ddof > 0) ? m.m2 / static_cast<double>(static_cast<std::ptrdiff_t>(n) - ddof)
                                                        : std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace detail
MLOPS_NAMESPACE_END
