// mlops/learn/gd_kernels.hpp - the gradient-descent core (detail::gd_train) and its
// kernels: the fused full-batch pass in cache-sized chunks, mini-batches with two-stage
// prefetches, the per-sample SGD kernel over gathered blocks, penalties and the update,
// the NaN/Inf checks, and frame_trainer (the frame-facing half every trainer shares).
// See learn/gd.hpp for the design.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#if defined(__SSE2__) || defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <fmt/format.h>

#include "mlops/detail/buffer_cache.hpp"
#include "mlops/detail/rng.hpp"
#include "mlops/frame.hpp"
#include "mlops/learn/gd_options.hpp"
#include "mlops/learn/linear.hpp"
#include "mlops/learn/trainer.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {

/// A large scratch array: not value-initialised, taken from the process's buffer cache
/// (detail/buffer_cache.hpp: reused blocks, huge pages from 2 MiB), so repeated fits,
/// partial_fit loops and cross-validation folds do not fault in (and zero) fresh pages.
template <class T>
class big_buffer {
 public:
  big_buffer() = default;
  big_buffer(const big_buffer&) = delete;
  big_buffer& operator=(const big_buffer&) = delete;
  ~big_buffer() { release(); }
  void allocate(std::size_t n) {
    release();
    if (n > static_cast<std::size_t>(-1) / sizeof(T) / 2)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("cannot allocate a scratch buffer of {} values", n)));
    const std::size_t bytes = (std::max<std::size_t>)(n, 1) * sizeof(T);
    p_ = static_cast<T*>(buffer_cache::instance().allocate(bytes));
    if (!p_) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("cannot allocate a {} byte scratch buffer", bytes)));
  }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }

 private:
  void release() noexcept {
    buffer_cache::instance().deallocate(p_);
    p_ = nullptr;
  }
  T* p_ = nullptr;
};

/// Rows per chunk: about 128 KiB of double features (half of L2: the fused pass reads each
/// chunk twice), within [64, 8192]. Measurements: benchmarks/RESULTS.md.
inline std::size_t gd_chunk_rows(std::size_t d) noexcept {
  return std::clamp<std::size_t>(16384 / (std::max<std::size_t>)(d, 1), 64, 8192);
}

/// Asks the hardware to start loading a row: the cache lines of [p, p + bytes), at most
/// four. Locality 3 loads into L1 (prefetcht0), 1 into L2/L3 only (prefetcht2).
///
/// Random rows are fetched in two stages: into L2 far ahead (gd_prefetch_far rows), into
/// L1 shortly before use (gd_prefetch_near). A prefetch into L1 holds one of the core's
/// few L1 fill buffers until the line arrives, so prefetching into L1 alone keeps only
/// about eight 128-byte rows in flight; the L2 stage keeps many more (measurements:
/// benchmarks/RESULTS.md).
template <int Locality = 3>
inline void prefetch_row(const void* p, std::size_t bytes) noexcept {
#if defined(__GNUC__)
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = a & ~std::uintptr_t{63}, last = a + (bytes ? bytes - 1 : 0);
  for (std::uintptr_t l = first, k = 0; l <= last && k < 4; l += 64, ++k)
    __builtin_prefetch(reinterpret_cast<const void*>(l), 0, Locality);
#else
  (void)p, (void)bytes;
#endif
}
inline constexpr std::size_t gd_prefetch_far = 96, gd_prefetch_near = 16;

/// Scratch for one block of rows and the fused forward/backward pass over it.
struct gd_block {
  Eigen::MatrixXd X;  // cap x d, column-major
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> P, dP;  // cap x m
  Eigen::VectorXd y, w;
  Eigen::VectorXd p1, dp1, tmp1;  // one-output scratch (contiguous, so Eigen vectorises it)
  bool weighted = false;
  bool reverse = false;  // gd_pass's next pass runs over the chunks last to first

  gd_block(std::size_t cap, std::size_t d, std::size_t m)
      : X(static_cast<Eigen::Index>(cap), static_cast<Eigen::Index>(d)),
        P(static_cast<Eigen::Index>(cap), static_cast<Eigen::Index>(m)),
        dP(static_cast<Eigen::Index>(cap), static_cast<Eigen::Index>(m)),
        y(static_cast<Eigen::Index>(cap)),
        w(static_cast<Eigen::Index>(cap)),
        p1(static_cast<Eigen::Index>(cap)),
        dp1(static_cast<Eigen::Index>(cap)),
        tmp1(static_cast<Eigen::Index>(cap)) {}

