// mlops/detail/block_quantiles.hpp - order statistics of unions of row blocks (internal).
//
// The rows are split into blocks (index lists, strictly increasing, that partition the
// rows: cross-validation's validation folds today; ranks' shards later), and the wanted
// multiset is every block but one, plus a point mass (the missing cells, at an imputer's
// fill value). One pass over the column gathers, per block, its count of present values,
// the values below each bracket and those inside it; a quantile whose ranks fall inside its
// bracket is then selected among the blocks' bracketed values only. Numpy's linear rule,
// as nan_quantiles (detail/stats.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mlops/config.hpp"
#include "mlops/eval/split.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Rows per chunk of column_pass (its gather buffer holds this many values).
inline constexpr std::size_t column_pass_chunk = 8192;

/// The bracket pass over one column: per block g (the rows blocks.rows[g]) the count of
/// present values, and for each of NB brackets the values below it (counted) and inside
/// it (written at the block's cursor, which advances only for values inside: branch-free;
/// a branch was mispredicted often enough to cost twice as much).
/// Rows go in cache-sized chunks; each block's rows of the chunk are first gathered into
/// `tmp` (at least `chunk` values), so the counting loops run over contiguous values (the
/// compiler vectorises them) and the column is read from memory once.
template <int NB>
inline void column_pass(std::span<const double> x, const fold_blocks& blocks, const double* lo, const double* hi,
                        double* const* buf, const std::size_t* off, std::size_t* cnt, std::size_t (*below)[32],
                        std::size_t (*used)[32], double* tmp) noexcept {
  constexpr std::size_t nb = NB > 0 ? static_cast<std::size_t>(NB) : 1;
  const std::size_t K = blocks.k(), n = x.size();
  std::size_t next[32] = {}, pos[nb][32] = {};
  for (int b = 0; b < NB; ++b)
    for (std::size_t g = 0; g < K; ++g) pos[b][g] = off[g];
  for (std::size_t c1 = column_pass_chunk; c1 - column_pass_chunk < n; c1 += column_pass_chunk) {
    for (std::size_t g = 0; g < K; ++g) {
      const auto& rows = blocks.rows[g];
      const std::size_t a = next[g];
      const std::size_t e = static_cast<std::size_t>(std::lower_bound(rows.begin() + static_cast<std::ptrdiff_t>(a), rows.end(), c1) - rows.begin());
      next[g] = e;
      const std::size_t m = e - a;
      const std::size_t* r = rows.data() + a;
      for (std::size_t i = 0; i < m; ++i) tmp[i] = x[r[i]];
      std::size_t present = 0;
      for (std::size_t i = 0; i < m; ++i) present += tmp[i] == tmp[i];
      cnt[g] += present;
      double* out[nb];
      std::size_t k[nb];
      double l[nb], h[nb];
      for (int b = 0; b < NB; ++b) {
        l[b] = lo[b], h[b] = hi[b];
        std::size_t bl = 0;
        for (std::size_t i = 0; i < m; ++i) bl += tmp[i] < l[b];
        below[b][g] += bl;
        out[b] = buf[b];
        k[b] = pos[b][g];
      }
      for (std::size_t i = 0; i < m; ++i) {
        const double v = tmp[i];
        for (int b = 0; b < NB; ++b) {
          out[b][k[b]] = v;
          k[b] += (v >= l[b]) & (v <= h[b]);
        }
      }
      for (int b = 0; b < NB; ++b) pos[b][g] = k[b];
    }
  }
  for (int b = 0; b < NB; ++b)
    for (std::size_t g = 0; g < K; ++g) used[b][g] = pos[b][g] - off[g];
}

