// mlops/prep/ordinal.hpp - OrdinalEncoder: a categorical column becomes one number, the
// rank of its level among the training levels (scikit-learn's OrdinalEncoder).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/prep/categorical.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedOrdinalEncoder;

/// Options of the ordinal encoder: levels present in the training rows, in byte order,
/// become 0, 1, 2, ...; a missing value becomes NaN (scikit-learn's
/// encoded_missing_value; impute it afterwards if the model needs a number); a level not
/// seen in training becomes `unknown_value` (scikit-learn's handle_unknown=
/// "use_encoded_value"; default -1). The column keeps its name.
template <scalar T>
struct OrdinalEncoder {
  double unknown_value = -1;
  std::vector<std::string> columns{};  // empty: every categorical feature

  /// Mergeable statistics (prep/stats.hpp): per column the levels present with their
  /// counts (blocks' levels matched by text).
  using stats_type = detail::column_stats<detail::level_stat>;
  stats_type make_stats(std::span<const std::string> columns_to_encode) const {
    return stats_type(std::vector<std::string>(columns_to_encode.begin(), columns_to_encode.end()));
  }
  FittedOrdinalEncoder<T> fit_from(const stats_type& st) const;
  FittedOrdinalEncoder<T> fit(const DataFrame<T>& frame, std::span<const std::string> columns_to_encode) const {
    auto st = make_stats(columns_to_encode);
    st.update(frame);
    return fit_from(st);
  }

  using fitted_type = FittedOrdinalEncoder<T>;
  static constexpr std::string_view names[] = {"ordinal", "ordinal_encoder"};
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, detail::resolve_columns(columns, layout.of_kind(column_kind::categorical)));
  }
  /// The same from a source of statistics (the training rows' level counts).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view) const {
    return detail::fit_from_source(*this, src, layout, detail::resolve_columns(columns, layout.of_kind(column_kind::categorical)));
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "unknown_value") unknown_value = detail::param_number(name, v);
    else detail::unknown_param("ordinal", name, "unknown_value");
  }
  MLOPS_UNFITTED_STEP(OrdinalEncoder)
};

template <scalar T>
class FittedOrdinalEncoder {
 public:
  static constexpr std::uint8_t tag = 6;  // format tag: never changes
  static constexpr std::string_view name = "ordinal";

  FittedOrdinalEncoder() = default;
  FittedOrdinalEncoder(double unknown, std::vector<std::string> cols, std::vector<std::vector<std::string>> levels)
      : unknown_(unknown), columns_(std::move(cols)), levels_(std::move(levels)) {}

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  /// The training levels of each column, in code order (byte order).
  const std::vector<std::vector<std::string>>& categories() const noexcept { return levels_; }
  double unknown_value() const noexcept { return unknown_; }

  void transform_inplace(DataFrame<T>& frame) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const auto v = frame.categorical(columns_[c]);
      const auto e = entry(*v.levels, c);
      auto col = detail::make_column<T>(v.size());
      for (std::size_t r = 0; r < v.size(); ++r) {
        const auto code = v.codes[r];
        col.data()[r] = code < 0 ? e.missing : e.value[static_cast<std::size_t>(code)];
      }
      frame.drop_inplace({columns_[c]});
      frame.add_column(columns_[c], std::move(col));
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void update_layout(detail::design_layout& layout) const {
    for (const auto& c : columns_) layout.replace(c, {{c, column_kind::numeric, false}}, "OrdinalEncoder");
  }
  /// Each encoded column becomes one number per level of the data (its code, or the
  /// unknown value), missing cells staying missing.
  void forms(detail::form_sink<T>& sink) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const auto e = entry(sink.levels(columns_[c]), c);
      std::vector<double> values(e.value.begin(), e.value.end());
      sink.recode(columns_[c], values, static_cast<double>(e.missing));
    }
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const std::size_t j = ctx.input(columns_[c], "OrdinalEncoder");
      auto& x = prog.expand[j];
      x = entry(ctx.levels[j], c);
      x.out = ctx.design_at(columns_[c], "OrdinalEncoder");
    }
  }
  void describe(detail::step_card& card) const {
    card.fields.num("unknown_value", unknown_);
    for (std::size_t c = 0; c < columns_.size(); ++c)
      card.column(columns_[c]).count("categories", levels_[c].size()).text("levels", detail::join_levels(levels_[c]));
  }

  void save(detail::byte_writer& w) const {
    w.put(unknown_);
    w.put(static_cast<std::uint64_t>(columns_.size()));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      w.put_string(columns_[c]);
      detail::save_strings(w, levels_[c]);
    }
  }
  static FittedOrdinalEncoder load(detail::byte_reader& r) {
    const double unknown = r.get<double>();
    const std::size_t n = r.get_count(16);
    std::vector<std::string> cols(n);
    std::vector<std::vector<std::string>> levels(n);
    for (std::size_t c = 0; c < n; ++c) {
      cols[c] = r.get_string();
      levels[c] = detail::load_strings(r);
      if (!detail::strictly_sorted(levels[c])) r.corrupt("ordinal levels must be distinct and in byte order");
    }
    return {unknown, std::move(cols), std::move(levels)};
  }

 private:
  /// The expansion kernel: out[0] = the level's value (e.value; missing: e.missing; a level
  /// not seen in training or not an index: e.unseen).
  static void expand_kernel(const detail::expand_entry<T>& e, T x, T* out) noexcept {
    if (std::isnan(x)) out[0] = e.missing;
    else if (const auto i = detail::level_index(x, e.value.size()); i >= 0) out[0] = e.value[static_cast<std::size_t>(i)];
    else out[0] = e.unseen;
  }
  /// The expansion entry of column c over `levels` (a frame's or the pipeline's level list).
  detail::expand_entry<T> entry(const std::vector<std::string>& levels, std::size_t c) const {
    detail::expand_entry<T> e;
    e.kernel = &expand_kernel;
    e.unseen = static_cast<T>(unknown_);
    const auto at = detail::map_levels(levels, levels_[c]);
    e.value.resize(at.size());
    for (std::size_t k = 0; k < at.size(); ++k) e.value[k] = at[k] < 0 ? e.unseen : static_cast<T>(at[k]);
    return e;
  }

  double unknown_ = -1;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> levels_;
};

template <scalar T>
FittedOrdinalEncoder<T> OrdinalEncoder<T>::fit_from(const stats_type& st) const {
  if (std::isinf(unknown_value))
    MLOPS_THROW(argument_error(errc::invalid_argument, "OrdinalEncoder: unknown_value must be finite or NaN"));
  std::vector<std::vector<std::string>> levels;
  for (std::size_t c = 0; c < st.columns.size(); ++c) {
    const auto& lc = st.per_column[c].lc;
    if (lc.levels.empty())
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("OrdinalEncoder: column '{}' has no value in the training rows", st.columns[c])));
    levels.push_back(lc.levels);
  }
  return {unknown_value, st.columns, std::move(levels)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct OrdinalEncoder)
MLOPS_EXTERN_TEMPLATE_FD(class FittedOrdinalEncoder)

MLOPS_NAMESPACE_END
