// mlops/select/trainers.hpp - the library's trainers by name: one list of entries (name,
// task, description, default configuration) that the command line's `--model NAME` and
// its usage text, the "NAME.param" prefix of set_param and grid search, and
// make_trainer(name) are made from. A new trainer is one more entry.
//
//   auto e = mlops::make_trainer<double>("tree");   // DecisionTreeRegressor
//   e.set_param("max_depth", 6.0);
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "mlops/eval/scoring.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN

/// One trainer the library knows by name.
template <scalar T>
struct trainer_entry {
  std::string_view name;         // --model NAME, "NAME.param"
  task_kind task;                // what it fits
  std::string_view description;  // one line, for usage texts
  Estimator<T> (*make)();        // its default configuration
};

/// Every trainer the library knows by name, in the order usage texts list them.
template <scalar T>
std::span<const trainer_entry<T>> trainer_list() {
  static const trainer_entry<T> list[] = {
      {"linear", task_kind::regression, "least squares, closed form (LinearRegression)", [] { return Estimator<T>(LinearRegression<T>{}); }},
      {"ridge", task_kind::regression, "least squares with an L2 penalty alpha, default 1 (LinearRegression)",
       [] {
         LinearRegression<T> r;
         r.l2 = 1.0;
         return Estimator<T>(r);
       }},
      {"gd", task_kind::regression, "least squares by full-batch gradient descent (GradientDescentRegressor)",
       [] { return Estimator<T>(GradientDescentRegressor<T>{}); }},
      {"sgd", task_kind::regression,
       "least squares by stochastic gradient descent, one row per step, scikit-learn SGDRegressor()'s defaults (GradientDescentRegressor)",
       [] {
         GradientDescentRegressor<T> g;
         g.batch_size = 1;
         g.rate = inverse_scaling{0.01, 0.25};
         g.tol = 1e-3;
         g.n_iter_no_change = 5;
         g.l2 = 1e-4;
         return Estimator<T>(g);
       }},
      {"rls", task_kind::regression, "recursive least squares, the on-device trainer (RecursiveLeastSquaresTrainer)",
       [] { return Estimator<T>(RecursiveLeastSquaresTrainer<T>{}); }},
      {"tree", task_kind::regression, "CART regression tree, squared error (DecisionTreeRegressor)",
       [] { return Estimator<T>(DecisionTreeRegressor<T>{}); }},
      {"logistic", task_kind::classification, "logistic regression (LogisticRegression)", [] { return Estimator<T>(LogisticRegression<T>{}); }},
      {"svm", task_kind::classification, "linear SVM, hinge loss (LinearSVM)", [] { return Estimator<T>(LinearSVM<T>{}); }},
      {"tree_classifier", task_kind::classification, "CART classification tree, gini or entropy (DecisionTreeClassifier)",
       [] { return Estimator<T>(DecisionTreeClassifier<T>{}); }},
  };
  return list;
}

/// The entry named `name`, or nullptr.
template <scalar T>
const trainer_entry<T>* find_trainer(std::string_view name) noexcept {
  for (const auto& e : trainer_list<T>())
    if (e.name == name) return &e;
  return nullptr;
}

/// "linear, ridge, ..." for messages.
template <scalar T>
std::string trainer_names() {
  std::string out;
  for (const auto& e : trainer_list<T>()) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

/// The trainer named `name` in its default configuration; argument_error naming the known ones.
template <scalar T>
Estimator<T> make_trainer(std::string_view name) {
  if (const auto* e = find_trainer<T>(name)) return e->make();
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("unknown trainer '{}'; known: {}", name, trainer_names<T>())));
}

MLOPS_NAMESPACE_END
