// mlops/select/one_pass_cv.hpp - cross-validation of impute -> IQR -> standardize -> closed-form
// pipelines from statistics shared by every fold (internal; cross_validate calls it).
//
// The general cross-validation copies each fold's training rows and fits every step on
// them: K imputations, K sets of quartiles, K row filters, K Gram matrices. For the
// pipelines whose steps are all "statistics of the training rows" - SimpleImputer
// (mean, median, constant), IqrOutlierFilter, StandardScaler, then LinearRegression -
// every fold's fit can be read off per-block statistics instead, where block g is the
// validation part of fold g and fold f trains on every block but f:
//
//  1. Per column (in parallel): per block the count and sum of present values, and one
//     bracket pass (the sample-and-bracket selection of nan_quantiles) gathering each
//     block's values near the wanted quantiles. Each fold's fill value (mean or median of
//     its training values) and quartiles follow; the imputed cells enter the quartiles as
//     a point mass at the fold's fill value. Ranks a bracket misses are re-done exactly,
//     so the quartiles are the exact order statistics, as in the per-fold fit.
//  2. Per row: which folds' fences it falls outside (the imputed value counting for its
//     missing cells). A row kept by every fold it trains is added to its block's Gram
//     sums; a row kept by some of them only is added to each of those folds separately.
//  3. Per block: with u = x - shift (missing cells 0), the sums n, sum u, sum u u^T, and
//     for the imputed cells P = sum over rows missing j of u and the co-missing counts Q,
//     so that each fold's Gram matrix of the imputed rows is
//        S + P diag(d) + diag(d) P^T + diag(d) Q diag(d),   d = fill - shift,
//     a (d+1) x (d+1) computation. The scaler's mean and scale, and the standardized
//     normal equations, follow from the centred Gram matrix; the ridge is one LDLT solve.
//  4. Each fold's validation rows are predicted column by column with the fold's fill
//     values, fences (when they clip), scaler and coefficients.
//
// Results equal the per-fold fits up to rounding (tested to 1e-9 against the general
// path). A feature whose kept values are all equal in a fold gets exact zeros (the
// centred sums would leave rounding where the per-fold fit sees variance 0): where its
// centred sum of squares is below 1e-9 of the raw one, the kept values are compared
// directly. Any case outside this model (float data, other steps or column subsets,
// non-finite values, a column without values, LDLT failure, train scores, folds that do
// not partition the rows) returns nothing and the general path runs, so its errors and
// fallbacks stay the ones users see. Sums are accumulated in fixed row chunks merged in
// order, so the result does not depend on the thread count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "mlops/detail/parallel.hpp"
#include "mlops/detail/stats.hpp"
#include "mlops/eval/metrics.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/fwd.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// What the one-pass path gives back per fold (cross_validate turns it into a CvFold).
struct one_pass_fold {
  std::size_t rows_used = 0;
  RegressionMetrics metrics;
  double fit_seconds = 0, score_seconds = 0;
};

/// The steps of a pipeline the one-pass path can run, or nothing.
struct one_pass_steps {
  const SimpleImputer<double>* impute = nullptr;
  const IqrOutlierFilter<double>* iqr = nullptr;
  const StandardScaler<double>* scale = nullptr;
  const LinearRegression<double>* ridge = nullptr;
};

/// True when `cols` (a step's column choice) means every feature: empty, or the same set.
MLOPS_FUNC bool covers_features(const std::vector<std::string>& cols, const std::vector<std::string>& features);

MLOPS_FUNC std::optional<one_pass_steps> one_pass_match(const Pipeline<double>& p, const std::vector<std::string>& features);

/// fold_of[r] for folds whose validation parts partition the rows and whose training part
/// is the rest, all index lists strictly increasing (KFold's); false otherwise.
MLOPS_FUNC bool fold_partition(const std::vector<SplitIndices>& splits, std::size_t n, std::vector<std::uint8_t>& fold_of);

/// One column's per-fold statistics (step 1).
struct one_pass_column {
  bool ok = true;
  double shift = 0;                    // mean of every present value: the origin of u
  std::vector<double> fill;            // per fold: the imputed value (NaN: no imputer)
  std::vector<double> lo, hi;          // per fold: the dropping fences (+-inf: none or inactive)
  std::uint32_t fill_out = 0;          // folds whose fill value lies outside their fences
};

/// Working memory of one worker in step 1.
struct one_pass_scratch {
  std::vector<double> sample, bracket[3], work;
};

