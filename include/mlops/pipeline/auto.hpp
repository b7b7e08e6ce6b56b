// mlops/pipeline/auto.hpp - auto_pipeline: the steps a table needs, chosen from the table
// itself (what `mlops train FILE --target Y` does when no step flag says otherwise).
// Each choice is returned, and noted in the pipeline (Pipeline::note, "auto.<column>") so
// that the fitted model's file and card carry it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mlops/config.hpp"
#include "mlops/fwd.hpp"
#include "mlops/pipeline/builder.hpp"
#include "mlops/prep/options.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {
enum class date_part : std::uint8_t;  // prep/dates.hpp
}

/// What auto_pipeline may decide, and the decisions fixed by hand.
struct auto_options {
  /// Text (categorical) inputs: one-hot encoded, ordinal codes, or left out.
  enum class text_inputs : std::uint8_t { onehot, ordinal, leave_out };
  text_inputs text = text_inputs::onehot;
  /// One-hot: at most this many columns per input, the rarest levels grouped into
  /// `<col>_infrequent` (0: no limit), and levels rarer than min_frequency grouped too.
  std::size_t max_categories = 20;
  double min_frequency = 0;
  /// A text input whose distinct levels number at least this share of its present values
  /// (with at least identifier_min_values of them) looks like an identifier (a name, a
  /// key): it is left out. 0: never.
  double identifier_share = 0.5;
  std::size_t identifier_min_values = 20;
  /// Datetime inputs: expanded into date_parts (empty: year, month, day, weekday, and hour
  /// for a column with times; not yearday and timestamp, which with the year are nearly
  /// collinear: timestamp = 365.25 year + yearday + c, and a least-squares fit on a short
  /// span extrapolates them wildly), or
  /// left out when false.
  bool dates = true;
  std::vector<detail::date_part> date_parts{};
  bool all_date_parts = false;  // every part instead (hour only for columns with times): DateFeatures{}
  /// Missing values in the numeric inputs (date parts and ordinal codes included): one
  /// imputer of this strategy over every numeric column when any has one; none when false.
  bool impute = true;
  impute_strategy impute_with = impute_strategy::mean;
  /// Inputs without any value are left out (scikit-learn's SimpleImputer drops them too).
  bool drop_empty = true;
  /// Inputs never left out automatically (an identifier, an empty column).
  std::vector<std::string> keep{};
  /// The candidate inputs (empty: every column but the target and the ids), each checked
  /// as above unless also in `keep`.
  std::vector<std::string> features{};
};

/// One decision about one input column.
struct auto_choice {
  std::string column;
  std::string action;  // "one-hot", "ordinal", "date parts", "imputed", "left out"
  std::string reason;  // what in the data made the choice, and how to change it
};

template <scalar T>
struct auto_plan {
  Pipeline<T> pipeline;  // the encoders, date parts and imputer; no estimator, no scaler
  std::vector<auto_choice> choices;
};

/// The pipeline `frame` needs before a model, decided from its rows (give the training
/// rows: what the decisions read is then never the held-out data): text inputs one-hot
/// encoded (at most max_categories columns each) unless they look like identifiers,
/// datetime inputs expanded into date parts, inputs without any value left out, and one
/// mean imputer when a numeric input (or a date part) has missing values. A table left
/// without any input is schema_error (schema.missing_column) naming what was left out and
/// why. Add a scaler and the estimator to the pipeline it returns.
template <scalar T>
auto_plan<T> auto_pipeline(const DataFrame<T>& frame, std::string_view target, const auto_options& o = {});

MLOPS_EXTERN_TEMPLATE(auto_plan<float> auto_pipeline<float>(const DataFrame<float>&, std::string_view, const auto_options&))
MLOPS_EXTERN_TEMPLATE(auto_plan<double> auto_pipeline<double>(const DataFrame<double>&, std::string_view, const auto_options&))

MLOPS_NAMESPACE_END

