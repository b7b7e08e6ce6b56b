// mlops/prep/outliers.hpp - IqrOutlierFilter: Tukey fences Q1 - k*IQR, Q3 + k*IQR.
//
// While fitting (training data) it drops every row with a value outside the fences in
// any checked column: the classic recipe. On new data it never drops rows; it does what
// `on_new_data` says: clip values to the fences, flag rows, or pass values through.
//
// Zero-IQR columns (e.g. a 0/1 flag where over 75% of rows share one value): the fences
// collapse onto that value, and the classic recipe would silently drop every minority
// row. By default (zero_iqr_policy::skip) such a column is not used for dropping, not
// clipped and not flagged, and the fitted filter reports it (zero_iqr_columns()).
// zero_iqr_policy::apply restores the classic behaviour.
//
// In a pipeline the target is checked too (include_target, default true, as the classic
// recipe filters every numeric column of the training frame): rows with an outlying
// target are dropped while fitting. That fence is training-only; serving has no target.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/options.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedIqrOutlierFilter;

template <scalar T>
struct IqrOutlierFilter {
  double k = 1.5;
  outlier_action on_new_data = outlier_action::clip;
  zero_iqr_policy zero_iqr = zero_iqr_policy::skip;
  bool include_target = true;          // pipeline fitting: also drop rows whose target is outlying
  std::vector<std::string> columns{};  // empty: every feature column

  /// Mergeable statistics (prep/stats.hpp): each column's present values, so the
  /// quartiles of merged blocks are exact (O(n) memory); or the quartiles a source of
  /// statistics found (read_from). A plain fit selects the quartiles on the column itself.
  struct stats_type {
    std::vector<std::string> columns;
    std::vector<std::vector<T>> values;
    std::vector<std::array<double, 2>> quartiles;  // from a source (read_from)
    std::vector<std::uint64_t> counts;             // from a source: values per column
    void update(const DataFrame<T>& block) {
      for (std::size_t c = 0; c < columns.size(); ++c)
        for (const T v : block.column(columns[c]))
          if (v == v) values[c].push_back(v);
    }
    void merge(const stats_type& o) {
      if (o.columns != columns || !quartiles.empty() || !o.quartiles.empty())
        MLOPS_THROW(argument_error(errc::invalid_argument, "merging IQR statistics over different columns (or given quartiles)"));
      for (std::size_t c = 0; c < values.size(); ++c) values[c].insert(values[c].end(), o.values[c].begin(), o.values[c].end());
    }
    bool read_from(detail::stats_source<T>& src) {
      static constexpr double probs[] = {0.25, 0.75};
      quartiles.resize(columns.size());
      counts.resize(columns.size());
      bool ok = true;  // every column asked, so a source that answers later learns them all at once
      for (std::size_t c = 0; c < columns.size(); ++c) ok = src.quantiles(columns[c], probs, quartiles[c], counts[c]) && ok;
      return ok;
    }
  };
  stats_type make_stats(std::span<const std::string> default_columns) const {
    stats_type st{detail::resolve_columns(columns, default_columns), {}, {}, {}};
    st.values.resize(st.columns.size());
    return st;
  }
  FittedIqrOutlierFilter<T> fit_from(const stats_type& st) const;

  /// Learns the fences (NaN values are ignored; they are never outliers).
  FittedIqrOutlierFilter<T> fit(const DataFrame<T>& frame, std::span<const std::string> default_columns) const;
  FittedIqrOutlierFilter<T> fit(const DataFrame<T>& frame) const { return fit(frame, frame.names()); }
  /// The columns a pipeline's fit checks: the step's (or the defaults), and the target
  /// when include_target asks for it (then `with_target`).
  std::vector<std::string> training_columns(std::span<const std::string> default_columns, std::string_view target, bool& with_target) const {
    std::vector<std::string> cols = detail::resolve_columns(columns, default_columns);
    with_target = include_target && !target.empty() && std::find(cols.begin(), cols.end(), target) == cols.end();
    if (with_target) cols.emplace_back(target);
    return cols;
  }
  /// Fits on `frame` and drops its outlier rows (the training-time behaviour). With a
  /// `target` and include_target, the target column is checked too (training only).
  FittedIqrOutlierFilter<T> fit_drop(DataFrame<T>& frame, std::span<const std::string> default_columns,
                                     std::string_view target = {}) const {
    bool with_target = false;
    const auto cols = training_columns(default_columns, target, with_target);
    auto fitted = fit(frame, cols);
    if (with_target) fitted.mark_training_only(target);
    fitted.drop_training_rows(frame);
    return fitted;
  }

