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
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "mlops/detail/block_quantiles.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/fwd.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// The atoms of a frame's features and target (see the file comment).
struct atom_layout {
  static constexpr std::size_t max_indicators = 512;
  std::vector<std::string> numeric;        // numeric features: dense atoms 1 .. numeric.size()
  std::string target;
  std::vector<double> shift;               // per numeric feature, then the target
  std::vector<std::string> categorical;    // categorical features
  std::vector<std::size_t> level_base;     // per categorical: its first indicator (its levels, then missing)
  std::vector<std::size_t> n_levels;       // per categorical: the dictionary's size
  std::size_t dense = 0;                   // 1 + numeric + 1 (the target, last)
  std::size_t sparse = 0;                  // numeric missing indicators, then the categoricals' indicators
  std::size_t total() const noexcept { return dense + sparse; }
  std::size_t target_atom() const noexcept { return dense - 1; }
};

/// One group of rows' sums: E (atoms x atoms, lower triangles meaningful) in three parts,
/// and the range of present values of each numeric feature and the target.
struct atom_sums {
  Eigen::MatrixXd dd;           // dense x dense
  Eigen::MatrixXd p;            // dense x sparse: column a = sum of the dense atoms over rows with indicator a
  Eigen::MatrixXd q;            // sparse x sparse: co-occurrence counts
  std::vector<double> lo, hi;   // per numeric feature, then the target
  void init(const atom_layout& l) {
    const auto D = static_cast<Eigen::Index>(l.dense), S = static_cast<Eigen::Index>(l.sparse);
    dd.setZero(D, D);
    p.setZero(D, S);
    q.setZero(S, S);
    lo.assign(l.numeric.size() + 1, std::numeric_limits<double>::infinity());
    hi.assign(l.numeric.size() + 1, -std::numeric_limits<double>::infinity());
  }
  void add(const atom_sums& o) {
    dd.triangularView<Eigen::Lower>() += o.dd;
    p += o.p;
    q.triangularView<Eigen::Lower>() += o.q;
    for (std::size_t j = 0; j < lo.size(); ++j) lo[j] = (std::min)(lo[j], o.lo[j]), hi[j] = (std::max)(hi[j], o.hi[j]);
  }
};

/// The sums of one stage: per block g the rows kept by every fold they train ([g]), per
/// fold f the rows of other blocks kept by f but not by all ([K + f]); and the drop bits
/// the stage was made with (bit f of row r: fold f drops r; empty: none dropped). `sums`
/// hold what the steps read (row counts, each column's sum, sum of squares, range,
/// missing and level counts: the diagonal parts); `gram` all the products, gathered only
/// for the stage the model is fitted on (empty until asked for).
struct atom_stage {
  std::vector<atom_sums> sums, gram;
  std::vector<std::uint32_t> dropped;
  /// Per fold whose counts were asked for (else empty): per fence of the filter that made
  /// this stage, the fold's training rows entering it that lie outside it.
  std::vector<std::vector<std::uint64_t>> outside;
};

/// A column the steps made, as a function of one raw column: numeric raw j (the target:
/// j = numeric.size()), m(x); categorical raw t, m(w[level]) (w_missing when missing).
struct column_form {
  bool categorical = false;
  std::size_t raw = 0;
  column_map m;
  std::vector<double> w;
  double w_missing = 0;
  double value_of_level(std::size_t k, std::size_t n_levels) const { return m(k < n_levels ? w[k] : w_missing); }
};

/// A quantile question about one raw numeric column at one stage, after a map; answered
/// when `out` has one value per prob.
struct quantile_query {
  std::size_t stage = 0, raw = 0;
  column_map m;
  std::vector<double> probs, out;
  std::uint64_t count = 0;
  bool same_question(const quantile_query& o) const noexcept;
};

/// A fence of a filter, on a column form.
struct fence_query {
  column_form form;
  double lo = 0, hi = 0;
};

/// fold_of[r] for folds whose validation parts partition the rows and whose training part
/// is the rest, all index lists strictly increasing (KFold's); false otherwise.
MLOPS_FUNC bool fold_partition(const std::vector<SplitIndices>& splits, std::size_t n, std::vector<std::uint8_t>& fold_of);

/// The atoms of `frame`'s features + target; nothing when a feature is neither numeric
/// nor categorical, or there are too many indicators.
MLOPS_FUNC std::optional<atom_layout> make_atom_layout(const DataFrame<double>& frame, const std::vector<std::string>& features,
                                                       const std::string& target);

/// Where each row goes in a stage: its block g (kept by every fold it trains), `K`
/// (kept by some: keep[r] says which), or `K + 1` (dropped by all).
struct stage_groups {
  std::vector<std::uint8_t> group;
  std::vector<std::vector<std::uint32_t>> rows_of;  // per block: its rows of group g, ascending
  std::vector<std::size_t> border;   // the rows of group K
  std::vector<std::uint32_t> keep;   // per border row: the folds that keep it
};
MLOPS_FUNC stage_groups make_stage_groups(const std::vector<std::uint8_t>& fold_of, std::size_t K, const std::vector<std::uint32_t>& dropped);

/// One stage's column sums (atom_stage::sums), one column per task on `threads`.
MLOPS_FUNC std::vector<atom_sums> stage_column_sums(const DataFrame<double>& frame, const atom_layout& l, const stage_groups& sg,
                                                    std::size_t K, std::size_t threads);
/// One stage's full sums (atom_stage::gram), in fixed row chunks on `threads`.
MLOPS_FUNC std::vector<atom_sums> stage_gram(const DataFrame<double>& frame, const atom_layout& l, const stage_groups& sg, std::size_t K,
                                             std::size_t threads);