  /// Loads rows rows[k0 .. k0+c) (or k0 .. k0+c when rows is null) from the columns or rows.
  template <class T>
  void gather_columns(const gd_data<T>& data, const std::size_t* rows, std::size_t k0, std::size_t c) noexcept {
    const std::size_t d = data.d(), ld = static_cast<std::size_t>(X.rows());
    if (data.rows) {  // row-major input: transpose the block
      for (std::size_t i = 0; i < c; ++i) {
        const T* src = data.rows + (rows ? rows[k0 + i] : k0 + i) * data.row_stride;
        for (std::size_t j = 0; j < d; ++j) X.data()[j * ld + i] = static_cast<double>(src[j]);
      }
    } else {
      for (std::size_t j = 0; j < d; ++j) {
        double* dst = X.data() + j * ld;
        const T* src = data.columns[j].data();
        if (rows == nullptr)
          for (std::size_t i = 0; i < c; ++i) dst[i] = static_cast<double>(src[k0 + i]);
        else
          for (std::size_t i = 0; i < c; ++i) dst[i] = static_cast<double>(src[rows[k0 + i]]);
      }
    }
    weighted = !data.weight.empty();
    for (std::size_t i = 0; i < c; ++i) {
      const std::size_t r = rows ? rows[k0 + i] : k0 + i;
      y(static_cast<Eigen::Index>(i)) = data.y[r];
      if (weighted) w(static_cast<Eigen::Index>(i)) = data.weight[r];
    }
  }
  /// Loads rows order[k0 .. k0+c) of row-major rows (row r at R + r*stride, d values).
  /// The rows that follow in the order are prefetched in two stages (see prefetch_row):
  /// random rows are memory-latency bound otherwise.
  template <class T>
  void gather_rows(const T* R, std::size_t d, std::size_t stride, const double* yr, const double* wr, const std::size_t* order,
                   std::size_t k0, std::size_t c, std::size_t total) noexcept {
    const std::size_t ld = static_cast<std::size_t>(X.rows());
    for (std::size_t i = 0; i < c; ++i) {
      const std::size_t k = k0 + i;
      if (k + gd_prefetch_far < total) {
        const std::size_t ra = order[k + gd_prefetch_far];
        prefetch_row<1>(R + ra * stride, d * sizeof(T));
        prefetch_row<1>(yr + ra, 8);
        if (wr) prefetch_row<1>(wr + ra, 8);
      }
      if (k + gd_prefetch_near < total) {
        const std::size_t ra = order[k + gd_prefetch_near];
        prefetch_row(R + ra * stride, d * sizeof(T));
        prefetch_row(yr + ra, 8);
        if (wr) prefetch_row(wr + ra, 8);
      }
      const std::size_t r = order[k0 + i];
      const T* src = R + r * stride;
      for (std::size_t j = 0; j < d; ++j) X.data()[j * ld + i] = static_cast<double>(src[j]);
      y(static_cast<Eigen::Index>(i)) = yr[r];
      if (wr) w(static_cast<Eigen::Index>(i)) = wr[r];
    }
    weighted = wr != nullptr;
  }
  /// Forward and (optionally) backward pass over the first c loaded rows: returns the
  /// weighted loss sum; adds the weighted derivative sums into G (d x m) and gb (m).
  template <class Loss>
  double run(const Loss& loss, std::size_t c, const Eigen::MatrixXd& W, const Eigen::VectorXd& b, Eigen::MatrixXd* G,
             Eigen::VectorXd* gb) noexcept {
    const auto C = static_cast<Eigen::Index>(c);
    const std::size_t m = static_cast<std::size_t>(W.cols());
    auto Pc = P.topRows(C);
    Pc.noalias() = X.topRows(C) * W;
    Pc.rowwise() += b.transpose();
    double L = 0;
    for (Eigen::Index i = 0; i < C; ++i) {
      const double li = loss.eval(&P(i, 0), m, y(i), &dP(i, 0));
      if (weighted) {
        L += w(i) * li;
        dP.row(i) *= w(i);
      } else {
        L += li;
      }
    }
    if (G) {
      G->noalias() += X.topRows(C).transpose() * dP.topRows(C);
      gb->noalias() += dP.topRows(C).colwise().sum().transpose();
    }
    return L;
  }
};

/// Sum over `rows` (null: all) of the weighted loss; with G/gb also the weighted
/// derivative sums (unnormalised, unpenalised). One fused pass in chunks.
template <class T, class Loss>
double gd_pass(const Loss& loss, const gd_data<T>& data, const std::size_t* rows, std::size_t count, gd_block& blk,
               const Eigen::MatrixXd& W, const Eigen::VectorXd& b, Eigen::MatrixXd* G, Eigen::VectorXd* gb) noexcept {
  const std::size_t cap = static_cast<std::size_t>(blk.X.rows());
  if (G) {
    G->setZero();
    gb->setZero();
  }
  double L = 0;
  // Passes alternate direction (blk.reverse flips each call): data larger than the
  // last-level cache leave its most recently read part there, and the next pass starts
  // on that part instead of on rows long evicted. The chunks' sums are added in pass
  // order, so the bits depend only on the sequence of calls, the same everywhere.
  const std::size_t chunks = (count + cap - 1) / cap;
  const bool reverse = blk.reverse;
  blk.reverse = !blk.reverse;
  auto chunk_start = [&](std::size_t q) { return (reverse ? chunks - 1 - q : q) * cap; };
  if (rows == nullptr && W.cols() == 1 && data.rows == nullptr) {
    // One output over all rows: read the columns in place, no copy. Per chunk, the
    // forward product is an axpy per column and the gradient a dot per column while the
    // chunk is still in cache (the fused pass of PERFORMANCE.md).
    const std::size_t d = data.d();
    const bool weighted = !data.weight.empty();
    auto& p = blk.p1;
    auto& dp = blk.dp1;
    for (std::size_t q = 0; q < chunks; ++q) {
      const std::size_t k0 = chunk_start(q), c = (std::min)(cap, count - k0);
      const auto C = static_cast<Eigen::Index>(c);
      auto pc = p.head(C);
      pc.setConstant(b(0));
      using colmap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
      auto col = [&](std::size_t j) { return colmap(data.columns[j].data() + k0, C).template cast<double>(); };
      auto wj = [&](std::size_t j) { return W(static_cast<Eigen::Index>(j), 0); };
      std::size_t j = 0;
      for (; j + 4 <= d; j += 4)  // four read streams at once keep the hardware prefetchers busy
        pc.noalias() += wj(j) * col(j) + wj(j + 1) * col(j + 1) + wj(j + 2) * col(j + 2) + wj(j + 3) * col(j + 3);
      for (; j < d; ++j) pc.noalias() += wj(j) * col(j);
      const double* y = data.y.data() + k0;
      if constexpr (requires { Loss::eval_block(p.head(C).array(), p.head(C).array(), dp.head(C).array(), dp.head(C).array()); }) {
        if (!weighted) {
          L += Loss::eval_block(p.head(C).array(), Eigen::Map<const Eigen::ArrayXd>(y, C), dp.head(C).array(), blk.tmp1.head(C).array());
        } else {
          // per-row losses are needed for the weights: eval_block writes the derivative, tmp the pieces
          for (Eigen::Index i = 0; i < C; ++i) {
            const double w = data.weight[k0 + static_cast<std::size_t>(i)];
            L += w * loss.eval(&p(i), 1, y[i], &dp(i));
            dp(i) *= w;
          }
        }
      } else {
        for (Eigen::Index i = 0; i < C; ++i) {
          const double li = loss.eval(&p(i), 1, y[i], &dp(i));
          if (weighted) {
            const double w = data.weight[k0 + static_cast<std::size_t>(i)];
            L += w * li;
            dp(i) *= w;
          } else {
            L += li;
          }
        }
      }
      if (G) {
        const auto dpc = dp.head(C);
        for (std::size_t f = 0; f < d; ++f) (*G)(static_cast<Eigen::Index>(f), 0) += col(f).dot(dpc);
        (*gb)(0) += dpc.sum();
      }
    }
    return L;
  }
  for (std::size_t q = 0; q < chunks; ++q) {
    const std::size_t k0 = chunk_start(q), c = (std::min)(cap, count - k0);
    blk.gather_columns(data, rows, k0, c);
    L += blk.run(loss, c, W, b, G, gb);
  }
  return L;
}