/// Order statistics of fold f's training multiset "values of the blocks != f, plus
/// `mass` copies of m", quantile p (numpy's linear rule, as nan_quantiles). From the
/// bracket when it holds the needed ranks; false otherwise (the caller goes exact).
MLOPS_FUNC bool bracket_quantile(double p, std::size_t total, std::size_t below_v, const std::vector<double>& buf,
                             const std::vector<std::size_t>& off, const std::size_t* used, std::size_t f, double lo,
                             double hi, double m, std::size_t mass, std::vector<double>& work, double& out);

/// The same, exactly: the whole training multiset of fold f by selection.
MLOPS_FUNC void exact_quantiles(std::span<const double> x, const std::vector<SplitIndices>& splits, std::size_t f, double m,
                            std::size_t mass, std::span<const double> probs, std::span<double> out, std::vector<double>& work);

/// Step 1's pass over one column: per block g (the rows splits[g].test) the count and sum
/// of present values, and for each of NB brackets the values below it (counted) and inside
/// it (written at the block's cursor, which advances only for values inside: branch-free).
/// Rows go in cache-sized chunks, each block's rows of the chunk in turn, so the column is
/// read from memory once and every counter stays in a register.
template <int NB>
inline void column_pass(std::span<const double> x, const std::vector<SplitIndices>& splits, const double* lo, const double* hi,
                        double* const* buf, const std::size_t* off, std::size_t* cnt, double* sum, std::size_t (*below)[32],
                        std::size_t (*used)[32]) noexcept {
  constexpr std::size_t nb = NB > 0 ? static_cast<std::size_t>(NB) : 1;
  constexpr std::size_t chunk = 8192;
  const std::size_t K = splits.size(), n = x.size();
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
      const auto& rows = splits[g].test;
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

MLOPS_FUNC one_pass_column one_pass_column_stats(std::span<const double> x, const std::vector<SplitIndices>& splits, bool impute,
                                             impute_strategy strategy, double constant_fill, const IqrOutlierFilter<double>* iqr,
                                             one_pass_scratch& sc);

/// Step 3's sums for one group of rows (a block's rows kept by all its training folds, or
/// one fold's extra rows). D = features + 1 (the target is the last coordinate of u).
struct one_pass_sums {
  double n = 0;
  Eigen::VectorXd s;  // sum u
  Eigen::MatrixXd S;  // sum u u^T (lower triangle)
  Eigen::MatrixXd P;  // D x d: column j = sum of u over rows missing feature j
  Eigen::MatrixXd Q;  // d x d: co-missing counts (diagonal: missing counts)
  void init(Eigen::Index D, Eigen::Index d) {
    n = 0;
    s.setZero(D);
    S.setZero(D, D);
    P.setZero(D, d);
    Q.setZero(d, d);
  }
  void add(const one_pass_sums& o) {
    n += o.n;
    s += o.s;
    S.triangularView<Eigen::Lower>() += o.S;
    P += o.P;
    Q += o.Q;
  }
};

/// Steps 2 and 3 over one chunk of rows [r0, r1): core sums per block, extra sums per fold.
struct one_pass_chunk {
  std::vector<one_pass_sums> core, extra;
};

MLOPS_FUNC void one_pass_rows(const std::vector<std::span<const double>>& cols, std::size_t d, const std::vector<std::uint8_t>& fold_of,
                          std::size_t K, const std::vector<one_pass_column>& stats, const std::vector<std::uint8_t>& checked,
                          std::size_t r0, std::size_t r1, one_pass_chunk& acc, std::vector<double>& buf, std::uint32_t* dropped);

/// The whole one-pass cross-validation; nothing when the general path must run.
MLOPS_FUNC std::optional<std::vector<one_pass_fold>> one_pass_cross_validate(const Pipeline<double>& p, const DataFrame<double>& base,
                                                                         const std::vector<std::string>& features,
                                                                         const std::string& target, const std::vector<SplitIndices>& splits,
                                                                         std::size_t threads);

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// The steps it recognises, by type (only the definitions need them).
#include "mlops/prep/impute.hpp"
#include "mlops/prep/outliers.hpp"
#include "mlops/prep/scale.hpp"
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC bool covers_features(const std::vector<std::string>& cols, const std::vector<std::string>& features) {
  if (cols.empty()) return true;
  if (cols.size() != features.size()) return false;
  std::vector<std::string> a = cols, b = features;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

MLOPS_FUNC std::optional<one_pass_steps> one_pass_match(const Pipeline<double>& p, const std::vector<std::string>& features) {
  one_pass_steps s;
  if (!p.estimator()) return std::nullopt;
  s.ridge = mlops::get_if<LinearRegression<double>>(&*p.estimator());
  if (!s.ridge || !(s.ridge->l2 >= 0) || !std::isfinite(s.ridge->l2)) return std::nullopt;
  int stage = 0;  // steps must come in the order impute, iqr, standardize, each at most once
  for (const auto& step : p.steps()) {
    if (const auto* im = get_if<SimpleImputer<double>>(&step)) {
      if (stage > 0 || !covers_features(im->columns, features)) return std::nullopt;
      if (im->strategy == impute_strategy::constant && !std::isfinite(im->fill_value)) return std::nullopt;
      s.impute = im;
      stage = 1;
    } else if (const auto* q = get_if<IqrOutlierFilter<double>>(&step)) {
      if (stage > 1 || !covers_features(q->columns, features) || !(q->k >= 0) || !std::isfinite(q->k)) return std::nullopt;
      s.iqr = q;
      stage = 2;
    } else if (const auto* sc = get_if<StandardScaler<double>>(&step)) {
      if (stage > 2 || !covers_features(sc->columns, features) || sc->ddof < 0) return std::nullopt;
      s.scale = sc;
      stage = 3;
    } else {
      return std::nullopt;  // a step this path has no statistics for: the per-fold path
    }
  }
  return s;
}

MLOPS_FUNC bool fold_partition(const std::vector<SplitIndices>& splits, std::size_t n, std::vector<std::uint8_t>& fold_of) {
  const std::size_t K = splits.size();
  if (K < 2 || K > 32) return false;
  fold_of.assign(n, 0xff);
  std::size_t total = 0;
  for (std::size_t f = 0; f < K; ++f) {
    const auto& t = splits[f].test;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] >= n || fold_of[t[i]] != 0xff || (i > 0 && t[i] <= t[i - 1])) return false;
      fold_of[t[i]] = static_cast<std::uint8_t>(f);
    }
    total += t.size();
  }
  if (total != n) return false;
  for (std::size_t f = 0; f < K; ++f) {
    const auto& tr = splits[f].train;
    if (tr.size() != n - splits[f].test.size()) return false;
    for (std::size_t i = 0; i < tr.size(); ++i)
      if (tr[i] >= n || fold_of[tr[i]] == f || (i > 0 && tr[i] <= tr[i - 1])) return false;
  }
  return true;
}

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

