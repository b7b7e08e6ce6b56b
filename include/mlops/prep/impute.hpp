// mlops/prep/impute.hpp - SimpleImputer: fill missing values with mean, median or a constant.
#pragma once

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
class FittedSimpleImputer;

/// Options of the imputer. `fit` learns one fill value per column from non-missing values.
/// A column with no value at all cannot be fitted with mean or median (data_error).
template <scalar T>
struct SimpleImputer {
  impute_strategy strategy = impute_strategy::mean;
  T fill_value = T(0);               // used by impute_strategy::constant
  std::vector<std::string> columns{};  // empty: every feature column

  /// Mergeable statistics (prep/stats.hpp): per column the count, missing count and sum of
  /// the present values; for the median, also the present values themselves (exact).
  struct stats_type {
    impute_strategy strategy = impute_strategy::mean;
    detail::column_stats<detail::sum_stat> sums;
    std::vector<std::vector<T>> values;  // median only: each column's present values
    std::vector<double> medians;         // median only, from a source of statistics (read_from)
    void update(const DataFrame<T>& block) {
      sums.update(block);
      if (strategy != impute_strategy::median) return;
      for (std::size_t c = 0; c < sums.columns.size(); ++c)
        for (const T v : block.column(sums.columns[c]))
          if (v == v) values[c].push_back(v);
    }
    /// From a source of statistics (prep/stats.hpp): the sums, and the medians it finds.
    bool read_from(detail::stats_source<T>& src) {
      if (!src.read(sums)) return false;
      if (strategy != impute_strategy::median) return true;
      static constexpr double half[] = {0.5};
      medians.assign(sums.columns.size(), 0.0);
      std::uint64_t count = 0;
      bool ok = true;  // every column asked, so a source that answers later learns them all at once
      for (std::size_t c = 0; c < medians.size(); ++c) ok = src.quantiles(sums.columns[c], half, std::span<double>(&medians[c], 1), count) && ok;
      return ok;
    }
    void merge(const stats_type& o) {
      if (o.strategy != strategy) MLOPS_THROW(argument_error(errc::invalid_argument, "merging imputer statistics of different strategies"));
      sums.merge(o.sums);
      for (std::size_t c = 0; c < values.size(); ++c) values[c].insert(values[c].end(), o.values[c].begin(), o.values[c].end());
    }
  };
  stats_type make_stats(std::span<const std::string> default_columns) const {
    stats_type st{strategy, detail::column_stats<detail::sum_stat>(detail::resolve_columns(columns, default_columns)), {}, {}};
    if (strategy == impute_strategy::median) st.values.resize(st.sums.columns.size());
    return st;
  }
  FittedSimpleImputer<T> fit_from(const stats_type& st) const;
  FittedSimpleImputer<T> fit(const DataFrame<T>& frame, std::span<const std::string> default_columns) const {
    auto st = make_stats(default_columns);
    st.update(frame);
    return fit_from(st);
  }
  FittedSimpleImputer<T> fit(const DataFrame<T>& frame) const { return fit(frame, frame.names()); }

  using fitted_type = FittedSimpleImputer<T>;
  static constexpr std::string_view names[] = {"impute", "imputer"};
  /// The pipeline's fitting: learn the fill values, then fill the frame.
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, layout.numeric());
  }
  /// The same from statistics (prep/stats.hpp).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view) const {
    return detail::fit_from_source(*this, src, layout, layout.numeric());
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "strategy")
      strategy = detail::param_enum<impute_strategy>(
          name, v, {{"mean", impute_strategy::mean}, {"median", impute_strategy::median}, {"constant", impute_strategy::constant}});
    else if (name == "fill_value") fill_value = static_cast<T>(detail::param_number(name, v));
    else detail::unknown_param("impute", name, "strategy, fill_value");
  }
  MLOPS_UNFITTED_STEP(SimpleImputer)
};

template <scalar T>
class FittedSimpleImputer {
 public:
  static constexpr std::uint8_t tag = 1;  // format tag: never changes
  static constexpr std::string_view name = "impute";

  FittedSimpleImputer() = default;
  FittedSimpleImputer(impute_strategy s, std::vector<std::string> cols, std::vector<T> fills, std::vector<std::size_t> missing)
      : strategy_(s), columns_(std::move(cols)), fills_(std::move(fills)), missing_seen_(std::move(missing)) {}

  impute_strategy strategy() const noexcept { return strategy_; }
  const std::vector<std::string>& columns() const noexcept { return columns_; }
  const std::vector<T>& fill_values() const noexcept { return fills_; }
  /// Missing values seen per column while fitting.
  const std::vector<std::size_t>& missing_seen() const noexcept { return missing_seen_; }