/// Step 2's source: one fold's sums of every stage known so far, read as the steps'
/// statistics; what it cannot answer yet it records (asked(), filter_asked()).
class fold_source final : public pipeline_source<double> {
 public:
  fold_source(const atom_layout& l, const DataFrame<double>& frame, std::size_t fold, const std::vector<atom_stage>& stages,
              const std::vector<quantile_query>& answers);

  std::uint64_t rows() const override { return n_; }
  bool get(const std::string& column, sum_stat& out) override;
  bool get(const std::string& column, moment_stat& out) override;
  bool get(const std::string& column, range_stat<double>& out) override;
  bool get(const std::string& column, level_stat& out) override;
  bool quantiles(const std::string& column, std::span<const double> probs, std::span<double> out, std::uint64_t& count) override;
  bool filter_counts(std::span<const row_fence> fences, std::uint64_t& rows_in, std::uint64_t& rows_out,
                     std::span<std::uint64_t> outside) override;
  void map(const std::string& column, const column_map& m) override;
  const std::vector<std::string>& levels(const std::string& column) override;
  void expand(const std::string& column, std::vector<std::string> outputs, std::span<const std::int32_t> slot_of_level,
              std::int32_t missing_slot) override;
  void recode(const std::string& column, std::span<const double> value_of_level, double missing_value) override;
  void filter(std::span<const row_fence> fences) override;
  std::optional<LeastSquaresStats<double>> least_squares(const std::vector<std::string>& design, const std::string& target) override;

  /// Quantiles asked for and not known.
  const std::vector<quantile_query>& asked() const noexcept { return asked_; }
  /// The fences of a filter met at the last known stage (its rows' sums not known yet).
  const std::optional<std::vector<fence_query>>& filter_asked() const noexcept { return filter_asked_; }
  /// The stage whose full sums the model needs (not gathered yet).
  std::optional<std::size_t> gram_asked() const noexcept { return gram_asked_; }

 private:
  const column_form* find(const std::string& column) const;
  /// The raw categorical input `column` (its index), taken by an encoder that gives one
  /// value per level of its dictionary (n_values of them); nothing (and the source
  /// broken) when it was taken already or the count differs.
  std::optional<std::size_t> take_categorical(const std::string& column, std::size_t n_values);
  void enter_stage(std::size_t s);
  /// The values a categorical form takes, with their counts (levels with a count only);
  /// returns how many rows it leaves missing (NaN values, not listed).
  double form_values(const column_form& f, std::vector<double>& v, std::vector<double>& c) const;
  double count(std::size_t sparse_atom) const { return q_(static_cast<Eigen::Index>(sparse_atom), static_cast<Eigen::Index>(sparse_atom)); }
  double missing(std::size_t raw) const { return raw < l_.numeric.size() ? count(raw) : 0.0; }

  const atom_layout& l_;
  const DataFrame<double>& frame_;
  std::size_t fold_;
  const std::vector<atom_stage>& stages_;
  const std::vector<quantile_query>& answers_;
  std::size_t stage_ = 0;
  atom_sums s_;
  Eigen::MatrixXd q_;  // s_.q with its upper triangle filled
  std::uint64_t n_ = 0;
  std::vector<std::pair<std::string, column_form>> forms_;  // the current columns made from raw ones (the target too)
  std::vector<std::string> raw_categorical_;                // categorical features not yet expanded
  bool broken_ = false;                                     // a form this source cannot follow
  std::vector<quantile_query> asked_;
  std::optional<std::vector<fence_query>> filter_asked_;
  std::optional<std::size_t> gram_asked_;
};

/// Working memory of fold_quantiles, reused from column to column (no fresh pages).
struct quantile_scratch {
  std::vector<double> bracket[3], work, sample;
};

/// Answers `asks` (one per asking fold, nullptr for the others; all about the same raw
/// column at the same stage, with the same probs) from `x`.
MLOPS_FUNC void fold_quantiles(std::span<const double> x, const std::vector<SplitIndices>& splits, const atom_stage& stage,
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
                                                                                  const std::string& target,
                                                                                  const std::vector<SplitIndices>& splits,
                                                                                  std::size_t threads, std::uint32_t wanted, std::uint32_t counted);

