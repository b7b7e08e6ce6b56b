// mlops/pipeline/fold_stats.hpp - fitting from statistics: every fold of a
// cross-validation from sums the folds share (cross_validate), and one pipeline from sums
// over its rows (Pipeline::fit: two "folds" over one block, fold 1 training on all of it
// and fold 0, which would train on nothing, not fitted). Internal.
//
// Per-fold fitting copies each fold's training rows and fits every step on them. When
// every step can be fitted from statistics (Step::fit_source) and says what it does to
// its training rows (FittedStep::forms: per-column maps, level expansions, dropped rows),
// and the estimator fits from least-squares statistics (Estimator::fit_from), every
// fold's fit follows from sums gathered once per block, where block g is the validation
// part of fold g and fold f trains on every block but f:
//
//  1. Per block, sums over its rows of a a^T, where a is the row's "atoms": the constant
//     1; u = x - shift of each numeric feature (0 where missing) and of the target; 0/1
//     indicators of each numeric feature's missing value and of each categorical feature's
//     level (one per level of the data's dictionary, and one for missing). What the steps
//     read - the diagonal parts (counts, sums, squares, missing and level counts) and each
//     numeric column's range - comes from one column-by-column pass per stage; the full
//     products (a symmetric rank update of row tiles; an indicator adds the row's dense
//     atoms to its column and counts its pairs with the row's other indicators) only for
//     the stage the model is fitted on, once the folds ask for them.
//  2. Per fold, the blocks but f are added, and the pipeline is fitted from them
//     (Pipeline::fit_from_source): each column a step sees is a known function of one raw
//     column - a map x -> isnan(x) ? fill : (x - offset) / divisor of a numeric one, or a
//     value per level of a categorical one - so its count, sum, moments, range or level
//     counts follow from the atom sums; each fitted step's forms update those functions.
//     The design columns and the target are then linear in the atoms, z = L a, and their
//     centred co-moments are L C L^T with C the atoms' (centred in atom space, so shifts
//     never cancel digits), which the estimator solves.
//  3. What the sums cannot give is asked for, and the folds are fitted again once it is
//     known (a few rounds; the fits from statistics cost little):
//     - quantiles (median imputation, the IQR filter's quartiles) are exact order
//       statistics of each fold's values after its map, missing cells a point mass at the
//       fold's fill value: one pass per column gathers each block's values near the wanted
//       ranks (brackets chosen on a sample), and each fold selects among its blocks'; a
//       rank a bracket misses, a map other than a fill, or rows already dropped take an
//       exact selection over the fold's values;
//     - a filter (the IQR filter drops training rows) gives each fold's fences; each row
//       is marked with the folds that drop it, and the sums are gathered again in a
//       "stage": rows kept by every fold they train go to their block's sums, rows kept by
//       some to those folds' own extra sums, so fold f's stage sums are its blocks' plus
//       its extras. The steps after the filter read that stage.
//  4. Each fold's fitted pipeline scores its validation rows as a per-fold fit does.
//
// Results equal the per-fold fits up to rounding (tested against them). Anything outside
// this model - a step without statistics, float data, folds that do not partition the
// rows, a design column left with missing values, more than max_indicators indicators -
// returns nothing, and the per-fold path runs, so its errors stay the ones users see.
// Sums are accumulated in fixed row chunks merged in order (counts are exact), so results
// do not depend on the thread count.
//
// The atoms and their sums are in pipeline/atom_sums.hpp, one fold's sums read as a
// pipeline's statistics (step 2) in pipeline/fold_source.hpp; this file holds the rounds
// (quantiles, filters) and the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mlops/detail/block_quantiles.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/fwd.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/pipeline/atom_sums.hpp"
#include "mlops/pipeline/fold_source.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Working memory of fold_quantiles, reused from column to column (no fresh pages).
struct quantile_scratch {
  std::vector<double> bracket[3], work, sample, gather;
  bracket_values index[3];
};

/// Answers `asks` (one per asking fold, nullptr for the others; all about the same raw
/// column at the same stage, with the same probs) from `x`.
MLOPS_FUNC void fold_quantiles(std::span<const double> x, const fold_blocks& blocks, const atom_stage& stage,
                               std::vector<quantile_query*>& asks, quantile_scratch& sc);

