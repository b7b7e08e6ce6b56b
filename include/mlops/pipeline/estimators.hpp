// mlops/pipeline/estimators.hpp - what a pipeline fits and holds: the trainer concept, the
// model list (PipelineModel) and Estimator<T>, any trainer held by value behind one
// interface. Naming a pipeline names no trainer class: a pipeline's fitting is compiled
// once for every trainer, and only the trainers a program uses are instantiated.
//
//   mlops::Estimator<double> e = mlops::LinearRegression<double>{.l2 = 1.0};
//   e.set_param("alpha", 10.0);
//   if (const auto* lr = mlops::get_if<mlops::LinearRegression<double>>(&e)) ...
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/clone_ptr.hpp"
#include "mlops/detail/type_list.hpp"
#include "mlops/error.hpp"
#include "mlops/frame.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/linear_classifier.hpp"
#include "mlops/learn/tree/model.hpp"
#include "mlops/params.hpp"

MLOPS_NAMESPACE_BEGIN

/// The model types a fitted pipeline can hold; PipelineModel, the file format's model
/// section, the card's "model" object and the row path are generated from this list.
/// Each provides: a stable format `tag`, `is_classifier`, `chunked_rows`, n_features(),
/// n_outputs(), predict_design(x, scores) (noexcept, no allocation; with chunked_rows also
/// predict_chunks), save/load, describe(json, design columns, num) (its card section);
/// classifiers also classes(), n_classes(), has_proba(), proba_from_scores(scores, out),
/// threshold() and set_threshold(t). docs/extending.md, "Models".
template <scalar T>
using model_types = detail::type_list<LinearModel<T>, LinearClassifier<T>, RegressionTree<T>, ClassificationTree<T>>;
static_assert(detail::distinct_tags(model_types<double>{}), "model format tags must be distinct and non-zero");
/// What a fitted pipeline predicts with.
template <scalar T>
using PipelineModel = detail::variant_of<model_types<T>>;

/// A trainer the pipeline can fit: `fit(frame, features, target)` returns a model of the
/// model list (regressors: LinearRegression, GradientDescentRegressor,
/// RecursiveLeastSquaresTrainer give a LinearModel, DecisionTreeRegressor a
/// RegressionTree; LogisticRegression and LinearSVM a LinearClassifier,
/// DecisionTreeClassifier a ClassificationTree). Optional members the pipeline uses when present: `name` (a static
/// string_view: messages), `set_param(name, param_value)` (set_param, grid search), and
/// `report_to` / `on_epoch` / `gd.on_epoch` (cleared in each cross-validation fold).
template <class E, class T>
concept trainer = requires(const E& e, const DataFrame<T>& f, const std::vector<std::string>& features, std::string_view target) {
  requires detail::variant_holds<std::decay_t<decltype(e.fit(f, features, target))>, PipelineModel<T>>;
};
template <class E, class T>
concept linear_trainer = trainer<E, T>;

/// Any trainer, held by value: what `Pipeline::estimator` stores, what cross_validate and
/// grid_search fit in each fold, and what `set_param` configures.
template <scalar T>
class Estimator {
 public:
  Estimator() = default;
  template <class E>
    requires(!std::same_as<std::decay_t<E>, Estimator> && trainer<std::decay_t<E>, T>)
  Estimator(E e) : p_(std::make_unique<model<std::decay_t<E>>>(std::move(e))) {}  // NOLINT: implicit, as a variant's

