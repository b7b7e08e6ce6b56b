// mlops/detail/row_program.hpp - the fused serving path.
// Every fitted column-wise step compiles itself into dense per-feature operations
// over the pipeline's feature order. Predicting a row runs these over a stack buffer:
// no allocation, no virtual calls, and the same floating-point operations, in the
// same order, as the steps' frame transforms (so batch and row predictions agree
// bit for bit).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

enum class row_op_kind : std::uint8_t {
  fill_missing = 1,  // x = isnan(x) ? a : x        (a = NaN: no-op)
  clip = 2,          // x = min(max(x, a), b)       (a = -inf, b = +inf: no-op; NaN stays NaN)
  flag = 3,          // outlier |= (x < a || x > b) (values unchanged)
  standardize = 4,   // x = (x - a) / b             (a = 0, b = 1: exact no-op)
};

template <class T>
struct row_op {
  row_op_kind kind{};
  std::vector<T> a, b;  // dense: one entry per pipeline feature
};

/// The scalar forms, shared by frame transforms and the row program.
template <class T>
inline T op_fill(T x, T a) noexcept { return std::isnan(x) ? a : x; }
template <class T>
inline T op_clip(T x, T lo, T hi) noexcept { return x < lo ? lo : (x > hi ? hi : x); }
template <class T>
inline T op_standardize(T x, T mean, T scale) noexcept { return (x - mean) / scale; }

template <class T>
struct row_program {
  std::size_t n_features = 0;
  std::vector<row_op<T>> ops;

  row_op<T>& add(row_op_kind kind) {
    row_op<T> op;
    op.kind = kind;
    const T inf = std::numeric_limits<T>::infinity();
    switch (kind) {
      case row_op_kind::fill_missing: op.a.assign(n_features, std::numeric_limits<T>::quiet_NaN()); break;
      case row_op_kind::clip:
      case row_op_kind::flag:
        op.a.assign(n_features, -inf);
        op.b.assign(n_features, inf);
        break;
      case row_op_kind::standardize:
        op.a.assign(n_features, T(0));
        op.b.assign(n_features, T(1));
        break;
    }
    ops.push_back(std::move(op));
    return ops.back();
  }

  /// Applies every op to buf, which holds features [first, first + buf.size()).
  /// Returns true if a flag op saw a value outside its fences.
  bool run(std::span<T> buf, std::size_t first) const noexcept {
    bool outlier = false;
    const std::size_t m = buf.size();
    T* x = buf.data();
    for (const auto& op : ops) {
      const T* a = op.a.data() + first;
      const T* b = op.b.empty() ? nullptr : op.b.data() + first;
      switch (op.kind) {
        case row_op_kind::fill_missing:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_fill(x[k], a[k]);
          break;
        case row_op_kind::clip:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_clip(x[k], a[k], b[k]);
          break;
        case row_op_kind::flag:
          for (std::size_t k = 0; k < m; ++k) outlier |= (x[k] < a[k]) | (x[k] > b[k]);
          break;
        case row_op_kind::standardize:
          for (std::size_t k = 0; k < m; ++k) x[k] = op_standardize(x[k], a[k], b[k]);
          break;
      }
    }
    return outlier;
  }
};

}  // namespace detail
MLOPS_NAMESPACE_END
