// mlops/learn/tree/trainers.hpp - CART decision trees: DecisionTreeRegressor<T> (squared
// error) -> RegressionTree<T>, DecisionTreeClassifier<T> (Gini or entropy) ->
// ClassificationTree<T>.
//
//   mlops::DecisionTreeRegressor<double>{{.max_depth = 8, .min_samples_leaf = 5}}.fit(frame, features, "y")
//
// Splits are exact, placed as scikit-learn places them: the features' values sorted once,
// every boundary between distinct values (values closer than 1e-7 count as equal, as in
// scikit-learn) is a candidate, the threshold is the midpoint x[p-1]/2 + x[p]/2 (x[p-1]
// when the midpoint rounds up to x[p]), and the best candidate is the first of the
// largest impurity decrease, features visited in index order (with max_features, a
// subset drawn per node by our seeded generator). Where no two candidates tie, the tree
// is scikit-learn's (tests/test_tree.cpp checks it on diabetes and breast cancer).
// The builder's body (learn/tree/cart.hpp) is compiled only where MLOPS_TEMPLATE_BODIES is
// 1: header-only, or src/learn_tree.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/frame.hpp"
#include "mlops/learn/tree/model.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

/// How many features each split considers: all (default), a count, a fraction of them
/// (max(1, floor(fraction * d))), or sqrt(d) / log2(d) (at least 1).
struct tree_max_features {
  enum class rule : std::uint8_t { all, count, fraction, sqrt, log2 };
  rule kind = rule::all;
  double value = 0;
  std::size_t resolve(std::size_t d) const noexcept {
    std::size_t m = d;
    switch (kind) {
      case rule::all: m = d; break;
      case rule::count: m = static_cast<std::size_t>(value); break;
      case rule::fraction: m = static_cast<std::size_t>(std::floor(value * static_cast<double>(d))); break;
      case rule::sqrt: m = static_cast<std::size_t>(std::sqrt(static_cast<double>(d))); break;
      case rule::log2: m = static_cast<std::size_t>(std::log2(static_cast<double>(d))); break;
    }
    return m < 1 ? 1 : (m > d ? d : m);
  }
};

/// What both trees take (scikit-learn's names and defaults).
struct tree_options {
  std::size_t max_depth = 0;           // 0: unlimited
  std::size_t min_samples_split = 2;   // a node with fewer rows is a leaf
  std::size_t min_samples_leaf = 1;    // each child keeps at least this many rows
  tree_max_features max_features{};    // features considered per split
  double min_impurity_decrease = 0;    // split only when the weighted decrease reaches this
  std::uint64_t seed = 0;              // draws the features when max_features < d
};

namespace detail {
/// Sets one of tree_options by name; false when `param` is not one of them.
MLOPS_FUNC bool set_tree_param(tree_options& o, std::string_view param, const param_value& v);
/// tree_options by name, as set_tree_param takes them.
MLOPS_FUNC param_list tree_params(const tree_options& o);
inline constexpr std::string_view tree_param_names = "max_depth, min_samples_split, min_samples_leaf, max_features, min_impurity_decrease, seed";
/// Builds a tree on d columns of n rows: y holds the target (regression, n_classes 0) or
/// each row's class index (classification). Throws argument_error / data_error.
template <class T>
tree_nodes build_cart(std::string_view who, std::span<const std::span<const T>> columns, std::span<const double> y, std::size_t n_classes,
                      tree_criterion criterion, const tree_options& o, std::span<const std::string> names);
}  // namespace detail

template <scalar T>
struct DecisionTreeRegressor : tree_options {
  static constexpr std::string_view name = "DecisionTreeRegressor";

  /// names (optional): column names for error messages.
  RegressionTree<T> fit(std::span<const std::span<const T>> columns, std::span<const T> y, std::span<const std::string> names = {}) const;
  RegressionTree<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    return fit(cols, frame.column(target), features);
  }
  /// Sets a parameter by name: max_depth (0: unlimited), min_samples_split,
  /// min_samples_leaf, max_features (a count, a fraction, "sqrt", "log2", "all"),
  /// min_impurity_decrease, seed.
  void set_param(std::string_view param, const param_value& v) {
    if (!detail::set_tree_param(*this, param, v)) detail::unknown_param(name, param, detail::tree_param_names);
  }
  /// Every parameter by name, as set_param takes them.
  param_list params() const { return detail::tree_params(*this); }
};

