// The whole path a user takes (CSV, a pipeline with every kind of step, cross-validation,
// a row prediction, a monitor, save and load), for double and float: compiled with the
// strictest warnings and -Werror against the installed package.
#include <mlops/mlops.hpp>
template <class T>
int run() {
  const auto f = mlops::parse_csv<T>("x,c,y\n1,a,3\n2,b,5\n3,a,7\n4,b,9\n5,a,11\n6,b,13\n");
  auto p = mlops::pipeline<T>().impute().drop_outliers_iqr(3.0).standardize();
  p.add(mlops::OneHotEncoder<T>{});
  const auto m = p.fit(mlops::LinearRegression<T>{}, f, "y");
  const T row[] = {T(2), T(0)};
  auto mon = m.monitor();
  mon.observe(row, m.predict_row(row));
  const auto cv = mlops::cross_validate(p.estimator(mlops::LinearRegression<T>{}), f, "y", 3);
  const auto again = mlops::FittedPipeline<T>::from_bytes(m.to_bytes());
  return again.predict(f).size() == f.rows() && cv.test.size() > 0 ? 0 : 1;
}
int main() { return run<double>() + run<float>(); }
