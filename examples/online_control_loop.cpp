// The on-device role: a control loop that predicts every tick and learns online as
// labels arrive (one tick late), with a change of the world halfway through (say, a
// robot picks up a payload). Reports per-tick predict and update latency (median, p99),
// tracking error before and after the change, and that the loop allocated nothing.
//
//   online_control_loop [ticks]
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "mlops/detail/rng.hpp"
#include "mlops/learn/online.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

int main(int argc, char** argv) {
  constexpr std::size_t d = 16;
  const std::size_t ticks = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  mlops::RecursiveLeastSquares<double> model(d, mlops::RlsOptions{0.995, 1.0, true});
  mlops::detail::xoshiro256ss rng(7);
  std::array<double, d> w_before{}, w_after{};
  for (std::size_t j = 0; j < d; ++j) {
    w_before[j] = rng.uniform01() * 2 - 1;
    w_after[j] = w_before[j] + (j % 4 == 0 ? 1.5 : 0.0);  // the payload changes 4 gains
  }
  // Everything the loop touches is allocated up front.
  std::vector<double> t_predict(ticks), t_update(ticks), err(ticks);
  std::array<double, d> x{}, x_prev{};
  double y_prev = 0;
  using clock = std::chrono::steady_clock;

  const std::size_t allocs_before = g_allocations.load();
  for (std::size_t t = 0; t < ticks; ++t) {
    for (auto& v : x) v = rng.uniform01() * 2 - 1;  // sensors
    const auto& w = t < ticks / 2 ? w_before : w_after;
    double y = 0.3;
    for (std::size_t j = 0; j < d; ++j) y += w[j] * x[j];
    y += 0.01 * (rng.uniform01() - 0.5);

    const auto t0 = clock::now();
    const double pred = model.predict(x);  // act on the prediction
    const auto t1 = clock::now();
    if (t > 0) model.update(x_prev, y_prev);  // last tick's label has arrived
    const auto t2 = clock::now();

    t_predict[t] = std::chrono::duration<double, std::nano>(t1 - t0).count();
    t_update[t] = std::chrono::duration<double, std::nano>(t2 - t1).count();
    err[t] = std::abs(pred - y);
    x_prev = x;
    y_prev = y;
  }
  const std::size_t loop_allocations = g_allocations.load() - allocs_before;

  auto pct = [](std::vector<double> v, double p) {
    const auto k = static_cast<std::ptrdiff_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[static_cast<std::size_t>(k)];
  };
  auto mean_err = [&](std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t t = from; t < to; ++t) s += err[t];
    return s / static_cast<double>(to - from);
  };
  const std::size_t half = ticks / 2;
  std::printf("online control loop: %zu ticks, d=%zu, RLS forgetting 0.995\n", ticks, d);
  std::printf("predict latency: median %.0f ns, p99 %.0f ns (includes two clock reads)\n", pct(t_predict, 0.5), pct(t_predict, 0.99));
  std::printf("update latency:  median %.0f ns, p99 %.0f ns\n", pct(t_update, 0.5), pct(t_update, 0.99));
  std::printf("mean |error|: ticks 1000-%zu %.4f; right after the change (%zu-%zu) %.4f; recovered (%zu-%zu) %.4f\n", half,
              mean_err(1000, half), half, half + 50, mean_err(half, half + 50), half + 1000, ticks, mean_err(half + 1000, ticks));
  std::printf("allocations in the loop: %zu\n", loop_allocations);
  const bool recovered = mean_err(half + 1000, ticks) < 0.05 && mean_err(half, half + 50) > 5 * mean_err(half + 1000, ticks);
  std::printf("%s\n", recovered ? "the model recovered from the change" : "the model did NOT recover from the change");
  return loop_allocations == 0 && recovered ? 0 : 1;
}