MLOPS_FUNC void exact_quantiles(std::span<const double> x, const std::vector<SplitIndices>& splits, std::size_t f, double m,
                            std::size_t mass, std::span<const double> probs, std::span<double> out, std::vector<double>& work) {
  work.clear();
  for (std::size_t g = 0; g < splits.size(); ++g) {
    if (g == f) continue;
    for (const auto r : splits[g].test)
      if (x[r] == x[r]) work.push_back(x[r]);
  }
  work.insert(work.end(), mass, m);
  quantiles_inplace<double>(std::span<double>(work), probs, out);
}

MLOPS_FUNC one_pass_column one_pass_column_stats(std::span<const double> x, const std::vector<SplitIndices>& splits, bool impute,
                                             impute_strategy strategy, double constant_fill, const IqrOutlierFilter<double>* iqr,
                                             one_pass_scratch& sc) {
  const std::size_t K = splits.size(), n = x.size();
  one_pass_column out;
  out.fill.assign(K, std::numeric_limits<double>::quiet_NaN());
  out.lo.assign(K, -std::numeric_limits<double>::infinity());
  out.hi.assign(K, std::numeric_limits<double>::infinity());
  const bool median = impute && strategy == impute_strategy::median;
  constexpr double probs[] = {0.25, 0.75};
  constexpr double half[] = {0.5};
  // Brackets: [0] the median of present values (median imputer), [1], [2] the quartiles
  // of the imputed column. Chosen on a fixed-stride sample; none for small columns.
  double blo[3], bhi[3];
  int which[3];
  int nb = 0;
  constexpr std::size_t small = 16384, sample_size = 4096;
  if (n >= small && (median || iqr)) {
    const std::size_t stride = n / sample_size;
    sc.sample.clear();
    std::size_t missing = 0;
    for (std::size_t i = stride / 2; i < n && sc.sample.size() + missing < sample_size; i += stride) {
      if (x[i] == x[i]) sc.sample.push_back(x[i]);
      else ++missing;
    }
    auto bracket = [&](std::vector<double>& s, double p, double& l, double& h) {
      const std::size_t ms = s.size();
      const double pos = p * static_cast<double>(ms - 1);
      const double margin = 3.0 * std::sqrt(static_cast<double>(ms) * p * (1 - p)) + 4.0;
      const double a = std::floor(pos - margin), b = std::ceil(pos + margin) + 1;
      auto at = [&](std::size_t i) {
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(i), s.end());
        return s[i];
      };
      l = a <= 0 ? -std::numeric_limits<double>::infinity() : at(static_cast<std::size_t>(a));
      h = b >= static_cast<double>(ms - 1) ? std::numeric_limits<double>::infinity() : at(static_cast<std::size_t>(b));
    };
    if (sc.sample.size() >= sample_size / 4) {
      double est = constant_fill;  // the sample's estimate of the fill value
      if (median) {
        bracket(sc.sample, 0.5, blo[nb], bhi[nb]);
        which[nb++] = 0;
        std::nth_element(sc.sample.begin(), sc.sample.begin() + static_cast<std::ptrdiff_t>(sc.sample.size() / 2), sc.sample.end());
        est = sc.sample[sc.sample.size() / 2];
      } else if (impute && strategy == impute_strategy::mean) {
        double s = 0;
        for (const double v : sc.sample) s += v;
        est = s / static_cast<double>(sc.sample.size());
      }
      if (iqr) {
        if (impute) sc.sample.insert(sc.sample.end(), missing, est);
        bracket(sc.sample, 0.25, blo[nb], bhi[nb]);
        which[nb++] = 1;
        bracket(sc.sample, 0.75, blo[nb], bhi[nb]);
        which[nb++] = 2;
      }
    }
  }
  // The pass: counts, sums, and each block's values inside the brackets.
  std::vector<std::size_t> cnt(K), off(K);
  std::vector<double> sum(K);
  std::size_t below[3][32] = {}, used[3][32] = {};
  std::size_t at = 0;
  for (std::size_t g = 0; g < K; ++g) {
    off[g] = at;
    at += splits[g].test.size() + 1;  // one slot of slack for the unconditional write
  }
  double* buf[3] = {};
  for (int b = 0; b < nb; ++b) {
    sc.bracket[b].resize(at);
    buf[b] = sc.bracket[b].data();
  }
  switch (nb) {
    case 0: column_pass<0>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
    case 1: column_pass<1>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
    case 2: column_pass<2>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
    default: column_pass<3>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
  }
  std::size_t present = 0;
  double total = 0;
  for (std::size_t g = 0; g < K; ++g) {
    present += cnt[g];
    total += sum[g];
  }
  if (!std::isfinite(total)) {  // an infinite value (or an overflowing sum): the general path reports it
    out.ok = false;
    return out;
  }
  out.shift = present > 0 ? total / static_cast<double>(present) : 0.0;
  auto find = [&](int w) {
    for (int b = 0; b < nb; ++b)
      if (which[b] == w) return b;
    return -1;
  };
  for (std::size_t f = 0; f < K; ++f) {
    std::size_t nv = 0, bv[3] = {};
    double sv = 0;
    for (std::size_t g = 0; g < K; ++g) {
      if (g == f) continue;
      nv += cnt[g];
      sv += sum[g];
      for (int b = 0; b < nb; ++b) bv[b] += below[b][g];
    }
    const std::size_t train = n - splits[f].test.size();
    const std::size_t mass = train - nv;  // missing cells of the training rows
    if (mass > 0 && !impute) {  // NaN reaching the trainer: the general path reports it
      out.ok = false;
      return out;
    }
    if (impute) {
      if (strategy == impute_strategy::constant) {
        out.fill[f] = constant_fill;
      } else if (nv == 0) {
        out.ok = false;  // a column without values: the imputer's error
        return out;
      } else if (strategy == impute_strategy::mean) {
        out.fill[f] = sv / static_cast<double>(nv);
      } else {
        const int b = find(0);
        if (b < 0 || !bracket_quantile(0.5, nv, bv[b], sc.bracket[b], off, used[b], f, blo[b], bhi[b], 0.0, 0, sc.work, out.fill[f]))
          exact_quantiles(x, splits, f, 0.0, 0, half, std::span<double>(&out.fill[f], 1), sc.work);
      }
    }
    if (!iqr) continue;
    const double m = impute ? out.fill[f] : 0.0;
    const std::size_t m_count = impute ? mass : 0;
    double q[2];
    const int b1 = find(1), b3 = find(2);
    const bool ok = b1 >= 0 && b3 >= 0 &&
                    bracket_quantile(0.25, train, bv[b1], sc.bracket[b1], off, used[b1], f, blo[b1], bhi[b1], m, m_count, sc.work, q[0]) &&
                    bracket_quantile(0.75, train, bv[b3], sc.bracket[b3], off, used[b3], f, blo[b3], bhi[b3], m, m_count, sc.work, q[1]);
    if (!ok) exact_quantiles(x, splits, f, m, m_count, probs, q, sc.work);
    if (!std::isfinite(q[0]) || !std::isfinite(q[1])) {
      out.ok = false;
      return out;
    }
    const double range = q[1] - q[0];
    const double lower = q[0] - iqr->k * range, upper = q[1] + iqr->k * range;
    const bool active = !(!(range > 0) && iqr->zero_iqr == zero_iqr_policy::skip);
    if (active) {
      out.lo[f] = lower;
      out.hi[f] = upper;
      if (m_count > 0 && (m < lower || m > upper)) out.fill_out |= std::uint32_t{1} << f;
    }
  }
  return out;
}