/// Every fold's pipeline fitted from shared statistics, or nothing (see the file comment).
MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_folds_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                        const std::vector<std::string>& features,
                                                                                        const std::string& target,
                                                                                        const std::vector<SplitIndices>& splits,
                                                                                        std::size_t threads);

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "mlops/detail/parallel.hpp"
#include "mlops/detail/stats.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC bool quantile_query::same_question(const quantile_query& o) const noexcept {
  auto bits = [](double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  return stage == o.stage && raw == o.raw && bits(m.fill) == bits(o.m.fill) && bits(m.offset) == bits(o.m.offset) &&
         bits(m.divisor) == bits(o.m.divisor) && probs == o.probs;
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

MLOPS_FUNC std::optional<atom_layout> make_atom_layout(const DataFrame<double>& frame, const std::vector<std::string>& features,
                                                       const std::string& target) {
  atom_layout l;
  l.target = target;
  for (const auto& f : features) {
    const auto k = frame.kind(f);
    if (k == column_kind::numeric) l.numeric.push_back(f);
    else if (k == column_kind::categorical) l.categorical.push_back(f);
    else return std::nullopt;
  }
  if (frame.kind(target) != column_kind::numeric) return std::nullopt;
  l.dense = l.numeric.size() + 2;
  l.sparse = l.numeric.size();
  for (const auto& c : l.categorical) {
    l.level_base.push_back(l.sparse);
    l.n_levels.push_back(frame.categorical(c).n_levels());
    l.sparse += l.n_levels.back() + 1;
  }
  if (l.sparse > atom_layout::max_indicators) return std::nullopt;
  // Shifts: the mean of a strided sample of finite values (any value near the mean keeps
  // the dense sums' products well conditioned; a sample keeps this cheap).
  auto sample_mean = [&](std::span<const double> x) {
    const std::size_t step = (std::max)(std::size_t{1}, x.size() / 4096);
    double s = 0;
    std::size_t c = 0;
    for (std::size_t i = 0; i < x.size(); i += step)
      if (std::isfinite(x[i])) s += x[i], ++c;
    return c ? s / static_cast<double>(c) : 0.0;
  };
  for (const auto& f : l.numeric) l.shift.push_back(sample_mean(frame.column(f)));
  l.shift.push_back(sample_mean(frame.column(target)));
  return l;
}

MLOPS_FUNC stage_groups make_stage_groups(const std::vector<std::uint8_t>& fold_of, std::size_t K, const std::vector<std::uint32_t>& dropped) {
  stage_groups sg;
  const std::size_t n = fold_of.size();
  sg.rows_of.resize(K);
  if (dropped.empty()) {
    sg.group = fold_of;
    for (std::size_t r = 0; r < n; ++r) sg.rows_of[fold_of[r]].push_back(static_cast<std::uint32_t>(r));
    return sg;
  }
  const std::uint32_t all = K >= 32 ? 0xffffffffu : ((std::uint32_t{1} << K) - 1);
  sg.group.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t g = fold_of[r];
    const std::uint32_t train = all & ~(std::uint32_t{1} << g), out = dropped[r] & train;
    if (out == 0) {
      sg.group[r] = static_cast<std::uint8_t>(g);
      sg.rows_of[g].push_back(static_cast<std::uint32_t>(r));
    } else if (out == train) {
      sg.group[r] = static_cast<std::uint8_t>(K + 1);
    } else {
      sg.group[r] = static_cast<std::uint8_t>(K);
      sg.border.push_back(r);
      sg.keep.push_back(train & ~out);
    }
  }
  return sg;
}

MLOPS_FUNC std::vector<atom_sums> stage_column_sums(const DataFrame<double>& frame, const atom_layout& l, const stage_groups& sg,
                                                    std::size_t K, std::size_t threads) {
  const std::size_t n = frame.rows(), nd = l.numeric.size(), nc = l.categorical.size();
  std::vector<atom_sums> sums(2 * K);
  for (auto& s : sums) s.init(l);
  const std::uint8_t* grp = sg.group.data();
  {
    double rows[34] = {};
    for (std::size_t r = 0; r < n; ++r) rows[grp[r]] += 1;
    for (std::size_t g = 0; g < K; ++g) sums[g].dd(0, 0) = rows[g];
    for (std::size_t b = 0; b < sg.border.size(); ++b)
      for (std::size_t f = 0; f < K; ++f)
        if ((sg.keep[b] >> f) & 1u) sums[K + f].dd(0, 0) += 1;
  }
  // One task per column; each writes only its own entries, summing rows in order.
  parallel_tasks(nd + 1 + nc, threads, [&](std::size_t task) {
    if (task <= nd) {
      const auto x = task < nd ? frame.column(l.numeric[task]) : frame.column(l.target);
      const double sh = l.shift[task];
      double s[34] = {}, ss[34] = {}, miss[34] = {}, lo[34], hi[34];
      std::fill(lo, lo + 34, std::numeric_limits<double>::infinity());
      std::fill(hi, hi + 34, -std::numeric_limits<double>::infinity());
      auto add = [&](std::size_t g, double v) {
        const bool present = v == v;
        const double u = present ? v - sh : 0.0;
        s[g] += u, ss[g] += u * u, miss[g] += !present;
        lo[g] = v < lo[g] ? v : lo[g], hi[g] = v > hi[g] ? v : hi[g];
      };
      // Block by block through its row list, two lanes (no store-to-load chains).
      for (std::size_t g = 0; g < K; ++g) {
        const auto& rows = sg.rows_of[g];
        double a[2] = {}, b[2] = {}, c[2] = {}, l2[2] = {lo[g], lo[g]}, h2[2] = {hi[g], hi[g]};
        std::size_t i = 0;
        for (; i + 2 <= rows.size(); i += 2)
          for (int k = 0; k < 2; ++k) {
            const double v = x[rows[i + static_cast<std::size_t>(k)]];
            const bool present = v == v;
            const double u = present ? v - sh : 0.0;
            a[k] += u, b[k] += u * u, c[k] += !present;
            l2[k] = v < l2[k] ? v : l2[k], h2[k] = v > h2[k] ? v : h2[k];
          }
        for (; i < rows.size(); ++i) {
          const double v = x[rows[i]];
          const bool present = v == v;
          const double u = present ? v - sh : 0.0;
          a[0] += u, b[0] += u * u, c[0] += !present;
          l2[0] = v < l2[0] ? v : l2[0], h2[0] = v > h2[0] ? v : h2[0];
        }
        s[g] = a[0] + a[1], ss[g] = b[0] + b[1], miss[g] = c[0] + c[1];
        lo[g] = (std::min)(l2[0], l2[1]), hi[g] = (std::max)(h2[0], h2[1]);
      }
      const auto jj = static_cast<Eigen::Index>(task + 1);
      auto put = [&](atom_sums& o, std::size_t g) {
        o.dd(jj, 0) += s[g], o.dd(jj, jj) += ss[g];
        if (task < nd) o.q(static_cast<Eigen::Index>(task), static_cast<Eigen::Index>(task)) += miss[g];
        o.lo[task] = (std::min)(o.lo[task], lo[g]), o.hi[task] = (std::max)(o.hi[task], hi[g]);
      };
      for (std::size_t g = 0; g < K; ++g) put(sums[g], g);
      for (std::size_t b = 0; b < sg.border.size(); ++b)
        for (std::size_t f = 0; f < K; ++f) {
          if (!((sg.keep[b] >> f) & 1u)) continue;
          s[K] = ss[K] = miss[K] = 0, lo[K] = std::numeric_limits<double>::infinity(), hi[K] = -lo[K];
          add(K, x[sg.border[b]]);
          put(sums[K + f], K);
        }
      return;
    }
    const std::size_t t = task - nd - 1, L = l.n_levels[t];
    const auto codes = frame.categorical(l.categorical[t]).codes;
    std::vector<double> cnt((K + 2) * (L + 1), 0.0);
    for (std::size_t r = 0; r < n; ++r) cnt[grp[r] * (L + 1) + (codes[r] < 0 ? L : static_cast<std::size_t>(codes[r]))] += 1;
    for (std::size_t g = 0; g < K; ++g)
      for (std::size_t k = 0; k <= L; ++k) {
        const auto a = static_cast<Eigen::Index>(l.level_base[t] + k);
        sums[g].q(a, a) = cnt[g * (L + 1) + k];
      }
    for (std::size_t b = 0; b < sg.border.size(); ++b) {
      const std::int32_t c = codes[sg.border[b]];
      const auto a = static_cast<Eigen::Index>(l.level_base[t] + (c < 0 ? L : static_cast<std::size_t>(c)));
      for (std::size_t f = 0; f < K; ++f)
        if ((sg.keep[b] >> f) & 1u) sums[K + f].q(a, a) += 1;
    }
  });
  return sums;
}

