// mlops/learn/tree/model.hpp - the fitted decision trees: RegressionTree<T> (what
// DecisionTreeRegressor returns) and ClassificationTree<T> (DecisionTreeClassifier), over
// one node table (detail::tree_nodes): the row kernels the pipeline's row path calls
// (noexcept, no allocation), the card section, and save/load.
//
// Nodes are stored in preorder: an inner node's left child is the next node, its right
// child is `next`; a leaf's `next` indexes its values. A row goes left when
// x[feature] <= threshold (compared in double, as scikit-learn compares). A missing
// (NaN) value met on the path makes the prediction NaN: the pipeline then reports the
// row, as it does for the linear models.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/error.hpp"
#include "mlops/fwd.hpp"
#include "mlops/learn/linear_classifier.hpp"

MLOPS_NAMESPACE_BEGIN

/// What a tree's split minimises: squared error (regression), Gini impurity or entropy
/// (classification).
enum class tree_criterion : std::uint8_t { squared_error = 1, gini = 2, entropy = 3 };

constexpr std::string_view to_string(tree_criterion c) noexcept {
  switch (c) {
    case tree_criterion::squared_error: return "squared_error";
    case tree_criterion::gini: return "gini";
    case tree_criterion::entropy: return "entropy";
  }
  return "?";
}

namespace detail {

/// One node of a fitted tree (16 bytes: the row kernel's whole working set).
struct tree_node {
  double threshold = 0;        // inner: x[feature] <= threshold goes to the left child (this + 1)
  std::int32_t feature = -1;   // -1: a leaf
  std::uint32_t next = 0;      // inner: the right child; leaf: the index of its values
};

/// The node table and what describes it, shared by both kinds of tree. `width` values per
/// leaf: 1 for a regression tree (the mean), the class fractions for a classifier.
struct tree_nodes {
  std::vector<tree_node> nodes;
  std::vector<double> values;          // leaves x width
  std::vector<std::uint64_t> samples;  // per node: training rows that reached it
  std::vector<double> impurity;        // per node
  std::vector<double> importances;     // per feature: normalised total impurity decrease (sum 1, or all 0)
  std::size_t n_features = 0, width = 1, depth = 0, n_leaves = 0, n_samples = 0;
  tree_criterion criterion = tree_criterion::squared_error;
  std::size_t max_depth = 0, min_samples_split = 2, min_samples_leaf = 1;  // as fitted (0: unlimited depth)

  /// The leaf a design row reaches; npos when a value on its path is NaN.
  static constexpr std::uint32_t npos = ~std::uint32_t{0};
  template <class T>
  std::uint32_t leaf_of(const T* x) const noexcept {
    const tree_node* n = nodes.data();
    std::uint32_t i = 0;
    while (n[i].feature >= 0) {
      const double v = static_cast<double>(x[n[i].feature]);
      if (MLOPS_UNLIKELY(std::isnan(v))) return npos;
      i = v <= n[i].threshold ? i + 1 : n[i].next;
    }
    return n[i].next;
  }
  const double* leaf_values(std::uint32_t leaf) const noexcept { return values.data() + static_cast<std::size_t>(leaf) * width; }

