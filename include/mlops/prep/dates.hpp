// mlops/prep/dates.hpp - DateFeatures: a datetime column becomes calendar numbers.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/datetime.hpp"
#include "mlops/prep/common.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {
/// The calendar parts a date expansion can produce (stable codes: saved in files).
enum class date_part : std::uint8_t { year = 1, month = 2, day = 3, weekday = 4, yearday = 5, hour = 6, timestamp = 7 };

/// Writes the parts of `days` (days since 1970-01-01 UTC; NaN: missing) into out.
template <class T>
inline void op_date_parts(T days, const std::uint8_t* parts, std::size_t n, T* out) noexcept {
  if (!(std::fabs(days) <= T(3.0e6))) {  // missing, or beyond about +-8,000 years
    for (std::size_t k = 0; k < n; ++k) out[k] = std::numeric_limits<T>::quiet_NaN();
    return;
  }
  const double d = static_cast<double>(days);
  const double whole = std::floor(d);
  const civil_time c = civil_from_micros(static_cast<std::int64_t>(whole) * micros_per_day);
  for (std::size_t k = 0; k < n; ++k) {
    switch (static_cast<date_part>(parts[k])) {
      case date_part::year: out[k] = static_cast<T>(c.year); break;
      case date_part::month: out[k] = static_cast<T>(c.month); break;
      case date_part::day: out[k] = static_cast<T>(c.day); break;
      case date_part::weekday: out[k] = static_cast<T>(c.weekday); break;
      case date_part::yearday: out[k] = static_cast<T>(c.yearday); break;
      case date_part::hour: out[k] = static_cast<T>(std::floor((d - whole) * 24.0 + 1e-9)); break;
      case date_part::timestamp: out[k] = days; break;
      default: out[k] = std::numeric_limits<T>::quiet_NaN(); break;
    }
  }
}

/// The date step's expansion kernel: the parts listed in e.codes from x (days).
template <class T>
void expand_date_parts(const expand_entry<T>& e, T x, T* out) noexcept {
  op_date_parts(x, e.codes.data(), e.codes.size(), out);
}
}  // namespace detail

template <scalar T>
class FittedDateFeatures;

/// The calendar parts, their names ("<col>_<part>") and codes.
struct date_part_name {
  detail::date_part part;
  std::string_view name;
};
inline constexpr date_part_name date_parts[] = {
    {detail::date_part::year, "year"},       {detail::date_part::month, "month"},     {detail::date_part::day, "day"},
    {detail::date_part::weekday, "weekday"}, {detail::date_part::yearday, "yearday"}, {detail::date_part::hour, "hour"},
    {detail::date_part::timestamp, "timestamp"}};
inline std::string_view to_string(detail::date_part p) noexcept {
  for (const auto& d : date_parts)
    if (d.part == p) return d.name;
  return "?";
}
/// "year" -> date_part::year; argument_error naming the parts otherwise.
MLOPS_FUNC detail::date_part parse_date_part(std::string_view s);

/// Options of the date-features step. Each datetime column (UTC) becomes, in this order
/// of `parts`: year, month (1-12), day (1-31), weekday (0 = Monday ... 6 = Sunday),
/// yearday (1-366), hour (0-23; only for columns with times, unless asked for), and
/// timestamp (days since 1970-01-01, with the time of day as a fraction). A missing
/// date gives NaN in every part (impute afterwards if the model needs numbers). In the
/// row form a datetime value is days since 1970-01-01; in float the time of day is then
/// known to about 3 minutes for dates of this century (dates themselves are exact).
template <scalar T>
struct DateFeatures {
  std::vector<detail::date_part> parts{};  // empty: all of them (hour only with times)
  std::vector<std::string> columns{};      // empty: every datetime feature

  FittedDateFeatures<T> fit(const DataFrame<T>& frame, std::span<const std::string> columns_to_expand) const;

  using fitted_type = FittedDateFeatures<T>;
  static constexpr std::string_view names[] = {"date_features", "dates"};
  fitted_type fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view) const {
    return detail::fit_and_apply(*this, frame, layout, detail::resolve_columns(columns, layout.of_kind(column_kind::datetime)));
  }
  void set_param(std::string_view name, const param_value&) { detail::unknown_param("date_features", name, "(none; set parts)"); }
  MLOPS_UNFITTED_STEP(DateFeatures)
};

template <scalar T>
class FittedDateFeatures {
 public:
  static constexpr std::uint8_t tag = 7;  // format tag: never changes
  static constexpr std::string_view name = "date_features";

