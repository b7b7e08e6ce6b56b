// mlops/detail/row_program.hpp - the fused serving path.
// Every fitted step compiles itself into the program: an expansion kernel per input it
// encodes (when it changes the row's width) and ops over the design row, each a kernel
// the step supplies with dense per-feature parameters. Predicting a row runs these over
// a stack buffer: no allocation, and the same floating-point operations, in the same
// order, as the steps' frame transforms (so batch and row predictions agree bit for
// bit). The program names no step: a new step brings its kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// One operation of the row program: a step's kernel over a chunk x[0 .. m) of design
/// features [first, first + m), given the op's two dense per-feature parameter vectors at
/// the same offset (a, b). Returns true when it flags the row (an outlier).
/// noexcept and allocation-free; the step that adds the op supplies the kernel.
/// Kernels are element-wise: x[k]'s result (and whether it flags) depends on x[k], a[k]
/// and b[k] only, so the program may run a kernel over any sub-range of the row.
template <class T>
using row_kernel = bool (*)(T* x, const T* a, const T* b, std::size_t m) noexcept;

template <class T>
struct row_op {
  row_kernel<T> kernel = nullptr;
  std::vector<T> a, b;  // dense: one entry per design feature
  T a0{}, b0{};         // the defaults: at a feature holding both, the kernel changes nothing
  /// Design ranges [first, last) holding the features whose parameters differ from the
  /// defaults (set by row_program::seal): the only ones the kernel is run over.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;
};

/// The scalar forms, shared by frame transforms and the steps' row kernels.
template <class T>
inline T op_fill(T x, T a) noexcept { return std::isnan(x) ? a : x; }
template <class T>
inline T op_clip(T x, T lo, T hi) noexcept { return x < lo ? lo : (x > hi ? hi : x); }
template <class T>
inline T op_standardize(T x, T mean, T scale) noexcept { return (x - mean) / scale; }

/// How one input value becomes design values (the first stage of a program whose steps
/// change the row's width): a step's expansion kernel writes out[0 .. width) from the
/// input value x, reading the tables of its entry; no kernel: a copy (out[0] = x).
/// Input encodings: a categorical value is its index in the pipeline's level list for
/// that column (NaN: missing; anything else, e.g. -1: a level not seen in training); a
/// datetime value is days since 1970-01-01 UTC (days_of).
template <class T>
struct expand_entry;
template <class T>
using expand_kernel = void (*)(const expand_entry<T>& e, T x, T* out) noexcept;

template <class T>
struct expand_entry {
  expand_kernel<T> kernel = nullptr;  // nullptr: copy
  std::size_t out = 0;                // first design position written
  std::size_t width = 1;              // design positions written
  // Tables the step's kernel reads (what each means is the step's):
  std::vector<std::int32_t> index;    // per level: an offset (-1: none)
  std::vector<T> value;               // per level: a value
  std::vector<std::uint8_t> codes;    // small codes, in output order
  std::int32_t missing_index = -1;    // a missing value's offset (-1: none)
  T missing = std::numeric_limits<T>::quiet_NaN();  // a missing value's value
  T unseen = std::numeric_limits<T>::quiet_NaN();   // a level not seen in training
};

/// The level index a categorical input value stands for, or -1 (missing, unseen, not an
/// index).
template <class T>
inline std::int64_t level_index(T x, std::size_t levels) noexcept {
  if (x >= T(0) && x < static_cast<T>(levels) && x == std::floor(x)) return static_cast<std::int64_t>(x);
  return -1;
}

template <class T>
struct row_program {
  std::size_t n_features = 0;          // the design width (the model's)
  std::size_t n_inputs = 0;            // the input row's width
  std::vector<expand_entry<T>> expand; // one per input when the steps change the width; empty: inputs are the design
  std::vector<row_op<T>> ops;

  bool expands() const noexcept { return !expand.empty(); }
  /// Input row -> design row (out holds n_features values). Allocation-free.
  void run_expand(std::span<const T> in, T* out) const noexcept {
    for (std::size_t j = 0; j < expand.size(); ++j) {
      const auto& e = expand[j];
      if (e.kernel) e.kernel(e, in[j], out + e.out);
      else out[e.out] = in[j];
    }
  }

  /// Adds an op running `kernel` with parameters a, b defaulting to a0, b0 for every
  /// feature (the step sets those of its columns; the defaults must leave the others
  /// unchanged and never flag them: the kernel is not run there).
  row_op<T>& add(row_kernel<T> kernel, T a0, T b0) {
    row_op<T> op;
    op.kernel = kernel;
    op.a.assign(n_features, a0);
    op.b.assign(n_features, b0);
    op.a0 = a0;
    op.b0 = b0;
    ops.push_back(std::move(op));
    return ops.back();
  }

  /// Once every step has added its ops: each op's runs, the ranges of features whose
  /// parameters are not (bit for bit) the defaults; ranges closer than `gap` features
  /// are joined (a call costs about as much as a few elements). A one-hot pipeline's
  /// scaler then runs over its numeric columns only, not over every indicator.
  void seal() {
    constexpr std::size_t gap = 8;
    const auto same = [](T x, T y) noexcept { return std::memcmp(&x, &y, sizeof(T)) == 0; };
    for (auto& op : ops) {
      op.runs.clear();
      for (std::size_t k = 0; k < n_features; ++k) {
        if (same(op.a[k], op.a0) && same(op.b[k], op.b0)) continue;
        if (!op.runs.empty() && k - op.runs.back().second <= gap) op.runs.back().second = static_cast<std::uint32_t>(k + 1);
        else op.runs.emplace_back(static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k + 1));
      }
    }
  }

  /// Applies every op to buf, which holds features [first, first + buf.size()): each
  /// op's kernel over its runs within that range. Returns true if an op flagged the row.
  bool run(std::span<T> buf, std::size_t first) const noexcept {
    bool outlier = false;
    const std::size_t last = first + buf.size();
    for (const auto& op : ops)
      for (const auto& [lo, hi] : op.runs) {
        const std::size_t b = (std::max)(std::size_t{lo}, first), e = (std::min)(std::size_t{hi}, last);
        if (b < e) outlier |= op.kernel(buf.data() + (b - first), op.a.data() + b, op.b.data() + b, e - b);
      }
    return outlier;
  }
};

}  // namespace detail
MLOPS_NAMESPACE_END