/// The next stage's drop bits: `before`'s, plus each fold's fences on the other blocks' rows.
/// For the folds in `counted` (bit f), `outside[f]` gets per fence the fold's training
/// rows not dropped before that lie outside it (the others' stay empty).
MLOPS_FUNC std::vector<std::uint32_t> filter_drops(const DataFrame<double>& frame, const atom_layout& l, const std::string& target,
                                                   const std::vector<std::uint8_t>& fold_of, const std::vector<std::uint32_t>& before,
                                                   const std::vector<std::vector<fence_query>>& fences, std::uint32_t counted,
                                                   std::vector<std::vector<std::uint64_t>>& outside);

/// The folds in `wanted` (bit f: fold f) fitted from shared statistics, in fold order,
/// or nothing (see the file comment). At most 32 folds. The folds in `counted` get their
/// filters' row counts (stats_source::filter_counts: a pass per fence), the others none.
MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                  const std::vector<std::string>& features,
                                                                                  const std::string& target, const fold_blocks& blocks,
                                                                                  std::size_t threads, std::uint32_t wanted, std::uint32_t counted);

/// Every fold's pipeline fitted from shared statistics, or nothing (see the file comment).
MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_folds_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                        const std::vector<std::string>& features,
                                                                                        const std::string& target, const fold_blocks& blocks,
                                                                                        std::size_t threads);

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>

