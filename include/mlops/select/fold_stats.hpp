// mlops/select/fold_stats.hpp - cross-validation from statistics shared by the folds
// (internal; cross_validate calls it).
//
// Per-fold fitting copies each fold's training rows and fits every step on them. When
// every step can be fitted from statistics (Step::fit_source) and says what it does to
// its training rows as per-column maps or level expansions (FittedStep::forms), and the
// estimator fits from least-squares statistics (Estimator::fit_from), every fold's fit
// follows from sums gathered once per block, where block g is the validation part of fold
// g and fold f trains on every block but f:
//
//  1. One pass over the rows gives, per block, the sums of a a^T over its rows, where a is
//     the row's "atoms": the constant 1; u = x - shift of each numeric feature (0 where
//     missing) and of the target; 0/1 indicators of each numeric feature's missing value
//     and of each categorical feature's level (one per level of the data's dictionary, and
//     one for missing). The dense atoms' products come from a symmetric rank update of
//     row tiles; an indicator adds the row's dense atoms to its column (P) and counts its
//     pairs with the row's other indicators (Q). Also each numeric feature's minimum and
//     maximum per block.
//  2. Per fold, the blocks but f are added, and the pipeline is fitted from them
//     (Pipeline::fit_from_source): each column a step sees is a known function of one raw
//     column - a map x -> isnan(x) ? fill : (x - offset) / divisor of a numeric one, or a
//     value per level of a categorical one - so its count, sum, moments, range or level
//     counts follow from the atom sums; each fitted step's forms update those functions.
//     The design columns and the target are then linear in the atoms, z = L a, and their
//     centred co-moments are L C L^T with C the atoms' (centred in atom space, so shifts
//     never cancel digits), which the estimator solves.
//  3. Each fold's fitted pipeline scores its validation rows as a per-fold fit does.
//
// Results equal the per-fold fits up to rounding (tested against them). Anything outside
// this model - a step without statistics (median imputation, the IQR filter: they need
// the rows), float data, folds that do not partition the rows, a design column left with
// missing values, more than max_indicators indicator atoms - returns nothing, and the
// per-fold path runs, so its errors stay the ones users see. Sums are accumulated in
// fixed row chunks merged in order (counts are exact), so results do not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "mlops/eval/split.hpp"
#include "mlops/fwd.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// The atoms of a frame's features and target (see the file comment).
struct atom_layout {
  static constexpr std::size_t max_indicators = 512;
  std::vector<std::string> numeric;        // numeric features, dense atoms 1 .. numeric.size()
  std::vector<double> shift;               // per numeric feature, then the target
  std::vector<std::string> categorical;    // categorical features
  std::vector<std::size_t> level_base;     // per categorical: its first indicator (levels, then missing)
  std::vector<std::size_t> n_levels;       // per categorical: the dictionary's size
  std::size_t dense = 0;                   // 1 + numeric + 1 (the target, last)
  std::size_t sparse = 0;                  // numeric missing indicators, then the levels' and categorical missing ones
  std::size_t total() const noexcept { return dense + sparse; }
  std::size_t target_atom() const noexcept { return dense - 1; }
  std::size_t missing_atom(std::size_t numeric_j) const noexcept { return dense + numeric_j; }
};

/// One block's sums: E (atoms x atoms, lower triangle meaningful; dense-dense by rank
/// update, indicator columns and pairs added row by row) and numeric ranges.
struct atom_sums {
  Eigen::MatrixXd dd;           // dense x dense, lower triangle
  Eigen::MatrixXd p;            // dense x sparse: column a = sum of the dense atoms over rows with indicator a
  Eigen::MatrixXd q;            // sparse x sparse: co-occurrence counts (lower triangle)
  std::vector<double> lo, hi;   // per numeric feature: range of present values
  void init(const atom_layout& l) {
    const auto D = static_cast<Eigen::Index>(l.dense), S = static_cast<Eigen::Index>(l.sparse);
    dd.setZero(D, D);
    p.setZero(D, S);
    q.setZero(S, S);
    lo.assign(l.numeric.size(), std::numeric_limits<double>::infinity());
    hi.assign(l.numeric.size(), -std::numeric_limits<double>::infinity());
  }
  void add(const atom_sums& o) {
    dd.triangularView<Eigen::Lower>() += o.dd;
    p += o.p;
    q.triangularView<Eigen::Lower>() += o.q;
    for (std::size_t j = 0; j < lo.size(); ++j) lo[j] = (std::min)(lo[j], o.lo[j]), hi[j] = (std::max)(hi[j], o.hi[j]);
  }
};

