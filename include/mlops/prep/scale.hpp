// mlops/prep/scale.hpp - StandardScaler: z = (x - mean) / scale.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedStandardScaler;

/// Options of the scaler. Population std (ddof = 0) by default, as scikit-learn;
/// ddof = 1 gives pandas' sample std. Missing values are ignored while fitting and
/// stay missing. A constant (or numerically constant) column gets scale 1, so it
/// maps to 0 and never to NaN or Inf (scikit-learn's rule).
template <scalar T>
struct StandardScaler {
  bool with_mean = true;
  bool with_std = true;
  int ddof = 0;
  std::vector<std::string> columns{};  // empty: every feature column

  /// Mergeable statistics (prep/stats.hpp): per column the count, mean and sum of squared
  /// deviations of the present values.
  using stats_type = detail::column_stats<detail::moment_stat>;
  stats_type make_stats(std::span<const std::string> default_columns) const {
    return stats_type(detail::resolve_columns(columns, default_columns));
  }
  FittedStandardScaler<T> fit_from(const stats_type& st) const;
  FittedStandardScaler<T> fit(const DataFrame<T>& frame, std::span<const std::string> default_columns) const {
    auto st = make_stats(default_columns);
    st.update(frame);
    return fit_from(st);
  }
  FittedStandardScaler<T> fit(const DataFrame<T>& frame) const { return fit(frame, frame.names()); }

  using fitted_type = FittedStandardScaler<T>;
  static constexpr std::string_view names[] = {"standardize", "scale", "standard_scaler"};
  /// The pipeline's fitting: learn the moments, then scale the frame.
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, layout.numeric());
  }
  /// The same from statistics (prep/stats.hpp).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view) const {
    return detail::fit_from_source(*this, src, layout, layout.numeric());
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "with_mean") with_mean = detail::param_bool(name, v);
    else if (name == "with_std") with_std = detail::param_bool(name, v);
    else if (name == "ddof") ddof = static_cast<int>(detail::param_count(name, v));
    else detail::unknown_param("standardize", name, "with_mean, with_std, ddof");
  }
  MLOPS_UNFITTED_STEP(StandardScaler)
};

template <scalar T>
class FittedStandardScaler {
 public:
  static constexpr std::uint8_t tag = 3;  // format tag: never changes
  static constexpr std::string_view name = "standardize";

  FittedStandardScaler() = default;
  FittedStandardScaler(std::vector<std::string> cols, std::vector<T> mean, std::vector<T> scale, std::vector<T> var,
                       std::vector<std::uint8_t> constant)
      : columns_(std::move(cols)), mean_(std::move(mean)), scale_(std::move(scale)), var_(std::move(var)),
        constant_(std::move(constant)) {}

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  const std::vector<T>& mean() const noexcept { return mean_; }    // 0 where with_mean = false
  const std::vector<T>& scale() const noexcept { return scale_; }  // 1 where with_std = false or constant
  const std::vector<T>& variance() const noexcept { return var_; }
  /// 1 for columns found constant (their scale was set to 1).
  const std::vector<std::uint8_t>& constant_columns() const noexcept { return constant_; }