MLOPS_FUNC void one_pass_rows(const std::vector<std::span<const double>>& cols, std::size_t d, const std::vector<std::uint8_t>& fold_of,
                          std::size_t K, const std::vector<one_pass_column>& stats, const std::vector<std::uint8_t>& checked,
                          std::size_t r0, std::size_t r1, one_pass_chunk& acc, std::vector<double>& buf, std::uint32_t* dropped) {
  constexpr std::size_t R = 2048;  // rows per tile (spread over the groups: ~R / K rows each)
  const std::size_t D = d + 1;
  const auto Di = static_cast<Eigen::Index>(D), di = static_cast<Eigen::Index>(d);
  acc.core.resize(K);
  acc.extra.resize(K);
  for (auto& a : acc.core) a.init(Di, di);
  for (auto& a : acc.extra) a.init(Di, di);
  const std::size_t region = D * R;     // one group: D columns of R rows
  const std::size_t border = K, skip = K + 1;  // groups K (rows kept by some folds) and K+1 (dropped)
  buf.resize((K + 2) * region);
  const std::uint32_t all = K >= 32 ? 0xffffffffu : ((std::uint32_t{1} << K) - 1);
  // Fences' intersection per checked column: a value inside it is kept by every fold.
  std::vector<double> lo_all(D), hi_all(D);
  for (std::size_t j = 0; j < D; ++j) {
    lo_all[j] = *std::max_element(stats[j].lo.begin(), stats[j].lo.end());
    hi_all[j] = *std::min_element(stats[j].hi.begin(), stats[j].hi.end());
  }
  std::vector<std::uint32_t> bits(R);
  std::vector<std::size_t> dest(R);
  std::vector<std::uint32_t> kept_in(R);  // border rows: the folds that keep them
  std::vector<std::uint8_t> group_of(R);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> cells;  // (tile row, feature) of missing cells
  std::vector<std::size_t> fill(K + 2);
  for (std::size_t t0 = r0; t0 < r1; t0 += R) {
    const std::size_t m = (std::min)(R, r1 - t0);
    // 2. Outlier bits per fold.
    std::uint32_t* const bt = bits.data();
    std::fill(bt, bt + m, 0u);
    // First a vectorised flag per row: outside some column's fence intersection (or
    // missing where some fold's fill value is an outlier); then the exact bits for those.
    std::uint8_t* const flag = group_of.data();
    std::fill(flag, flag + m, std::uint8_t{0});
    for (std::size_t j = 0; j < D; ++j) {
      if (!checked[j]) continue;
      const double* x = cols[j].data() + t0;
      const double la = lo_all[j], ha = hi_all[j];
      if (stats[j].fill_out == 0) {
        for (std::size_t i = 0; i < m; ++i) flag[i] |= static_cast<std::uint8_t>((x[i] < la) | (x[i] > ha));
      } else {
        for (std::size_t i = 0; i < m; ++i) flag[i] |= static_cast<std::uint8_t>(!((x[i] >= la) & (x[i] <= ha)));
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      if (MLOPS_LIKELY(!flag[i])) continue;
      std::uint32_t b = 0;
      for (std::size_t j = 0; j < D; ++j) {
        if (!checked[j]) continue;
        const double v = cols[j][t0 + i];
        const auto& st = stats[j];
        if (v != v) {
          b |= st.fill_out;
        } else if (v < lo_all[j] || v > hi_all[j]) {
          for (std::size_t f = 0; f < K; ++f) b |= static_cast<std::uint32_t>((v < st.lo[f]) | (v > st.hi[f])) << f;
        }
      }
      bt[i] = b;
    }
    // Where each row goes.
    std::fill(fill.begin(), fill.end(), 0);
    for (std::size_t i = 0; i < m; ++i) {
      const std::size_t g = fold_of[t0 + i];
      const std::uint32_t train = all & ~(std::uint32_t{1} << g);
      const std::uint32_t out = bits[i] & train;
      const std::size_t grp = out == 0 ? g : (out == train ? skip : border);
      group_of[i] = static_cast<std::uint8_t>(grp);
      kept_in[i] = train & ~out;
      dropped[t0 + i] = out;
      dest[i] = grp * region + (grp == skip ? 0 : fill[grp]++);  // dropped rows share one slot
    }
    // 3. u = x - shift into the groups' column-major buffers (missing cells 0, recorded).
    cells.clear();
    const std::size_t* const dst = dest.data();
    for (std::size_t j = 0; j < D; ++j) {
      const double* x = cols[j].data() + t0;
      const double c = stats[j].shift;
      double* const out = buf.data() + j * R;
      std::size_t missing = 0;
      for (std::size_t i = 0; i < m; ++i) {
        const double v = x[i];
        const bool present = v == v;
        out[dst[i]] = present ? v - c : 0.0;
        missing += !present;
      }
      if (missing)
        for (std::size_t i = 0; i < m; ++i)
          if (x[i] != x[i]) cells.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j));
    }
    for (std::size_t g = 0; g < K; ++g) {
      if (fill[g] == 0) continue;
      const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> B(buf.data() + g * region, static_cast<Eigen::Index>(fill[g]), Di,
                                                                         Eigen::OuterStride<>(static_cast<Eigen::Index>(R)));
      auto& a = acc.core[g];
      a.n += static_cast<double>(fill[g]);
      a.s += B.colwise().sum().transpose();
      a.S.selfadjointView<Eigen::Lower>().rankUpdate(B.transpose());
    }
    auto row_u = [&](std::size_t i) {
      return Eigen::Map<const Eigen::VectorXd, 0, Eigen::InnerStride<>>(buf.data() + dest[i], Di,
                                                                         Eigen::InnerStride<>(static_cast<Eigen::Index>(R)));
    };
    for (std::size_t i = 0; i < m; ++i) {
      if (group_of[i] != border) continue;
      const auto u = row_u(i);
      for (std::size_t f = 0; f < K; ++f) {
        if (!((kept_in[i] >> f) & 1u)) continue;
        auto& a = acc.extra[f];
        a.n += 1;
        a.s += u;
        a.S.selfadjointView<Eigen::Lower>().rankUpdate(u);
      }
    }
    // Missing cells: P and Q of every group the row is added to.
    std::sort(cells.begin(), cells.end());
    for (std::size_t c0 = 0; c0 < cells.size();) {
      std::size_t c1 = c0;
      while (c1 < cells.size() && cells[c1].first == cells[c0].first) ++c1;
      const std::size_t i = cells[c0].first;
      const auto u = row_u(i);
      auto apply = [&](one_pass_sums& a) {
        for (std::size_t p = c0; p < c1; ++p) {
          const auto j = static_cast<Eigen::Index>(cells[p].second);
          a.P.col(j) += u;
          for (std::size_t q = c0; q < c1; ++q) a.Q(j, static_cast<Eigen::Index>(cells[q].second)) += 1;
        }
      };
      if (group_of[i] < K) apply(acc.core[group_of[i]]);
      else if (group_of[i] == border)
        for (std::size_t f = 0; f < K; ++f)
          if ((kept_in[i] >> f) & 1u) apply(acc.extra[f]);
      c0 = c1;
    }
  }
}