  void save(byte_writer& w) const {
    w.put(static_cast<std::uint8_t>(criterion));
    w.put(static_cast<std::uint64_t>(n_features));
    w.put(static_cast<std::uint64_t>(width));
    w.put(static_cast<std::uint64_t>(max_depth));
    w.put(static_cast<std::uint64_t>(min_samples_split));
    w.put(static_cast<std::uint64_t>(min_samples_leaf));
    w.put(static_cast<std::uint64_t>(n_samples));
    w.put(static_cast<std::uint64_t>(nodes.size()));
    for (const auto& n : nodes) {
      w.put(n.threshold);
      w.put(n.feature);
      w.put(n.next);
    }
    w.put_array<double>(values);
    w.put_array<std::uint64_t>(samples);
    w.put_array<double>(impurity);
    w.put_array<double>(importances);
  }
  /// Reads and checks a table: every child index points forward (no cycles), every leaf
  /// owns one block of values, every feature index is in range.
  static tree_nodes load(byte_reader& r) {
    tree_nodes t;
    const auto c = r.get<std::uint8_t>();
    if (c < 1 || c > 3) r.corrupt("unknown tree criterion " + std::to_string(c));
    t.criterion = static_cast<tree_criterion>(c);
    t.n_features = static_cast<std::size_t>(r.get<std::uint64_t>());
    t.width = static_cast<std::size_t>(r.get<std::uint64_t>());
    t.max_depth = static_cast<std::size_t>(r.get<std::uint64_t>());
    t.min_samples_split = static_cast<std::size_t>(r.get<std::uint64_t>());
    t.min_samples_leaf = static_cast<std::size_t>(r.get<std::uint64_t>());
    t.n_samples = static_cast<std::size_t>(r.get<std::uint64_t>());
    if (t.width < 1 || t.width > max_outputs) r.corrupt(fmt::format("a tree with {} values per leaf", t.width));
    if (t.n_features > (std::uint64_t{1} << 31)) r.corrupt("a tree with too many features");
    const std::size_t n = r.get_count(16);
    if (n == 0 || n > std::numeric_limits<std::uint32_t>::max() / 2) r.corrupt(fmt::format("a tree with {} nodes", n));
    t.nodes.resize(n);
    for (auto& node : t.nodes) {
      node.threshold = r.get<double>();
      node.feature = r.get<std::int32_t>();
      node.next = r.get<std::uint32_t>();
    }
    t.values = r.get_array<double>();
    t.samples = r.get_array<std::uint64_t>();
    t.impurity = r.get_array<double>();
    t.importances = r.get_array<double>();
    if (t.samples.size() != n || t.impurity.size() != n) r.corrupt("the tree's node statistics do not match its nodes");
    if (t.importances.size() != t.n_features) r.corrupt("the tree's importances do not match its features");
    // Preorder: node i's children lie after it, so walks end; depth from the same pass.
    std::vector<std::uint32_t> depth(n, 0);
    std::size_t leaves = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& node = t.nodes[i];
      if (node.feature < 0) {
        if (node.feature != -1) r.corrupt("a tree node has a negative feature index");
        if (node.next != leaves) r.corrupt("the tree's leaves are not numbered in order");
        ++leaves;
        t.depth = (std::max)(t.depth, static_cast<std::size_t>(depth[i]));
        continue;
      }
      if (static_cast<std::size_t>(node.feature) >= t.n_features) r.corrupt("a tree node splits on a feature out of range");
      if (!std::isfinite(node.threshold)) r.corrupt("a tree threshold is not finite");
      if (i + 1 >= n || node.next <= i + 1 || node.next >= n) r.corrupt("a tree node's children are out of order");
      depth[i + 1] = depth[node.next] = depth[i] + 1;
    }
    if (t.values.size() != leaves * t.width) r.corrupt("the tree's leaf values do not match its leaves");
    for (const double v : t.values)
      if (!std::isfinite(v)) r.corrupt("a tree leaf value is not finite");
    t.n_leaves = leaves;
    // Reachability: with children after their parent, each node but the root must be
    // the child of exactly one node (else a node would be shared or orphaned).
    std::vector<std::uint8_t> parents(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      if (t.nodes[i].feature >= 0) ++parents[i + 1], ++parents[t.nodes[i].next];
    for (std::size_t i = 1; i < n; ++i)
      if (parents[i] != 1) r.corrupt("a tree node is shared or unreachable");
    return t;
  }