MLOPS_FUNC double gd_penalty(const gd_options& o, const Eigen::MatrixXd& W) noexcept;

/// The proximal step of the L1 penalty: shrink every weight towards 0 by t, stopping at 0.
template <class M>
void soft_threshold(M&& w, double t) noexcept {
  w = w.unaryExpr([t](double v) { return v > t ? v - t : (v < -t ? v + t : 0.0); });
}

/// Element-wise correctly rounded square root of an Eigen array expression (see sqrt8).
template <class A>
auto exact_sqrt(const A& a) {
  return a.unaryExpr([](double v) { return std::sqrt(v); });
}

/// One update of the state with mean gradient (g, gb) at rate eta (penalties applied here).
MLOPS_FUNC void gd_apply(const gd_options& o, gd_state& st, Eigen::MatrixXd& g, Eigen::VectorXd& gb, double eta);

inline double gd_rate(const gd_options& o, const gd_state& st) noexcept {
  return std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        return std::is_same_v<S, exponential_decay> ? s(st.epochs) : s(st.step);
      },
      o.rate);
}

/// The step size of the per-sample loop, resolved once per epoch: a constant (constant
/// rate, or exponential decay, which changes per epoch) or inverse scaling per step.
struct step_rate {
  bool per_step = false;
  double value = 0;
  inverse_scaling inv{};
  step_rate(const gd_options& o, const gd_state& st) noexcept {
    if (const auto* s = std::get_if<inverse_scaling>(&o.rate)) per_step = true, inv = *s;
    else value = gd_rate(o, st);
  }
  double operator()(std::size_t t) const noexcept { return per_step ? inv(t) : value; }
  /// The rates of steps t .. t+7 (inverse_scaling::fill8, or the constant).
  void fill8(std::size_t t, double* out) const noexcept {
    if (per_step) return inv.fill8(t, out);
    for (int i = 0; i < 8; ++i) out[i] = value;
  }
};

/// Rows of the stochastic copy are padded with zeros to a multiple of this many values,
/// so the per-sample kernel works in whole packs (zero features keep zero weights).
/// One entry of the per-sample kernel's shuffled order: a row of the copy and its target.
struct sample_ref {
  std::size_t row;
  double y;
};

inline constexpr std::size_t gd_pack = 8;
inline std::size_t gd_row_stride(std::size_t d) noexcept { return (d + gd_pack - 1) / gd_pack * gd_pack; }

/// Rows per block of the per-sample kernel: the gathered block (plus two look-ahead rows)
/// stays within 32 KiB of L1 (at least 16 rows for wide data).
inline std::size_t sgd_block_rows(std::size_t width) noexcept {
  return std::clamp<std::size_t>(32768 / (sizeof(double) * (std::max<std::size_t>)(width, 1)), 16, 256);
}

/// Scratch of the per-sample kernel: one gathered block of rows (as double) and their
/// weights. Allocated once per fit, reused by every epoch.
struct sgd_scratch {
  std::vector<double> rows, weights;
  void reserve(std::size_t width, bool weighted) {
    const std::size_t b = sgd_block_rows(width) + 2;
    rows.assign(b * width, 0.0);
    if (weighted) weights.assign(b, 0.0);
  }
};

