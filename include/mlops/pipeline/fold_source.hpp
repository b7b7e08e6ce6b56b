// mlops/pipeline/fold_source.hpp - one fold's atom sums read as the statistics a
// pipeline's steps fit from (a pipeline_source), following what each fitted step does to
// its columns; what the sums cannot answer yet (quantiles, a filter's rows, the model's
// full products) it records for the next round. Internal; see pipeline/fold_stats.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "mlops/frame.hpp"
#include "mlops/fwd.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/pipeline/atom_sums.hpp"
#include "mlops/pipeline/builder.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

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

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_SELECT)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <algorithm>
#include <cmath>
#include <cstring>

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

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_SELECT