  FittedDateFeatures() = default;
  FittedDateFeatures(std::vector<std::string> cols, std::vector<std::vector<std::uint8_t>> parts)
      : columns_(std::move(cols)), parts_(std::move(parts)) {}

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  const std::vector<std::vector<std::uint8_t>>& parts() const noexcept { return parts_; }
  std::vector<std::string> outputs(std::size_t c) const {
    std::vector<std::string> out;
    for (const auto p : parts_[c]) out.push_back(columns_[c] + "_" + std::string(to_string(static_cast<detail::date_part>(p))));
    return out;
  }

  void transform_inplace(DataFrame<T>& frame) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const auto v = frame.datetime(columns_[c]);
      const auto outs = outputs(c);
      const std::size_t m = outs.size();
      std::vector<typename DataFrame<T>::column_type> cols;
      for (std::size_t k = 0; k < m; ++k) cols.push_back(detail::make_column<T>(v.size()));
      std::vector<T> row(m);
      for (std::size_t r = 0; r < v.size(); ++r) {
        detail::op_date_parts(detail::days_of<T>(v.values[r]), parts_[c].data(), m, row.data());
        for (std::size_t k = 0; k < m; ++k) cols[k].data()[r] = row[k];
      }
      frame.drop_inplace({columns_[c]});
      for (std::size_t k = 0; k < m; ++k) frame.add_column(outs[k], std::move(cols[k]));
    }
  }
  DataFrame<T> transform(DataFrame<T> frame) const {
    transform_inplace(frame);
    return frame;
  }
  void update_layout(detail::design_layout& layout) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      std::vector<detail::layout_column> outs;
      for (auto& n : outputs(c)) outs.push_back({std::move(n), column_kind::numeric, false});
      layout.replace(columns_[c], std::move(outs), "DateFeatures");
    }
  }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& prog) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const std::size_t j = ctx.input(columns_[c], "DateFeatures");
      auto& x = prog.expand[j];
      x.kernel = &detail::expand_date_parts<T>;
      x.out = ctx.design_at(outputs(c).front(), "DateFeatures");
      x.width = parts_[c].size();
      x.codes = parts_[c];
    }
  }
  void describe(detail::step_card& card) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      std::string p;
      for (const auto x : parts_[c]) p += (p.empty() ? "" : ", ") + std::string(to_string(static_cast<detail::date_part>(x)));
      card.column(columns_[c]).text("parts", p);
    }
  }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint64_t>(columns_.size()));
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      w.put_string(columns_[c]);
      w.put(static_cast<std::uint64_t>(parts_[c].size()));
      for (const auto p : parts_[c]) w.put(p);
    }
  }
  static FittedDateFeatures load(detail::byte_reader& r) {
    const std::size_t n = r.get_count(16);
    std::vector<std::string> cols(n);
    std::vector<std::vector<std::uint8_t>> parts(n);
    for (std::size_t c = 0; c < n; ++c) {
      cols[c] = r.get_string();
      const std::size_t m = r.get_count(1);
      if (m == 0 || m > 7) r.corrupt("a date column needs 1 to 7 parts");
      for (std::size_t k = 0; k < m; ++k) {
        const auto p = r.get<std::uint8_t>();
        if (p < 1 || p > 7) r.corrupt("unknown date part " + std::to_string(p));
        parts[c].push_back(p);
      }
    }
    return {std::move(cols), std::move(parts)};
  }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::uint8_t>> parts_;
};

template <scalar T>
FittedDateFeatures<T> DateFeatures<T>::fit(const DataFrame<T>& frame, std::span<const std::string> columns_to_expand) const {
  std::vector<std::string> cols(columns_to_expand.begin(), columns_to_expand.end());
  std::vector<std::vector<std::uint8_t>> all;
  for (const auto& c : cols) {
    const bool times = frame.datetime(c).has_time;
    std::vector<std::uint8_t> p;
    if (parts.empty()) {
      for (const auto& d : date_parts)
        if (d.part != detail::date_part::hour || times) p.push_back(static_cast<std::uint8_t>(d.part));
    } else {
      for (const auto d : parts) {
        const auto code = static_cast<std::uint8_t>(d);
        if (code < 1 || code > 7) MLOPS_THROW(argument_error(errc::invalid_argument, "DateFeatures: unknown date part"));
        if (std::find(p.begin(), p.end(), code) == p.end()) p.push_back(code);
      }
    }
    all.push_back(std::move(p));
  }
  return {std::move(cols), std::move(all)};
}

// The compiled mode holds these (src/prep.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct DateFeatures)
MLOPS_EXTERN_TEMPLATE_FD(class FittedDateFeatures)

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_PREP)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC detail::date_part parse_date_part(std::string_view s) {
  for (const auto& d : date_parts)
    if (d.name == s) return d.part;
  MLOPS_THROW(argument_error(errc::invalid_argument,
                             fmt::format("unknown date part '{}'; choose from year, month, day, weekday, yearday, hour, timestamp", s)));
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_PREP
