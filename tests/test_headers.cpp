// The one test unit that includes the umbrella header, after fwd.hpp: every forward
// declaration must agree with its definition, and linking this unit with the others
// (which include only what they test) is the one-definition-rule check.
#include <doctest/doctest.h>

#include "mlops/fwd.hpp"
#include "mlops/mlops.hpp"

TEST_CASE("headers: the umbrella and the forward declarations agree") {
  static_assert(mlops::scalar<float> && mlops::scalar<double> && !mlops::scalar<int>);
  const mlops::DataFrame<double>* frame = nullptr;
  CHECK(frame == nullptr);
  CHECK(std::string(MLOPS_VERSION_STRING) == fmt::format("{}.{}.{}", MLOPS_VERSION_MAJOR, MLOPS_VERSION_MINOR, MLOPS_VERSION_PATCH));
}