/// The per-sample kernel's gather: rows order[0 .. have) of R (width ws, as double) into
/// consecutive rows of buf, their weights into wbuf (when wr), zero rows up to cnt. A
/// loop of few instructions per row, so many rows' reads are in flight at once. With
/// Check, bad accumulates x * 0 over the values (NaN unless every value is finite).
template <int DS, bool Check, class T>
inline void sgd_gather(const T* __restrict R, std::size_t stride, std::size_t ws, const double* __restrict wr,
                       const sample_ref* __restrict order, std::size_t cnt, std::size_t have, double* __restrict buf,
                       double* __restrict wbuf, double& bad) noexcept {
  constexpr int N = DS == 0 ? Eigen::Dynamic : DS;
  using src_map = Eigen::Map<const Eigen::Matrix<T, N, 1>>;
  using dst_map = Eigen::Map<Eigen::Matrix<double, N, 1>>;
  const auto n = static_cast<Eigen::Index>(ws);
  Eigen::Matrix<double, DS == 0 ? 1 : DS, 1> acc = Eigen::Matrix<double, DS == 0 ? 1 : DS, 1>::Zero();
  for (std::size_t j = 0; j < have; ++j) {
    const std::size_t r = order[j].row;
    dst_map dst(buf + j * ws, n);
    dst = src_map(R + r * stride, n).template cast<double>();
    if constexpr (Check) {
      if constexpr (DS == 0) acc(0) += (dst * 0.0).sum();
      else acc += dst * 0.0;
    }
    if (wr) wbuf[j] = wr[r];
  }
  for (std::size_t j = have; j < cnt; ++j) dst_map(buf + j * ws, n).setZero();
  if constexpr (Check) bad += acc.sum();
}

/// One epoch of per-sample SGD for one output with the plain step: the hot loop of SGD.
/// R holds row-major rows (row r at R + r * stride) of which the first `width` values
/// are read: the padded copy (width = stride, see gd_pack) or rows given in place
/// (width = d); w the width weights (zero beyond d), b the intercept. DS > 0 fixes the
/// width at compile time so the weights live in registers across rows; DS = 0 runs any
/// width. With `finite` set, the rows read are also checked for NaN/Inf as they go
/// (x * 0 is 0 only for finite x); *finite is false if any is not. Returns the weighted
/// loss sum.
///
/// Memory: the shuffled rows are random reads. The epoch works in blocks of
/// sgd_block_rows: a light loop first gathers the block's rows (as double) and weights
/// into `scratch`, then the update loop runs over the gathered block in order. The
/// gather loop is a few instructions per row, so the core's out-of-order window holds
/// the reads of many rows at once; inside the long update loop it held only a few,
/// and software prefetches, which must wait for a free miss buffer, did not make up for
/// it (measurements: benchmarks/RESULTS.md). The block's last row looks two rows ahead: those two rows
/// are gathered with it and again as the next block's first.
///
/// Compute: the chain dot -> loss -> update -> next dot. Without L1 the chain is cut by
/// computing the outputs from weights of earlier rows, which are ready sooner. With w_k
/// the weights before row k's update, a = 1 - eta l2, g = eta dLoss and f = 1 with an
/// intercept (0 without):
///   w_{k+1} = a w_k - g x_k,  b_{k+1} = b_k - f g
///   p_{k+1} = x_{k+1}.w_{k+1} + b_{k+1} = (a Q_{k+1} + b_k) - g (x_{k+1}.x_k + f)
///   Q_{k+2} = x_{k+2}.w_{k+1}           = a (x_{k+2}.w_k) - g (x_{k+2}.x_k)
/// with Q_{k+1} = x_{k+1}.w_k from the row before. The three dot products of row k read
/// only w_k and the rows, so they overlap the scalar work of the rows before; from this
/// row's output to the next the chain is loss derivative -> g -> one multiply-add.
/// The weights are still updated exactly as plain SGD does; only the rounding of the
/// output differs (an error of order eps |p|, not accumulated: Q is recomputed from the
/// weights at every row). With L1 the soft threshold breaks the identity and each output
/// is the plain dot product. The blocks change neither: the same operations on the same
/// values, so the same bits as one unblocked pass.
///
/// The shuffled order carries each row's target (sample_ref): shuffling the pairs gives
/// the same permutation as shuffling indices, and the target is then read in order
/// instead of from a random cache line per row.
template <int DS, bool L1, bool Check, class T, class Loss>
MLOPS_NOINLINE double sgd_sample_pass(const Loss& loss, const gd_options& o, const step_rate& rate, std::size_t& step, const T* R,
                       std::size_t width, std::size_t stride, const double* wr, const sample_ref* order, std::size_t nt,
                       double* w, double& b, double& eta, double& grad_norm, bool* finite, sgd_scratch& scratch) noexcept {
  constexpr int N = DS == 0 ? Eigen::Dynamic : DS;
  using row_map = Eigen::Map<const Eigen::Matrix<double, N, 1>>;
  const auto ds = static_cast<Eigen::Index>(width);
  const std::size_t ws = DS == 0 ? width : static_cast<std::size_t>(DS);  // row stride in the block
  const std::size_t B = sgd_block_rows(width);
  const double l2 = o.l2, l1 = o.l1;
  const double fi = o.fit_intercept ? 1.0 : 0.0;
  double* const buf = scratch.rows.data();
  double* const wbuf = scratch.weights.data();
  auto loop = [&](auto& wv) noexcept {
    double L = 0, dl = 0, bb = b, e = eta;
    std::size_t t = step;
    if (nt == 0) return L;
    // NaN/Inf check in the gather: x * 0 summed per value.
    double bad = 0;
    auto at = [&](std::size_t j) { return row_map(buf + j * ws, ds); };
    auto gather = [&](std::size_t k0, std::size_t cnt) noexcept {
      sgd_gather<DS, Check>(R, stride, ws, wr, order + k0, cnt, k0 + cnt <= nt ? cnt : nt - k0, buf, wbuf, bad);
    };
    alignas(64) double rates[8];
    double p = 0, qn = 0;
    for (std::size_t k0 = 0; k0 < nt; k0 += B) {
      const std::size_t c = (std::min)(B, nt - k0);
      gather(k0, c + 2);
      if (k0 == 0) {
        p = wv.dot(at(0)) + bb;                      // p_0
        qn = L1 ? 0.0 : wv.dot(at(nt > 1 ? 1 : 0));  // Q_1
      }
      for (std::size_t j = 0; j < c; ++j) {
        const std::size_t k = k0 + j;
        const double yk = order[k].y;
        const auto x = at(j);
        const auto x1 = at(j + 1);
        double rd = 0, s2 = 0, s1 = 0;
        if constexpr (!L1) {  // independent of this row's loss
          const auto x2 = at(j + 2);
          rd = x2.dot(wv), s2 = x2.dot(x), s1 = x1.dot(x) + fi;
        }
        if (wr) {
          L += wbuf[j] * loss.eval(&p, 1, yk, &dl);
          dl *= wbuf[j];
        } else {
          L += loss.eval(&p, 1, yk, &dl);
        }
        if (k % 8 == 0) rate.fill8(t, rates);
        e = rates[k % 8];
        ++t;
        const double a = 1.0 - e * l2, g = e * dl;
        if constexpr (L1) {
          wv = a * wv - g * x;
          bb -= fi * g;
          soft_threshold(wv, e * l1);
          p = wv.dot(x1) + bb;
        } else {
          const double pn = (a * qn + bb) - g * s1;
          qn = a * rd - g * s2;
          wv = a * wv - g * x;
          bb -= fi * g;
          p = pn;
        }
      }
      if (k0 + B >= nt) grad_norm = std::abs(dl) * at(c - 1).norm();  // the last row's gradient
    }
    b = bb, eta = e, step = t;
    if constexpr (Check) *finite = bad == 0;
    return L;
  };
  if constexpr (DS == 0) {
    Eigen::Map<Eigen::VectorXd> wv(w, ds);
    return loop(wv);
  } else {
    Eigen::Matrix<double, DS, 1> wv = Eigen::Map<const Eigen::Matrix<double, DS, 1>>(w);
    const double L = loop(wv);
    Eigen::Map<Eigen::Matrix<double, DS, 1>> out(w);
    out = wv;
    return L;
  }
}