  /// The card's description (model card "model" object): criterion, depth, leaves, the
  /// fitted limits and the feature importances by design column.
  template <class Json, class Num>
  void describe(Json& j, std::span<const std::string> design, Num num) const {
    j["criterion"] = std::string(to_string(criterion));
    j["depth"] = depth;
    j["leaves"] = n_leaves;
    j["nodes"] = nodes.size();
    j["max_depth"] = max_depth;
    j["min_samples_split"] = min_samples_split;
    j["min_samples_leaf"] = min_samples_leaf;
    j["n_samples"] = n_samples;
    Json imp = Json::object();
    for (std::size_t c = 0; c < design.size() && c < importances.size(); ++c) imp[design[c]] = num(importances[c]);
    j["feature_importances"] = std::move(imp);
  }
};

/// What both fitted trees answer from their node table.
class tree_model_base {
 public:
  std::size_t n_features() const noexcept { return t_.n_features; }
  /// Longest root-to-leaf path (0: the root is a leaf), number of leaves and of nodes.
  std::size_t depth() const noexcept { return t_.depth; }
  std::size_t n_leaves() const noexcept { return t_.n_leaves; }
  std::size_t n_nodes() const noexcept { return t_.nodes.size(); }
  std::size_t n_samples() const noexcept { return t_.n_samples; }
  /// Normalised total impurity decrease per feature (scikit-learn's feature_importances_).
  const std::vector<double>& feature_importances() const noexcept { return t_.importances; }
  /// The node table (preorder), for export and inspection.
  const tree_nodes& nodes() const noexcept { return t_; }

 protected:
  tree_nodes t_;
};

}  // namespace detail

/// A fitted regression tree: each leaf predicts the mean target of its training rows.
template <scalar T>
class RegressionTree : public detail::tree_model_base {
 public:
  static constexpr std::uint8_t tag = 3;  // format tag (model section): never changes
  static constexpr bool is_classifier = false;
  static constexpr bool chunked_rows = false;  // a tree reads its row in any order: predict_design

  std::size_t n_outputs() const noexcept { return 1; }

  /// The prediction for a design row x[0 .. n_features()), also in s[0]; NaN when a value
  /// on the row's path is NaN. noexcept, allocation-free.
  T predict_design(const T* x, double* s) const noexcept {
    const std::uint32_t leaf = t_.leaf_of(x);
    s[0] = leaf == detail::tree_nodes::npos ? std::numeric_limits<double>::quiet_NaN() : t_.leaf_values(leaf)[0];
    return static_cast<T>(s[0]);
  }
  T predict_row(std::span<const T> x) const noexcept {
    MLOPS_ASSERT(x.size() == n_features(), "row length must equal the number of features");
    double s = 0;
    return predict_design(x.data(), &s);
  }

  void save(detail::byte_writer& w) const { t_.save(w); }
  static RegressionTree load(detail::byte_reader& r) {
    RegressionTree m;
    m.t_ = detail::tree_nodes::load(r);
    if (m.t_.width != 1 || m.t_.criterion != tree_criterion::squared_error) r.corrupt("not a regression tree");
    return m;
  }
  template <class Json, class Num>
  void describe(Json& j, std::span<const std::string> design, Num num) const {
    j["kind"] = "tree";
    t_.describe(j, design, num);
  }

 private:
  template <scalar>
  friend struct DecisionTreeRegressor;
};

/// A fitted classification tree: each leaf holds the class fractions of its training
/// rows (predict_proba); the label is the most frequent class (the first on ties), or
/// for two classes classes()[1] when its fraction > threshold() (default 0.5, the same).
template <scalar T>
class ClassificationTree : public detail::tree_model_base {
 public:
  static constexpr std::uint8_t tag = 4;  // format tag (model section): never changes
  static constexpr bool is_classifier = true;
  static constexpr bool chunked_rows = false;

