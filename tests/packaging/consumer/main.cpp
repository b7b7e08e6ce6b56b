#include <mlops/csv.hpp>
#include <mlops/learn/linear.hpp>

int main() {
  const auto f = mlops::parse_csv<double>("x,y\n1,3\n2,5\n3,7\n");
  const auto m = mlops::LinearRegression<double>{}.fit(f, {"x"}, "y");
  return std::abs(m.coef()(0) - 2.0) < 1e-12 && std::abs(m.intercept() - 1.0) < 1e-12 ? 0 : 1;
}
