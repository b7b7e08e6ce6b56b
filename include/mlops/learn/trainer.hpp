// mlops/learn/trainer.hpp - what every iterative trainer shares, without its core: the
// view of the training data the cores read (detail::gd_data) and the frame-facing half
// of a trainer (detail::frame_trainer: fit_detailed(frame, features, target) and the
// pipeline's fit). Light on purpose: the trainers' declarations include it, and only
// their bodies include the cores (learn/gd_kernels.hpp, learn/solvers.hpp).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Training data as the core sees it: d feature columns of n rows, or n row-major rows
/// of d values (`rows` set: row r at rows + r * row_stride, used in place), targets
/// encoded as double (class index for classifiers), optional per-row weights.
/// check_features: the features have not been checked for NaN/Inf yet; the core checks
/// them as it first reads them (the copy for stochastic training, the first per-sample
/// epoch on rows given in place) instead of in a pass of its own, and raises the same
/// data_error before any result is returned.
template <class T>
struct gd_data {
  std::span<const std::span<const T>> columns = {};
  std::span<const double> y = {};
  std::span<const double> weight = {};  // empty: all 1
  const T* rows = nullptr;
  std::size_t row_stride = 0, n_features = 0;
  bool check_features = false;
  std::span<const std::string> names = {};  // feature names for the error messages
  std::string_view who = "gradient descent";  // the trainer, for the error messages
  std::size_t n() const noexcept { return y.size(); }
  std::size_t d() const noexcept { return rows ? n_features : columns.size(); }
};

template <class T>
std::vector<std::span<const T>> frame_columns(const DataFrame<T>& frame, const std::vector<std::string>& features) {
  std::vector<std::span<const T>> cols;
  for (const auto& f : features) cols.push_back(frame.column(f));
  return cols;
}

/// The frame-facing half every trainer shares (CRTP): fit_detailed(frame, features,
/// target), and the pipeline's fit(...) that returns the model and, when the trainer's
/// report_to is set, stores the detailed result there. Derived provides
/// fit_detailed(columns, y, names) and `using frame_trainer::fit_detailed;`.
template <class Derived, class T>
struct frame_trainer {
  auto fit_detailed(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    return self().fit_detailed(frame_columns<T>(frame, features), frame.column(target), std::span<const std::string>(features));
  }
  auto fit(const DataFrame<T>& frame, const std::vector<std::string>& features, std::string_view target) const {
    auto r = fit_detailed(frame, features, target);
    if (self().report_to) *self().report_to = r;
    return std::move(r.model);
  }

 private:
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

/// y as double, for the core.
template <class T>
std::vector<double> to_double(std::span<const T> v) {
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace detail
MLOPS_NAMESPACE_END
