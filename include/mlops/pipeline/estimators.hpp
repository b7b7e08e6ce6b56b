// mlops/pipeline/estimators.hpp - what a pipeline fits and holds: the trainer concept, the model list
// (PipelineModel) and the Estimator list (the library's trainers, by value).
#pragma once

#include <concepts>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mlops/detail/type_list.hpp"
#include "mlops/frame.hpp"
#include "mlops/learn/classifier.hpp"
#include "mlops/learn/gd.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/online.hpp"

MLOPS_NAMESPACE_BEGIN

/// A trainer the pipeline can fit: `fit(frame, features, target)` returns a LinearModel
/// (regressors: LinearRegression, GradientDescentRegressor, RecursiveLeastSquaresTrainer)
/// or a LinearClassifier (LogisticRegression, LinearSVM).
template <class E, class T>
concept trainer = requires(const E& e, const DataFrame<T>& f, const std::vector<std::string>& features, std::string_view target) {
  requires std::same_as<decltype(e.fit(f, features, target)), LinearModel<T>> ||
               std::same_as<decltype(e.fit(f, features, target)), LinearClassifier<T>>;
};
template <class E, class T>
concept linear_trainer = trainer<E, T>;

/// The model types a fitted pipeline can hold (each with a stable format `tag` and an
/// `is_classifier` trait); PipelineModel is generated from this list.
template <scalar T>
using model_types = detail::type_list<LinearModel<T>, LinearClassifier<T>>;
static_assert(detail::distinct_tags(model_types<double>{}), "model format tags must be distinct and non-zero");
/// What a fitted pipeline predicts with.
template <scalar T>
using PipelineModel = detail::variant_of<model_types<T>>;

/// Any of the library's trainers, held by value: what `Pipeline::estimator` stores, what
/// cross_validate and grid_search fit in each fold, and what `set_param` configures.
template <scalar T>
using Estimator = std::variant<LinearRegression<T>, GradientDescentRegressor<T>, RecursiveLeastSquaresTrainer<T>,
                               LogisticRegression<T>, LinearSVM<T>>;

MLOPS_NAMESPACE_END