template <scalar T>
struct DecisionTreeClassifier : tree_options {
  static constexpr std::string_view name = "DecisionTreeClassifier";
  tree_criterion criterion = tree_criterion::gini;  // gini or entropy
  double threshold = 0.5;        // binary: predict classes()[1] when its probability > threshold
  std::size_t max_classes = 256;

  /// names (optional): column names for error messages.
  ClassificationTree<T> fit(std::span<const std::span<const T>> columns, std::span<const T> y, std::span<const std::string> names = {}) const;
  ClassificationTree<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    std::vector<std::span<const T>> cols;
    for (const auto& f : features) cols.push_back(frame.column(f));
    return fit(cols, frame.column(target), features);
  }
  /// Sets a parameter by name: criterion (gini, entropy), threshold, and the tree options
  /// (see DecisionTreeRegressor::set_param).
  void set_param(std::string_view param, const param_value& v) {
    if (param == "criterion")
      criterion = detail::param_enum<tree_criterion>(param, v, {{"gini", tree_criterion::gini}, {"entropy", tree_criterion::entropy}});
    else if (param == "threshold") threshold = detail::param_number(param, v);
    else if (!detail::set_tree_param(*this, param, v))
      detail::unknown_param(name, param, fmt::format("criterion, threshold, {}", detail::tree_param_names));
  }
  /// Every parameter by name, as set_param takes them.
  param_list params() const {
    auto p = detail::tree_params(*this);
    p.emplace_back("criterion", std::string(to_string(criterion)));
    p.emplace_back("threshold", threshold);
    return p;
  }
};

// The compiled mode holds these (src/learn_tree.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct DecisionTreeRegressor)
MLOPS_EXTERN_TEMPLATE_FD(struct DecisionTreeClassifier)

MLOPS_NAMESPACE_END

#if MLOPS_TEMPLATE_BODIES
#include "mlops/learn/tree/cart.hpp"
#endif

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_TREE)
MLOPS_NAMESPACE_BEGIN
namespace detail {
MLOPS_FUNC bool set_tree_param(tree_options& o, std::string_view param, const param_value& v) {
  if (param == "max_depth") o.max_depth = param_count(param, v);
  else if (param == "min_samples_split") o.min_samples_split = param_count(param, v);
  else if (param == "min_samples_leaf") o.min_samples_leaf = param_count(param, v);
  else if (param == "min_impurity_decrease") o.min_impurity_decrease = param_number(param, v);
  else if (param == "seed") o.seed = param_count(param, v);
  else if (param == "max_features") {
    using rule = tree_max_features::rule;
    if (std::holds_alternative<std::string>(v)) {
      o.max_features = {param_enum<rule>(param, v, {{"all", rule::all}, {"sqrt", rule::sqrt}, {"log2", rule::log2}}), 0};
    } else {
      const double x = param_number(param, v);
      if (x > 0 && x < 1) o.max_features = {rule::fraction, x};
      else if (x >= 1 && x == std::floor(x)) o.max_features = {rule::count, x};
      else
        MLOPS_THROW(argument_error(errc::invalid_argument,
                                   fmt::format("max_features {}: give a count >= 1, a fraction in (0, 1), sqrt, log2 or all", x)));
    }
  } else return false;
  return true;
}
MLOPS_FUNC param_list tree_params(const tree_options& o) {
  using rule = tree_max_features::rule;
  param_value mf = std::string("all");
  switch (o.max_features.kind) {
    case rule::all: break;
    case rule::sqrt: mf = std::string("sqrt"); break;
    case rule::log2: mf = std::string("log2"); break;
    case rule::count:
    case rule::fraction: mf = o.max_features.value; break;
  }
  return {{"max_depth", static_cast<double>(o.max_depth)},
          {"min_samples_split", static_cast<double>(o.min_samples_split)},
          {"min_samples_leaf", static_cast<double>(o.min_samples_leaf)},
          {"max_features", mf},
          {"min_impurity_decrease", o.min_impurity_decrease},
          {"seed", static_cast<double>(o.seed)}};
}
}  // namespace detail
MLOPS_NAMESPACE_END
#endif
