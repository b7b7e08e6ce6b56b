// mlops/prep/onehot.hpp - OneHotEncoder: a categorical column becomes one 0/1 column per
// level seen in training (scikit-learn's OneHotEncoder, dense output,
// handle_unknown="ignore"), with rare levels grouped into one "infrequent" column.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
#include <string_view>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/prep/categorical.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedOneHotEncoder;

/// Options of the one-hot encoder. Levels are the ones present in the training rows, in
/// byte order; missing values are a level of their own ("<col>_nan", last) when training
/// saw any. A level seen fewer than `min_frequency` times (a share of the rows when below
/// 1) is infrequent, and so are the rarest beyond `max_categories` - 1 when that is set
/// (scikit-learn 1.2's rules, ties broken the same way); infrequent levels share one
/// column, "<col>_infrequent", placed last. A level never seen in training maps to all
/// zeros (scikit-learn's handle_unknown="ignore").
template <scalar T>
struct OneHotEncoder {
  double min_frequency = 0;            // 0: no grouping by frequency
  std::size_t max_categories = 0;      // 0: no limit; else at least 2 (the infrequent column included)
  std::vector<std::string> columns{};  // empty: every categorical feature

  /// Mergeable statistics (prep/stats.hpp): per column the levels present with their
  /// counts and the missing count (blocks' levels matched by text).
  using stats_type = detail::column_stats<detail::level_stat>;
  stats_type make_stats(std::span<const std::string> columns_to_encode) const {
    return stats_type(std::vector<std::string>(columns_to_encode.begin(), columns_to_encode.end()));
  }
  FittedOneHotEncoder<T> fit_from(const stats_type& st) const;
  FittedOneHotEncoder<T> fit(const DataFrame<T>& frame, std::span<const std::string> columns_to_encode) const {
    auto st = make_stats(columns_to_encode);
    st.update(frame);
    return fit_from(st);
  }

  using fitted_type = FittedOneHotEncoder<T>;
  static constexpr std::string_view names[] = {"onehot", "one_hot", "one_hot_encoder"};
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, detail::resolve_columns(columns, layout.of_kind(column_kind::categorical)));
  }
  /// The same from statistics (prep/stats.hpp: each column's level counts).
  std::optional<fitted_type> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view) const {
    return detail::fit_from_source(*this, src, layout, detail::resolve_columns(columns, layout.of_kind(column_kind::categorical)));
  }
  void set_param(std::string_view name, const param_value& v) {
    if (name == "min_frequency") min_frequency = detail::param_number(name, v);
    else if (name == "max_categories") max_categories = detail::param_count(name, v);
    else detail::unknown_param("onehot", name, "min_frequency, max_categories");
  }
  MLOPS_UNFITTED_STEP(OneHotEncoder)
};

template <scalar T>
class FittedOneHotEncoder {
 public:
  static constexpr std::uint8_t tag = 5;  // format tag: never changes
  static constexpr std::string_view name = "onehot";

  /// One encoded column: its output columns are categories, then "nan" (if missing is a
  /// frequent level), then "infrequent" (if any level is).
  struct encoded {
    std::string name;
    std::vector<std::string> categories;  // frequent levels, byte order
    std::vector<std::size_t> counts;      // training rows of each
    bool missing_column = false;          // missing values have a column of their own
    bool missing_infrequent = false;      // missing values go to the infrequent column
    std::size_t missing = 0;              // training rows with a missing value
    std::vector<std::string> infrequent;  // grouped levels, byte order

    std::vector<std::string> outputs() const {
      std::vector<std::string> out;
      for (const auto& c : categories) out.push_back(name + "_" + c);
      if (missing_column) out.push_back(name + "_nan");
      if (!infrequent.empty() || missing_infrequent) out.push_back(name + "_infrequent");
      return out;
    }
    /// Output offset of each of `levels` (-1: no column, i.e. a level not seen in training).
    std::vector<std::int32_t> slots(const std::vector<std::string>& levels) const {
      auto s = detail::map_levels(levels, categories);
      const auto inf = detail::map_levels(levels, infrequent);
      const auto infrequent_slot = static_cast<std::int32_t>(categories.size() + (missing_column ? 1 : 0));
      for (std::size_t k = 0; k < s.size(); ++k)
        if (s[k] < 0 && inf[k] >= 0) s[k] = infrequent_slot;
      return s;
    }
    std::int32_t missing_slot() const {
      if (missing_column) return static_cast<std::int32_t>(categories.size());
      if (missing_infrequent) return static_cast<std::int32_t>(categories.size());
      return -1;
    }
  };