/// The values a bracket pass kept, indexed once for every fold: bucketed by value into
/// equal-width buckets over their range, with each block's count per bucket. The k-th
/// smallest value of "every block but f" is then found by walking the buckets' counts and
/// selecting within one bucket, instead of selecting among all the blocks' values per fold.
/// Values in a lower bucket are smaller than values in a higher one (the bucket of v,
/// floor((v - low) * scale), never decreases with v); a range that is not finite gets one
/// bucket.
struct bracket_values {
  std::size_t K = 0, B = 0;
  double low = 0, scale = 0;
  std::vector<std::uint32_t> count;        // [bucket * K + block]
  std::vector<std::uint32_t> start;        // per bucket, where its values begin (B + 1 entries)
  std::vector<std::size_t> block_total;    // per block, its values
  std::vector<double> values;              // in bucket order
  std::vector<std::uint8_t> block;         // the block of each of `values`
  std::size_t bucket(double v) const noexcept {
    if (B == 1) return 0;
    const double t = (v - low) * scale;
    if (!(t > 0)) return 0;
    return t >= static_cast<double>(B - 1) ? B - 1 : static_cast<std::size_t>(t);
  }
  /// The values of every block but f.
  std::size_t size_without(std::size_t f) const noexcept {
    std::size_t n = 0;
    for (std::size_t g = 0; g < K; ++g) n += g == f ? 0 : block_total[g];
    return n;
  }
  /// The k-th smallest (0-based, k < size_without(f)) value of every block but f.
  MLOPS_FUNC double select(std::size_t f, std::size_t k, std::vector<double>& work) const;
  /// How many values of every block but f are below m.
  MLOPS_FUNC std::size_t below(std::size_t f, double m) const noexcept;
};

/// Indexes the values of each block g, buf[off[g], off[g] + used[g]), into `out`.
MLOPS_FUNC void index_bracket(const std::vector<double>& buf, const std::vector<std::size_t>& off, const std::size_t* used,
                              bracket_values& out);

/// Order statistics of fold f's training multiset "values of the blocks != f, plus
/// `mass` copies of m", quantile p (numpy's linear rule, as nan_quantiles). From the
/// bracket [lo, hi] (its values indexed in `bv`) when it holds the needed ranks; false
/// otherwise (the caller goes exact).
MLOPS_FUNC bool bracket_quantile(double p, std::size_t total, std::size_t below_v, const bracket_values& bv, std::size_t f,
                                 double lo, double hi, double m, std::size_t mass, std::vector<double>& work, double& out);

/// The same, exactly: the whole training multiset of fold f by selection.
MLOPS_FUNC void exact_quantiles(std::span<const double> x, const fold_blocks& blocks, std::size_t f, double m,
                                std::size_t mass, std::span<const double> probs, std::span<double> out, std::vector<double>& work);

}  // namespace detail
MLOPS_NAMESPACE_END

// Defined in the model-selection room (src/select.cpp), its only user so far.
#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
#include <cmath>
#include <limits>

#include "mlops/detail/stats.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC void index_bracket(const std::vector<double>& buf, const std::vector<std::size_t>& off, const std::size_t* used,
                              bracket_values& out) {
  const std::size_t K = off.size();
  out.K = K;
  out.block_total.assign(used, used + K);
  std::size_t n = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t g = 0; g < K; ++g) {
    n += used[g];
    for (std::size_t i = off[g]; i < off[g] + used[g]; ++i) lo = (std::min)(lo, buf[i]), hi = (std::max)(hi, buf[i]);
  }
  // About 16 values a bucket: walking the buckets and selecting in one stay small.
  out.B = (std::max)(std::size_t{1}, (std::min)(n / 16, std::size_t{1} << 16));
  out.low = lo;
  const double width = hi - lo;
  out.scale = 0;
  if (n > 0 && std::isfinite(width) && width > 0) out.scale = static_cast<double>(out.B) / width;
  if (out.scale == 0 || !std::isfinite(out.scale)) out.B = 1, out.scale = 0;
  const std::size_t B = out.B;
  out.count.assign(B * K, 0);
  for (std::size_t g = 0; g < K; ++g)
    for (std::size_t i = off[g]; i < off[g] + used[g]; ++i) ++out.count[out.bucket(buf[i]) * K + g];
  out.start.assign(B + 1, 0);
  for (std::size_t b = 0; b < B; ++b) {
    std::uint32_t c = 0;
    for (std::size_t g = 0; g < K; ++g) c += out.count[b * K + g];
    out.start[b + 1] = out.start[b] + c;
  }
  out.values.resize(n);
  out.block.resize(n);
  std::vector<std::uint32_t> at(out.start.begin(), out.start.end() - 1);
  for (std::size_t g = 0; g < K; ++g)
    for (std::size_t i = off[g]; i < off[g] + used[g]; ++i) {
      const std::uint32_t j = at[out.bucket(buf[i])]++;
      out.values[j] = buf[i];
      out.block[j] = static_cast<std::uint8_t>(g);
    }
}