/// sgd_sample_pass with the width fixed at compile time for the common widths.
template <class T, class Loss>
double sgd_sample_epoch(const Loss& loss, const gd_options& o, gd_state& st, const T* R, std::size_t width, std::size_t stride,
                        const double* wr, const sample_ref* order, std::size_t nt, double* w, double& eta, double& grad_norm,
                        sgd_scratch& scratch, bool* finite = nullptr) noexcept {
  const step_rate rate(o, st);
  double b = st.b(0);
  double L = 0;
  auto run = [&]<bool L1, bool Check>() {
    switch (width) {
      case 8: return sgd_sample_pass<8, L1, Check>(loss, o, rate, st.step, R, width, stride, wr, order, nt, w, b, eta, grad_norm, finite, scratch);
      case 16: return sgd_sample_pass<16, L1, Check>(loss, o, rate, st.step, R, width, stride, wr, order, nt, w, b, eta, grad_norm, finite, scratch);
      case 32: return sgd_sample_pass<32, L1, Check>(loss, o, rate, st.step, R, width, stride, wr, order, nt, w, b, eta, grad_norm, finite, scratch);
      default: return sgd_sample_pass<0, L1, Check>(loss, o, rate, st.step, R, width, stride, wr, order, nt, w, b, eta, grad_norm, finite, scratch);
    }
  };
  if (o.l1 > 0) L = finite ? run.template operator()<true, true>() : run.template operator()<true, false>();
  else L = finite ? run.template operator()<false, true>() : run.template operator()<false, false>();
  st.b(0) = b;
  return L;
}

struct gd_outcome {
  fit_status status = fit_status::max_epochs;
  std::size_t epochs = 0;
  double loss = NAN, validation_loss = NAN;
  std::string message;
};

/// Every feature column has y.size() rows, and (check_y) y is finite (data_error otherwise).
template <class T>
void check_shape_and_target(std::string_view who, std::span<const std::span<const T>> columns, std::span<const T> y,
                            bool check_y = true) {
  const std::size_t n = y.size();
  for (std::size_t j = 0; j < columns.size(); ++j)
    if (columns[j].size() != n)
      MLOPS_THROW(data_error(errc::data_shape, fmt::format("{}: feature {} has {} rows but y has {}", who, j, columns[j].size(), n)));
  if (check_y && !all_finite<T>(y)) report_non_finite<T>(who, y, "the target");
}
/// NaN/Inf in a feature column is a data_error naming column and row.
template <class T>
void check_columns_finite(std::string_view who, std::span<const std::span<const T>> columns, std::span<const std::string> names) {
  for (std::size_t j = 0; j < columns.size(); ++j)
    if (!all_finite<T>(columns[j])) report_non_finite<T>(who, columns[j], column_label(names, j));
}
/// NaN/Inf anywhere in the features or the target is a data_error naming column and row.
template <class T>
void check_finite(std::string_view who, std::span<const std::span<const T>> columns, std::span<const T> y,
                  std::span<const std::string> names = {}) {
  check_shape_and_target<T>(who, columns, y);
  check_columns_finite<T>(who, columns, names);
}
/// The same for row-major features (n rows of d values, row r at rows + r * stride): the
/// error names the first row holding a NaN/Inf and its first such feature.
template <class T>
void check_finite_rows(std::string_view who, const T* rows, std::size_t n, std::size_t d, std::size_t stride,
                       std::span<const std::string> names = {}) {
  bool ok = true;
  if (stride == d) ok = all_finite<T>(std::span<const T>(rows, n * d));
  else
    for (std::size_t r = 0; r < n; ++r) ok &= all_finite<T>(std::span<const T>(rows + r * stride, d));
  if (ok) return;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < d; ++j)
      if (!std::isfinite(rows[r * stride + j]))
        report_non_finite<T>(who, std::span<const T>(rows + r * stride + j, 1), column_label(names, j), r);
}
/// check_finite or check_finite_rows on the features of `data` (the target is checked by the caller).
template <class T>
void check_features_finite(std::string_view who, const gd_data<T>& data) {
  if (data.rows) check_finite_rows<T>(who, data.rows, data.n(), data.d(), data.row_stride, data.names);
  else check_columns_finite<T>(who, data.columns, data.names);
}