MLOPS_FUNC std::vector<atom_sums> stage_gram(const DataFrame<double>& frame, const atom_layout& l, const stage_groups& sg, std::size_t K,
                                             std::size_t threads) {
  const std::size_t n = frame.rows(), nd = l.numeric.size(), D = l.dense, nc = l.categorical.size(), S = l.sparse;
  std::vector<std::span<const double>> x;
  for (const auto& f : l.numeric) x.push_back(frame.column(f));
  x.push_back(frame.column(l.target));
  std::vector<std::span<const std::int32_t>> codes;
  for (const auto& c : l.categorical) codes.push_back(frame.categorical(c).codes);
  // Border rows' keep bits by row (few rows; the list is sorted).
  auto keep_of = [&](std::size_t r) {
    const auto it = std::lower_bound(sg.border.begin(), sg.border.end(), r);
    return sg.keep[static_cast<std::size_t>(it - sg.border.begin())];
  };

  constexpr std::size_t chunk_rows = 65536, R = 1024;  // rows per chunk (the merge unit: its sums are kept until the end), per tile
  const std::size_t chunks = (n + chunk_rows - 1) / chunk_rows;
  const std::size_t G = K + 2, border = K, skip = K + 1;  // tile groups: blocks' kept rows, rows some folds keep, dropped rows
  std::vector<std::vector<atom_sums>> acc(chunks);
  if (threads == 0) threads = (std::max)(1u, std::thread::hardware_concurrency());
  const std::size_t workers = (std::max)(std::size_t{1}, (std::min)(threads, chunks));
  std::atomic<std::size_t> next{0};
  parallel_tasks(workers, workers, [&](std::size_t) {
    std::vector<double> buf(G * D * R);
    std::vector<std::size_t> dest(R), fill(G);
    std::vector<std::uint32_t> count(R + 1), active, at(R + 1);  // each tile row's indicators, rows in order
    for (std::size_t c; (c = next.fetch_add(1)) < chunks;) {
      auto& out = acc[c];
      out.resize(2 * K);
      for (auto& o : out) o.init(l);
      const std::size_t c1 = (std::min)(n, (c + 1) * chunk_rows);
      for (std::size_t t0 = c * chunk_rows; t0 < c1; t0 += R) {
        const std::size_t m = (std::min)(R, c1 - t0);
        const std::uint8_t* grp = sg.group.data() + t0;
        std::fill(fill.begin(), fill.end(), 0);
        for (std::size_t i = 0; i < m; ++i) {
          const std::size_t g = grp[i];
          dest[i] = g * D * R + (g == skip ? 0 : fill[g]++);  // dropped rows share a slot
        }
        // Dense atoms into each group's column-major tile: 1, u of each numeric, u of y.
        for (std::size_t i = 0; i < m; ++i) buf[dest[i]] = 1.0;
        bool any_missing = false;
        for (std::size_t j = 0; j <= nd; ++j) {
          const double* v = x[j].data() + t0;
          const double sh = l.shift[j];
          double* col = buf.data() + (j + 1) * R;
          std::size_t missing = 0;
          for (std::size_t i = 0; i < m; ++i) {
            const double a = v[i];
            const bool present = a == a;
            col[dest[i]] = present ? a - sh : 0.0;
            missing += !present;
          }
          any_missing |= missing > 0 && j < nd;
        }
        for (std::size_t g = 0; g < K; ++g) {
          if (fill[g] == 0) continue;
          const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> B(buf.data() + g * D * R, static_cast<Eigen::Index>(fill[g]),
                                                                             static_cast<Eigen::Index>(D), Eigen::OuterStride<>(static_cast<Eigen::Index>(R)));
          out[g].dd.selfadjointView<Eigen::Lower>().rankUpdate(B.transpose());
        }
        // Indicators per row (categorical levels, then missing cells), found column by column.
        std::fill(count.begin(), count.begin() + static_cast<std::ptrdiff_t>(m) + 1, static_cast<std::uint32_t>(nc));
        if (any_missing)
          for (std::size_t j = 0; j < nd; ++j) {
            const double* v = x[j].data() + t0;
            for (std::size_t i = 0; i < m; ++i) count[i] += v[i] != v[i];
          }
        at[0] = 0;
        for (std::size_t i = 0; i < m; ++i) at[i + 1] = at[i] + count[i];
        active.resize(at[m]);
        for (std::size_t i = 0; i < m; ++i) count[i] = at[i];  // cursors
        for (std::size_t t = 0; t < nc; ++t) {
          const std::int32_t* cd = codes[t].data() + t0;
          const auto base = static_cast<std::uint32_t>(l.level_base[t]), L = static_cast<std::uint32_t>(l.n_levels[t]);
          for (std::size_t i = 0; i < m; ++i) active[count[i]++] = base + (cd[i] < 0 ? L : static_cast<std::uint32_t>(cd[i]));
        }
        if (any_missing)
          for (std::size_t j = 0; j < nd; ++j) {
            const double* v = x[j].data() + t0;
            for (std::size_t i = 0; i < m; ++i)
              if (v[i] != v[i]) active[count[i]++] = static_cast<std::uint32_t>(j);
          }
        auto add_indicators = [&](atom_sums& o, std::size_t i) {
          const std::uint32_t a0 = at[i], a1 = at[i + 1];
          const double* row = buf.data() + dest[i];
          for (std::uint32_t k = a0; k < a1; ++k) {
            double* pc = o.p.data() + static_cast<std::ptrdiff_t>(active[k]) * static_cast<std::ptrdiff_t>(D);
            for (std::size_t j = 0; j < D; ++j) pc[j] += row[j * R];
            double* qc = o.q.data() + static_cast<std::ptrdiff_t>(active[k]) * static_cast<std::ptrdiff_t>(S);
            for (std::uint32_t k2 = a0; k2 < a1; ++k2)
              if (active[k2] >= active[k]) qc[active[k2]] += 1.0;  // lower triangle: row >= column
          }
        };
        Eigen::VectorXd u(static_cast<Eigen::Index>(D));
        for (std::size_t i = 0; i < m; ++i) {
          const std::size_t g = grp[i];
          if (g < K) {
            if (at[i] != at[i + 1]) add_indicators(out[g], i);
          } else if (g == border) {  // into each keeping fold's extra sums
            for (std::size_t j = 0; j < D; ++j) u(static_cast<Eigen::Index>(j)) = buf[dest[i] + j * R];
            const std::uint32_t keep = keep_of(t0 + i);
            for (std::size_t f = 0; f < K; ++f) {
              if (!((keep >> f) & 1u)) continue;
              out[K + f].dd.selfadjointView<Eigen::Lower>().rankUpdate(u);
              add_indicators(out[K + f], i);
            }
          }
        }
      }
    }
  });
  std::vector<atom_sums> sums(2 * K);
  for (std::size_t g = 0; g < 2 * K; ++g) {
    sums[g].init(l);
    for (const auto& a : acc) sums[g].add(a[g]);
  }
  return sums;
}