/// The atoms of `frame`'s features + target; nothing when a feature is neither numeric
/// nor categorical, or there are too many indicators.
MLOPS_FUNC std::optional<atom_layout> make_atom_layout(const DataFrame<double>& frame, const std::vector<std::string>& features,
                                                       const std::string& target);

/// Step 1: per block sums over all rows (fold_of[r]: the block of row r), in `threads`.
MLOPS_FUNC std::vector<atom_sums> block_atom_sums(const DataFrame<double>& frame, const atom_layout& l, const std::string& target,
                                                  const std::vector<std::uint8_t>& fold_of, std::size_t K, std::size_t threads);

/// Step 2's source: one fold's summed atoms, read as the steps' statistics.
class fold_source final : public pipeline_source<double> {
 public:
  fold_source(const atom_layout& l, const DataFrame<double>& frame, atom_sums sums);

  std::uint64_t rows() const override { return n_; }
  bool get(const std::string& column, sum_stat& out) override;
  bool get(const std::string& column, moment_stat& out) override;
  bool get(const std::string& column, range_stat<double>& out) override;
  bool get(const std::string& column, level_stat& out) override;
  void map(const std::string& column, const column_map& m) override;
  const std::vector<std::string>& levels(const std::string& column) override;
  void expand(const std::string& column, std::vector<std::string> outputs, std::span<const std::int32_t> slot_of_level,
              std::int32_t missing_slot) override;
  std::optional<LeastSquaresStats<double>> least_squares(const std::vector<std::string>& design, const std::string& target) override;

 private:
  /// A column the steps made, as a function of one raw feature: numeric raw j, m(x);
  /// categorical raw t, m(w[level]) (w_missing for a missing level).
  struct form {
    bool categorical = false;
    std::size_t raw = 0;
    column_map m;
    std::vector<double> w;
    double w_missing = 0;
  };
  const form* find(const std::string& column) const;
  /// The values a categorical form takes, with their counts (levels with a count only).
  void form_values(const form& f, std::vector<double>& v, std::vector<double>& c) const;
  double count(std::size_t sparse_atom) const { return q_(static_cast<Eigen::Index>(sparse_atom), static_cast<Eigen::Index>(sparse_atom)); }

