// mlops/monitor/level_stats.hpp - a categorical column's drift statistics over its level
// bins (FeatureProfile::categorical): the unseen share, Pearson's chi-square with its
// p-value, and the levels whose share moved most. Used by DriftMonitor (monitor/drift.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mlops/config.hpp"
#include "mlops/monitor/drift_config.hpp"
#include "mlops/monitor/profile.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// P(X >= x) for X chi-square with df degrees of freedom: the regularized upper incomplete
/// gamma Q(df/2, x/2), by its series below a + 1 and its continued fraction (modified
/// Lentz) above, to about 1e-14 relative. log Gamma(df/2) is summed exactly for the
/// integer and half-integer arguments df/2 takes (std::lgamma writes the global signgam:
/// not safe on several threads). NaN for x < 0 or df == 0.
inline double chi2_sf(double x, std::size_t df) noexcept {
  if (!(x >= 0) || df == 0) return NAN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = 0.5 * static_cast<double>(df), h = 0.5 * x;
  double lg = df % 2 ? 0.5723649429247001 : 0.0;  // log Gamma(1/2) = log sqrt(pi); log Gamma(1) = 0
  for (double k = df % 2 ? 0.5 : 1.0; k < a - 0.25; k += 1.0) lg += std::log(k);
  const double front = std::exp(-h + a * std::log(h) - lg);
  if (h < a + 1) {  // P by the series, Q = 1 - P
    double term = 1.0 / a, sum = term, ap = a;
    for (int i = 0; i < 10000 && std::fabs(term) > std::fabs(sum) * 1e-16; ++i) {
      ap += 1;
      term *= h / ap;
      sum += term;
    }
    return (std::max)(0.0, 1.0 - sum * front);
  }
  constexpr double tiny = 1e-300;
  double b = h + 1 - a, c = 1 / tiny, d = 1 / b, f = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -static_cast<double>(i) * (static_cast<double>(i) - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    f *= del;
    if (std::fabs(del - 1) < 1e-16) break;
  }
  return (std::min)(1.0, front * f);
}

/// A categorical column's statistics over its level bins (no allocation): bins with a
/// reference share are the known levels, the others hold unseen values.
inline void level_drift(const FeatureProfile& p, const std::uint64_t* n, std::uint64_t present, ColumnDrift& cd) noexcept {
  cd.categorical = true;
  cd.ks = NAN;
  cd.unseen_rate = cd.chi2 = cd.chi2_p = NAN;
  cd.chi2_df = 0;
  if (present == 0) return;
  std::uint64_t known = 0, unseen = 0;
  std::size_t cells = 0;
  for (std::size_t b = 0; b < p.bins(); ++b) {
    if (p.freq[b] > 0) known += n[b], ++cells;
    else unseen += n[b];
  }
  cd.unseen_rate = static_cast<double>(unseen) / static_cast<double>(present);
  if (known == 0 || cells < 2) return;
  double x = 0;
  for (std::size_t b = 0; b < p.bins(); ++b)
    if (p.freq[b] > 0) {
      const double e = static_cast<double>(known) * p.freq[b], o = static_cast<double>(n[b]);
      x += (o - e) * (o - e) / e;
    }
  cd.chi2 = x;
  cd.chi2_df = cells - 1;
  cd.chi2_p = detail::chi2_sf(x, cd.chi2_df);
}
/// The levels whose share moved most (report() only: allocates).
inline void moved_levels(const FeatureProfile& p, const std::uint64_t* n, std::uint64_t present, ColumnDrift& cd) {
  cd.moved.clear();
  if (present == 0) return;
  const double inv = 1.0 / static_cast<double>(present);
  std::vector<ColumnDrift::level_shift> all;
  double unseen = 0;
  for (std::size_t b = 0; b < p.bins(); ++b) {
    const double live = static_cast<double>(n[b]) * inv;
    if (b == 0 || b == p.bins() - 1) unseen += live;  // a number that is no level's code
    if (b > 0 && b < p.bins() - 1 && (p.freq[b] > 0 || live > 0) && live != p.freq[b])
      all.push_back({p.freq[b] > 0 ? p.levels[b - 1] : p.levels[b - 1] + " (not in the training rows)", p.freq[b], live});
  }
  if (unseen > 0) all.push_back({"(unseen)", 0.0, unseen});
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::fabs(a.live - a.reference) > std::fabs(b.live - b.reference);
  });
  if (all.size() > 3) all.resize(3);
  cd.moved = std::move(all);
}

}  // namespace detail
MLOPS_NAMESPACE_END
