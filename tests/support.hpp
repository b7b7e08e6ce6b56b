// Test support: allocation counting (defined in test_main.cpp) and typed-test helpers.
#pragma once
#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>

#include <unistd.h>

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

/// An empty directory TEMP/mlops_<suite>_<pid>/<name> (removed and made again).
inline std::filesystem::path fresh_dir(const std::string& suite, const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops_" + suite + "_" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

template <class T>
constexpr double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
}  // namespace test
