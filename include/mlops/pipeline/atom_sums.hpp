// mlops/pipeline/atom_sums.hpp - a frame's rows as "atoms" and their sums per block of
// rows: the statistics that fitting from statistics (pipeline/fold_stats.hpp) reads.
// Internal.
//
// A row's atoms are the constant 1; u = x - shift of each numeric feature (0 where
// missing) and of the target; 0/1 indicators of each numeric feature's missing value and
// of each categorical feature's level (one per level of the data's dictionary, and one
// for missing). Per group of rows the sums of a a^T are kept in three parts (dense x
// dense, dense x indicator, indicator x indicator). The diagonal parts and each numeric
// column's range come from one column-by-column pass (stage_column_sums); the full
// products (a symmetric rank update of row tiles; an indicator adds the row's dense atoms
// to its column and counts its pairs with the row's other indicators) from a pass in
// fixed row chunks merged in order (stage_gram), so sums never depend on the thread count.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "mlops/eval/split.hpp"
#include "mlops/frame.hpp"
#include "mlops/fwd.hpp"

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

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <utility>

#include "mlops/detail/parallel.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

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

  // Rows per chunk (the merge unit: its sums are kept until the end), per tile. A tile is
  // one column-major buffer (280 KB at 34 dense atoms: cache-resident) holding its rows
  // sorted by group, each group's rows in order; its columns lie Rs apart, padded off a
  // multiple of 4 KiB so that reading a row across them (an indicator's dense atoms) does
  // not land every load in one cache set.
  constexpr std::size_t chunk_rows = 65536, R = 1024, Rs = R + 8;
  const std::size_t chunks = (n + chunk_rows - 1) / chunk_rows;
  const std::size_t G = K + 2, border = K;  // tile groups: blocks' kept rows, rows some folds keep (K), dropped rows (K + 1)
  // Each chunk's sums are added to the totals in chunk order, so the totals do not depend on
  // the thread count, as soon as every earlier chunk's are; their memory then serves a
  // later chunk (no fresh pages per chunk).
  std::vector<atom_sums> sums(2 * K);
  for (auto& s : sums) s.init(l);
  std::vector<std::vector<atom_sums>> done(chunks), spare;
  std::size_t merged = 0;
  std::mutex merging;
  if (threads == 0) threads = (std::max)(1u, std::thread::hardware_concurrency());
  const std::size_t workers = (std::max)(std::size_t{1}, (std::min)(threads, chunks));
  std::atomic<std::size_t> next{0};
  parallel_tasks(workers, workers, [&](std::size_t) {
    const std::unique_ptr<double[]> tile(new double[D * Rs]);  // written before read
    double* const buf = tile.get();
    std::vector<std::size_t> dest(R), fill(G), first(G);
    std::vector<std::uint32_t> count(R + 1), active, at(R + 1);  // each tile row's indicators, rows in order
    // Per numeric feature, the tile rows where it is missing (found while filling the tile;
    // one slot of slack for the unconditional write), and how many.
    std::vector<std::uint32_t> missing_rows(nd * (R + 1)), missing_count(nd);
    for (std::size_t c; (c = next.fetch_add(1)) < chunks;) {
      std::vector<atom_sums> out;
      {
        const std::lock_guard<std::mutex> lock(merging);
        if (!spare.empty()) {
          out = std::move(spare.back());
          spare.pop_back();
        }
      }
      out.resize(2 * K);
      for (auto& o : out) o.init(l);
      const std::size_t c1 = (std::min)(n, (c + 1) * chunk_rows);
      for (std::size_t t0 = c * chunk_rows; t0 < c1; t0 += R) {
        const std::size_t m = (std::min)(R, c1 - t0);
        const std::uint8_t* grp = sg.group.data() + t0;
        std::fill(fill.begin(), fill.end(), 0);
        for (std::size_t i = 0; i < m; ++i) ++fill[grp[i]];
        for (std::size_t g = 0, at_row = 0; g < G; at_row += fill[g], ++g) first[g] = at_row;
        for (std::size_t i = 0; i < m; ++i) dest[i] = first[grp[i]]++;
        for (std::size_t g = 0; g < G; ++g) first[g] -= fill[g];
        // Dense atoms into the tile, column by column: 1, u of each numeric, u of y.
        for (std::size_t i = 0; i < m; ++i) buf[dest[i]] = 1.0;
        bool any_missing = false;
        for (std::size_t j = 0; j <= nd; ++j) {
          const double* v = x[j].data() + t0;
          const double sh = l.shift[j];
          double* col = buf + (j + 1) * Rs;
          if (j < nd) {
            std::uint32_t* miss = missing_rows.data() + j * (R + 1);
            std::size_t missing = 0;
            for (std::size_t i = 0; i < m; ++i) {
              const double a = v[i];
              const bool present = a == a;
              col[dest[i]] = present ? a - sh : 0.0;
              miss[missing] = static_cast<std::uint32_t>(i);
              missing += !present;
            }
            missing_count[j] = static_cast<std::uint32_t>(missing);
            any_missing |= missing > 0;
          } else {
            for (std::size_t i = 0; i < m; ++i) {
              const double a = v[i];
              col[dest[i]] = a == a ? a - sh : 0.0;
            }
          }
        }
        for (std::size_t g = 0; g < K; ++g) {
          if (fill[g] == 0) continue;
          const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> B(buf + first[g], static_cast<Eigen::Index>(fill[g]),
                                                                             static_cast<Eigen::Index>(D), Eigen::OuterStride<>(static_cast<Eigen::Index>(Rs)));
          out[g].dd.selfadjointView<Eigen::Lower>().rankUpdate(B.transpose());
        }
        // Indicators per row (categorical levels, then missing cells), found column by column.
        std::fill(count.begin(), count.begin() + static_cast<std::ptrdiff_t>(m) + 1, static_cast<std::uint32_t>(nc));
        if (any_missing)
          for (std::size_t j = 0; j < nd; ++j) {
            const std::uint32_t* miss = missing_rows.data() + j * (R + 1);
            for (std::uint32_t k = 0; k < missing_count[j]; ++k) ++count[miss[k]];
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
            const std::uint32_t* miss = missing_rows.data() + j * (R + 1);
            for (std::uint32_t k = 0; k < missing_count[j]; ++k) active[count[miss[k]]++] = static_cast<std::uint32_t>(j);
          }
        auto add_indicators = [&](atom_sums& o, std::size_t i) {
          const std::uint32_t a0 = at[i], a1 = at[i + 1];
          const double* row = buf + dest[i];
          for (std::uint32_t k = a0; k < a1; ++k) {
            double* pc = o.p.data() + static_cast<std::ptrdiff_t>(active[k]) * static_cast<std::ptrdiff_t>(D);
            for (std::size_t j = 0; j < D; ++j) pc[j] += row[j * Rs];
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
            for (std::size_t j = 0; j < D; ++j) u(static_cast<Eigen::Index>(j)) = buf[dest[i] + j * Rs];
            const std::uint32_t keep = keep_of(t0 + i);
            for (std::size_t f = 0; f < K; ++f) {
              if (!((keep >> f) & 1u)) continue;
              out[K + f].dd.selfadjointView<Eigen::Lower>().rankUpdate(u);
              add_indicators(out[K + f], i);
            }
          }
        }
      }
      const std::lock_guard<std::mutex> lock(merging);
      done[c] = std::move(out);
      for (; merged < chunks && !done[merged].empty(); ++merged) {
        for (std::size_t g = 0; g < 2 * K; ++g) sums[g].add(done[merged][g]);
        spare.push_back(std::exchange(done[merged], {}));
      }
    }
  });
  return sums;
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
