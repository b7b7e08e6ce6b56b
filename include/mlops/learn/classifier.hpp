// mlops/learn/classifier.hpp - linear classifiers: logistic regression and the linear SVM.
//
//   LogisticRegression<T>{.C = 1.0}.fit(frame, features, "label") -> LinearClassifier<T>
//   LinearSVM<T>{}.fit(frame, features, "label")                   -> LinearClassifier<T>
//
// Labels are the distinct values of the target column, whatever they are (0/1, -1/+1,
// 3/7/9): classes() lists them sorted ascending and predict returns them, never an
// internal index. Two classes give one output (the log-odds or the margin of the larger
// label); K > 2 classes give K outputs (softmax for logistic regression, one-vs-rest
// hinges for the SVM).
//
// Logistic regression minimises (1/n) sum_i s_i logloss_i + l2/2 |W|^2 with
// l2 = 1 / (C n): the same minimiser as scikit-learn's LogisticRegression(C=...) with
// its lbfgs/newton solvers (intercept unpenalised, class weights as sample weights).
// Solvers: Newton with a backtracking line search (binary, d <= newton_max_features;
// quadratic convergence, one Hessian pass per iteration), L-BFGS (multinomial or wide
// binary problems; preconditioned by the sampled Hessian at zero, see
// logistic_preconditioner), or the gradient-descent core (solver gd: mini-batch/SGD options).
// Without a penalty (C = infinity) on perfectly separable data the optimum is at
// infinity: fitting stops with a training_error `train.separable` instead of returning
// huge coefficients. A single class in y is `data.single_class`; more distinct labels
// than max_classes is `data.labels` (most likely a regression target).
//
// One idea per header: learn/linear_classifier.hpp (the fitted model), learn/labels.hpp
// (labels and class weights), learn/solvers.hpp (objective, L-BFGS, Newton); this header
// holds the two trainers. Their bodies (and the solvers) are compiled only where
// MLOPS_TEMPLATE_BODIES is 1: header-only, or src/learn_classifier.cpp.
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

#include "mlops/config.hpp"
#include "mlops/learn/gd_options.hpp"
#include "mlops/learn/labels.hpp"
#include "mlops/learn/linear_classifier.hpp"
#include "mlops/learn/trainer.hpp"

MLOPS_NAMESPACE_BEGIN

/// Logistic regression (binary and multinomial), L2-regularised as scikit-learn's
/// LogisticRegression(C): see the header comment for the objective and solvers.
template <scalar T>
struct LogisticRegression : detail::frame_trainer<LogisticRegression<T>, T> {
  static constexpr std::string_view name = "LogisticRegression";
  double C = 1.0;                      // inverse penalty strength; infinity: no penalty
  bool fit_intercept = true;
  classifier_solver solver = classifier_solver::automatic;
  std::size_t max_iter = 200;          // Newton / L-BFGS iterations
  double tol = 1e-8;                   // max |gradient| of the mean objective at convergence
  double ftol = 64 * 2.220446049250313e-16;  // L-BFGS: also stop at this relative decrease of the objective in
                                       // an iteration (scikit-learn 1.2's lbfgs stops at scipy's default 2.22e-9)
  std::size_t newton_max_features = 16;  // auto: Newton for binary problems up to this width (L-BFGS beyond: measured faster)
  class_weighting class_weight;
  double threshold = 0.5;              // binary: predict classes()[1] when P(classes()[1]) > threshold
  std::size_t max_classes = 256;
  gd_options gd{};                     // solver gradient_descent: batch size, rate, epochs... (gd.l2 is set from C)
  std::shared_ptr<ClassifierResult<T>> report_to;