  std::size_t n_classes() const noexcept { return classes_.size(); }
  /// The scores are the class probabilities: one per class.
  std::size_t n_outputs() const noexcept { return classes_.size(); }
  const std::vector<T>& classes() const noexcept { return classes_; }
  bool has_proba() const noexcept { return true; }
  /// Binary decision threshold on the probability of classes()[1]; ignored for multiclass.
  double threshold() const noexcept { return threshold_; }
  void set_threshold(double t) {
    if (!(t > 0 && t < 1))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("threshold {} is outside (0, 1) for a probability", t)));
    threshold_ = t;
  }

  /// Class probabilities of a design row into s[0 .. n_classes()); returns the label
  /// (NaN, and NaN scores, when a value on the row's path is NaN). noexcept, allocation-free.
  T predict_design(const T* x, double* s) const noexcept {
    const std::uint32_t leaf = t_.leaf_of(x);
    const std::size_t K = classes_.size();
    if (leaf == detail::tree_nodes::npos) {
      for (std::size_t k = 0; k < K; ++k) s[k] = std::numeric_limits<double>::quiet_NaN();
      return std::numeric_limits<T>::quiet_NaN();
    }
    const double* v = t_.leaf_values(leaf);
    for (std::size_t k = 0; k < K; ++k) s[k] = v[k];
    return label_or_nan(s);
  }
  /// The label for finished scores (probabilities); NaN when one is not finite.
  T label_or_nan(const double* s) const noexcept {
    const std::size_t K = classes_.size();
    for (std::size_t k = 0; k < K; ++k)
      if (!std::isfinite(s[k])) return std::numeric_limits<T>::quiet_NaN();
    if (K == 2) return classes_[s[1] > threshold_ ? 1 : 0];
    std::size_t best = 0;
    for (std::size_t k = 1; k < K; ++k)
      if (s[k] > s[best]) best = k;
    return classes_[best];
  }
  /// Probabilities from finished scores: the scores are the probabilities.
  bool proba_from_scores(const double* s, double* out) const noexcept {
    std::copy(s, s + classes_.size(), out);
    return true;
  }
  T predict_row(std::span<const T> x) const noexcept {
    MLOPS_ASSERT(x.size() == n_features(), "row length must equal the number of features");
    std::array<double, max_outputs> s;
    return predict_design(x.data(), s.data());
  }

  void save(detail::byte_writer& w) const {
    t_.save(w);
    w.put(threshold_);
    w.put_array<T>(std::span<const T>(classes_));
  }
  static ClassificationTree load(detail::byte_reader& r) {
    ClassificationTree m;
    m.t_ = detail::tree_nodes::load(r);
    m.threshold_ = r.get<double>();
    m.classes_ = r.get_array<T>();
    const std::size_t K = m.classes_.size();
    if (K < 2 || K > max_outputs || m.t_.width != K) r.corrupt(fmt::format("a classification tree with {} classes", K));
    if (m.t_.criterion == tree_criterion::squared_error) r.corrupt("not a classification tree");
    if (!(m.threshold_ > 0 && m.threshold_ < 1)) r.corrupt("the tree's threshold is outside (0, 1)");
    for (std::size_t k = 0; k < K; ++k)
      if (!std::isfinite(m.classes_[k]) || (k > 0 && !(m.classes_[k - 1] < m.classes_[k])))
        r.corrupt("class labels are not finite and strictly increasing");
    return m;
  }
  template <class Json, class Num>
  void describe(Json& j, std::span<const std::string> design, Num num) const {
    j["kind"] = "tree_classifier";
    Json classes = Json::array();
    for (const T c : classes_) classes.push_back(num(static_cast<double>(c)));
    j["classes"] = std::move(classes);
    j["threshold"] = threshold_;
    t_.describe(j, design, num);
  }

 private:
  template <scalar>
  friend struct DecisionTreeClassifier;
  std::vector<T> classes_;
  double threshold_ = 0.5;
};

MLOPS_EXTERN_TEMPLATE_FD(class RegressionTree)
MLOPS_EXTERN_TEMPLATE_FD(class ClassificationTree)

MLOPS_NAMESPACE_END
