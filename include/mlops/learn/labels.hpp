// mlops/learn/labels.hpp - what a classifier's trainers do with the target: its distinct
// labels (sorted; each row's class index), class weighting (none, balanced, explicit) and
// the per-row sample weights it gives.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/error.hpp"
#include "mlops/fwd.hpp"

MLOPS_NAMESPACE_BEGIN

/// How classes are weighted: none, scikit-learn's "balanced" (n / (K * count_k)), or
/// explicit weights per class in classes() order.
struct class_weighting {
  bool balanced = false;
  std::vector<double> weights;  // explicit, one per class (sorted labels); empty = all 1
};

namespace detail {

/// Sorted distinct labels and each row's class index (as double, for the core).
template <class T>
struct encoded_labels {
  std::vector<T> classes;
  std::vector<double> index;
  std::vector<std::size_t> counts;
};

template <class T>
encoded_labels<T> encode_labels(std::string_view who, std::span<const T> y, std::size_t max_classes,
                                std::span<const T> known = {}) {
  encoded_labels<T> e;
  if (!known.empty()) {
    e.classes.assign(known.begin(), known.end());
  } else {
    // Distinct labels into a small sorted vector: O(n log K), and it stops as soon as
    // there are more than max_classes of them.
    for (const T v : y) {
      const auto it = std::lower_bound(e.classes.begin(), e.classes.end(), v);
      if (it != e.classes.end() && *it == v) continue;
      if (e.classes.size() == max_classes) {
        e.classes.insert(it, v);
        break;
      }
      e.classes.insert(it, v);
    }
    if (e.classes.size() > max_classes)
      MLOPS_THROW(data_error(errc::data_labels,
                             fmt::format("{}: the target has more than max_classes = {} distinct values; is it a regression "
                                         "target? Use a regressor, or raise max_classes",
                                         who, max_classes)));
    if (e.classes.size() < 2)
      MLOPS_THROW(data_error(errc::data_single_class,
                             fmt::format("{}: the target holds a single class ({}); a classifier needs rows of at least two "
                                         "classes (check the split or the filter that produced the training data)",
                                         who, e.classes.empty() ? std::string("none") : fmt::format("{}", e.classes[0]))));
  }
  e.index.resize(y.size());
  e.counts.assign(e.classes.size(), 0);
  for (std::size_t i = 0; i < y.size(); ++i) {
    const auto it = std::lower_bound(e.classes.begin(), e.classes.end(), y[i]);
    if (it == e.classes.end() || *it != y[i])
      MLOPS_THROW(data_error(errc::data_labels, fmt::format("{}: row {} has label {}, which is not one of the model's classes {}",
                                                            who, i, y[i], fmt::join(e.classes, ", "))));
    const auto k = static_cast<std::size_t>(it - e.classes.begin());
    e.index[i] = static_cast<double>(k);
    ++e.counts[k];
  }
  return e;
}

/// Per-class weights (empty when all are 1) and per-row sample weights.
template <class T>
std::vector<double> class_weight_vector(std::string_view who, const class_weighting& cw, const encoded_labels<T>& e) {
  const std::size_t K = e.classes.size();
  if (cw.balanced) {
    std::vector<double> w(K);
    for (std::size_t k = 0; k < K; ++k)
      w[k] = e.counts[k] == 0 ? 0.0 : static_cast<double>(e.index.size()) / (static_cast<double>(K) * static_cast<double>(e.counts[k]));
    return w;
  }
  if (cw.weights.empty()) return {};
  if (cw.weights.size() != K)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{}: {} class weights for {} classes", who, cw.weights.size(), K)));
  for (const double v : cw.weights)
    if (!(v >= 0) || !std::isfinite(v))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("{}: class weights must be finite and >= 0", who)));
  return cw.weights;
}

MLOPS_FUNC std::vector<double> row_weights(const std::vector<double>& class_w, const std::vector<double>& index);

}  // namespace detail

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_CLASSIFIER)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::vector<double> row_weights(const std::vector<double>& class_w, const std::vector<double>& index) {
  if (class_w.empty()) return {};
  std::vector<double> w(index.size());
  for (std::size_t i = 0; i < index.size(); ++i) w[i] = class_w[static_cast<std::size_t>(index[i])];
  return w;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_LEARN_CLASSIFIER