MLOPS_FUNC fold_source::fold_source(const atom_layout& l, const DataFrame<double>& frame, std::size_t fold,
                                    const std::vector<atom_stage>& stages, const std::vector<quantile_query>& answers)
    : l_(l), frame_(frame), fold_(fold), stages_(stages), answers_(answers) {
  for (std::size_t j = 0; j < l_.numeric.size(); ++j) forms_.push_back({l_.numeric[j], column_form{false, j, {}, {}, 0}});
  forms_.push_back({l_.target, column_form{false, l_.numeric.size(), {}, {}, 0}});  // a filter may check the target
  raw_categorical_ = l_.categorical;
  enter_stage(0);
}

MLOPS_FUNC void fold_source::enter_stage(std::size_t s) {
  stage_ = s;
  const std::size_t K = stages_[s].sums.size() / 2;
  s_.init(l_);
  for (std::size_t g = 0; g < K; ++g)
    if (g != fold_) s_.add(stages_[s].sums[g]);
  s_.add(stages_[s].sums[K + fold_]);
  q_ = s_.q.selfadjointView<Eigen::Lower>();
  n_ = static_cast<std::uint64_t>(std::llround(s_.dd(0, 0)));
}

MLOPS_FUNC const column_form* fold_source::find(const std::string& column) const {
  for (const auto& [name, f] : forms_)
    if (name == column) return &f;
  return nullptr;
}

