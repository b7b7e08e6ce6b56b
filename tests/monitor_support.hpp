// Monitor test support: standard-normal data on our own generator and reference
// profiles of it (shared by test_monitor.cpp and test_monitor_merge.cpp).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mlops/detail/rng.hpp"
#include "mlops/monitor/profile.hpp"

namespace test {
/// Standard normal by Box-Muller on our own generator (test data only).
struct normal_gen {
  mlops::detail::xoshiro256ss rng;
  explicit normal_gen(std::uint64_t seed) : rng(seed) {}
  double operator()() {
    const double u1 = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53, u2 = rng.uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

/// A profile of d standard-normal features (n reference rows) and a prediction equal to x0.
inline mlops::DriftProfile normal_profile(std::size_t d, std::size_t n, std::uint64_t seed, std::size_t bins = 10) {
  normal_gen g(seed);
  std::vector<std::vector<double>> cols(d, std::vector<double>(n));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) cols[j][i] = g();
  mlops::DriftProfile p;
  p.bins = bins;
  for (std::size_t j = 0; j < d; ++j) p.features.push_back(mlops::FeatureProfile::capture<double>("x" + std::to_string(j), cols[j], bins));
  p.prediction = mlops::FeatureProfile::capture<double>("prediction", cols[0], bins);
  return p;
}
}  // namespace test