#include "mlops/detail/parallel.hpp"
#include "mlops/detail/stats.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC void fold_quantiles(std::span<const double> x, const fold_blocks& blocks, const atom_stage& stage,
                               std::vector<quantile_query*>& asks, quantile_scratch& sc) {
  const std::size_t K = blocks.k(), n = x.size();
  const quantile_query* first = nullptr;
  bool fills_only = stage.dropped.empty();
  for (const auto* a : asks)
    if (a) {
      if (!first) first = a;
      fills_only &= a->m.offset == 0 && a->m.divisor == 1 && a->probs.size() <= 3 && a->probs == first->probs;
    }
  if (!first) return;
  std::vector<double>& work = sc.work;
  // Exact: each asking fold's values after its map (the stage's dropped rows left out).
  auto exact = [&](std::size_t f, quantile_query& a) {
    work.clear();
    for (std::size_t g = 0; g < K; ++g) {
      if (g == f) continue;
      for (const auto r : blocks.rows[g]) {
        if (!stage.dropped.empty() && ((stage.dropped[r] >> f) & 1u)) continue;
        const double v = a.m(x[r]);
        if (v == v) work.push_back(v);
      }
    }
    a.out.assign(a.probs.size(), std::numeric_limits<double>::quiet_NaN());
    a.count = work.size();
    quantiles_inplace<double>(std::span<double>(work), a.probs, a.out);
  };
  constexpr std::size_t small = 16384, sample_size = 4096;
  if (!fills_only || n < small) {
    for (std::size_t f = 0; f < K; ++f)
      if (asks[f]) exact(f, *asks[f]);
    return;
  }
  // Brackets: each wanted rank of a strided sample (missing cells at the first asking
  // fold's fill value), widened by 3 standard errors.
  const auto& probs = first->probs;
  const double est = first->m.fill;
  std::vector<double>& sample = sc.sample;
  sample.clear();
  std::size_t missing = 0;
  const std::size_t stride = n / sample_size;
  for (std::size_t i = stride / 2; i < n && sample.size() + missing < sample_size; i += stride) {
    if (x[i] == x[i]) sample.push_back(x[i]);
    else ++missing;
  }
  if (sample.size() < sample_size / 4) {
    for (std::size_t f = 0; f < K; ++f)
      if (asks[f]) exact(f, *asks[f]);
    return;
  }
  if (est == est) sample.insert(sample.end(), missing, est);
  const int nb = static_cast<int>(probs.size());
  double blo[3], bhi[3];
  for (int b = 0; b < nb; ++b) {
    const double p = probs[static_cast<std::size_t>(b)];
    const std::size_t ms = sample.size();
    const double pos = p * static_cast<double>(ms - 1);
    const double margin = 3.0 * std::sqrt(static_cast<double>(ms) * p * (1 - p)) + 4.0;
    const double a = std::floor(pos - margin), c = std::ceil(pos + margin) + 1;
    auto at = [&](std::size_t i) {
      std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(i), sample.end());
      return sample[i];
    };
    blo[b] = a <= 0 ? -std::numeric_limits<double>::infinity() : at(static_cast<std::size_t>(a));
    bhi[b] = c >= static_cast<double>(ms - 1) ? std::numeric_limits<double>::infinity() : at(static_cast<std::size_t>(c));
  }
  std::vector<std::size_t> cnt(K), off(K);
  if (sc.gather.size() < column_pass_chunk) sc.gather.resize(column_pass_chunk);
  std::size_t below[3][32] = {}, used[3][32] = {};
  std::size_t at = 0;
  for (std::size_t g = 0; g < K; ++g) {
    off[g] = at;
    at += blocks.rows[g].size() + 1;  // one slot of slack for the unconditional write
  }
  std::vector<double>* bracket = sc.bracket;
  double* buf[3] = {};
  for (int b = 0; b < nb; ++b) {
    if (bracket[b].size() < at) bracket[b].resize(at);  // kept from column to column: written before read
    buf[b] = bracket[b].data();
  }
  switch (nb) {
    case 1: column_pass<1>(x, blocks, blo, bhi, buf, off.data(), cnt.data(), below, used, sc.gather.data()); break;
    case 2: column_pass<2>(x, blocks, blo, bhi, buf, off.data(), cnt.data(), below, used, sc.gather.data()); break;
    default: column_pass<3>(x, blocks, blo, bhi, buf, off.data(), cnt.data(), below, used, sc.gather.data()); break;
  }
  for (int b = 0; b < nb; ++b) index_bracket(bracket[b], off, used[b], sc.index[b]);
  for (std::size_t f = 0; f < K; ++f) {
    if (!asks[f]) continue;
    auto& a = *asks[f];
    std::size_t nv = 0, bv[3] = {};
    for (std::size_t g = 0; g < K; ++g) {
      if (g == f) continue;
      nv += cnt[g];
      for (int b = 0; b < nb; ++b) bv[b] += below[b][g];
    }
    const double m = a.m.fill;
    const std::size_t mass = m == m ? blocks.train_size(f) - nv : 0;
    const std::size_t total = nv + mass;
    a.out.assign(probs.size(), std::numeric_limits<double>::quiet_NaN());
    a.count = total;
    if (total == 0) continue;
    bool ok = true;
    for (int b = 0; b < nb && ok; ++b)
      ok = bracket_quantile(probs[static_cast<std::size_t>(b)], total, bv[b], sc.index[b], f, blo[b], bhi[b], m == m ? m : 0.0, mass, work,
                            a.out[static_cast<std::size_t>(b)]);
    if (!ok) exact_quantiles(x, blocks, f, m == m ? m : 0.0, mass, probs, a.out, work);
  }
}