  void transform_inplace(DataFrame<T>& frame) const {
    for (std::size_t c = 0; c < columns_.size(); ++c)
      for (T& v : frame.column(columns_[c])) v = detail::op_fill(v, fills_[c]);
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    const auto features = ctx.design;
    auto& op = prog.add(&row_kernel, std::numeric_limits<T>::quiet_NaN(), T(0));  // a = NaN: left as is
    const auto pos = detail::feature_positions(columns_, features, "SimpleImputer");
    for (std::size_t c = 0; c < pos.size(); ++c) op.a[pos[c]] = fills_[c];
  }

  /// The row kernel: x = isnan(x) ? a : x.
  static bool row_kernel(T* __restrict x, const T* __restrict a, const T*, std::size_t m) noexcept {
    for (std::size_t k = 0; k < m; ++k) x[k] = detail::op_fill(x[k], a[k]);
    return false;
  }

  /// On its training rows: each column's missing values become its fill value.
  void forms(detail::form_sink<T>& sink) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) sink.map(columns_[c], {static_cast<double>(fills_[c]), 0.0, 1.0});
  }

  void describe(detail::step_card& card) const {
    card.fields.text("strategy", std::string(to_string(strategy_)));
    for (std::size_t c = 0; c < columns_.size(); ++c)
      card.column(columns_[c]).num("fill_value", static_cast<double>(fills_[c])).count("missing_seen", missing_seen_[c]);
  }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint8_t>(strategy_));
    w.put(static_cast<std::uint64_t>(columns_.size()));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      w.put_string(columns_[c]);
      w.put(fills_[c]);
      w.put(static_cast<std::uint64_t>(missing_seen_[c]));
    }
  }
  static FittedSimpleImputer load(detail::byte_reader& r) {
    const auto s = r.get<std::uint8_t>();
    if (s < 1 || s > 3) r.corrupt("unknown imputer strategy " + std::to_string(s));
    const std::size_t n = r.get_count(8 + sizeof(T) + 8);
    std::vector<std::string> cols(n);
    std::vector<T> fills(n);
    std::vector<std::size_t> miss(n);
    for (std::size_t c = 0; c < n; ++c) {
      cols[c] = r.get_string();
      fills[c] = r.get<T>();
      miss[c] = static_cast<std::size_t>(r.get<std::uint64_t>());
      if (!std::isfinite(fills[c])) r.corrupt("imputer fill value is not finite");
    }
    return {static_cast<impute_strategy>(s), std::move(cols), std::move(fills), std::move(miss)};
  }

 private:
  impute_strategy strategy_ = impute_strategy::mean;
  std::vector<std::string> columns_;
  std::vector<T> fills_;
  std::vector<std::size_t> missing_seen_;
};

template <scalar T>
FittedSimpleImputer<T> SimpleImputer<T>::fit_from(const stats_type& st) const {
  if (strategy == impute_strategy::constant && !std::isfinite(fill_value))
    MLOPS_THROW(argument_error(errc::invalid_argument, "SimpleImputer: the constant fill value must be finite"));
  if (st.strategy != strategy)
    MLOPS_THROW(argument_error(errc::invalid_argument, "SimpleImputer: statistics made for another strategy; use make_stats of this imputer"));
  const auto& cols = st.sums.columns;
  std::vector<T> fills(cols.size());
  std::vector<std::size_t> missing(cols.size());
  std::vector<T> work;
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const auto& m = st.sums.per_column[c];
    missing[c] = static_cast<std::size_t>(m.missing);
    if (strategy == impute_strategy::constant) {
      fills[c] = fill_value;
      continue;
    }
    if (m.count == 0)
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("SimpleImputer({}): column '{}' has no non-missing value to learn from; "
                                                           "use a constant fill or drop the column",
                                                           to_string(strategy), cols[c])));
    if (!std::isfinite(m.sum))
      MLOPS_THROW(data_error(errc::data_non_finite, fmt::format("SimpleImputer: column '{}' contains infinite values; "
                                                                "remove or replace them before imputing", cols[c])));
    if (strategy == impute_strategy::mean) {
      fills[c] = static_cast<T>(m.sum / static_cast<double>(m.count));
    } else if (!st.medians.empty()) {
      fills[c] = static_cast<T>(st.medians[c]);
    } else {
      static constexpr double half[] = {0.5};
      detail::nan_quantiles<T>(std::span<const T>(st.values[c]), half, std::span<T>(&fills[c], 1), work);
    }
  }
  return {strategy, cols, std::move(fills), std::move(missing)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct SimpleImputer)
MLOPS_EXTERN_TEMPLATE_FD(class FittedSimpleImputer)

MLOPS_NAMESPACE_END