MLOPS_FUNC double bracket_values::select(std::size_t f, std::size_t k, std::vector<double>& work) const {
  std::size_t seen = 0;
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t c = (start[b + 1] - start[b]) - count[b * K + f];
    if (seen + c <= k) {
      seen += c;
      continue;
    }
    work.clear();
    for (std::uint32_t j = start[b]; j < start[b + 1]; ++j)
      if (block[j] != f) work.push_back(values[j]);
    const auto at = work.begin() + static_cast<std::ptrdiff_t>(k - seen);
    std::nth_element(work.begin(), at, work.end());
    return *at;
  }
  return std::numeric_limits<double>::quiet_NaN();  // k out of range: callers never ask
}

MLOPS_FUNC std::size_t bracket_values::below(std::size_t f, double m) const noexcept {
  const std::size_t bm = bucket(m);
  std::size_t n = 0;
  for (std::size_t b = 0; b < bm; ++b) n += (start[b + 1] - start[b]) - count[b * K + f];
  for (std::uint32_t j = start[bm]; j < start[bm + 1]; ++j) n += block[j] != f && values[j] < m;
  return n;
}

MLOPS_FUNC bool bracket_quantile(double p, std::size_t total, std::size_t below_v, const bracket_values& bv, std::size_t f,
                                 double lo, double hi, double m, std::size_t mass, std::vector<double>& work, double& out) {
  const double h = static_cast<double>(total - 1) * p;
  std::size_t r = static_cast<std::size_t>(std::floor(h));
  if (r >= total) r = total - 1;
  const double frac = h - static_cast<double>(r);
  const bool next = frac != 0 && r + 1 < total;
  const std::size_t r2 = next ? r + 1 : r;
  const std::size_t used_v = bv.size_without(f);
  const bool mass_in = mass > 0 && m >= lo && m <= hi;
  const std::size_t below = below_v + (mass > 0 && m < lo ? mass : 0);
  const std::size_t inside = used_v + (mass_in ? mass : 0);
  if (r < below || r2 >= below + inside) return false;
  const std::size_t L = mass_in ? bv.below(f, m) : 0;
  // The combined order is V[0, L), then the mass, then V[L, ...): a is element i of it,
  // b element i + 1 (V's k-th smallest value, then its (k + 1)-th, or m).
  const std::size_t i = r - below;
  auto select = [&](std::size_t k) { return bv.select(f, k, work); };
  double a, b;
  if (!mass_in || i < L) {
    a = select(i);
    if (!next) b = a;
    else if (mass_in && i + 1 == L) b = m;
    else b = select(i + 1);
  } else if (i < L + mass) {
    a = m;
    b = (!next || i + 1 < L + mass) ? m : select(L);
  } else {
    a = select(i - mass);
    b = next ? select(i - mass + 1) : a;
  }
  out = frac == 0 ? a : numpy_lerp(a, b, frac);
  return true;
}

MLOPS_FUNC void exact_quantiles(std::span<const double> x, const fold_blocks& blocks, std::size_t f, double m,
                            std::size_t mass, std::span<const double> probs, std::span<double> out, std::vector<double>& work) {
  work.clear();
  for (std::size_t g = 0; g < blocks.k(); ++g) {
    if (g == f) continue;
    for (const auto r : blocks.rows[g])
      if (x[r] == x[r]) work.push_back(x[r]);
  }
  work.insert(work.end(), mass, m);
  quantiles_inplace<double>(std::span<double>(work), probs, out);
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