  FittedOneHotEncoder() = default;
  FittedOneHotEncoder(double min_frequency, std::size_t max_categories, std::vector<encoded> cols)
      : min_frequency_(min_frequency), max_categories_(max_categories), encoded_(std::move(cols)) {
    for (const auto& e : encoded_) columns_.push_back(e.name);
  }

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  const std::vector<encoded>& encoded_columns() const noexcept { return encoded_; }

  /// Replaces each encoded column by its 0/1 columns (named "<col>_<level>").
  void transform_inplace(DataFrame<T>& frame) const {
    for (const auto& e : encoded_) {
      const auto v = frame.categorical(e.name);
      const auto slot = e.slots(*v.levels);
      const auto ms = e.missing_slot();
      const auto outs = e.outputs();
      std::vector<typename DataFrame<T>::column_type> cols;
      for (std::size_t k = 0; k < outs.size(); ++k) {
        cols.push_back(detail::make_column<T>(v.size()));
        std::fill(cols.back().data(), cols.back().data() + v.size(), T(0));
      }
      for (std::size_t r = 0; r < v.size(); ++r) {
        const std::int32_t s = v.codes[r] < 0 ? ms : slot[static_cast<std::size_t>(v.codes[r])];
        if (s >= 0) cols[static_cast<std::size_t>(s)].data()[r] = T(1);
      }
      frame.drop_inplace({e.name});
      for (std::size_t k = 0; k < outs.size(); ++k) frame.add_column(outs[k], std::move(cols[k]));
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void update_layout(detail::design_layout& layout) const {
    for (const auto& e : encoded_) {
      std::vector<detail::layout_column> outs;
      for (auto& n : e.outputs()) outs.push_back({std::move(n), column_kind::numeric, true});
      layout.replace(e.name, std::move(outs), "OneHotEncoder");
    }
  }
  /// Each encoded column becomes its 0/1 columns: the slot of each level of the data.
  void forms(detail::form_sink<T>& sink) const {
    for (const auto& e : encoded_) {
      const auto slots = e.slots(sink.levels(e.name));
      sink.expand(e.name, e.outputs(), slots, e.missing_slot());
    }
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    for (const auto& e : encoded_) {
      const std::size_t j = ctx.input(e.name, "OneHotEncoder");
      auto& x = prog.expand[j];
      x.kernel = &expand_kernel;
      const auto outs = e.outputs();
      x.out = ctx.design_at(outs.front(), "OneHotEncoder");
      x.width = outs.size();
      x.index = e.slots(ctx.levels[j]);
      x.missing_index = e.missing_slot();
    }
  }
  /// The expansion kernel: out[0 .. width) = 0, then 1 at the level's offset (e.index;
  /// missing: e.missing_index; -1 or an unseen level: none).
  static void expand_kernel(const detail::expand_entry<T>& e, T x, T* out) noexcept {
    for (std::size_t k = 0; k < e.width; ++k) out[k] = T(0);
    std::int32_t s = -1;
    if (std::isnan(x)) s = e.missing_index;
    else if (const auto i = detail::level_index(x, e.index.size()); i >= 0) s = e.index[static_cast<std::size_t>(i)];
    if (s >= 0) out[s] = T(1);
  }
  void describe(detail::step_card& card) const {
    card.fields.num("min_frequency", min_frequency_).count("max_categories", max_categories_);
    for (const auto& e : encoded_) {
      auto& c = card.column(e.name);
      c.count("categories", e.categories.size()).count("infrequent", e.infrequent.size()).flag("missing_column", e.missing_column);
      c.text("levels", detail::join_levels(e.categories));
      if (!e.infrequent.empty()) c.text("infrequent_levels", detail::join_levels(e.infrequent));
    }
  }

  void save(detail::byte_writer& w) const {
    w.put(min_frequency_);
    w.put(static_cast<std::uint64_t>(max_categories_));
    w.put(static_cast<std::uint64_t>(encoded_.size()));
    for (const auto& e : encoded_) {
      w.put_string(e.name);
      detail::save_strings(w, e.categories);
      for (const auto n : e.counts) w.put(static_cast<std::uint64_t>(n));
      w.put(static_cast<std::uint8_t>(e.missing_column | (e.missing_infrequent << 1)));
      w.put(static_cast<std::uint64_t>(e.missing));
      detail::save_strings(w, e.infrequent);
    }
  }
  static FittedOneHotEncoder load(detail::byte_reader& r) {
    const double mf = r.get<double>();
    const auto mc = r.get<std::uint64_t>();
    if (!(mf >= 0) || !std::isfinite(mf)) r.corrupt("one-hot min_frequency must be finite and >= 0");
    const std::size_t n = r.get_count(8 + 8 + 1 + 8 + 8);
    std::vector<encoded> cols(n);
    for (auto& e : cols) {
      e.name = r.get_string();
      e.categories = detail::load_strings(r);
      for (std::size_t k = 0; k < e.categories.size(); ++k) e.counts.push_back(static_cast<std::size_t>(r.get<std::uint64_t>()));
      const auto bits = r.get<std::uint8_t>();
      if (bits > 2) r.corrupt("one-hot missing flags must be 0, 1 or 2");
      e.missing_column = (bits & 1) != 0;
      e.missing_infrequent = (bits & 2) != 0;
      e.missing = static_cast<std::size_t>(r.get<std::uint64_t>());
      e.infrequent = detail::load_strings(r);
      if (!detail::strictly_sorted(e.categories) || !detail::strictly_sorted(e.infrequent))
        r.corrupt("one-hot levels must be distinct and in byte order");
      if (e.outputs().empty()) r.corrupt("a one-hot column must have at least one output");
    }
    return {mf, static_cast<std::size_t>(mc), std::move(cols)};
  }

 private:
  double min_frequency_ = 0;
  std::size_t max_categories_ = 0;
  std::vector<encoded> encoded_;
  std::vector<std::string> columns_;
};

template <scalar T>
FittedOneHotEncoder<T> OneHotEncoder<T>::fit_from(const stats_type& st) const {
  if (!(min_frequency >= 0) || !std::isfinite(min_frequency))
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("OneHotEncoder: min_frequency = {} must be finite and >= 0", min_frequency)));
  if (max_categories == 1)
    MLOPS_THROW(argument_error(errc::invalid_argument, "OneHotEncoder: max_categories must be 0 (no limit) or at least 2"));
  std::vector<typename FittedOneHotEncoder<T>::encoded> out;
  for (std::size_t c = 0; c < st.columns.size(); ++c) {
    const auto& col = st.columns[c];
    const auto& lc = st.per_column[c].lc;
    // The categories in scikit-learn's order: levels by bytes, then missing.
    std::vector<std::size_t> counts = lc.counts;
    const bool has_missing = lc.missing > 0;
    if (has_missing) counts.push_back(lc.missing);
    std::vector<std::uint8_t> infrequent(counts.size(), 0);
    if (min_frequency > 0) {
      const double threshold = min_frequency < 1 ? min_frequency * static_cast<double>(lc.rows) : min_frequency;
      for (std::size_t k = 0; k < counts.size(); ++k) infrequent[k] = static_cast<double>(counts[k]) < threshold;
    }
    const std::size_t n_infrequent = static_cast<std::size_t>(std::count(infrequent.begin(), infrequent.end(), 1));
    if (max_categories > 0 && max_categories < counts.size() - n_infrequent + 1) {
      std::vector<std::size_t> order(counts.size());
      std::iota(order.begin(), order.end(), std::size_t(0));
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return counts[a] < counts[b]; });
      for (std::size_t k = 0; k + (max_categories - 1) < order.size(); ++k) infrequent[order[k]] = 1;
    }
    typename FittedOneHotEncoder<T>::encoded e;
    e.name = col;
    e.missing = lc.missing;
    for (std::size_t k = 0; k < lc.levels.size(); ++k) {
      if (infrequent[k]) e.infrequent.push_back(lc.levels[k]);
      else e.categories.push_back(lc.levels[k]), e.counts.push_back(lc.counts[k]);
    }
    if (has_missing) (infrequent.back() ? e.missing_infrequent : e.missing_column) = true;
    if (e.outputs().empty())
      MLOPS_THROW(data_error(errc::data_empty, fmt::format("OneHotEncoder: column '{}' has no value in the training rows", col)));
    out.push_back(std::move(e));
  }
  return {min_frequency, max_categories, std::move(out)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct OneHotEncoder)
MLOPS_EXTERN_TEMPLATE_FD(class FittedOneHotEncoder)

MLOPS_NAMESPACE_END