MLOPS_FUNC double fold_source::form_values(const column_form& f, std::vector<double>& v, std::vector<double>& c) const {
  v.clear(), c.clear();
  const std::size_t base = l_.level_base[f.raw], L = l_.n_levels[f.raw];
  double nan = 0;
  for (std::size_t k = 0; k <= L; ++k) {
    const double cnt = count(base + k);
    if (cnt == 0) continue;
    const double x = f.value_of_level(k, L);
    if (x != x) {
      nan += cnt;
      continue;
    }
    v.push_back(x);
    c.push_back(cnt);
  }
  return nan;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, sum_stat& out) {
  const column_form* f = find(column);
  if (!f || filter_asked_) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    const auto nan = static_cast<std::uint64_t>(form_values(*f, v, c));
    out = {n_ - nan, nan, 0.0};
    for (std::size_t k = 0; k < v.size(); ++k) out.sum += v[k] * c[k];
    return true;
  }
  const std::size_t j = f->raw;
  const double present = static_cast<double>(n_) - missing(j);
  const sum_stat raw{static_cast<std::uint64_t>(present), static_cast<std::uint64_t>(missing(j)),
                     l_.shift[j] * present + s_.dd(static_cast<Eigen::Index>(j + 1), 0)};
  out = push(raw, f->m);
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, moment_stat& out) {
  const column_form* f = find(column);
  if (!f || filter_asked_) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    const auto nan = static_cast<std::uint64_t>(form_values(*f, v, c));
    const std::uint64_t present = n_ - nan;
    double mean = 0;
    for (std::size_t k = 0; k < v.size(); ++k) mean += v[k] * c[k];
    if (present > 0) mean /= static_cast<double>(present);
    double m2 = 0;
    for (std::size_t k = 0; k < v.size(); ++k) m2 += c[k] * (v[k] - mean) * (v[k] - mean);
    out = {present, nan, mean, m2};
    return true;
  }
  const std::size_t j = f->raw;
  const auto jj = static_cast<Eigen::Index>(j + 1);
  const double present = static_cast<double>(n_) - missing(j);
  moment_stat raw{static_cast<std::uint64_t>(present), static_cast<std::uint64_t>(missing(j)), 0.0, 0.0};
  if (present > 0 && s_.lo[j] == s_.hi[j]) {  // every present value equal (the range says so): exact, as on the rows
    raw.mean = s_.lo[j];
  } else if (present > 0) {
    const double su = s_.dd(jj, 0), mu = su / present;
    raw.mean = l_.shift[j] + mu;
    raw.m2 = (std::max)(0.0, s_.dd(jj, jj) - su * mu);
  }
  out = push(raw, f->m);
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, range_stat<double>& out) {
  const column_form* f = find(column);
  if (!f || filter_asked_) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    const auto nan = static_cast<std::uint64_t>(form_values(*f, v, c));
    out = {};
    for (const double a : v) out.merge({1, a, a});
    out.count = n_ - nan;
    return true;
  }
  const std::size_t j = f->raw;
  const double present = static_cast<double>(n_) - missing(j);
  range_stat<double> raw;
  raw.count = static_cast<std::uint64_t>(present);
  if (present > 0) raw.min = s_.lo[j], raw.max = s_.hi[j];
  out = push(raw, f->m, static_cast<std::uint64_t>(missing(j)));
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, level_stat& out) {
  const auto it = std::find(raw_categorical_.begin(), raw_categorical_.end(), column);
  if (it == raw_categorical_.end() || filter_asked_) return false;
  const std::size_t t = static_cast<std::size_t>(std::find(l_.categorical.begin(), l_.categorical.end(), column) - l_.categorical.begin());
  const auto& dict = *frame_.categorical(column).levels;
  std::vector<std::size_t> present;
  for (std::size_t k = 0; k < dict.size(); ++k)
    if (count(l_.level_base[t] + k) > 0) present.push_back(k);
  std::sort(present.begin(), present.end(), [&](std::size_t a, std::size_t b) { return dict[a] < dict[b]; });
  out = {};
  for (const auto k : present) {
    out.lc.levels.push_back(dict[k]);
    out.lc.counts.push_back(static_cast<std::size_t>(count(l_.level_base[t] + k)));
  }
  out.lc.missing = static_cast<std::size_t>(count(l_.level_base[t] + l_.n_levels[t]));
  out.lc.rows = static_cast<std::size_t>(n_);
  return true;
}

MLOPS_FUNC bool fold_source::quantiles(const std::string& column, std::span<const double> probs, std::span<double> out,
                                       std::uint64_t& count_out) {
  const column_form* f = find(column);
  if (!f || filter_asked_) return false;
  if (f->categorical) {  // exact from the level counts: the values sorted, each with its count
    std::vector<double> v, c;
    const double nan = form_values(*f, v, c);
    const double total = static_cast<double>(n_) - nan;  // missing cells (NaN values) left out
    count_out = static_cast<std::uint64_t>(total);
    if (v.empty()) {
      std::fill(out.begin(), out.end(), std::numeric_limits<double>::quiet_NaN());
      return true;
    }
    std::vector<std::size_t> order(v.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    auto at_rank = [&](double r) {  // the value of rank r (0-based)
      double seen = 0;
      for (const auto k : order) {
        seen += c[k];
        if (r < seen) return v[k];
      }
      return v[order.back()];
    };
    for (std::size_t q = 0; q < probs.size(); ++q) {
      const double h = (total - 1) * probs[q], r = std::floor(h), frac = h - r;
      const double a = at_rank(r);
      out[q] = frac == 0 || r + 1 >= total ? a : numpy_lerp(a, at_rank(r + 1), frac);
    }
    return true;
  }
  quantile_query ask{stage_, f->raw, f->m, std::vector<double>(probs.begin(), probs.end()), {}, 0};
  for (const auto& a : answers_)
    if (a.same_question(ask) && a.out.size() == probs.size()) {
      std::copy(a.out.begin(), a.out.end(), out.begin());
      count_out = a.count;
      return true;
    }
  asked_.push_back(std::move(ask));
  return false;
}

MLOPS_FUNC void fold_source::map(const std::string& column, const column_map& m) {
  for (auto& [name, f] : forms_)
    if (name == column) {
      f.m = f.m.then(m);
      return;
    }
  broken_ = true;
}

MLOPS_FUNC const std::vector<std::string>& fold_source::levels(const std::string& column) { return *frame_.categorical(column).levels; }

MLOPS_FUNC void fold_source::expand(const std::string& column, std::vector<std::string> outputs, std::span<const std::int32_t> slot_of_level,
                                    std::int32_t missing_slot) {
  const auto t = take_categorical(column, slot_of_level.size());
  if (!t) return;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    column_form f{true, *t, {}, std::vector<double>(slot_of_level.size()), missing_slot == static_cast<std::int32_t>(k) ? 1.0 : 0.0};
    for (std::size_t v = 0; v < slot_of_level.size(); ++v) f.w[v] = slot_of_level[v] == static_cast<std::int32_t>(k) ? 1.0 : 0.0;
    forms_.push_back({std::move(outputs[k]), std::move(f)});
  }
}