MLOPS_FUNC std::vector<std::uint32_t> filter_drops(const DataFrame<double>& frame, const atom_layout& l, const std::string& target,
                                                   const std::vector<std::uint8_t>& fold_of, const std::vector<std::uint32_t>& before,
                                                   const std::vector<std::vector<fence_query>>& fences, std::uint32_t counted,
                                                   std::vector<std::vector<std::uint64_t>>& outside) {
  const std::size_t n = frame.rows(), K = fences.size();
  // The counts asked for: fence by fence over the fold's training rows still kept, as
  // the filter's fit on rows counts them (a row outside two fences counts in both).
  outside.assign(K, {});
  for (std::size_t f = 0; f < K; ++f) {
    if ((counted >> f & 1u) == 0) continue;
    outside[f].assign(fences[f].size(), 0);
    const std::uint32_t bit = std::uint32_t{1} << f;
    for (std::size_t i = 0; i < fences[f].size(); ++i) {
      const fence_query& q = fences[f][i];
      std::uint64_t c = 0;
      if (q.form.categorical) {
        const auto codes = frame.categorical(l.categorical[q.form.raw]).codes;
        const std::size_t L = l.n_levels[q.form.raw];
        for (std::size_t r = 0; r < n; ++r) {
          if (fold_of[r] == f || (!before.empty() && (before[r] & bit))) continue;
          const double v = q.form.value_of_level(codes[r] < 0 ? L : static_cast<std::size_t>(codes[r]), L);
          c += (v < q.lo) | (v > q.hi);
        }
      } else {
        const auto x = q.form.raw < l.numeric.size() ? frame.column(l.numeric[q.form.raw]) : frame.column(target);
        for (std::size_t r = 0; r < n; ++r) {
          if (fold_of[r] == f || (!before.empty() && (before[r] & bit))) continue;
          const double v = q.form.m(x[r]);
          c += (v < q.lo) | (v > q.hi);
        }
      }
      outside[f][i] = c;
    }
  }
  std::vector<std::uint32_t> out = before.empty() ? std::vector<std::uint32_t>(n, 0) : before;
  std::uint32_t* o = out.data();
  const double inf = std::numeric_limits<double>::infinity();
  auto raw_column = [&](std::size_t raw) { return raw < l.numeric.size() ? frame.column(l.numeric[raw]) : frame.column(target); };
  // Fences grouped by raw column: fold f's fence on it (none: it keeps every row).
  struct column_fences {
    bool categorical = false;
    std::size_t raw = 0;
    std::vector<const fence_query*> of;  // per fold
  };
  std::vector<column_fences> cols;
  auto apply_one = [&](const fence_query& q, std::size_t f) {  // one fence of fold f, on its own
    const std::uint32_t bit = std::uint32_t{1} << f;
    if (q.form.categorical) {
      const auto codes = frame.categorical(l.categorical[q.form.raw]).codes;
      const std::size_t L = l.n_levels[q.form.raw];
      for (std::size_t r = 0; r < n; ++r) {
        const double v = q.form.value_of_level(codes[r] < 0 ? L : static_cast<std::size_t>(codes[r]), L);
        o[r] |= ((v < q.lo) | (v > q.hi)) ? bit : 0u;
      }
      return;
    }
    const auto x = raw_column(q.form.raw);
    for (std::size_t r = 0; r < n; ++r) {
      const double v = q.form.m(x[r]);
      o[r] |= ((v < q.lo) | (v > q.hi)) ? bit : 0u;
    }
  };
  for (std::size_t f = 0; f < K; ++f)
    for (const auto& fc : fences[f]) {
      auto it = std::find_if(cols.begin(), cols.end(),
                             [&](const column_fences& c) { return c.categorical == fc.form.categorical && c.raw == fc.form.raw; });
      if (it == cols.end()) {
        cols.push_back({fc.form.categorical, fc.form.raw, std::vector<const fence_query*>(K, nullptr)});
        it = cols.end() - 1;
      }
      if (it->of[f]) apply_one(fc, f);  // a second fence on the same column (a column listed twice)
      else it->of[f] = &fc;
    }
  std::vector<std::size_t> flagged;
  for (const auto& c : cols) {
    if (c.categorical) {
      for (std::size_t f = 0; f < K; ++f)
        if (c.of[f]) apply_one(*c.of[f], f);
      continue;
    }
    const double* xs = raw_column(c.raw).data();
    // Each fold's test on the raw value: a fill at most (x itself, or the fill value when
    // missing), or a general map. For fills, a value inside every fold's fences (their
    // intersection) is kept by all: one vectorisable pass flags the rest.
    bool fills = true;
    double lo_all = -inf, hi_all = inf;
    std::uint32_t fill_out = 0;  // folds whose fill value lies outside their fences
    for (std::size_t f = 0; f < K; ++f) {
      const fence_query* q = c.of[f];
      if (!q) continue;
      fills &= q->form.m.offset == 0 && q->form.m.divisor == 1;
      lo_all = (std::max)(lo_all, q->lo), hi_all = (std::min)(hi_all, q->hi);
      const double fv = q->form.m.fill;
      if (fv == fv && (fv < q->lo || fv > q->hi)) fill_out |= std::uint32_t{1} << f;
    }
    auto bits = [&](double xv) {
      std::uint32_t b = 0;
      for (std::size_t f = 0; f < K; ++f) {
        const fence_query* q = c.of[f];
        if (!q) continue;
        const double v = q->form.m(xv);
        b |= ((v < q->lo) | (v > q->hi)) ? std::uint32_t{1} << f : 0u;
      }
      return b;
    };
    if (!fills) {
      for (std::size_t r = 0; r < n; ++r) o[r] |= bits(xs[r]);
      continue;
    }
    flagged.clear();
    constexpr std::size_t tile = 4096;
    std::uint8_t flag[tile];
    for (std::size_t t0 = 0; t0 < n; t0 += tile) {
      const std::size_t m = (std::min)(tile, n - t0);
      const double* xt = xs + t0;
      for (std::size_t i = 0; i < m; ++i) flag[i] = static_cast<std::uint8_t>(!((xt[i] >= lo_all) & (xt[i] <= hi_all)));  // NaN flagged too
      for (std::size_t i = 0; i < m; ++i)
        if (flag[i]) flagged.push_back(t0 + i);
    }
    for (const auto r : flagged) o[r] |= xs[r] == xs[r] ? bits(xs[r]) : fill_out;
  }
  for (std::size_t r = 0; r < n; ++r) o[r] &= ~(std::uint32_t{1} << fold_of[r]);  // a fold never drops its validation rows
  return out;
}

MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_folds_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                        const std::vector<std::string>& features,
                                                                                        const std::string& target, const fold_blocks& blocks,
                                                                                        std::size_t threads) {
  const std::size_t K = blocks.k();
  if (K < 2 || K > 32) return std::nullopt;
  return fit_from_statistics(p, data, features, target, blocks, threads, K == 32 ? 0xffffffffu : (std::uint32_t{1} << K) - 1, 0);
}

MLOPS_FUNC std::optional<FittedPipeline<double>> fit_pipeline_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                              const std::vector<std::string>& features, const std::string& target,
                                                                              std::size_t threads) {
  // Two "folds" over one block of every row: fold 1 trains on it (fold 0, which would
  // train on nothing, is not fitted).
  fold_blocks blocks;
  blocks.fold_of.assign(data.rows(), 0);
  blocks.rows.resize(2);
  blocks.rows[0].resize(data.rows());
  std::iota(blocks.rows[0].begin(), blocks.rows[0].end(), std::size_t{0});
  auto fitted = fit_from_statistics(p, data, features, target, blocks, threads, 0b10u, 0b10u);
  if (!fitted) return std::nullopt;
  return std::move(fitted->front());
}

MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                  const std::vector<std::string>& features,
                                                                                  const std::string& target, const fold_blocks& blocks,
                                                                                  std::size_t threads, std::uint32_t wanted, std::uint32_t counted) {
  const std::size_t K = blocks.k();
  const std::vector<std::uint8_t>& fold_of = blocks.fold_of;
  if (!p.estimator() || K < 2 || K > 32 || blocks.n() != data.rows()) return std::nullopt;
  auto is_wanted = [&](std::size_t f) { return (wanted >> f & 1u) != 0; };
  const auto layout = make_atom_layout(data, features, target);
  if (!layout) return std::nullopt;
  std::vector<atom_stage> stages(1);
  stages[0].sums = stage_column_sums(data, *layout, make_stage_groups(fold_of, K, {}), K, threads);
  std::vector<std::vector<quantile_query>> answers(K);
  std::vector<quantile_scratch> scratch;  // per worker
  constexpr int max_rounds = 16;  // each round learns something new (a step's quantiles, a filter's rows)
  for (int round = 0; round < max_rounds; ++round) {
    std::vector<std::optional<FittedPipeline<double>>> fitted(K);
    std::vector<std::vector<quantile_query>> asked(K);
    std::vector<std::optional<std::vector<fence_query>>> fences(K);
    std::vector<std::optional<std::size_t>> grams(K);
    parallel_tasks(K, threads, [&](std::size_t f) {
      if (!is_wanted(f)) {  // met every filter with no fence, asks for nothing
        fences[f].emplace();
        return;
      }
      fold_source src(*layout, data, f, stages, answers[f]);
      fitted[f] = p.fit_from_source(src, data, features, target, blocks.train_size(f));
      asked[f] = src.asked();
      fences[f] = src.filter_asked();
      grams[f] = src.gram_asked();
    });
    bool done = true;
    for (std::size_t f = 0; f < K; ++f) done &= !is_wanted(f) || fitted[f].has_value();
    if (done) {
      std::vector<FittedPipeline<double>> out;
      for (std::size_t f = 0; f < K; ++f)
        if (is_wanted(f)) out.push_back(std::move(*fitted[f]));
      return out;
    }
    bool progress = false;
    // Quantiles: one pass per (stage, column), answering every fold that asked; the
    // columns on the threads, each with its own working memory.
    std::vector<std::vector<quantile_query*>> groups;
    for (std::size_t f = 0; f < K; ++f)
      for (auto& key : asked[f]) {
        bool seen = false;
        for (const auto& g : groups) {
          const quantile_query* q = *std::find_if(g.begin(), g.end(), [](const quantile_query* x) { return x != nullptr; });
          if (q->stage == key.stage && q->raw == key.raw && q->probs == key.probs) {
            seen = true;
            break;
          }
        }
        if (seen) continue;
        std::vector<quantile_query*> group(K, nullptr);
        for (std::size_t g = f; g < K; ++g)
          for (auto& a : asked[g])
            if (a.stage == key.stage && a.raw == key.raw && a.probs == key.probs && !group[g]) group[g] = &a;
        groups.push_back(std::move(group));
      }
    const std::size_t workers = (std::max)(std::size_t{1}, (std::min)(threads == 0 ? std::size_t{std::thread::hardware_concurrency()} : threads,
                                                                      groups.size()));
    if (scratch.size() < workers) scratch.resize(workers);
    std::atomic<std::size_t> next_group{0};
    parallel_tasks(workers, workers, [&](std::size_t w) {
      for (std::size_t gi; (gi = next_group.fetch_add(1)) < groups.size();) {
        const quantile_query* key = *std::find_if(groups[gi].begin(), groups[gi].end(), [](const quantile_query* x) { return x != nullptr; });
        const auto x = key->raw < layout->numeric.size() ? data.column(layout->numeric[key->raw]) : data.column(target);
        fold_quantiles(x, blocks, stages[key->stage], groups[gi], scratch[w]);
      }
    });
    progress |= !groups.empty();
    for (std::size_t f = 0; f < K; ++f)
      for (auto& a : asked[f])
        if (!a.out.empty()) answers[f].push_back(std::move(a));
    // A filter every fold met at the last stage: its rows, then the next stage's sums.
    if (std::all_of(fences.begin(), fences.end(), [](const auto& x) { return x.has_value(); })) {
      std::vector<std::vector<fence_query>> all(K);
      for (std::size_t f = 0; f < K; ++f) all[f] = std::move(*fences[f]);
      atom_stage next;
      next.dropped = filter_drops(data, *layout, target, fold_of, stages.back().dropped, all, counted & wanted, next.outside);
      next.sums = stage_column_sums(data, *layout, make_stage_groups(fold_of, K, next.dropped), K, threads);
      stages.push_back(std::move(next));
      progress = true;
    }
    // The model's stage: its full sums, once every fold asks for the same stage.
    std::optional<std::size_t> gram;  // the stage every wanted fold asks for, if they agree
    bool agree = true;
    for (std::size_t f = 0; f < K; ++f)
      if (is_wanted(f)) {
        agree &= grams[f].has_value() && (!gram || grams[f] == gram);
        gram = grams[f];
      }
    if (agree && gram && stages[*gram].gram.empty()) {
      auto& st = stages[*gram];
      st.gram = stage_gram(data, *layout, make_stage_groups(fold_of, K, st.dropped), K, threads);
      progress = true;
    }
    if (!progress) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
