// mlops/detail/block_quantiles.hpp - order statistics of unions of row blocks (internal).
//
// The rows are split into blocks (index lists, strictly increasing, that partition the
// rows: cross-validation's validation folds today; ranks' shards later), and the wanted
// multiset is every block but one, plus a point mass (the missing cells, at an imputer's
// fill value). One pass over the column gathers, per block, its count and sum, the values
// below each bracket and those inside it; a quantile whose ranks fall inside its bracket is
// then selected among the blocks' bracketed values only. Numpy's linear rule, as
// nan_quantiles (detail/stats.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "mlops/config.hpp"
#include "mlops/eval/split.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// The bracket pass over one column: per block g (the rows blocks.rows[g]) the count and sum
/// of present values, and for each of NB brackets the values below it (counted) and inside
/// it (written at the block's cursor, which advances only for values inside: branch-free).
/// Rows go in cache-sized chunks, each block's rows of the chunk in turn, so the column is
/// read from memory once and every counter stays in a register.
template <int NB>
inline void column_pass(std::span<const double> x, const fold_blocks& blocks, const double* lo, const double* hi,
                        double* const* buf, const std::size_t* off, std::size_t* cnt, double* sum, std::size_t (*below)[32],
                        std::size_t (*used)[32]) noexcept {
  constexpr std::size_t nb = NB > 0 ? static_cast<std::size_t>(NB) : 1;
  constexpr std::size_t chunk = 8192;
  const std::size_t K = blocks.k(), n = x.size();
  std::size_t next[32] = {}, pos[nb][32] = {};
  for (int b = 0; b < NB; ++b)
    for (std::size_t g = 0; g < K; ++g) pos[b][g] = off[g];
  double l[nb] = {}, h[nb] = {};
  for (int b = 0; b < NB; ++b) {
    l[b] = lo[b];
    h[b] = hi[b];
  }
  for (std::size_t c1 = chunk; c1 - chunk < n; c1 += chunk) {
    for (std::size_t g = 0; g < K; ++g) {
      const auto& rows = blocks.rows[g];
      const std::size_t a = next[g];
      const std::size_t e = static_cast<std::size_t>(std::lower_bound(rows.begin() + static_cast<std::ptrdiff_t>(a), rows.end(), c1) - rows.begin());
      next[g] = e;
      std::size_t c = 0, bl[nb] = {}, k[nb] = {};
      double s[4] = {};  // four sums: no add-latency chain
      double* out[nb] = {};
      for (int b = 0; b < NB; ++b) {
        k[b] = pos[b][g];
        out[b] = buf[b];
      }
      auto one = [&](double v, double& acc) {
        const bool present = v == v;
        c += present;
        acc += present ? v : 0.0;
        for (int b = 0; b < NB; ++b) {
          bl[b] += v < l[b];
          out[b][k[b]] = v;
          k[b] += (v >= l[b]) & (v <= h[b]);
        }
      };
      std::size_t i = a;
      for (; i + 4 <= e; i += 4) {
        one(x[rows[i]], s[0]);
        one(x[rows[i + 1]], s[1]);
        one(x[rows[i + 2]], s[2]);
        one(x[rows[i + 3]], s[3]);
      }
      for (; i < e; ++i) one(x[rows[i]], s[0]);
      cnt[g] += c;
      sum[g] += (s[0] + s[1]) + (s[2] + s[3]);
      for (int b = 0; b < NB; ++b) {
        below[b][g] += bl[b];
        pos[b][g] = k[b];
      }
    }
  }
  for (int b = 0; b < NB; ++b)
    for (std::size_t g = 0; g < K; ++g) used[b][g] = pos[b][g] - off[g];
}

/// Order statistics of fold f's training multiset "values of the blocks != f, plus
/// `mass` copies of m", quantile p (numpy's linear rule, as nan_quantiles). From the
/// bracket when it holds the needed ranks; false otherwise (the caller goes exact).
MLOPS_FUNC bool bracket_quantile(double p, std::size_t total, std::size_t below_v, const std::vector<double>& buf,
                                 const std::vector<std::size_t>& off, const std::size_t* used, std::size_t f, double lo,
                                 double hi, double m, std::size_t mass, std::vector<double>& work, double& out);

/// The same, exactly: the whole training multiset of fold f by selection.
MLOPS_FUNC void exact_quantiles(std::span<const double> x, const fold_blocks& blocks, std::size_t f, double m,
                                std::size_t mass, std::span<const double> probs, std::span<double> out, std::vector<double>& work);

}  // namespace detail
MLOPS_NAMESPACE_END

// Defined in the model-selection room (src/select.cpp), its only user so far.
#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
#include <cmath>

#include "mlops/detail/stats.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC bool bracket_quantile(double p, std::size_t total, std::size_t below_v, const std::vector<double>& buf,
                             const std::vector<std::size_t>& off, const std::size_t* used, std::size_t f, double lo,
                             double hi, double m, std::size_t mass, std::vector<double>& work, double& out) {
  const double h = static_cast<double>(total - 1) * p;
  std::size_t r = static_cast<std::size_t>(std::floor(h));
  if (r >= total) r = total - 1;
  const double frac = h - static_cast<double>(r);
  const bool next = frac != 0 && r + 1 < total;
  const std::size_t r2 = next ? r + 1 : r;
  std::size_t used_v = 0;
  for (std::size_t g = 0; g < off.size(); ++g)
    if (g != f) used_v += used[g];
  const bool mass_in = mass > 0 && m >= lo && m <= hi;
  const std::size_t below = below_v + (mass > 0 && m < lo ? mass : 0);
  const std::size_t inside = used_v + (mass_in ? mass : 0);
  if (r < below || r2 >= below + inside) return false;
  work.clear();
  for (std::size_t g = 0; g < off.size(); ++g)
    if (g != f) work.insert(work.end(), buf.begin() + static_cast<std::ptrdiff_t>(off[g]), buf.begin() + static_cast<std::ptrdiff_t>(off[g] + used[g]));
  std::size_t L = 0;
  if (mass_in)
    for (const double v : work) L += v < m;
  // The combined order is V[0, L), then the mass, then V[L, ...): a is element i of it,
  // b element i + 1 (one selection; the next element is the minimum above it, or m).
  const std::size_t i = r - below;
  auto select = [&](std::size_t k) {
    std::nth_element(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(k), work.end());
    return work[k];
  };
  auto min_above = [&](std::size_t k) { return *std::min_element(work.begin() + static_cast<std::ptrdiff_t>(k + 1), work.end()); };
  double a, b;
  if (!mass_in || i < L) {
    a = select(i);
    if (!next) b = a;
    else if (mass_in && i + 1 == L) b = m;
    else b = min_above(i);
  } else if (i < L + mass) {
    a = m;
    b = (!next || i + 1 < L + mass) ? m : select(L);
  } else {
    a = select(i - mass);
    b = next ? min_above(i - mass) : a;
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