  /// names (optional): column names for error messages.
  ClassifierResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                   std::span<const std::string> names = {}) const;
  using detail::frame_trainer<LogisticRegression<T>, T>::fit_detailed;  // (frame, features, target); fit() for the pipeline
  /// The penalty of the mean objective for n rows: 1 / (C n).
  double l2_for(std::size_t n) const noexcept { return std::isinf(C) ? 0.0 : 1.0 / (C * static_cast<double>(n)); }
  /// Sets a parameter by name: C, max_iter, tol, ftol, threshold, fit_intercept,
  /// class_weight, solver, and the gradient-descent options (solver gd).
  void set_param(std::string_view param, const param_value& v);
  /// Every parameter by name, as set_param takes them (the gradient-descent options with
  /// solver gd).
  param_list params() const {
    param_list p{{"C", C},
                 {"max_iter", static_cast<double>(max_iter)},
                 {"tol", tol},
                 {"ftol", ftol},
                 {"threshold", threshold},
                 {"fit_intercept", fit_intercept ? 1.0 : 0.0},
                 {"class_weight", std::string(class_weight.balanced ? "balanced" : "none")},
                 {"solver", std::string(solver == classifier_solver::gradient_descent ? "gd" : to_string(solver))}};
    if (solver == classifier_solver::gradient_descent)
      for (auto& kv : detail::gd_params(gd))
        if (kv.first != "l2" && kv.first != "fit_intercept") p.push_back(std::move(kv));  // C and fit_intercept set those
    return p;
  }
};

/// Linear SVM: hinge loss with an L2 penalty, trained by the gradient-descent core
/// (defaults: mini-batches of 32, rate 0.1/sqrt(1 + t), l2 = 1e-4, tol 1e-4, as a starting point
/// for standardized features). Binary or one-vs-rest multiclass; decision_function and
/// predict, no probabilities.
template <scalar T>
struct LinearSVM : gd_options, detail::frame_trainer<LinearSVM<T>, T> {
  static constexpr std::string_view name = "LinearSVM";
  class_weighting class_weight;
  double threshold = 0;  // binary: predict classes()[1] when the score > threshold
  std::size_t max_classes = 256;
  std::optional<LinearClassifier<T>> warm_start;
  std::shared_ptr<ClassifierResult<T>> report_to;

  LinearSVM() {
    batch_size = 32;
    rate = inverse_scaling{0.1, 0.5};
    l2 = 1e-4;
    max_epochs = 200;
    tol = 1e-4;
  }

  /// names (optional): column names for error messages.
  ClassifierResult<T> fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                   std::span<const std::string> names = {}) const {
    return run(columns, y, nullptr, names);
  }
  using detail::frame_trainer<LinearSVM<T>, T>::fit_detailed;  // (frame, features, target); fit() for the pipeline
  /// One pass over a new batch continuing from `r` (a previous fit or partial_fit): the
  /// classes are those of the first fit; a label outside them is `data.labels`.
  void partial_fit(ClassifierResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const;
  /// Sets a parameter by name: threshold, class_weight and the gradient-descent options.
  void set_param(std::string_view param, const param_value& v);
  /// Every parameter by name, as set_param takes them.
  param_list params() const {
    param_list p{{"threshold", threshold}, {"class_weight", std::string(class_weight.balanced ? "balanced" : "none")}};
    for (auto& kv : detail::gd_params(*this)) p.push_back(std::move(kv));
    return p;
  }

 private:
  ClassifierResult<T> run(std::span<const std::span<const T>> columns, std::span<const T> y, const ClassifierResult<T>* from,
                          std::span<const std::string> names = {}) const;
};

template <scalar T>
void LogisticRegression<T>::set_param(std::string_view param, const param_value& v) {
  using detail::param_number;
  if (param == "C") C = param_number(param, v);
  else if (param == "max_iter") max_iter = detail::param_count(param, v);
  else if (param == "tol") tol = param_number(param, v);
  else if (param == "ftol") ftol = param_number(param, v);
  else if (param == "threshold") threshold = param_number(param, v);
  else if (param == "fit_intercept") fit_intercept = detail::param_bool(param, v);
  else if (param == "class_weight") class_weight.balanced = detail::param_enum<bool>(param, v, {{"balanced", true}, {"none", false}});
  else if (param == "solver")
    solver = detail::param_enum<classifier_solver>(param, v, {{"auto", classifier_solver::automatic}, {"newton", classifier_solver::newton},
                                                            {"lbfgs", classifier_solver::lbfgs}, {"gd", classifier_solver::gradient_descent}});
  else if (!detail::set_gd_param(gd, param, v))
    detail::unknown_param(name, param, "C, max_iter, tol, ftol, threshold, fit_intercept, class_weight, solver, and with solver gd: learning_rate, batch_size, epochs...");
}

