// mlops/prep/minmax.hpp - MinMaxScaler: x -> (x - min) / (max - min) * (hi - lo) + lo.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedMinMaxScaler;

/// Options of the min-max scaler (scikit-learn's MinMaxScaler): each column's training
/// range [min, max] maps onto [lo, hi] (default [0, 1]). A constant column maps to lo,
/// never to NaN or Inf. Missing values are ignored while fitting and stay missing. New
/// data outside the training range goes outside [lo, hi] unless `clip`.
template <scalar T>
struct MinMaxScaler {
  double lo = 0.0, hi = 1.0;           // the feature range
  bool clip = false;                   // clamp transformed values to [lo, hi]
  std::vector<std::string> columns{};  // empty: every feature column

  /// Mergeable statistics (prep/stats.hpp): per column the count, minimum and maximum of
  /// the present values.
  using stats_type = detail::column_stats<detail::range_stat<T>>;
  stats_type make_stats(std::span<const std::string> default_columns) const {
    return stats_type(detail::resolve_columns(columns, default_columns));
  }
  FittedMinMaxScaler<T> fit_from(const stats_type& st) const;
  FittedMinMaxScaler<T> fit(const DataFrame<T>& frame, std::span<const std::string> default_columns) const {
    auto st = make_stats(default_columns);
    st.update(frame);
    return fit_from(st);
  }
  FittedMinMaxScaler<T> fit(const DataFrame<T>& frame) const { return fit(frame, frame.names()); }

  using fitted_type = FittedMinMaxScaler<T>;
  static constexpr std::string_view names[] = {"minmax", "min_max_scaler", "normalize"};
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, layout.numeric());
  }
  /// The same from statistics (prep/stats.hpp).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view) const {
    return detail::fit_from_source(*this, src, layout, layout.numeric());
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "lo" || name == "min") lo = detail::param_number(name, v);
    else if (name == "hi" || name == "max") hi = detail::param_number(name, v);
    else if (name == "clip") clip = detail::param_bool(name, v);
    else detail::unknown_param("minmax", name, "lo, hi, clip");
  }
  MLOPS_UNFITTED_STEP(MinMaxScaler)
};

/// The fitted scaler stores each column's data_min and data_max; it transforms by the
/// row program's standardize operation, (x - offset) / divisor, with divisor = range /
/// (hi - lo) (range 1 for a constant column) and offset = data_min - lo * divisor, so that
/// frame and row predictions share one formula and agree bit for bit.
template <scalar T>
class FittedMinMaxScaler {
 public:
  static constexpr std::uint8_t tag = 4;  // format tag: never changes
  static constexpr std::string_view name = "minmax";