  const atom_layout& l_;
  const DataFrame<double>& frame_;
  atom_sums s_;
  Eigen::MatrixXd q_;  // q with its upper triangle filled
  std::uint64_t n_ = 0;
  std::vector<std::pair<std::string, form>> forms_;  // the current columns made from raw features
  std::vector<std::string> raw_categorical_;         // categorical features not yet expanded
  bool broken_ = false;                              // a form this source cannot follow
};

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "mlops/detail/parallel.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC std::optional<atom_layout> make_atom_layout(const DataFrame<double>& frame, const std::vector<std::string>& features,
                                                       const std::string& target) {
  atom_layout l;
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
  // Shifts: the mean of a strided sample of present values (any value near the mean keeps
  // the dense sums' products well conditioned; a sample keeps this pass cheap).
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

MLOPS_FUNC std::vector<atom_sums> block_atom_sums(const DataFrame<double>& frame, const atom_layout& l, const std::string& target,
                                                  const std::vector<std::uint8_t>& fold_of, std::size_t K, std::size_t threads) {
  const std::size_t n = frame.rows(), nd = l.numeric.size(), D = l.dense, nc = l.categorical.size();
  std::vector<std::span<const double>> x;
  for (const auto& f : l.numeric) x.push_back(frame.column(f));
  x.push_back(frame.column(target));
  std::vector<std::span<const std::int32_t>> codes;
  for (const auto& c : l.categorical) codes.push_back(frame.categorical(c).codes);

  constexpr std::size_t chunk_rows = 16384, R = 1024;  // rows per chunk (the merge unit), per tile
  const std::size_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<std::vector<atom_sums>> acc(chunks);
  const std::size_t workers = (std::max)(std::size_t{1}, (std::min)(threads == 0 ? std::size_t{std::thread::hardware_concurrency()} : threads, chunks));
  std::atomic<std::size_t> next{0};
  parallel_tasks(workers, workers, [&](std::size_t) {
    std::vector<double> buf(K * D * R);
    std::vector<std::size_t> dest(R), fill(K);
    std::vector<std::uint32_t> active;       // per tile row: its indicators, in groups
    std::vector<std::uint32_t> active_at(R + 1);
    for (std::size_t c; (c = next.fetch_add(1)) < chunks;) {
      auto& out = acc[c];
      out.resize(K);
      for (auto& o : out) o.init(l);
      const std::size_t c1 = (std::min)(n, (c + 1) * chunk_rows);
      for (std::size_t t0 = c * chunk_rows; t0 < c1; t0 += R) {
        const std::size_t m = (std::min)(R, c1 - t0);
        std::fill(fill.begin(), fill.end(), 0);
        for (std::size_t i = 0; i < m; ++i) {
          const std::size_t g = fold_of[t0 + i];
          dest[i] = g * D * R + fill[g]++;
        }
        // Dense atoms into each block's column-major tile: 1, u of each numeric, u of y.
        for (std::size_t i = 0; i < m; ++i) buf[dest[i]] = 1.0;
        for (std::size_t j = 0; j <= nd; ++j) {
          const double* v = x[j].data() + t0;
          const double sh = l.shift[j];
          double* col = buf.data() + (j + 1) * R;
          if (j < nd) {
            double lo[32], hi[32];
            for (std::size_t g = 0; g < K; ++g) lo[g] = out[g].lo[j], hi[g] = out[g].hi[j];
            for (std::size_t i = 0; i < m; ++i) {
              const double a = v[i];
              const bool present = a == a;
              col[dest[i]] = present ? a - sh : 0.0;
              const std::size_t g = fold_of[t0 + i];
              if (present) lo[g] = (std::min)(lo[g], a), hi[g] = (std::max)(hi[g], a);
            }
            for (std::size_t g = 0; g < K; ++g) out[g].lo[j] = lo[g], out[g].hi[j] = hi[g];
          } else {
            for (std::size_t i = 0; i < m; ++i) col[dest[i]] = v[i] - sh;
          }
        }
        for (std::size_t g = 0; g < K; ++g) {
          if (fill[g] == 0) continue;
          const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> B(buf.data() + g * D * R, static_cast<Eigen::Index>(fill[g]),
                                                                             static_cast<Eigen::Index>(D), Eigen::OuterStride<>(static_cast<Eigen::Index>(R)));
          out[g].dd.selfadjointView<Eigen::Lower>().rankUpdate(B.transpose());
        }
        // Indicators: each row's, then its dense atoms into their columns and its pairs.
        active.clear();
        for (std::size_t i = 0; i < m; ++i) {
          active_at[i] = static_cast<std::uint32_t>(active.size());
          for (std::size_t j = 0; j < nd; ++j)
            if (x[j][t0 + i] != x[j][t0 + i]) active.push_back(static_cast<std::uint32_t>(j));
          for (std::size_t t = 0; t < nc; ++t) {
            const std::int32_t code = codes[t][t0 + i];
            active.push_back(static_cast<std::uint32_t>(l.level_base[t] + (code < 0 ? l.n_levels[t] : static_cast<std::size_t>(code))));
          }
        }
        active_at[m] = static_cast<std::uint32_t>(active.size());
        for (std::size_t i = 0; i < m; ++i) {
          const std::uint32_t a0 = active_at[i], a1 = active_at[i + 1];
          if (a0 == a1) continue;
          auto& o = out[fold_of[t0 + i]];
          const double* row = buf.data() + dest[i];
          for (std::uint32_t k = a0; k < a1; ++k) {
            double* pc = o.p.data() + static_cast<std::ptrdiff_t>(active[k]) * static_cast<std::ptrdiff_t>(D);
            for (std::size_t j = 0; j < D; ++j) pc[j] += row[j * R];
            double* qc = o.q.data() + static_cast<std::ptrdiff_t>(active[k]) * static_cast<std::ptrdiff_t>(l.sparse);
            for (std::uint32_t k2 = a0; k2 < a1; ++k2)
              if (active[k2] >= active[k]) qc[active[k2]] += 1.0;  // lower triangle: row >= column
          }
        }
      }
    }
  });
  std::vector<atom_sums> blocks(K);
  for (std::size_t g = 0; g < K; ++g) {
    blocks[g].init(l);
    for (const auto& a : acc) blocks[g].add(a[g]);
  }
  return blocks;
}

MLOPS_FUNC fold_source::fold_source(const atom_layout& l, const DataFrame<double>& frame, atom_sums sums)
    : l_(l), frame_(frame), s_(std::move(sums)) {
  q_ = s_.q.selfadjointView<Eigen::Lower>();
  n_ = static_cast<std::uint64_t>(std::llround(s_.dd(0, 0)));
  for (std::size_t j = 0; j < l_.numeric.size(); ++j) forms_.push_back({l_.numeric[j], form{false, j, {}, {}, 0}});
  raw_categorical_ = l_.categorical;
}

MLOPS_FUNC const fold_source::form* fold_source::find(const std::string& column) const {
  for (const auto& [name, f] : forms_)
    if (name == column) return &f;
  return nullptr;
}

MLOPS_FUNC void fold_source::form_values(const form& f, std::vector<double>& v, std::vector<double>& c) const {
  v.clear(), c.clear();
  const std::size_t base = l_.level_base[f.raw], L = l_.n_levels[f.raw];
  for (std::size_t k = 0; k <= L; ++k) {
    const double cnt = count(base + k);
    if (cnt == 0) continue;
    v.push_back(f.m(k < L ? f.w[k] : f.w_missing));
    c.push_back(cnt);
  }
}

MLOPS_FUNC bool fold_source::get(const std::string& column, sum_stat& out) {
  const form* f = find(column);
  if (!f) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    form_values(*f, v, c);
    out = {n_, 0, 0.0};
    for (std::size_t k = 0; k < v.size(); ++k) out.sum += v[k] * c[k];
    return true;
  }
  const std::size_t j = f->raw;
  const double present = static_cast<double>(n_) - count(j);
  const sum_stat raw{static_cast<std::uint64_t>(present), static_cast<std::uint64_t>(count(j)),
                     l_.shift[j] * present + s_.dd(static_cast<Eigen::Index>(j + 1), 0)};
  out = push(raw, f->m);
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, moment_stat& out) {
  const form* f = find(column);
  if (!f) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    form_values(*f, v, c);
    double mean = 0;
    for (std::size_t k = 0; k < v.size(); ++k) mean += v[k] * c[k];
    mean /= static_cast<double>(n_);
    double m2 = 0;
    for (std::size_t k = 0; k < v.size(); ++k) m2 += c[k] * (v[k] - mean) * (v[k] - mean);
    out = {n_, 0, mean, m2};
    return true;
  }
  const std::size_t j = f->raw;
  const auto jj = static_cast<Eigen::Index>(j + 1);
  const double present = static_cast<double>(n_) - count(j);
  moment_stat raw{static_cast<std::uint64_t>(present), static_cast<std::uint64_t>(count(j)), 0.0, 0.0};
  if (present > 0) {
    const double su = s_.dd(jj, 0), mu = su / present;
    raw.mean = l_.shift[j] + mu;
    raw.m2 = (std::max)(0.0, s_.dd(jj, jj) - su * mu);
  }
  out = push(raw, f->m);
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, range_stat<double>& out) {
  const form* f = find(column);
  if (!f) return false;
  if (f->categorical) {
    std::vector<double> v, c;
    form_values(*f, v, c);
    out = {};
    for (const double a : v) out.merge({1, a, a});
    out.count = n_;
    return true;
  }
  const std::size_t j = f->raw;
  const double present = static_cast<double>(n_) - count(j);
  range_stat<double> raw;
  raw.count = static_cast<std::uint64_t>(present);
  if (present > 0) raw.min = s_.lo[j], raw.max = s_.hi[j];
  out = push(raw, f->m, static_cast<std::uint64_t>(count(j)));
  return true;
}