  using fitted_type = FittedIqrOutlierFilter<T>;
  static constexpr std::string_view names[] = {"iqr_filter", "iqr", "drop_outliers_iqr"};
  /// The pipeline's fitting: learn the fences and drop the training rows outside them.
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view target) const {
    return fit_drop(frame, layout.numeric(), target);
  }
  /// The same from statistics (prep/stats.hpp: each column's quartiles). The fitted
  /// filter's forms drop the rows; its row and per-column drop counts are the source's
  /// (stats_source::filter_counts; 0 when it has none, as for cross-validation's folds).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view target) const {
    bool with_target = false;
    auto st = make_stats(training_columns(layout.numeric(), target, with_target));
    if (!st.read_from(src)) return std::nullopt;
    auto fitted = fit_from(st);
    if (with_target) fitted.mark_training_only(target);
    fitted.read_training_counts(src);
    return fitted;
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "k") k = detail::param_number(name, v);
    else if (name == "include_target") include_target = detail::param_bool(name, v);
    else if (name == "on_new_data")
      on_new_data = detail::param_enum<outlier_action>(
          name, v, {{"clip", outlier_action::clip}, {"flag", outlier_action::flag}, {"pass", outlier_action::pass}});
    else detail::unknown_param("iqr", name, "k, include_target, on_new_data");
  }
  MLOPS_UNFITTED_STEP(IqrOutlierFilter)
};

template <scalar T>
class FittedIqrOutlierFilter {
 public:
  struct column_fence {
    std::string name;
    T q1{}, q3{}, lower{}, upper{};
    bool zero_iqr = false;  // IQR == 0
    bool active = true;     // used for dropping / clipping / flagging
    bool training_only = false;  // the target's fence: drops training rows, never used when serving
    std::size_t dropped = 0;  // training rows outside the fences in this column
  };

  static constexpr std::uint8_t tag = 2;  // format tag: never changes
  static constexpr std::string_view name = "iqr_filter";

  FittedIqrOutlierFilter() = default;
  FittedIqrOutlierFilter(double k, outlier_action a, std::vector<column_fence> f) : k_(k), action_(a), fences_(std::move(f)) {
    index_columns();
  }
  void mark_training_only(std::string_view column) {
    for (auto& c : fences_)
      if (c.name == column) c.training_only = true;
    index_columns();
  }

  double k() const noexcept { return k_; }
  outlier_action on_new_data() const noexcept { return action_; }
  /// The columns checked when serving (training-only fences excluded).
  const std::vector<std::string>& columns() const noexcept { return columns_; }
  /// Every fence, the training-only target fence included.
  const std::vector<column_fence>& fences() const noexcept { return fences_; }
  std::vector<std::string> zero_iqr_columns() const {
    std::vector<std::string> out;
    for (const auto& c : fences_)
      if (c.zero_iqr) out.push_back(c.name);
    return out;
  }
  /// The training counts drop_training_rows would record, from a source of statistics
  /// that knows them (stats_source::filter_counts); left at 0 otherwise.
  void read_training_counts(detail::stats_source<T>& src) {
    std::vector<detail::row_fence> f;
    for (const auto& c : fences_)
      if (c.active) f.push_back({c.name, static_cast<double>(c.lower), static_cast<double>(c.upper)});
    std::vector<std::uint64_t> outside(f.size());
    std::uint64_t in = 0, out = 0;
    if (!src.filter_counts(f, in, out, outside)) return;
    rows_in_ = static_cast<std::size_t>(in), rows_out_ = static_cast<std::size_t>(out);
    std::size_t i = 0;
    for (auto& c : fences_)
      if (c.active) c.dropped = static_cast<std::size_t>(outside[i++]);
  }
  /// Rows seen and kept by drop_training_rows (the fitting report).
  std::size_t rows_in() const noexcept { return rows_in_; }
  std::size_t rows_out() const noexcept { return rows_out_; }

  /// 1 for rows with a value outside the fences of any active column.
  std::vector<std::uint8_t> outlier_mask(const DataFrame<T>& frame) const {
    std::vector<std::uint8_t> mask(frame.rows(), 0);
    for (const auto& c : fences_) {
      if (!c.active || c.training_only) continue;
      const auto s = frame.column(c.name);
      for (std::size_t r = 0; r < s.size(); ++r) mask[r] |= static_cast<std::uint8_t>(int{s[r] < c.lower} | int{s[r] > c.upper});
    }
    return mask;
  }