MLOPS_FUNC void fold_source::recode(const std::string& column, std::span<const double> value_of_level, double missing_value) {
  const auto t = take_categorical(column, value_of_level.size());
  if (!t) return;
  forms_.push_back({column, column_form{true, *t, {}, std::vector<double>(value_of_level.begin(), value_of_level.end()), missing_value}});
}

MLOPS_FUNC std::optional<std::size_t> fold_source::take_categorical(const std::string& column, std::size_t n_values) {
  const auto it = std::find(raw_categorical_.begin(), raw_categorical_.end(), column);
  const std::size_t t = static_cast<std::size_t>(std::find(l_.categorical.begin(), l_.categorical.end(), column) - l_.categorical.begin());
  if (it == raw_categorical_.end() || n_values != l_.n_levels[t]) {
    broken_ = true;
    return std::nullopt;
  }
  raw_categorical_.erase(it);
  return t;
}

MLOPS_FUNC void fold_source::filter(std::span<const row_fence> fences) {
  if (broken_) return;
  // Every fold meets the same filters in the same order, so stage s + 1 is this filter's
  // (a fold whose fences are all inactive drops nothing in it).
  if (stage_ + 1 < stages_.size()) {  // the rows it keeps are known: their sums from here on
    enter_stage(stage_ + 1);
    return;
  }
  std::vector<fence_query> q;
  for (const auto& fc : fences) {
    const column_form* f = find(fc.column);
    if (!f) {
      broken_ = true;
      return;
    }
    q.push_back({*f, fc.lo, fc.hi});
  }
  filter_asked_ = std::move(q);
}

MLOPS_FUNC bool fold_source::filter_counts(std::span<const row_fence> fences, std::uint64_t& rows_in, std::uint64_t& rows_out,
                                           std::span<std::uint64_t> outside) {
  // The filter about to be applied is the one that made the next stage (see filter()).
  if (broken_ || stage_ + 1 >= stages_.size()) return false;
  const atom_stage& next = stages_[stage_ + 1];
  if (fold_ >= next.outside.size() || next.outside[fold_].size() != fences.size() || outside.size() != fences.size()) return false;
  std::copy(next.outside[fold_].begin(), next.outside[fold_].end(), outside.begin());
  const std::size_t K = next.sums.size() / 2;
  double kept = next.sums[K + fold_].dd(0, 0);
  for (std::size_t g = 0; g < K; ++g)
    if (g != fold_) kept += next.sums[g].dd(0, 0);
  rows_in = n_;
  rows_out = static_cast<std::uint64_t>(std::llround(kept));
  return true;
}

MLOPS_FUNC std::optional<LeastSquaresStats<double>> fold_source::least_squares(const std::vector<std::string>& design, const std::string& target) {
  if (broken_ || filter_asked_ || !asked_.empty() || n_ == 0) return std::nullopt;
  const auto& gram = stages_[stage_].gram;
  if (gram.empty()) {  // the products of this stage's rows: gathered once every fold asks
    gram_asked_ = stage_;
    return std::nullopt;
  }
  atom_sums g;
  g.init(l_);
  const std::size_t K = gram.size() / 2;
  for (std::size_t b = 0; b < K; ++b)
    if (b != fold_) g.add(gram[b]);
  g.add(gram[K + fold_]);
  if (const column_form* t = find(target); t && !(t->m.offset == 0 && t->m.divisor == 1)) return std::nullopt;  // a step changed the target
  const std::size_t p = design.size(), D = l_.dense, A = l_.total();
  // z = L a: rows are the design columns, then the target; columns the atoms.
  Eigen::MatrixXd L = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(p + 1), static_cast<Eigen::Index>(A));
  for (std::size_t k = 0; k < p; ++k) {
    const column_form* f = find(design[k]);
    if (!f) return std::nullopt;
    const auto kk = static_cast<Eigen::Index>(k);
    const column_map& m = f->m;
    if (f->categorical) {  // a level no row here has adds nothing (its value may be NaN)
      const std::size_t lb = l_.level_base[f->raw], Lv = l_.n_levels[f->raw];
      for (std::size_t v = 0; v <= Lv; ++v) {
        if (count(lb + v) == 0) continue;
        const double x = f->value_of_level(v, Lv);
        if (x != x) return std::nullopt;  // NaN would reach the trainer: the row path names it
        L(kk, static_cast<Eigen::Index>(D + lb + v)) = x;
      }
      continue;
    }
    const std::size_t j = f->raw;
    if (j >= l_.numeric.size()) return std::nullopt;  // the target as a design column
    const bool has_missing = missing(j) > 0;
    if (has_missing && m.fill != m.fill) return std::nullopt;  // NaN would reach the trainer: the row path names it
    // Present: (u + shift - offset) / divisor; missing: fill.
    const double c0 = (l_.shift[j] - m.offset) / m.divisor;
    L(kk, static_cast<Eigen::Index>(j + 1)) = 1.0 / m.divisor;
    L(kk, 0) = c0;
    if (has_missing) L(kk, static_cast<Eigen::Index>(D + j)) = m.fill - c0;
  }
  // A design column constant on these rows (a numeric one whose present values are all
  // equal, its missing ones filled with that value): exact zeros in its co-moments and its
  // exact value as mean, as the rows give; the sums would leave rounding there.
  std::vector<std::pair<Eigen::Index, double>> constant;
  for (std::size_t k = 0; k < p; ++k) {
    const column_form* f = find(design[k]);
    if (f->categorical) continue;
    const std::size_t j = f->raw;
    const double present = static_cast<double>(n_) - missing(j);
    if (!(s_.lo[j] == s_.hi[j])) continue;
    const double v = f->m(s_.lo[j]);
    if (present < static_cast<double>(n_) && !(f->m.fill == v)) continue;
    constant.emplace_back(static_cast<Eigen::Index>(k), v);
  }
  L(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(l_.target_atom())) = 1.0;
  L(static_cast<Eigen::Index>(p), 0) = l_.shift.back();
  // The atoms' second moments, their means and centred co-moments (constant atom 0 aside).
  const auto Di = static_cast<Eigen::Index>(D), Si = static_cast<Eigen::Index>(l_.sparse), Ai = static_cast<Eigen::Index>(A);
  Eigen::MatrixXd E(Ai, Ai);
  E.topLeftCorner(Di, Di) = g.dd.selfadjointView<Eigen::Lower>();
  E.bottomLeftCorner(Si, Di) = g.p.transpose();
  E.topRightCorner(Di, Si) = g.p;
  E.bottomRightCorner(Si, Si) = g.q.selfadjointView<Eigen::Lower>();
  const double nf = static_cast<double>(n_);
  const Eigen::VectorXd mu = E.col(0) / nf;
  const Eigen::MatrixXd C = E.bottomRightCorner(Ai - 1, Ai - 1) - nf * mu.tail(Ai - 1) * mu.tail(Ai - 1).transpose();
  const Eigen::VectorXd mz = L * mu;
  const auto Ll = L.rightCols(Ai - 1);
  Eigen::MatrixXd Cz = Ll * C * Ll.transpose();
  Eigen::VectorXd mzc = mz;
  for (const auto& [k, v] : constant) {
    Cz.row(k).setZero();
    Cz.col(k).setZero();
    mzc(k) = v;
  }
  const auto pi = static_cast<Eigen::Index>(p);
  if (!Cz.allFinite() || !mz.allFinite()) return std::nullopt;
  return LeastSquaresStats<double>::from_moments(static_cast<std::size_t>(n_), mzc.head(pi), mzc(pi), Cz.topLeftCorner(pi, pi),
                                                 Cz.col(pi).head(pi), Cz(pi, pi));
}