MLOPS_FUNC bool fold_source::get(const std::string& column, level_stat& out) {
  const auto it = std::find(raw_categorical_.begin(), raw_categorical_.end(), column);
  if (it == raw_categorical_.end()) return false;
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
  const auto it = std::find(raw_categorical_.begin(), raw_categorical_.end(), column);
  const std::size_t t = static_cast<std::size_t>(std::find(l_.categorical.begin(), l_.categorical.end(), column) - l_.categorical.begin());
  if (it == raw_categorical_.end() || slot_of_level.size() != l_.n_levels[t]) {
    broken_ = true;
    return;
  }
  raw_categorical_.erase(it);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    form f{true, t, {}, std::vector<double>(slot_of_level.size()), missing_slot == static_cast<std::int32_t>(k) ? 1.0 : 0.0};
    for (std::size_t v = 0; v < slot_of_level.size(); ++v) f.w[v] = slot_of_level[v] == static_cast<std::int32_t>(k) ? 1.0 : 0.0;
    forms_.push_back({std::move(outputs[k]), std::move(f)});
  }
}

MLOPS_FUNC std::optional<LeastSquaresStats<double>> fold_source::least_squares(const std::vector<std::string>& design, const std::string&) {
  if (broken_ || n_ == 0) return std::nullopt;
  const std::size_t p = design.size(), D = l_.dense, A = l_.total();
  // z = L a: rows are the design columns, then the target; columns the atoms.
  Eigen::MatrixXd L = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(p + 1), static_cast<Eigen::Index>(A));
  for (std::size_t k = 0; k < p; ++k) {
    const form* f = find(design[k]);
    if (!f) return std::nullopt;
    const auto kk = static_cast<Eigen::Index>(k);
    const column_map& m = f->m;
    if (f->categorical) {
      const std::size_t base = D + l_.level_base[f->raw], Lv = l_.n_levels[f->raw];
      for (std::size_t v = 0; v < Lv; ++v) L(kk, static_cast<Eigen::Index>(base + v)) = m(f->w[v]);
      L(kk, static_cast<Eigen::Index>(base + Lv)) = m(f->w_missing);
      continue;
    }
    const std::size_t j = f->raw;
    const bool missing = count(j) > 0;
    if (missing && m.fill != m.fill) return std::nullopt;  // NaN would reach the trainer: the row path names it
    // Present: (u + shift - offset) / divisor; missing: fill.
    const double c0 = (l_.shift[j] - m.offset) / m.divisor;
    L(kk, static_cast<Eigen::Index>(j + 1)) = 1.0 / m.divisor;
    L(kk, 0) = c0;
    if (missing) L(kk, static_cast<Eigen::Index>(l_.missing_atom(j))) = m.fill - c0;
  }
  L(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(l_.target_atom())) = 1.0;
  L(static_cast<Eigen::Index>(p), 0) = l_.shift.back();
  // The atoms' full second moments, their means and centred co-moments (constant atom 0 aside).
  const auto Di = static_cast<Eigen::Index>(D), Si = static_cast<Eigen::Index>(l_.sparse), Ai = static_cast<Eigen::Index>(A);
  Eigen::MatrixXd E(Ai, Ai);
  E.topLeftCorner(Di, Di) = s_.dd.selfadjointView<Eigen::Lower>();
  E.bottomLeftCorner(Si, Di) = s_.p.transpose();
  E.topRightCorner(Di, Si) = s_.p;
  E.bottomRightCorner(Si, Si) = q_;
  const double nf = static_cast<double>(n_);
  const Eigen::VectorXd mu = E.col(0) / nf;
  const Eigen::MatrixXd C = E.bottomRightCorner(Ai - 1, Ai - 1) - nf * mu.tail(Ai - 1) * mu.tail(Ai - 1).transpose();
  const Eigen::VectorXd mz = L * mu;
  const auto Ll = L.rightCols(Ai - 1);
  const Eigen::MatrixXd Cz = Ll * C * Ll.transpose();
  const auto pi = static_cast<Eigen::Index>(p);
  if (!Cz.allFinite() || !mz.allFinite()) return std::nullopt;
  return LeastSquaresStats<double>::from_moments(static_cast<std::size_t>(n_), mz.head(pi), mz(pi), Cz.topLeftCorner(pi, pi),
                                                 Cz.col(pi).head(pi), Cz(pi, pi));
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