  /// Training-time behaviour: removes outlier rows from `frame`, records counts.
  void drop_training_rows(DataFrame<T>& frame) {
    std::vector<std::uint8_t> keep(frame.rows(), 1);
    for (auto& c : fences_) {
      c.dropped = 0;
      if (!c.active) continue;
      const auto s = frame.column(c.name);
      for (std::size_t r = 0; r < s.size(); ++r) {
        const bool out = (int{s[r] < c.lower} | int{s[r] > c.upper}) != 0;
        c.dropped += out;
        keep[r] &= static_cast<std::uint8_t>(!out);
      }
    }
    rows_in_ = frame.rows();
    frame = frame.filter(keep);
    rows_out_ = frame.rows();
  }

  /// On its training rows: those outside an active fence (the target's included) are
  /// dropped; the kept ones lie inside every fence, so clipping leaves them as they are.
  void forms(detail::form_sink<T>& sink) const {
    std::vector<detail::row_fence> f;
    for (const auto& c : fences_)
      if (c.active) f.push_back({c.name, static_cast<double>(c.lower), static_cast<double>(c.upper)});
    sink.filter(f);
  }

  /// Serving-time behaviour: clip (or leave alone for flag / pass). Never drops rows.
  void transform_inplace(DataFrame<T>& frame) const {
    if (action_ != outlier_action::clip) return;
    for (const auto& c : fences_) {
      if (!c.active || c.training_only) continue;
      for (T& v : frame.column(c.name)) v = detail::op_clip(v, c.lower, c.upper);
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    const auto features = ctx.design;
    if (action_ == outlier_action::pass) return;
    const T inf = std::numeric_limits<T>::infinity();
    auto& op = prog.add(action_ == outlier_action::clip ? &clip_kernel : &flag_kernel, -inf, inf);
    const auto pos = detail::feature_positions(columns_, features, "IqrOutlierFilter");
    std::size_t k = 0;
    for (const auto& c : fences_) {
      if (c.training_only) continue;
      if (c.active) {
        op.a[pos[k]] = c.lower;
        op.b[pos[k]] = c.upper;
      }
      ++k;
    }
  }

  /// The row kernels: clip x to [a, b]; or flag the row when x < a or x > b (x unchanged).
  static bool clip_kernel(T* __restrict x, const T* __restrict a, const T* __restrict b, std::size_t m) noexcept {
    for (std::size_t k = 0; k < m; ++k) x[k] = detail::op_clip(x[k], a[k], b[k]);
    return false;
  }
  static bool flag_kernel(T* __restrict x, const T* __restrict a, const T* __restrict b, std::size_t m) noexcept {
    bool outlier = false;
    for (std::size_t k = 0; k < m; ++k) outlier |= (x[k] < a[k]) | (x[k] > b[k]);
    return outlier;
  }

  void describe(detail::step_card& card) const {
    card.fields.num("k", k_).text("on_new_data", std::string(to_string(action_))).count("rows_in", rows_in_).count("rows_out", rows_out_);
    for (const auto& f : fences_)
      card.column(f.name)
          .num("q1", static_cast<double>(f.q1))
          .num("q3", static_cast<double>(f.q3))
          .num("lower", static_cast<double>(f.lower))
          .num("upper", static_cast<double>(f.upper))
          .flag("zero_iqr", f.zero_iqr)
          .flag("active", f.active)
          .flag("training_only", f.training_only)
          .count("rows_dropped", f.dropped);
  }

  void save(detail::byte_writer& w) const {
    w.put(k_);
    w.put(static_cast<std::uint8_t>(action_));
    w.put(static_cast<std::uint64_t>(rows_in_));
    w.put(static_cast<std::uint64_t>(rows_out_));
    w.put(static_cast<std::uint64_t>(fences_.size()));
    for (const auto& c : fences_) {
      w.put_string(c.name);
      w.put(c.q1);
      w.put(c.q3);
      w.put(c.lower);
      w.put(c.upper);
      w.put(static_cast<std::uint8_t>(c.zero_iqr | (c.training_only << 1)));
      w.put(static_cast<std::uint8_t>(c.active));
      w.put(static_cast<std::uint64_t>(c.dropped));
    }
  }
  static FittedIqrOutlierFilter load(detail::byte_reader& r) {
    const double k = r.get<double>();
    const auto a = r.get<std::uint8_t>();
    if (!(k >= 0) || !std::isfinite(k)) r.corrupt("IQR k must be finite and non-negative");
    if (a < 1 || a > 3) r.corrupt("unknown outlier action " + std::to_string(a));
    const auto in = r.get<std::uint64_t>(), out = r.get<std::uint64_t>();
    const std::size_t n = r.get_count(8 + 4 * sizeof(T) + 2 + 8);
    std::vector<column_fence> f(n);
    for (auto& c : f) {
      c.name = r.get_string();
      c.q1 = r.get<T>();
      c.q3 = r.get<T>();
      c.lower = r.get<T>();
      c.upper = r.get<T>();
      const auto bits = r.get<std::uint8_t>();
      if (bits > 3) r.corrupt("unknown IQR fence flags");
      c.zero_iqr = (bits & 1) != 0;
      c.training_only = (bits & 2) != 0;
      c.active = r.get<std::uint8_t>() != 0;
      c.dropped = static_cast<std::size_t>(r.get<std::uint64_t>());
      if (std::isnan(c.lower) || std::isnan(c.upper) || c.lower > c.upper) r.corrupt("IQR fences are NaN or inverted");
    }
    FittedIqrOutlierFilter fitted(k, static_cast<outlier_action>(a), std::move(f));
    fitted.rows_in_ = static_cast<std::size_t>(in);
    fitted.rows_out_ = static_cast<std::size_t>(out);
    return fitted;
  }

 private:
  double k_ = 1.5;
  outlier_action action_ = outlier_action::clip;
  void index_columns() {
    columns_.clear();
    for (const auto& c : fences_)
      if (!c.training_only) columns_.push_back(c.name);
  }
  std::vector<column_fence> fences_;
  std::vector<std::string> columns_;
  std::size_t rows_in_ = 0, rows_out_ = 0;
};

namespace detail {
/// One column's fence from its quartiles and how many values gave them (the IQR rule,
/// shared by the plain fit and the fit from statistics).
template <scalar T>
typename FittedIqrOutlierFilter<T>::column_fence iqr_fence(const IqrOutlierFilter<T>& opt, const std::string& name, T q1, T q3,
                                                           std::uint64_t count) {
  if (count == 0)
    MLOPS_THROW(data_error(errc::data_empty, fmt::format("IqrOutlierFilter: column '{}' has no non-missing value; impute or drop it first", name)));
  if (!std::isfinite(q1) || !std::isfinite(q3))
    MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("IqrOutlierFilter: a quartile of column '{}' is infinite; remove infinite values first", name)));
  typename FittedIqrOutlierFilter<T>::column_fence c;
  c.name = name;
  c.q1 = q1;
  c.q3 = q3;
  const T iqr = c.q3 - c.q1;
  c.lower = c.q1 - static_cast<T>(opt.k) * iqr;
  c.upper = c.q3 + static_cast<T>(opt.k) * iqr;
  c.zero_iqr = !(iqr > T(0));
  c.active = !(c.zero_iqr && opt.zero_iqr == zero_iqr_policy::skip);
  return c;
}
template <scalar T>
void check_iqr_k(double k) {
  if (!(k >= 0) || !std::isfinite(k))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("IqrOutlierFilter: k = {} must be finite and >= 0 (1.5 is Tukey's)", k)));
}
}  // namespace detail

