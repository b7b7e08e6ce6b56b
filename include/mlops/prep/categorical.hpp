// mlops/prep/categorical.hpp - what the encoders share: the levels a categorical column
// holds in the rows at hand, with their counts, in scikit-learn's category order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// The levels present in a categorical column (count > 0), sorted by their bytes (the
/// order scikit-learn's categories_ take), with their counts; and the missing count.
struct level_counts {
  std::vector<std::string> levels;
  std::vector<std::size_t> counts;
  std::size_t missing = 0;
  std::size_t rows = 0;
};
MLOPS_FUNC level_counts count_levels(const CategoricalView& v);

/// Index of each of `from`'s levels in `to` (-1 where `to` lacks it).
MLOPS_FUNC std::vector<std::int32_t> map_levels(const std::vector<std::string>& from, const std::vector<std::string>& to);

/// "a, b, c" for the card; at most 20 levels, then "... (N more)".
MLOPS_FUNC std::string join_levels(const std::vector<std::string>& levels);
MLOPS_FUNC bool strictly_sorted(const std::vector<std::string>& v);

/// Loads a list of strings saved as a count and the strings.
MLOPS_FUNC std::vector<std::string> load_strings(byte_reader& r);
MLOPS_FUNC void save_strings(byte_writer& w, const std::vector<std::string>& v);

}  // namespace detail

/// Replaces a categorical column by each row's class index: the rank of its level among
/// the levels present, in byte order (missing: NaN). Returns those levels, the class
/// labels (index k is class k). What a pipeline does with a text classification target.
template <scalar T>
std::vector<std::string> encode_labels(DataFrame<T>& frame, std::string_view column) {
  const auto v = frame.categorical(column);
  auto lc = detail::count_levels(v);
  const auto rank = detail::map_levels(*v.levels, lc.levels);
  auto col = detail::make_column<T>(v.size());
  for (std::size_t r = 0; r < v.size(); ++r)
    col.data()[r] = v.codes[r] < 0 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(rank[static_cast<std::size_t>(v.codes[r])]);
  const std::string name(column);
  const bool id = frame.is_id(name);
  std::vector<std::string> order = frame.names();
  frame.drop_inplace({name});
  frame.add_column(name, std::move(col));
  frame.set_id(name, id);
  frame = frame.select(order);  // the column keeps its place
  return std::move(lc.levels);
}

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_PREP)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC level_counts count_levels(const CategoricalView& v) {
  std::vector<std::size_t> by_code(v.n_levels(), 0);
  level_counts out;
  out.rows = v.size();
  for (const auto c : v.codes) {
    if (c < 0) ++out.missing;
    else ++by_code[static_cast<std::size_t>(c)];
  }
  std::vector<std::size_t> order;
  for (std::size_t l = 0; l < by_code.size(); ++l)
    if (by_code[l] > 0) order.push_back(l);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return (*v.levels)[a] < (*v.levels)[b]; });
  for (const auto l : order) {
    out.levels.push_back((*v.levels)[l]);
    out.counts.push_back(by_code[l]);
  }
  return out;
}

MLOPS_FUNC std::vector<std::int32_t> map_levels(const std::vector<std::string>& from, const std::vector<std::string>& to) {
  std::unordered_map<std::string_view, std::int32_t> at;
  for (std::size_t k = 0; k < to.size(); ++k) at.emplace(to[k], static_cast<std::int32_t>(k));
  std::vector<std::int32_t> out(from.size(), -1);
  for (std::size_t k = 0; k < from.size(); ++k)
    if (const auto it = at.find(from[k]); it != at.end()) out[k] = it->second;
  return out;
}

MLOPS_FUNC std::string join_levels(const std::vector<std::string>& levels) {
  std::string out;
  for (std::size_t k = 0; k < levels.size() && k < 20; ++k) out += (k ? ", " : "") + levels[k];
  if (levels.size() > 20) out += fmt::format(", ... ({} more)", levels.size() - 20);
  return out;
}

MLOPS_FUNC bool strictly_sorted(const std::vector<std::string>& v) {
  for (std::size_t k = 1; k < v.size(); ++k)
    if (!(v[k - 1] < v[k])) return false;
  return true;
}

MLOPS_FUNC std::vector<std::string> load_strings(byte_reader& r) {
  const std::size_t n = r.get_count(8);
  std::vector<std::string> out(n);
  for (auto& s : out) s = r.get_string();
  return out;
}

MLOPS_FUNC void save_strings(byte_writer& w, const std::vector<std::string>& v) {
  w.put(static_cast<std::uint64_t>(v.size()));
  for (const auto& s : v) w.put_string(s);
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_PREP