  FittedMinMaxScaler() = default;
  FittedMinMaxScaler(double lo, double hi, bool clip, std::vector<std::string> cols, std::vector<T> dmin, std::vector<T> dmax)
      : lo_(lo), hi_(hi), clip_(clip), columns_(std::move(cols)), min_(std::move(dmin)), max_(std::move(dmax)) {
    derive();
  }

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return hi_; }
  bool clips() const noexcept { return clip_; }
  const std::vector<T>& data_min() const noexcept { return min_; }
  const std::vector<T>& data_max() const noexcept { return max_; }

  void transform_inplace(DataFrame<T>& frame) const {
    const T lo = static_cast<T>(lo_), hi = static_cast<T>(hi_);
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const T o = offset_[c], d = divisor_[c];
      for (T& v : frame.column(columns_[c])) {
        v = detail::op_standardize(v, o, d);
        if (clip_) v = detail::op_clip(v, lo, hi);
      }
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  /// On its training rows: (x - offset) / divisor. The clip changes none of them (their
  /// values lie within the range it learnt), so it is not part of the form.
  void forms(detail::form_sink<T>& sink) const {
    for (std::size_t c = 0; c < columns_.size(); ++c)
      sink.map(columns_[c], {std::numeric_limits<double>::quiet_NaN(), static_cast<double>(offset_[c]), static_cast<double>(divisor_[c])});
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    const auto features = ctx.design;
    const auto pos = detail::feature_positions(columns_, features, "MinMaxScaler");
    auto& op = prog.add(&affine_kernel, T(0), T(1));
    for (std::size_t c = 0; c < pos.size(); ++c) op.a[pos[c]] = offset_[c], op.b[pos[c]] = divisor_[c];
    if (!clip_) return;
    const T inf = std::numeric_limits<T>::infinity();
    auto& cl = prog.add(&clip_kernel, -inf, inf);
    for (std::size_t c = 0; c < pos.size(); ++c) cl.a[pos[c]] = static_cast<T>(lo_), cl.b[pos[c]] = static_cast<T>(hi_);
  }
  /// The row kernels: x = (x - a) / b (a = offset, b = divisor), then x clipped to [a, b].
  static bool affine_kernel(T* __restrict x, const T* __restrict a, const T* __restrict b, std::size_t m) noexcept {
    for (std::size_t k = 0; k < m; ++k) x[k] = detail::op_standardize(x[k], a[k], b[k]);
    return false;
  }
  static bool clip_kernel(T* __restrict x, const T* __restrict a, const T* __restrict b, std::size_t m) noexcept {
    for (std::size_t k = 0; k < m; ++k) x[k] = detail::op_clip(x[k], a[k], b[k]);
    return false;
  }
  void describe(detail::step_card& card) const {
    card.fields.num("lo", lo_).num("hi", hi_).flag("clip", clip_);
    for (std::size_t c = 0; c < columns_.size(); ++c)
      card.column(columns_[c]).num("data_min", static_cast<double>(min_[c])).num("data_max", static_cast<double>(max_[c]));
  }

  void save(detail::byte_writer& w) const {
    w.put(lo_);
    w.put(hi_);
    w.put(static_cast<std::uint8_t>(clip_));
    w.put(static_cast<std::uint64_t>(columns_.size()));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      w.put_string(columns_[c]);
      w.put(min_[c]);
      w.put(max_[c]);
    }
  }
  static FittedMinMaxScaler load(detail::byte_reader& r) {
    const double lo = r.get<double>(), hi = r.get<double>();
    const auto clip = r.get<std::uint8_t>();
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) r.corrupt("min-max range must be finite with lo < hi");
    if (clip > 1) r.corrupt("min-max clip flag must be 0 or 1");
    const std::size_t n = r.get_count(8 + 2 * sizeof(T));
    std::vector<std::string> cols(n);
    std::vector<T> mn(n), mx(n);
    for (std::size_t c = 0; c < n; ++c) {
      cols[c] = r.get_string();
      mn[c] = r.get<T>();
      mx[c] = r.get<T>();
      if (!std::isfinite(mn[c]) || !std::isfinite(mx[c]) || mn[c] > mx[c]) r.corrupt("min-max data range must be finite and ordered");
    }
    return {lo, hi, clip != 0, std::move(cols), std::move(mn), std::move(mx)};
  }

 private:
  void derive() {
    offset_.resize(columns_.size());
    divisor_.resize(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const double range = static_cast<double>(max_[c]) - static_cast<double>(min_[c]);
      const double d = (range > 0 && std::isfinite(range) ? range : 1.0) / (hi_ - lo_);
      divisor_[c] = static_cast<T>(d);
      offset_[c] = static_cast<T>(static_cast<double>(min_[c]) - lo_ * d);
      if (!(divisor_[c] > T(0)) || !std::isfinite(divisor_[c]) || !std::isfinite(offset_[c]))
        MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("MinMaxScaler: column '{}' cannot be scaled to [{}, {}] in this precision",
                                                                  columns_[c], lo_, hi_)));
    }
  }

  double lo_ = 0, hi_ = 1;
  bool clip_ = false;
  std::vector<std::string> columns_;
  std::vector<T> min_, max_, offset_, divisor_;
};

template <scalar T>
FittedMinMaxScaler<T> MinMaxScaler<T>::fit_from(const stats_type& st) const {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("MinMaxScaler: the range [{}, {}] needs finite lo < hi", lo, hi)));
  const auto& cols = st.columns;
  std::vector<T> mn(cols.size()), mx(cols.size());
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto& r = st.per_column[c];
    if (r.count == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("MinMaxScaler: column '{}' has no non-missing value; impute or drop it first", cols[c])));
    if (!std::isfinite(r.min) || !std::isfinite(r.max))
      MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("MinMaxScaler: column '{}' contains infinite values; remove or replace them first", cols[c])));
    mn[c] = r.min, mx[c] = r.max;
  }
  return {lo, hi, clip, cols, std::move(mn), std::move(mx)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct MinMaxScaler)
MLOPS_EXTERN_TEMPLATE_FD(class FittedMinMaxScaler)

MLOPS_NAMESPACE_END
