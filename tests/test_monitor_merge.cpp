// The drift monitor's merge (issue 6): merged per-thread monitors equal one monitor fed
// everything, also while observing continues on other threads. A small translation unit
// (monitor headers only) so the ThreadSanitizer build (label tsan) compiles little.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "mlops/monitor/drift.hpp"
#include "monitor_support.hpp"
#include "support.hpp"

using namespace mlops;
using test::error_id_of;
using test::normal_gen;
using test::normal_profile;

TEST_CASE("monitor: merge equals one monitor fed everything; reset forgets") {
  const auto p = normal_profile(4, 10000, 5);
  normal_gen g(6);
  DriftMonitor<double> a(p), b(p), all(p);
  std::vector<double> row(4);
  for (std::size_t i = 0; i < 7000; ++i) {
    for (auto& v : row) v = g() + (i > 5000 ? 0.3 : 0.0);
    if (i % 7 == 3) row[2] = std::nan("");
    all.observe(row, row[0]);
    (i % 3 == 0 ? a : b).observe(row, row[0]);
  }
  a.merge(b);
  const auto ra = a.report(drift_scope::total), rall = all.report(drift_scope::total);
  CHECK(ra.observed == rall.observed);
  CHECK(ra.window_rows == rall.window_rows);
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(ra.features[j].present == rall.features[j].present);
    CHECK(ra.features[j].psi == rall.features[j].psi);  // from the same counts: the same bits
    CHECK(ra.features[j].ks == rall.features[j].ks);
    CHECK(ra.features[j].js == rall.features[j].js);
    CHECK(ra.features[j].missing_rate == rall.features[j].missing_rate);
    CHECK(ra.features[j].mean == doctest::Approx(rall.features[j].mean).epsilon(1e-12));
  }
  CHECK(ra.prediction.psi == rall.prediction.psi);
  DriftMonitor<double> other(normal_profile(4, 10000, 99));
  CHECK(error_id_of([&] { a.merge(other); }) == "argument.invalid");
  a.reset();
  CHECK(a.report().observed == 0);
  CHECK(a.report(drift_scope::total).window_rows == 0);
}

TEST_CASE("monitor: concurrency - per-thread monitors merged while observing continues conserve every count") {
  const auto p = normal_profile(8, 5000, 21);
  DriftMonitor<double> hub(p);
  std::mutex mu;
  constexpr int threads = 4;
  constexpr std::size_t per_thread = 40000;
  std::atomic<int> running{threads};
  std::vector<std::thread> pool;
  std::vector<std::uint64_t> nan_fed(threads, 0);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      DriftMonitor<double> local(p);
      normal_gen g(100 + static_cast<std::uint64_t>(t));
      std::vector<double> row(8);
      for (std::size_t i = 0; i < per_thread; ++i) {
        for (auto& v : row) v = g();
        if (i % 11 == 0) {
          row[3] = std::nan("");
          ++nan_fed[static_cast<std::size_t>(t)];
        }
        local.observe(row, row[1]);
        if (i % 997 == 996) {  // drain into the hub while the other threads keep observing
          std::lock_guard<std::mutex> lock(mu);
          hub.merge(local);
          local.reset();
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      hub.merge(local);
      --running;
    });
  // A reader takes reports while the workers run.
  std::size_t reports = 0;
  while (running.load() > 0) {
    std::lock_guard<std::mutex> lock(mu);
    const auto r = hub.report(drift_scope::total);
    CHECK(r.window_rows == r.observed);
    ++reports;
  }
  for (auto& th : pool) th.join();
  const auto r = hub.report(drift_scope::total);
  CHECK(r.observed == threads * per_thread);
  CHECK(r.window_rows == threads * per_thread);
  std::uint64_t nans = 0;
  for (auto n : nan_fed) nans += n;
  CHECK(r.features[3].rows - r.features[3].present == nans);
  for (std::size_t j = 0; j < 8; ++j) CHECK(r.features[j].rows == threads * per_thread);
  CHECK(reports > 0);
}