template <scalar T>
void LinearSVM<T>::set_param(std::string_view param, const param_value& v) {
  if (param == "threshold") threshold = detail::param_number(param, v);
  else if (param == "class_weight") class_weight.balanced = detail::param_enum<bool>(param, v, {{"balanced", true}, {"none", false}});
  else if (!detail::set_gd_param(*this, param, v))
    detail::unknown_param(name, param, fmt::format("threshold, class_weight, {}", detail::gd_param_names));
}

// The compiled mode holds these (src/learn_classifier.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(struct LogisticRegression)
MLOPS_EXTERN_TEMPLATE_FD(struct LinearSVM)

MLOPS_NAMESPACE_END

#if MLOPS_TEMPLATE_BODIES
#include "mlops/learn/solvers.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
ClassifierResult<T> LogisticRegression<T>::fit_detailed(std::span<const std::span<const T>> columns, std::span<const T> y,
                                                        std::span<const std::string> names) const {
  constexpr std::string_view who = "LogisticRegression";
  const std::size_t n = y.size(), d = columns.size();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LogisticRegression: no rows to fit on (n = 0)"));
  if (!(C > 0) || !(tol >= 0) || !(ftol >= 0) || max_iter == 0 || !(threshold > 0 && threshold < 1))
    MLOPS_THROW(argument_error(errc::invalid_argument,
                               "LogisticRegression: need C > 0, tol >= 0, ftol >= 0, max_iter > 0, threshold in (0, 1)"));
  detail::check_shape_and_target<T>(who, columns, y);
  const auto labels = detail::encode_labels<T>(who, y, max_classes);
  const auto cw = detail::class_weight_vector<T>(who, class_weight, labels);
  const auto sw = detail::row_weights(cw, labels.index);
  const std::size_t K = labels.classes.size(), M = K == 2 ? 1 : K;
  classifier_solver s = solver;
  if (s == classifier_solver::automatic) s = (M == 1 && d <= newton_max_features) ? classifier_solver::newton : classifier_solver::lbfgs;
  if (s == classifier_solver::newton && M != 1) s = classifier_solver::lbfgs;  // Newton is for the binary problem
  // The features' NaN/Inf check is left to the solver's first pass: Newton's and L-BFGS's
  // first gradient (check_features_by_gradient), the gradient-descent core as in gd_train.
  detail::gd_data<T> data{columns, labels.index, sw};
  data.names = names, data.who = who, data.check_features = true;
  const double l2 = l2_for(n);

  ClassifierResult<T> res;
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(M));
  Eigen::VectorXd b = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(M));
  bool separable = false;
  if (s == classifier_solver::gradient_descent) {
    gd_options o = gd;
    o.l2 = l2;
    o.fit_intercept = fit_intercept;
    detail::check_gd_options(who, o);
    gd_state st;
    st.init(d, M);
    const auto out = detail::gd_train(o, logistic_loss{}, data, st, false);
    res.status = out.status, res.epochs = out.epochs, res.loss = out.loss, res.validation_loss = out.validation_loss;
    res.message = out.message;
    W = st.W, b = st.b;
    res.state = std::move(st);
  } else if (s == classifier_solver::newton) {
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(d + 1));
    const auto out = detail::newton_logistic(data, l2, fit_intercept, theta, max_iter, tol, separable);
    res.status = out.status, res.epochs = out.iterations, res.loss = out.loss;
    W.col(0) = theta.head(static_cast<Eigen::Index>(d));
    b(0) = theta(static_cast<Eigen::Index>(d));
  } else {
    detail::linear_objective<T, logistic_loss> obj(data, l2, M, fit_intercept);
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(obj.size()));
    const detail::logistic_preconditioner pre(data, l2, M, fit_intercept);
    const auto out = detail::lbfgs_minimize(obj, theta, max_iter, tol, ftol, 1.0 / static_cast<double>(n), pre);
    res.status = out.status, res.epochs = out.iterations, res.loss = out.loss;
    obj.unpack(theta);
    W = obj.W, b = obj.b;
  }
  if (l2 == 0 && !separable) {  // without a penalty, a fit that classifies every row is at infinity
    Eigen::MatrixXd Wd = W;
    Eigen::VectorXd bd = b;
    detail::gd_block blk(detail::gd_chunk_rows(d), d, M);
    std::size_t wrong = 0;
    for (std::size_t k0 = 0; k0 < n; k0 += static_cast<std::size_t>(blk.X.rows())) {
      const std::size_t c = (std::min)(static_cast<std::size_t>(blk.X.rows()), n - k0);
      blk.gather_columns(data, nullptr, k0, c);
      blk.run(logistic_loss{}, c, Wd, bd, nullptr, nullptr);
      for (std::size_t i = 0; i < c; ++i) {
        const auto row = blk.P.row(static_cast<Eigen::Index>(i));
        const auto cls = static_cast<Eigen::Index>(blk.y(static_cast<Eigen::Index>(i)));
        if (M == 1) wrong += (row(0) > 0) != (cls == 1) || row(0) == 0;
        else wrong += (row.array() >= row(cls)).count() != 1;
      }
    }
    separable = wrong == 0;
  }
  if (separable)
    MLOPS_THROW(training_error(errc::training_separable,
                               "LogisticRegression: the classes are perfectly separable, so without a penalty (C = infinity) the "
                               "maximum-likelihood coefficients are infinite; set a finite C (e.g. 1.0) to get a bounded model"));
  res.model.assign(W, b, labels.classes, n);
  res.model.loss_ = classifier_loss::logistic;
  res.model.solver_ = s;
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.threshold_ = threshold;
  res.model.n_iter_ = res.epochs;
  res.model.class_weights_ = cw;
  return res;
}