MLOPS_FUNC void fold_quantiles(std::span<const double> x, const std::vector<SplitIndices>& splits, const atom_stage& stage,
                               std::vector<quantile_query*>& asks, quantile_scratch& sc) {
  const std::size_t K = splits.size(), n = x.size();
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
      for (const auto r : splits[g].test) {
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
  std::vector<double> sum(K);
  std::size_t below[3][32] = {}, used[3][32] = {};
  std::size_t at = 0;
  for (std::size_t g = 0; g < K; ++g) {
    off[g] = at;
    at += splits[g].test.size() + 1;  // one slot of slack for the unconditional write
  }
  std::vector<double>* bracket = sc.bracket;
  double* buf[3] = {};
  for (int b = 0; b < nb; ++b) {
    if (bracket[b].size() < at) bracket[b].resize(at);  // kept from column to column: written before read
    buf[b] = bracket[b].data();
  }
  switch (nb) {
    case 1: column_pass<1>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
    case 2: column_pass<2>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
    default: column_pass<3>(x, splits, blo, bhi, buf, off.data(), cnt.data(), sum.data(), below, used); break;
  }
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
    const std::size_t mass = m == m ? (n - splits[f].test.size()) - nv : 0;
    const std::size_t total = nv + mass;
    a.out.assign(probs.size(), std::numeric_limits<double>::quiet_NaN());
    a.count = total;
    if (total == 0) continue;
    bool ok = true;
    for (int b = 0; b < nb && ok; ++b)
      ok = bracket_quantile(probs[static_cast<std::size_t>(b)], total, bv[b], bracket[b], off, used[b], f, blo[b], bhi[b], m == m ? m : 0.0,
                            mass, work, a.out[static_cast<std::size_t>(b)]);
    if (!ok) exact_quantiles(x, splits, f, m == m ? m : 0.0, mass, probs, a.out, work);
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
                                                                                        const std::string& target,
                                                                                        const std::vector<SplitIndices>& splits,
                                                                                        std::size_t threads) {
  if (splits.size() > 32) return std::nullopt;
  return fit_from_statistics(p, data, features, target, splits, threads, splits.size() == 32 ? 0xffffffffu : (std::uint32_t{1} << splits.size()) - 1, 0);
}

MLOPS_FUNC std::optional<FittedPipeline<double>> fit_pipeline_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                              const std::vector<std::string>& features, const std::string& target) {
  // Two "folds" over one block of every row: fold 1 trains on it (fold 0, which would
  // train on nothing, is not fitted).
  std::vector<SplitIndices> splits(2);
  splits[0].test.resize(data.rows());
  for (std::size_t r = 0; r < data.rows(); ++r) splits[0].test[r] = r;
  splits[1].train = splits[0].test;
  auto fitted = fit_from_statistics(p, data, features, target, splits, 1, 0b10u, 0b10u);
  if (!fitted) return std::nullopt;
  return std::move(fitted->front());
}

MLOPS_FUNC std::optional<std::vector<FittedPipeline<double>>> fit_from_statistics(const Pipeline<double>& p, const DataFrame<double>& data,
                                                                                  const std::vector<std::string>& features,
                                                                                  const std::string& target,
                                                                                  const std::vector<SplitIndices>& splits,
                                                                                  std::size_t threads, std::uint32_t wanted, std::uint32_t counted) {
  const std::size_t K = splits.size();
  std::vector<std::uint8_t> fold_of;
  if (!p.estimator() || !fold_partition(splits, data.rows(), fold_of)) return std::nullopt;
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
      fitted[f] = p.fit_from_source(src, data, features, target, splits[f].train.size());
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
        fold_quantiles(x, splits, stages[key->stage], groups[gi], scratch[w]);
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
