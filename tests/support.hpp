// Test support: allocation counting (defined in test_main.cpp) and typed-test helpers.
#pragma once
#include <cstddef>
#include <limits>

namespace test {
/// Number of global operator new calls so far in this process.
std::size_t allocations() noexcept;

template <class T>
constexpr double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
}  // namespace test