template <scalar T>
void LinearSVM<T>::partial_fit(ClassifierResult<T>& r, std::span<const std::span<const T>> columns, std::span<const T> y) const {
  if (r.model.n_classes() < 2)
    MLOPS_THROW(argument_error(errc::invalid_argument, "LinearSVM::partial_fit: start from a fit_detailed result (it fixes the classes)"));
  r = run(columns, y, &r);
}

template <scalar T>
ClassifierResult<T> LinearSVM<T>::run(std::span<const std::span<const T>> columns, std::span<const T> y, const ClassifierResult<T>* from,
                                      std::span<const std::string> names) const {
  constexpr std::string_view who = "LinearSVM";
  const std::size_t n = y.size(), d = columns.size();
  if (n == 0) MLOPS_THROW(data_error(errc::data_empty, "LinearSVM: no rows to fit on (n = 0)"));
  detail::check_gd_options(who, *this);
  detail::check_finite<T>(who, columns, y, names);
  const auto labels = from ? detail::encode_labels<T>(who, y, max_classes, std::span<const T>(from->model.classes_))
                           : detail::encode_labels<T>(who, y, max_classes);
  const auto cw = detail::class_weight_vector<T>(who, class_weight, labels);
  const auto sw = detail::row_weights(cw, labels.index);
  const std::size_t K = labels.classes.size(), M = K == 2 ? 1 : K;
  gd_state st;
  if (from && from->state.ready) st = from->state;
  const LinearClassifier<T>* start = from ? &from->model : (warm_start ? &*warm_start : nullptr);
  if (!st.ready) {
    st.init(d, M);
    if (start) {
      if (start->n_features() != d || start->n_outputs() != M)
        MLOPS_THROW(argument_error(errc::invalid_argument, "LinearSVM: the starting model has a different shape"));
      st.W = start->coef().template cast<double>();
      st.b = start->intercept().template cast<double>();
    }
  }
  if (static_cast<std::size_t>(st.W.rows()) != d)
    MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("LinearSVM: the model has {} features but the data {}", st.W.rows(), d)));
  const detail::gd_data<T> data{columns, labels.index, sw};
  const auto out = detail::gd_train(*this, hinge_loss{}, data, st, from != nullptr);
  ClassifierResult<T> res;
  res.status = out.status, res.epochs = from ? st.epochs : out.epochs, res.loss = out.loss, res.validation_loss = out.validation_loss;
  res.message = out.message;
  res.model.assign(st.W, st.b, labels.classes, n);
  res.model.loss_ = classifier_loss::hinge;
  res.model.solver_ = classifier_solver::gradient_descent;
  res.model.fit_intercept_ = fit_intercept;
  res.model.l2_ = l2;
  res.model.threshold_ = threshold;
  res.model.n_iter_ = st.epochs;
  res.model.class_weights_ = cw;
  res.state = std::move(st);
  return res;
}


MLOPS_NAMESPACE_END
#endif  // MLOPS_TEMPLATE_BODIES
