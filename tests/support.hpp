// Test support: allocation counting (defined in test_main.cpp) and typed-test helpers.
#pragma once
#include <cstddef>
#include <limits>
#include <string>

#include "mlops/error.hpp"

namespace test {
/// Number of global operator new calls so far in this process.
std::size_t allocations() noexcept;

/// The stable id of the mlops::error that f() throws, or "none".
template <class F>
std::string error_id_of(F&& f) {
  try {
    f();
  } catch (const mlops::error& e) {
    return std::string(e.id());
  }
  return "none";
}
/// The what() of the mlops::error that f() throws, or "none".
template <class F>
std::string error_text_of(F&& f) {
  try {
    f();
  } catch (const mlops::error& e) {
    return e.what();
  }
  return "none";
}

template <class T>
constexpr double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
}  // namespace test