template <scalar T>
FittedIqrOutlierFilter<T> IqrOutlierFilter<T>::fit(const DataFrame<T>& frame, std::span<const std::string> default_columns) const {
  detail::check_iqr_k<T>(k);
  std::vector<typename FittedIqrOutlierFilter<T>::column_fence> fences;
  std::vector<T> work;
  static constexpr double probs[] = {0.25, 0.75};
  for (const auto& name : detail::resolve_columns(columns, default_columns)) {
    T q[2];
    const std::size_t count = detail::nan_quantiles<T>(frame.column(name), probs, q, work);
    fences.push_back(detail::iqr_fence(*this, name, q[0], q[1], count));
  }
  return {k, on_new_data, std::move(fences)};
}

template <scalar T>
FittedIqrOutlierFilter<T> IqrOutlierFilter<T>::fit_from(const stats_type& st) const {
  detail::check_iqr_k<T>(k);
  std::vector<typename FittedIqrOutlierFilter<T>::column_fence> fences;
  static constexpr double probs[] = {0.25, 0.75};
  for (std::size_t c = 0; c < st.columns.size(); ++c) {
    T q[2];
    std::uint64_t count = 0;
    if (!st.quartiles.empty()) {
      q[0] = static_cast<T>(st.quartiles[c][0]), q[1] = static_cast<T>(st.quartiles[c][1]), count = st.counts[c];
    } else {
      std::vector<T> work(st.values[c]);
      count = work.size();
      detail::quantiles_inplace<T>(std::span<T>(work), probs, q);
    }
    fences.push_back(detail::iqr_fence(*this, st.columns[c], q[0], q[1], count));
  }
  return {k, on_new_data, std::move(fences)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct IqrOutlierFilter)
MLOPS_EXTERN_TEMPLATE_FD(class FittedIqrOutlierFilter)

MLOPS_NAMESPACE_END
