// Compiled with -fno-exceptions: the library must build, work, and route errors to the
// installed handler (which here prints the stable id) before aborting.
#include <cstdio>
#include <cstring>

#include "mlops/csv.hpp"
#include "mlops/pipeline.hpp"

int main(int argc, char** argv) {
  mlops::set_error_handler([](const mlops::error& e) { std::fprintf(stderr, "handler saw %s\n", std::string(e.id()).c_str()); });
  if (argc > 1 && std::strcmp(argv[1], "--raise") == 0) {
    (void)mlops::parse_csv<double>("a,b\n1\n");  // ragged row: handler, then abort
    return 0;
  }
  const auto f = mlops::parse_csv<double>("a,b,y\n1,2,5\n2,1,4\n3,5,13\n4,4,12\n5,,7\n");
  const auto p = mlops::pipeline<double>().impute().standardize().fit(mlops::LinearRegression<double>{}, f, "y");
  const double row[] = {2.0, 3.0};
  const double y = p.predict_row(row);
  std::printf("prediction %.6f\n", y);
  return std::isfinite(y) ? 0 : 1;
}