/// The deferred NaN/Inf check of the features (gd_data::check_features) from the gradient
/// of a full pass over them: it sums x_ij * dp_ik over every row i and feature j, and a NaN
/// or infinite x_ij makes its term NaN or infinite whatever dp_ik is (0 * inf is NaN),
/// which no finite terms can undo. So a finite gradient proves every feature value finite
/// and costs the check no pass of its own; a non-finite one (bad data, or an overflow)
/// runs the full check, whose data_error names the column and row if there is a bad value.
template <class T>
void check_features_by_gradient(const gd_data<T>& data, const Eigen::MatrixXd& G, const Eigen::VectorXd& gb) {
  if (!G.allFinite() || !gb.allFinite()) check_features_finite<T>(data.who, data);
}

MLOPS_FUNC void check_gd_options(std::string_view who, const gd_options& o);

/// The optimizer core. `st` must be initialised (weights d x m). single_pass: exactly one
/// epoch over all rows, no validation split (partial_fit).
template <class T, class Loss>
gd_outcome gd_train(const gd_options& o, const Loss& loss, const gd_data<T>& data, gd_state& st, bool single_pass) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const std::size_t n = data.n(), d = data.d(), m = static_cast<std::size_t>(st.W.cols());
  // Seeded split into training and validation rows; the shuffle stream continues per epoch.
  // Without a validation split the training rows are all rows (no index list).
  xoshiro256ss rng(o.seed + 0x9E3779B97F4A7C15ull * st.epochs);
  std::vector<std::size_t> train, val;
  if (o.validation_fraction > 0 && !single_pass) {
    train.resize(n);
    std::iota(train.begin(), train.end(), std::size_t{0});
    shuffle(train.begin(), train.end(), rng);
    const auto n_val = static_cast<std::size_t>(std::ceil(o.validation_fraction * static_cast<double>(n)));
    if (n_val == 0 || n_val >= n)
      MLOPS_THROW(data_error(errc::data_empty, "gradient descent: validation_fraction leaves no training or no validation rows"));
    val.assign(train.begin(), train.begin() + static_cast<std::ptrdiff_t>(n_val));
    train.erase(train.begin(), train.begin() + static_cast<std::ptrdiff_t>(n_val));
    std::sort(train.begin(), train.end());  // full batch reads rows in order (cache friendly)
    std::sort(val.begin(), val.end());
  }
  const std::size_t nt = val.empty() ? n : train.size();
  const std::size_t bs = o.batch_size == 0 ? nt : (std::min)(o.batch_size, nt);
  const bool stochastic = bs < nt;
  const std::size_t* train_rows = nt == n ? nullptr : train.data();
  const std::size_t max_epochs = single_pass ? 1 : o.max_epochs;

  // Stochastic modes read rows. Row-major input (data.rows) is read in place: row indices
  // are the input's. Otherwise one row-major copy of the training rows (row k = training
  // row k), each row padded with zeros to `stride` values (see gd_pack). Either way the
  // rows are visited in a fresh Fisher-Yates order every epoch. Every large buffer is a
  // big_buffer (buffer cache, huge pages), not a std::vector.
  const bool in_place = data.rows != nullptr;
  const std::size_t stride = in_place ? data.row_stride : gd_row_stride(d);
  const std::size_t width = in_place ? d : stride;  // values the kernels read per row
  big_buffer<T> R;
  const T* rows = data.rows;
  big_buffer<double> yr, wr;
  big_buffer<std::size_t> order;
  const double* yp = data.y.data();
  const double* wp = data.weight.empty() ? nullptr : data.weight.data();
  const bool fast_sample = stochastic && bs == 1 && m == 1 && std::holds_alternative<plain_step>(o.rule);
  // The deferred NaN/Inf check of the features (gd_data::check_features): the copy checks
  // the rows it copies; rows read in place are checked by the first per-sample epoch, and
  // full batch by its first gradient (check_features_by_gradient). Rows nothing else reads
  // first (validation rows, mini-batches in place) are checked here, before training.
  const bool check_in_copy = data.check_features && stochastic && !in_place && val.empty();
  bool check_in_epoch = data.check_features && val.empty() && ((in_place && fast_sample) || !stochastic);
  if (data.check_features && !check_in_copy && !check_in_epoch) check_features_finite<T>(data.who, data);
  if (stochastic && !in_place) {
    R.allocate(nt * stride);
    // Row-major copy: rows outer, up to 16 columns (sequential read streams) inner; the
    // last column block also writes the row's zero padding. With the check, v - v (0 for
    // finite v) is summed in one lane per column.
    bool ok = true;
    for (std::size_t j0 = 0; j0 < (std::max<std::size_t>)(d, 1); j0 += 16) {
      const std::size_t j1 = (std::min)(d, j0 + 16), pad_end = j1 == d ? stride : j1;
      auto copy = [&](auto check) {
        T acc[16] = {};
        for (std::size_t k = 0; k < nt; ++k) {
          const std::size_t r = train_rows ? train_rows[k] : k;
          T* dst = R.data() + k * stride;
          for (std::size_t j = j0; j < j1; ++j) {
            const T v = data.columns[j][r];
            dst[j] = v;
            if constexpr (decltype(check)::value) acc[j - j0] += v - v;
          }
          for (std::size_t j = j1; j < pad_end; ++j) dst[j] = T(0);
        }
        for (const T a : acc) ok &= a == 0;
      };
      if (check_in_copy) copy(std::true_type{});
      else copy(std::false_type{});
    }
    if (!ok) check_features_finite<T>(data.who, data);  // raises the data_error naming column and row
    rows = R.data();
    if (train_rows) {  // targets (the mini-batch path; the per-sample order carries its own) and weights, in copy order
      if (!fast_sample) {
        yr.allocate(nt);
        for (std::size_t k = 0; k < nt; ++k) yr.data()[k] = data.y[train_rows[k]];
        yp = yr.data();
      }
      if (wp) {
        wr.allocate(nt);
        for (std::size_t k = 0; k < nt; ++k) wr.data()[k] = data.weight[train_rows[k]];
        wp = wr.data();
      }
    }
  }
  // The visiting order: row indices (copy rows 0..nt-1, or the input's training rows in
  // place), for the per-sample kernel paired with their targets. The first epoch's order
  // is written already shuffled (shuffled_fill: one pass); each later epoch shuffles the
  // order of the one before.
  auto train_row = [&](std::uint64_t k) -> std::size_t { return train_rows ? train_rows[k] : k; };
  auto row_of = [&](std::uint64_t k) -> std::size_t { return in_place ? train_row(k) : k; };
  auto ref_of = [&](std::uint64_t k) { return sample_ref{row_of(k), data.y[train_row(k)]}; };
  big_buffer<sample_ref> refs;  // the per-sample kernel's order: (row, target) pairs
  sgd_scratch scratch;          // and its gathered block
  if (fast_sample) {
    refs.allocate(nt);
    scratch.reserve(width, wp != nullptr);
  } else if (stochastic) {
    order.allocate(nt);
  }
  auto reorder = [&](auto* a, const auto& gen, std::size_t epoch) {
    if (epoch == 1) shuffled_fill(a, nt, gen, rng);
    else shuffle(a, a + nt, rng);
  };

  gd_block blk(stochastic ? bs : gd_chunk_rows(d), d, m);
  Eigen::MatrixXd G(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(m));
  Eigen::VectorXd gb(static_cast<Eigen::Index>(m));
  Eigen::VectorXd wpad = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(width));  // padded weights of the per-sample kernel

  gd_outcome res;
  double prev_loss = NAN, first_loss = NAN, grad_norm = 0, eta = 0;
  Eigen::MatrixXd best_W = st.W, last_W = st.W;
  Eigen::VectorXd best_b = st.b, last_b = st.b;
  double best_val = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0;
  double best_loss = std::numeric_limits<double>::infinity();  // n_iter_no_change's rule
  std::size_t no_improvement = 0;
  const double inv_nt = 1.0 / static_cast<double>(nt);
  for (std::size_t epoch = 1; epoch <= max_epochs; ++epoch) {
    double L = 0;
    if (!stochastic) {
      L = gd_pass(loss, data, train_rows, nt, blk, st.W, st.b, &G, &gb);
      if (check_in_epoch) {  // the first full-batch pass
        check_features_by_gradient(data, G, gb);
        check_in_epoch = false;
      }
      G *= inv_nt;
      gb *= inv_nt;
      eta = gd_rate(o, st);
      gd_apply(o, st, G, gb, eta);
      grad_norm = std::sqrt(G.squaredNorm() + gb.squaredNorm());
      L = L * inv_nt + gd_penalty(o, last_W);  // the loss at the start of this step
    } else {
      if (fast_sample) {
        // Per-sample SGD, one output, plain step: the dedicated kernel over the rows.
        // The pairs are shuffled exactly as the index list would be (same permutation).
        reorder(refs.data(), ref_of, epoch);
        wpad.head(static_cast<Eigen::Index>(d)) = st.W.col(0);
        bool finite = true;
        L = sgd_sample_epoch(loss, o, st, rows, width, stride, wp, refs.data(), nt, wpad.data(), eta, grad_norm, scratch,
                             check_in_epoch ? &finite : nullptr);
        if (check_in_epoch) {
          if (!finite) check_features_finite<T>(data.who, data);  // raises the data_error naming row and feature
          check_in_epoch = false;
        }
        st.W.col(0) = wpad.head(static_cast<Eigen::Index>(d));
      } else {
        reorder(order.data(), row_of, epoch);
        for (std::size_t k0 = 0; k0 < nt; k0 += bs) {
          const std::size_t c = (std::min)(bs, nt - k0);
          blk.gather_rows(rows, d, stride, yp, wp, order.data(), k0, c, nt);
          G.setZero();
          gb.setZero();
          L += blk.run(loss, c, st.W, st.b, &G, &gb);
          G /= static_cast<double>(c);
          gb /= static_cast<double>(c);
          eta = gd_rate(o, st);
          gd_apply(o, st, G, gb, eta);
        }
        grad_norm = std::sqrt(G.squaredNorm() + gb.squaredNorm());
      }
      L = L * inv_nt + gd_penalty(o, st.W);
    }
    ++st.epochs;
    res.epochs = epoch;
    if (epoch == 1) first_loss = L;
    if (!std::isfinite(L) || !st.W.allFinite() || !st.b.allFinite() || L > 1e6 * (std::abs(first_loss) + 1.0)) {
      st.W = last_W;
      st.b = last_b;
      res.status = fit_status::diverged;
      res.message = fmt::format("training diverged at epoch {} (loss {} from {}); the learning rate ({}) is likely too large "
                                "for the scale of the data: lower it (e.g. by 10x) or standardize the features",
                                st.epochs, L, first_loss, eta);
      return res;
    }
    last_W = st.W;
    last_b = st.b;
    res.loss = L;
    epoch_info info;
    info.epoch = st.epochs;
    info.loss = L;
    info.gradient_norm = grad_norm;
    info.learning_rate = eta;
    if (!val.empty()) {
      info.validation_loss = gd_pass(loss, data, val.data(), val.size(), blk, st.W, st.b, nullptr, nullptr) /
                                 static_cast<double>(val.size()) + gd_penalty(o, st.W);
      res.validation_loss = info.validation_loss;
    }
    info.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
    if (o.on_epoch && !o.on_epoch(info)) {
      res.status = fit_status::stopped_by_callback;
      break;
    }
    if (!val.empty()) {
      if (info.validation_loss < best_val * (1 - o.min_improvement)) {
        best_val = info.validation_loss;
        best_W = st.W;
        best_b = st.b;
        since_best = 0;
      } else if (++since_best >= o.patience) {
        st.W = best_W;
        st.b = best_b;
        res.validation_loss = best_val;
        res.status = fit_status::early_stopped;
        break;
      }
    }
    if (o.n_iter_no_change > 0) {  // scikit-learn's SGD rule: no epoch beat the best by tol, n times in a row
      no_improvement = L > best_loss - o.tol ? no_improvement + 1 : 0;
      best_loss = (std::min)(best_loss, L);
      if (no_improvement >= o.n_iter_no_change) {
        res.status = fit_status::converged;
        break;
      }
    } else if (epoch > 1 && std::abs(prev_loss - L) <= o.tol * (std::max)(1.0, std::abs(prev_loss))) {
      res.status = fit_status::converged;
      break;
    }
    prev_loss = L;
  }
  if (!stochastic && res.status != fit_status::early_stopped)  // report the loss of the final weights
    res.loss = gd_pass(loss, data, train_rows, nt, blk, st.W, st.b, nullptr, nullptr) * inv_nt + gd_penalty(o, st.W);
  return res;
}