  /// false only for a default-constructed or moved-from estimator.
  bool has_value() const noexcept { return static_cast<bool>(p_); }
  /// The trainer's name (its type's `name`, e.g. "LinearRegression").
  std::string_view name() const noexcept { return p_->name(); }
  /// true when it fits a classifier (its model's is_classifier).
  bool is_classifier() const noexcept { return p_->is_classifier(); }
  /// Fits on `features` of `frame` (numeric, no missing values) against `target`.
  PipelineModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    return p_->fit(frame, features, target);
  }
  /// Fits from least-squares statistics when the trainer can (its `fit_from`); nothing
  /// otherwise (the caller fits on rows).
  std::optional<PipelineModel<T>> fit_from(const LeastSquaresStats<T>& stats) const { return p_->fit_from(stats); }
  /// true when the trainer has a `fit_from` (it may still decline given statistics).
  bool fits_from_statistics() const noexcept { return p_->fits_from_statistics(); }
  /// Sets one of the trainer's parameters by name; argument_error names the known ones.
  void set_param(std::string_view param, const param_value& v) { p_->set_param(param, v); }
  /// The trainer's parameters by name, replayable through set_param (empty when its type
  /// has no params()).
  param_list params() const { return p_->params(); }
  /// Drops the callbacks and result sinks (report_to, on_epoch) a copy must not share
  /// with the original: what each cross-validation fold fits with.
  void clear_callbacks() noexcept { p_->clear_callbacks(); }

  /// The held trainer if it is an E, else nullptr.
  template <class E>
  const E* get_if() const noexcept {
    const auto* m = p_.template as<model<E>>(&detail::type_key<E>);
    return m ? &m->value : nullptr;
  }
  template <class E>
  E* get_if() noexcept {
    auto* m = p_.template as<model<E>>(&detail::type_key<E>);
    return m ? &m->value : nullptr;
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual std::unique_ptr<concept_t> clone() const = 0;
    virtual const void* key() const noexcept = 0;
    virtual std::string_view name() const noexcept = 0;
    virtual bool is_classifier() const noexcept = 0;
    virtual PipelineModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const = 0;
    virtual std::optional<PipelineModel<T>> fit_from(const LeastSquaresStats<T>& stats) const = 0;
    virtual bool fits_from_statistics() const noexcept = 0;
    virtual void set_param(std::string_view param, const param_value& v) = 0;
    virtual param_list params() const = 0;
    virtual void clear_callbacks() noexcept = 0;
  };
  template <class E>
  struct model final : concept_t {
    using model_type = std::decay_t<decltype(std::declval<const E&>().fit(std::declval<const DataFrame<T>&>(),
                                                                           std::declval<const std::vector<std::string>&>(),
                                                                           std::declval<std::string_view>()))>;
    E value;
    explicit model(E e) : value(std::move(e)) {}
    std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(value); }
    const void* key() const noexcept override { return &detail::type_key<E>; }
    std::string_view name() const noexcept override {
      if constexpr (requires { std::string_view(E::name); }) return E::name;
      else return "estimator";
    }
    bool is_classifier() const noexcept override { return model_type::is_classifier; }
    PipelineModel<T> fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const override {
      return PipelineModel<T>(value.fit(frame, features, target));
    }
    std::optional<PipelineModel<T>> fit_from(const LeastSquaresStats<T>& stats) const override {
      if constexpr (requires { value.fit_from(stats); }) {
        return PipelineModel<T>(value.fit_from(stats));
      } else {
        (void)stats;
        return std::nullopt;
      }
    }
    bool fits_from_statistics() const noexcept override {
      return requires(const LeastSquaresStats<T>& stats) { value.fit_from(stats); };
    }
    void set_param(std::string_view param, const param_value& v) override {
      if constexpr (requires { value.set_param(param, v); }) value.set_param(param, v);
      else detail::unknown_param(name(), param, "none (it takes no parameters by name)");
    }
    param_list params() const override {
      if constexpr (requires { value.params(); }) return value.params();
      else return {};
    }
    void clear_callbacks() noexcept override {
      if constexpr (requires { value.report_to = nullptr; }) value.report_to = nullptr;
      if constexpr (requires { value.on_epoch = nullptr; }) value.on_epoch = nullptr;
      if constexpr (requires { value.gd.on_epoch = nullptr; }) value.gd.on_epoch = nullptr;
    }
  };
  detail::clone_ptr<concept_t> p_;
};

/// std::get_if's shape: the held trainer as an E, or nullptr (also for a null pointer).
template <class E, scalar T>
const E* get_if(const Estimator<T>* e) noexcept {
  return e ? e->template get_if<E>() : nullptr;
}
template <class E, scalar T>
E* get_if(Estimator<T>* e) noexcept {
  return e ? e->template get_if<E>() : nullptr;
}
/// std::get's shape: the held trainer as an E; argument_error naming the held one otherwise.
template <class E, scalar T>
const E& get(const Estimator<T>& e) {
  if (const E* x = e.template get_if<E>()) return *x;
  MLOPS_THROW(argument_error(errc::invalid_argument,
                             fmt::format("this estimator is '{}', not the type asked for", e.has_value() ? e.name() : "empty")));
}
template <class E, scalar T>
E& get(Estimator<T>& e) {
  if (E* x = e.template get_if<E>()) return *x;
  MLOPS_THROW(argument_error(errc::invalid_argument,
                             fmt::format("this estimator is '{}', not the type asked for", e.has_value() ? e.name() : "empty")));
}

MLOPS_NAMESPACE_END