  void transform_inplace(DataFrame<T>& frame) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const T m = mean_[c], s = scale_[c];
      for (T& v : frame.column(columns_[c])) v = detail::op_standardize(v, m, s);
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void inverse_transform_inplace(DataFrame<T>& frame) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const T m = mean_[c], s = scale_[c];
      for (T& v : frame.column(columns_[c])) v = v * s + m;
    }
  }
  /// On its training rows (and any rows): (x - mean) / scale, missing stays missing.
  void forms(detail::form_sink<T>& sink) const {
    for (std::size_t c = 0; c < columns_.size(); ++c)
      sink.map(columns_[c], {std::numeric_limits<double>::quiet_NaN(), static_cast<double>(mean_[c]), static_cast<double>(scale_[c])});
  }
  DataFrame<T> inverse_transform(DataFrame<T> frame) const {
    inverse_transform_inplace(frame);
    return frame;
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    const auto features = ctx.design;
    auto& op = prog.add(&row_kernel, T(0), T(1));  // (x - 0) / 1: exact no-op
    const auto pos = detail::feature_positions(columns_, features, "StandardScaler");
    for (std::size_t c = 0; c < pos.size(); ++c) {
      op.a[pos[c]] = mean_[c];
      op.b[pos[c]] = scale_[c];
    }
  }

  /// The row kernel: x = (x - a) / b.
  static bool row_kernel(T* __restrict x, const T* __restrict a, const T* __restrict b, std::size_t m) noexcept {
    for (std::size_t k = 0; k < m; ++k) x[k] = detail::op_standardize(x[k], a[k], b[k]);
    return false;
  }

  void describe(detail::step_card& card) const {
    for (std::size_t c = 0; c < columns_.size(); ++c)
      card.column(columns_[c])
          .num("mean", static_cast<double>(mean_[c]))
          .num("scale", static_cast<double>(scale_[c]))
          .flag("constant", constant_[c] != 0);
  }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint64_t>(columns_.size()));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      w.put_string(columns_[c]);
      w.put(mean_[c]);
      w.put(scale_[c]);
      w.put(var_[c]);
      w.put(constant_[c]);
    }
  }
  static FittedStandardScaler load(detail::byte_reader& r) {
    const std::size_t n = r.get_count(8 + 3 * sizeof(T) + 1);
    FittedStandardScaler f;
    for (std::size_t c = 0; c < n; ++c) {
      f.columns_.push_back(r.get_string());
      f.mean_.push_back(r.get<T>());
      f.scale_.push_back(r.get<T>());
      f.var_.push_back(r.get<T>());
      f.constant_.push_back(r.get<std::uint8_t>());
      if (!std::isfinite(f.mean_.back()) || !std::isfinite(f.scale_.back()) || !(f.scale_.back() > T(0)))
        r.corrupt("scaler parameters must be finite with a positive scale");
    }
    return f;
  }

 private:
  std::vector<std::string> columns_;
  std::vector<T> mean_, scale_, var_;
  std::vector<std::uint8_t> constant_;
};

template <scalar T>
FittedStandardScaler<T> StandardScaler<T>::fit_from(const stats_type& st) const {
  if (ddof < 0) MLOPS_THROW(argument_error(errc::invalid_argument, "StandardScaler: ddof must be 0 or positive"));
  const auto& cols = st.columns;
  const std::size_t d = cols.size();
  std::vector<T> mean(d, T(0)), scale(d, T(1)), var(d, T(0));
  std::vector<std::uint8_t> constant(d, 0);
  for (std::size_t c = 0; c < d; ++c) {
    const auto& m = st.per_column[c];
    if (m.count == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("StandardScaler: column '{}' has no non-missing value; impute or drop it first", cols[c])));
    if (!std::isfinite(m.mean) || !std::isfinite(m.m2))
      MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("StandardScaler: column '{}' contains infinite values; remove or replace them first", cols[c])));
    if (with_mean) mean[c] = static_cast<T>(m.mean);
    const auto dof = static_cast<std::ptrdiff_t>(m.count) - ddof;
    const double v = dof > 0 ? m.m2 / static_cast<double>(dof) : 0.0;
    var[c] = static_cast<T>(v);
    if (with_std) {
      // scikit-learn's test for a constant feature, at the precision of T.
      const double eps = std::numeric_limits<T>::epsilon();
      const double n = static_cast<double>(m.count);
      const double bound = n * eps * v + (n * m.mean * eps) * (n * m.mean * eps);
      if (v <= bound || !(std::sqrt(v) > 0)) {
        constant[c] = 1;
        scale[c] = T(1);
      } else {
        scale[c] = static_cast<T>(std::sqrt(v));
      }
    }
  }
  return {cols, std::move(mean), std::move(scale), std::move(var), std::move(constant)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct StandardScaler)
MLOPS_EXTERN_TEMPLATE_FD(class FittedStandardScaler)

MLOPS_NAMESPACE_END