MLOPS_FUNC std::optional<std::vector<one_pass_fold>> one_pass_cross_validate(const Pipeline<double>& p, const DataFrame<double>& base,
                                                                         const std::vector<std::string>& features,
                                                                         const std::string& target, const std::vector<SplitIndices>& splits,
                                                                         std::size_t threads) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto steps = one_pass_match(p, features);
  if (!steps) return std::nullopt;
  const std::size_t n = base.rows(), d = features.size(), D = d + 1, K = splits.size();
  std::vector<std::uint8_t> fold_of;
  if (d == 0 || !fold_partition(splits, n, fold_of)) return std::nullopt;
  if (threads == 0) threads = (std::max)(1u, std::thread::hardware_concurrency());
  std::vector<std::span<const double>> cols;
  for (const auto& f : features) cols.push_back(base.column(f));
  cols.push_back(base.column(target));
  const bool target_checked = steps->iqr && steps->iqr->include_target;

  // 1. Per column.
  std::vector<one_pass_column> stats(D);
  const std::size_t workers = (std::min)(threads, D);
  std::vector<one_pass_scratch> scratch(workers);
  std::atomic<std::size_t> next_col{0};
  parallel_tasks(workers, workers, [&](std::size_t w) {
    for (std::size_t j; (j = next_col.fetch_add(1)) < D;) {
      const bool feature = j < d;
      stats[j] = one_pass_column_stats(cols[j], splits, feature && steps->impute != nullptr,
                                       steps->impute ? steps->impute->strategy : impute_strategy::mean,
                                       steps->impute ? steps->impute->fill_value : 0.0,
                                       (feature || target_checked) ? steps->iqr : nullptr, scratch[w]);
    }
  });
  for (const auto& s : stats)
    if (!s.ok) return std::nullopt;
  std::vector<std::uint8_t> checked(D, 0);
  if (steps->iqr)
    for (std::size_t j = 0; j < D; ++j) checked[j] = j < d || target_checked;

  // 2 and 3. Fixed chunks of rows (the same for every thread count), merged in order.
  constexpr std::size_t chunk_rows = 16384;
  const std::size_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<one_pass_chunk> acc(chunks);
  std::vector<std::uint32_t> dropped(n);  // per row: the training folds that drop it
  const std::size_t row_workers = (std::min)(threads, chunks);
  std::vector<std::vector<double>> bufs(row_workers);
  std::atomic<std::size_t> next_chunk{0};
  parallel_tasks(row_workers, row_workers, [&](std::size_t w) {
    for (std::size_t c; (c = next_chunk.fetch_add(1)) < chunks;)
      one_pass_rows(cols, d, fold_of, K, stats, checked, c * chunk_rows, (std::min)(n, (c + 1) * chunk_rows), acc[c], bufs[w],
                    dropped.data());
  });
  const auto Di = static_cast<Eigen::Index>(D), di = static_cast<Eigen::Index>(d);
  std::vector<one_pass_sums> core(K), extra(K);
  for (std::size_t g = 0; g < K; ++g) {
    core[g].init(Di, di);
    extra[g].init(Di, di);
    for (const auto& c : acc) {
      core[g].add(c.core[g]);
      extra[g].add(c.extra[g]);
    }
  }
  acc.clear();
  const double shared = std::chrono::duration<double>(clock::now() - t0).count() / static_cast<double>(K);

  // Per fold: the Gram matrix of the imputed kept rows, the scaler, the ridge, the scores.
  std::vector<one_pass_fold> out(K);
  const bool clip = steps->iqr && steps->iqr->on_new_data == outlier_action::clip;
  struct {
    std::vector<double> fill, lo, hi, mu, ws, icpt;
  } sv;
  for (auto* v : {&sv.fill, &sv.lo, &sv.hi, &sv.mu, &sv.ws}) v->resize(d * K);
  sv.icpt.resize(K);
  for (std::size_t f = 0; f < K; ++f) {
    const auto f0 = clock::now();
    one_pass_sums t = extra[f];
    for (std::size_t g = 0; g < K; ++g)
      if (g != f) t.add(core[g]);
    if (t.n < 1) return std::nullopt;  // every row dropped: the general path's error
    Eigen::VectorXd delta = Eigen::VectorXd::Zero(di);
    if (steps->impute)
      for (std::size_t j = 0; j < d; ++j) delta(static_cast<Eigen::Index>(j)) = stats[j].fill[f] - stats[j].shift;
    Eigen::MatrixXd S = t.S.selfadjointView<Eigen::Lower>();
    Eigen::VectorXd s = t.s;
    s.head(di) += t.Q.diagonal().cwiseProduct(delta);
    const Eigen::MatrixXd Pd = t.P * delta.asDiagonal();  // D x d
    S.leftCols(di) += Pd;
    S.topRows(di) += Pd.transpose();
    S.topLeftCorner(di, di) += delta.asDiagonal() * t.Q * delta.asDiagonal();
    const double nf = t.n;
    const Eigen::VectorXd mean = s / nf;                     // of u: x - shift
    Eigen::MatrixXd C = S - nf * mean * mean.transpose();    // centred co-moments
    // A feature constant on the kept rows has C_jj = 0 exactly in the per-fold fit (and
    // the scaler's scale 1); here the subtraction leaves rounding. Where C_jj is that
    // small next to S_jj, the kept values are compared directly and a constant column
    // gets exact zeros and its exact value.
    Eigen::VectorXd exact_mean = Eigen::VectorXd::Constant(di, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t j = 0; j < d; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      if (!(C(jj, jj) <= 1e-9 * S(jj, jj))) continue;
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      const double* x = cols[j].data();
      const double fv = steps->impute ? stats[j].fill[f] : 0.0;
      for (std::size_t r = 0; r < n; ++r) {
        if (fold_of[r] == f || ((dropped[r] >> f) & 1u)) continue;
        const double v = x[r] == x[r] ? x[r] : fv;
        lo = (std::min)(lo, v);
        hi = (std::max)(hi, v);
      }
      if (lo == hi) {
        C.row(jj).setZero();
        C.col(jj).setZero();
        exact_mean(jj) = lo;
      }
    }
    // The scaler (StandardScaler::fit's rules, on the kept imputed rows).
    Eigen::VectorXd mu = Eigen::VectorXd::Zero(di), sd = Eigen::VectorXd::Ones(di), mx(di);
    for (std::size_t j = 0; j < d; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      mx(jj) = std::isnan(exact_mean(jj)) ? stats[j].shift + mean(jj) : exact_mean(jj);
      if (!steps->scale) continue;
      const auto& sc = *steps->scale;
      if (sc.with_mean) mu(jj) = mx(jj);
      const double v = (nf - sc.ddof > 0) ? (std::max)(0.0, C(jj, jj)) / (nf - sc.ddof) : 0.0;
      if (sc.with_std) {
        const double eps = std::numeric_limits<double>::epsilon();
        const double bound = nf * eps * v + (nf * mx(jj) * eps) * (nf * mx(jj) * eps);
        if (!(v <= bound || !(std::sqrt(v) > 0))) sd(jj) = std::sqrt(v);
      }
    }
    // The normal equations of z = (x - mu) / sd, as LeastSquaresStats + LinearRegression.
    const Eigen::VectorXd inv = sd.cwiseInverse();
    const Eigen::VectorXd mz = (mx - mu).cwiseProduct(inv);
    const double my = stats[d].shift + mean(di);
    Eigen::MatrixXd G = inv.asDiagonal() * C.topLeftCorner(di, di) * inv.asDiagonal();
    Eigen::VectorXd b = inv.cwiseProduct(C.col(di).head(di));
    const bool intercept = steps->ridge->fit_intercept;
    if (!intercept) {
      G += nf * mz * mz.transpose();
      b += nf * my * mz;
    }
    G.diagonal().array() += steps->ridge->l2;
    Eigen::VectorXd w;
    double rcond = 0;
    if (!ldlt_solve(G, b, w, rcond)) return std::nullopt;  // the general path's rank-revealing solver
    const double icpt = intercept ? my - mz.dot(w) : 0.0;
    out[f].rows_used = static_cast<std::size_t>(nf);
    // Serving parameters of fold f, laid out [feature][fold] for step 4.
    for (std::size_t j = 0; j < d; ++j) {
      const auto jj = static_cast<Eigen::Index>(j);
      const std::size_t at = j * K + f;
      sv.fill[at] = steps->impute ? stats[j].fill[f] : std::numeric_limits<double>::quiet_NaN();
      sv.lo[at] = clip ? stats[j].lo[f] : -std::numeric_limits<double>::infinity();
      sv.hi[at] = clip ? stats[j].hi[f] : std::numeric_limits<double>::infinity();
      sv.mu[at] = mu(jj);
      sv.ws[at] = w(jj) / sd(jj);
    }
    sv.icpt[f] = icpt;
    out[f].fit_seconds = shared + std::chrono::duration<double>(clock::now() - f0).count();
  }

  // 4. Every validation row under its own fold's model, rows in order, in tiles:
  //    fill, clip (when the filter clips), standardize, dot - the row program's steps.
  const auto p0 = clock::now();
  std::vector<double> pred(n);
  {
    constexpr std::size_t R = 256;
    double acc_row[R];
    for (std::size_t r0 = 0; r0 < n; r0 += R) {
      const std::size_t m = (std::min)(R, n - r0);
      const std::uint8_t* g = fold_of.data() + r0;
      std::fill(acc_row, acc_row + m, 0.0);
      for (std::size_t j = 0; j < d; ++j) {
        const double* x = cols[j].data() + r0;
        const double *fl = sv.fill.data() + j * K, *lo = sv.lo.data() + j * K, *hi = sv.hi.data() + j * K,
                     *mu = sv.mu.data() + j * K, *ws = sv.ws.data() + j * K;
        for (std::size_t i = 0; i < m; ++i) {
          const std::size_t k = g[i];
          acc_row[i] += (op_clip(op_fill(x[i], fl[k]), lo[k], hi[k]) - mu[k]) * ws[k];
        }
      }
      for (std::size_t i = 0; i < m; ++i) pred[r0 + i] = acc_row[i] + sv.icpt[g[i]];
    }
  }
  const double per_fold = std::chrono::duration<double>(clock::now() - p0).count() / static_cast<double>(K);
  std::vector<double> pv, yv;
  const double* y = cols[d].data();
  for (std::size_t f = 0; f < K; ++f) {
    const auto s0 = clock::now();
    const auto& rows = splits[f].test;
    pv.resize(rows.size());
    yv.resize(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      pv[i] = pred[rows[i]];
      yv[i] = y[rows[i]];
      if (!std::isfinite(pv[i])) return std::nullopt;  // the general path names the row
    }
    out[f].metrics = regression_metrics<double>(yv, pv);
    out[f].score_seconds = per_fold + std::chrono::duration<double>(clock::now() - s0).count();
  }
  return out;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