/// The columns of `features` of a frame.
}  // namespace detail

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_LEARN_GD)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC double gd_penalty(const gd_options& o, const Eigen::MatrixXd& W) noexcept {
  return 0.5 * o.l2 * W.squaredNorm() + (o.l1 > 0 ? o.l1 * W.template lpNorm<1>() : 0.0);
}

MLOPS_FUNC void gd_apply(const gd_options& o, gd_state& st, Eigen::MatrixXd& g, Eigen::VectorXd& gb, double eta) {
  if (o.l2 > 0) g += o.l2 * st.W;
  ++st.step;
  if (const auto* a = std::get_if<adam_step>(&o.rule)) {
    st.m1 = a->beta1 * st.m1 + (1 - a->beta1) * g;
    st.m2 = a->beta2 * st.m2 + (1 - a->beta2) * g.cwiseProduct(g);
    st.mb1 = a->beta1 * st.mb1 + (1 - a->beta1) * gb;
    st.mb2 = a->beta2 * st.mb2 + (1 - a->beta2) * gb.cwiseProduct(gb);
    const double c1 = 1 - std::pow(a->beta1, static_cast<double>(st.step)), c2 = 1 - std::pow(a->beta2, static_cast<double>(st.step));
    st.W.array() -= eta * (st.m1.array() / c1) / (exact_sqrt(st.m2.array() / c2) + a->eps);
    if (o.fit_intercept) st.b.array() -= eta * (st.mb1.array() / c1) / (exact_sqrt(st.mb2.array() / c2) + a->eps);
  } else {
    st.W -= eta * g;
    if (o.fit_intercept) st.b -= eta * gb;
  }
  if (o.l1 > 0) {  // proximal step: soft-threshold
    const double t = eta * o.l1;
    soft_threshold(st.W, t);
  }
}

MLOPS_FUNC void check_gd_options(std::string_view who, const gd_options& o) {
  if (!(o.l2 >= 0) || !(o.l1 >= 0) || !std::isfinite(o.l2) || !std::isfinite(o.l1) || !(o.tol >= 0) || o.max_epochs == 0 ||
      !(o.validation_fraction >= 0 && o.validation_fraction < 1) || !(o.min_improvement >= 0))
    MLOPS_THROW(argument_error(errc::invalid_argument,
                               fmt::format("{}: need l1, l2, tol >= 0, max_epochs > 0, validation_fraction in [0, 1)", who)));
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_LEARN_GD
