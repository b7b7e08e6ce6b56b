// mlops/detail/parallel.hpp - a fixed set of tasks on a few threads, errors in index order.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Runs task(i) for i in [0, n) on up to `threads` threads. Every task runs (or is skipped
/// after a failure); the exception of the lowest failing index is rethrown, so which
/// error surfaces does not depend on the scheduling.
template <class Fn>
void parallel_tasks(std::size_t n, std::size_t threads, Fn&& task) {
  if (threads == 0) threads = (std::max)(1u, std::thread::hardware_concurrency());
  threads = (std::min)(threads, n);
#if MLOPS_HAS_EXCEPTIONS
  std::vector<std::exception_ptr> errors(n);
  std::atomic<bool> failed{false};
  auto guarded = [&](std::size_t i) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      task(i);
    } catch (...) {
      errors[i] = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  };
#else
  auto guarded = [&](std::size_t i) { task(i); };
#endif
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) guarded(i);
  } else {
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) guarded(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
  }
#if MLOPS_HAS_EXCEPTIONS
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
#endif
}

}  // namespace detail
MLOPS_NAMESPACE_END