#if MLOPS_TEMPLATE_BODIES
// ---- the body: header-only mode, or the compiled library (src/pipeline.cpp) ----
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/frame.hpp"
#include "mlops/pipeline/steps_builder.hpp"
#include "mlops/prep/dates.hpp"
#include "mlops/prep/impute.hpp"
#include "mlops/prep/onehot.hpp"
#include "mlops/prep/ordinal.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {
/// Distinct levels among the present codes of a categorical column, and its present values.
inline std::pair<std::size_t, std::size_t> present_levels(const CategoricalView& v) {
  std::vector<std::uint8_t> seen(v.n_levels(), 0);
  std::size_t distinct = 0, present = 0;
  for (const std::int32_t c : v.codes)
    if (c >= 0) {
      ++present;
      if (!seen[static_cast<std::size_t>(c)]) seen[static_cast<std::size_t>(c)] = 1, ++distinct;
    }
  return {distinct, present};
}
}  // namespace detail

template <scalar T>
auto_plan<T> auto_pipeline(const DataFrame<T>& frame, std::string_view target, const auto_options& o) {
  (void)frame.index_of(target);
  for (const auto& c : o.keep) (void)frame.index_of(c);
  auto_plan<T> plan;
  auto kept = [&](const std::string& c) { return std::find(o.keep.begin(), o.keep.end(), c) != o.keep.end(); };
  using detail::date_part;
  const std::vector<date_part> date_only{date_part::year, date_part::month, date_part::day, date_part::weekday};
  const std::vector<date_part> with_time{date_part::year, date_part::month, date_part::day, date_part::weekday, date_part::hour};
  auto parts_of = [&](const std::string& c) -> std::vector<date_part> {
    const bool timed = frame.datetime(c).has_time;
    if (o.all_date_parts) {
      std::vector<date_part> all;
      for (const auto& p : date_parts)
        if (p.part != date_part::hour || timed) all.push_back(p.part);
      return all;
    }
    return !o.date_parts.empty() ? o.date_parts : timed ? with_time : date_only;
  };
  auto choose = [&](std::string column, std::string action, std::string reason) {
    const auto key = "auto." + column;
    const auto it = plan.pipeline.notes().find(key);  // a column's second choice (date parts, then imputed) joins its first
    plan.pipeline.note(key, fmt::format("{}{}: {}", it == plan.pipeline.notes().end() ? "" : it->second + "; ", action, reason));
    plan.choices.push_back({std::move(column), std::move(action), std::move(reason)});
  };
  std::vector<std::string> candidates = o.features;
  if (candidates.empty())
    for (const auto& n : frame.names())
      if (n != target && !frame.is_id(n)) candidates.push_back(n);
  std::vector<std::string> features, text, dates;
  bool missing = false;
  for (const auto& c : candidates) {
    if (c == target) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("the target '{}' cannot also be a feature", target)));
    const column_kind k = frame.kind(c);
    std::size_t present = 0;
    if (k == column_kind::numeric) {
      for (const T v : frame.column(c)) present += v == v;
    } else if (k == column_kind::categorical) {
      present = detail::present_levels(frame.categorical(c)).second;
    } else {
      for (const std::int64_t v : frame.datetime(c).values) present += v != missing_time;
    }
    if (present == 0 && frame.rows() > 0 && o.drop_empty && !kept(c)) {
      choose(c, "left out", fmt::format("no value in any of the {} rows (keep it: --keep {})", frame.rows(), c));
      continue;
    }
    if (k == column_kind::categorical) {
      const auto [distinct, n] = detail::present_levels(frame.categorical(c));
      if (o.text == auto_options::text_inputs::leave_out) {  // kept: a text feature no step encodes (fit says so)
        if (!kept(c)) choose(c, "left out", "text input, and text inputs are not encoded (--encode none)");
        else features.push_back(c);
        continue;
      }
      if (o.identifier_share > 0 && n >= o.identifier_min_values && static_cast<double>(distinct) >= o.identifier_share * static_cast<double>(n) &&
          !kept(c)) {
        choose(c, "left out",
               fmt::format("looks like an identifier: {} distinct texts in {} values (use it anyway: --keep {}; carry it beside "
                           "predictions: --id {})",
                           distinct, n, c, c));
        continue;
      }
      text.push_back(c);
      if (o.text == auto_options::text_inputs::onehot) {
        const bool grouped = o.max_categories > 0 && distinct > o.max_categories - 1;
        choose(c, "one-hot",
               grouped ? fmt::format("{} levels: the {} most frequent get a 0/1 column each, the rest share '{}_infrequent' "
                                     "(--max-categories N; --encode ordinal or none)",
                                     distinct, o.max_categories - 1, c)
                       : fmt::format("{} level(s), one 0/1 column each (--encode ordinal or none)", distinct));
      } else {
        choose(c, "ordinal", fmt::format("{} level(s), coded by rank", distinct));
      }
      // One-hot gives missing values their own `<col>_nan` column; ordinal codes are NaN.
      if (present < frame.rows() && o.text == auto_options::text_inputs::ordinal) missing = true;
    } else if (k == column_kind::datetime) {
      if (!o.dates) {  // kept: a datetime feature no step expands (fit says so)
        if (!kept(c)) choose(c, "left out", "datetime input, and dates are not expanded (--date-features none)");
        else features.push_back(c);
        continue;
      }
      dates.push_back(c);
      std::vector<std::string> parts;
      const auto chosen = parts_of(c);
      for (const auto& p : date_parts)
        if (std::find(chosen.begin(), chosen.end(), p.part) != chosen.end())
          parts.emplace_back(p.name);
      choose(c, "date parts", fmt::format("datetime input expanded into {} (--date-features LIST or none)", fmt::join(parts, ", ")));
      if (present < frame.rows()) missing = true;
    } else if (present < frame.rows()) {
      missing = true;
    }
    features.push_back(c);
  }
  if (features.empty()) {
    std::vector<std::string> why;
    for (const auto& ch : plan.choices) why.push_back(fmt::format("'{}' {}", ch.column, ch.reason));
    MLOPS_THROW(schema_error(errc::schema_missing_column,
                             fmt::format("no feature columns left for target '{}'{}{}", target, why.empty() ? "" : ": ",
                                         fmt::join(why, "; "))));
  }
  plan.pipeline.features(features);
  if (!text.empty() && o.text == auto_options::text_inputs::onehot)
    plan.pipeline.add(OneHotEncoder<T>{o.min_frequency, o.max_categories, text});
  else if (!text.empty() && o.text == auto_options::text_inputs::ordinal)
    plan.pipeline.add(OrdinalEncoder<T>{.columns = text});
  if (!dates.empty() && (o.all_date_parts || !o.date_parts.empty())) {
    plan.pipeline.add(DateFeatures<T>{o.all_date_parts ? std::vector<date_part>{} : o.date_parts, dates});
  } else if (!dates.empty()) {  // the default parts: one step for the date-only columns, one for those with times (hour too)
    for (const bool timed : {false, true}) {
      std::vector<std::string> cols;
      for (const auto& c : dates)
        if (frame.datetime(c).has_time == timed) cols.push_back(c);
      if (!cols.empty()) plan.pipeline.add(DateFeatures<T>{timed ? with_time : date_only, std::move(cols)});
    }
  }
  if (missing && o.impute) {
    plan.pipeline.impute(o.impute_with);
    for (const auto& c : features) {
      std::size_t n = 0;
      const column_kind k = frame.kind(c);
      if (k == column_kind::numeric) {
        for (const T v : frame.column(c)) n += v != v;
      } else if (k == column_kind::datetime) {
        for (const std::int64_t v : frame.datetime(c).values) n += v == missing_time;
      } else if (o.text == auto_options::text_inputs::ordinal) {
        for (const std::int32_t code : frame.categorical(c).codes) n += code < 0;
      }
      if (n > 0)
        choose(c, "imputed", fmt::format("{} of {} values missing, filled with the training {} (--impute mean, median or none)", n,
                                         frame.rows(), to_string(o.impute_with)));
    }
  }
  return plan;
}

MLOPS_NAMESPACE_END
#endif
