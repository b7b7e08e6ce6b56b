// Closed-form regression, metrics, the fitted pipeline, save/load and the hot path.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "golden/sklearn_golden.hpp"
#include "mlops/mlops.hpp"
#include "support.hpp"

using namespace mlops;

namespace {
template <class T>
DataFrame<T> golden_frame(bool with_target = true) {
  DataFrame<T> f;
  for (int j = 0; j < golden::d; ++j) {
    std::vector<T> c(golden::X + j * golden::n, golden::X + (j + 1) * golden::n);
    f.add_column("x" + std::to_string(j), std::span<const T>(c));
  }
  if (with_target) {
    std::vector<T> y(golden::y, golden::y + golden::n);
    f.add_column("y", std::span<const T>(y));
  }
  return f;
}
std::vector<std::string> golden_features() { return {"x0", "x1", "x2", "x3"}; }

double rel(double a, double b) { return std::abs(a - b) / (std::max)(std::abs(b), 1e-300); }

std::filesystem::path temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

DataFrame<double> messy_frame(std::size_t n, std::uint64_t seed) {
  detail::xoshiro256ss rng(seed);
  std::vector<double> a(n), b(n), c(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = rng.uniform01() * 100;
    b[i] = rng.uniform01() * 10 - 5;
    c[i] = rng.uniform01();
    y[i] = 2 * a[i] - 3 * b[i] + 10 * c[i] + 1 + (rng.uniform01() - 0.5);
    if (i % 13 == 0) a[i] = std::nan("");
    if (i % 29 == 0) b[i] = 500;  // outliers
  }
  return DataFrame<double>::from_columns({"a", "b", "c", "y"}, {a, b, c, y});
}
}  // namespace

TEST_CASE("LinearRegression and ridge agree with scikit-learn to 1e-9 relative") {
  const auto f = golden_frame<double>();
  const auto ols = LinearRegression<double>{}.fit(f, golden_features(), "y");
  CHECK(ols.solver() == linear_solver::ldlt);
  for (int j = 0; j < golden::d; ++j) CHECK(rel(ols.coef()(j), golden::ols_coef[j]) < 1e-9);
  CHECK(rel(ols.intercept(), golden::ols_intercept) < 1e-9);

  const auto ridge = LinearRegression<double>{true, 2.5}.fit(f, golden_features(), "y");
  for (int j = 0; j < golden::d; ++j) CHECK(rel(ridge.coef()(j), golden::ridge_coef[j]) < 1e-9);
  CHECK(rel(ridge.intercept(), golden::ridge_intercept) < 1e-9);

  // The same through the matrix entry point.
  const auto X = f.to_matrix(golden_features());
  const auto m2 = LinearRegression<double>{}.fit(X, f.column("y"));
  CHECK((m2.coef() - ols.coef()).norm() == doctest::Approx(0).epsilon(1e-14));
  const auto pred = m2.predict(X);
  CHECK(pred(0) == doctest::Approx(ols.predict_row(std::vector<double>{X(0, 0), X(0, 1), X(0, 2), X(0, 3)})));
}

TEST_CASE("float models train in double internally and agree to float precision") {
  const auto f = golden_frame<float>();
  const auto m = LinearRegression<float>{}.fit(f, golden_features(), "y");
  for (int j = 0; j < golden::d; ++j) CHECK(rel(m.coef()(j), golden::ols_coef[j]) < 1e-4);
}

TEST_CASE("rank-deficient data falls back to the minimum-norm least-squares solution") {
  auto f = golden_frame<double>();
  std::vector<double> dup(golden::n);
  for (int i = 0; i < golden::n; ++i) dup[static_cast<std::size_t>(i)] = 2.0 * golden::X[i];
  f.add_column("x4", std::span<const double>(dup));
  const auto m = LinearRegression<double>{}.fit(f, {"x0", "x1", "x2", "x3", "x4"}, "y");
  CHECK(m.solver() == linear_solver::complete_orthogonal);
  CHECK(m.rank() == 4);
  for (int j = 0; j < 5; ++j) CHECK(std::abs(m.coef()(j) - golden::rankdef_coef[j]) < 1e-9 * (1 + std::abs(golden::rankdef_coef[j])));
  CHECK(rel(m.intercept(), golden::rankdef_intercept) < 1e-9);
}

TEST_CASE("LinearRegression rejects bad input with typed errors and fits nothing") {
  auto f = golden_frame<double>();
  f.column("x2")[7] = std::nan("");
  try {
    (void)LinearRegression<double>{}.fit(f, golden_features(), "y");
    FAIL("expected data_error");
  } catch (const data_error& e) {
    CHECK(e.code() == errc::data_non_finite);
    CHECK(std::string(e.what()).find("column 'x2'") != std::string::npos);
    CHECK(std::string(e.what()).find("row 7") != std::string::npos);
  }
  auto g = golden_frame<double>();
  g.column("y")[3] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(LinearRegression<double>{}.fit(g, golden_features(), "y"), data_error);
  const std::vector<double> y3{1, 2, 3};
  const std::vector<double> x2{1, 2};
  const std::span<const double> cols[] = {std::span<const double>(x2)};
  CHECK_THROWS_AS(LinearRegression<double>{}.fit(cols, y3), data_error);
  CHECK_THROWS_AS(LinearRegression<double>{}.fit(std::span<const std::span<const double>>{}, std::span<const double>{}), data_error);
  CHECK_THROWS_AS((LinearRegression<double>{true, -1.0}.fit(golden_frame<double>(), golden_features(), "y")), argument_error);
}

TEST_CASE("metrics agree with scikit-learn, including a constant target") {
  const std::span<const double> y(golden::y, golden::n), p(golden::pred, golden::n);
  CHECK(rel(mean_squared_error(y, p), golden::mse) < 1e-12);
  CHECK(rel(mean_absolute_error(y, p), golden::mae) < 1e-12);
  CHECK(rel(r2_score(y, p), golden::r2) < 1e-12);
  CHECK(rel(root_mean_squared_error(y, p), std::sqrt(golden::mse)) < 1e-12);
  const std::vector<double> c{2, 2, 2}, good{2, 2, 2}, bad{1, 2, 3};
  CHECK(r2_score<double>(c, good) == 1.0);
  CHECK(r2_score<double>(c, bad) == 0.0);
  CHECK_THROWS_AS(r2_score<double>(c, std::vector<double>{1.0}), data_error);
  CHECK_THROWS_AS(mean_squared_error<double>(std::vector<double>{}, std::vector<double>{}), data_error);
  CHECK_THROWS_AS(mean_squared_error<double>(std::vector<double>{std::nan("")}, std::vector<double>{1.0}), data_error);
}

TEST_CASE("pipeline: fitted on the training split only, predicts raw rows like the batch path") {
  const auto frame = messy_frame(2000, 1);
  const auto [train, test] = train_test_split(frame, 0.25, 3);
  const auto fp = pipeline<double>().impute(impute_strategy::median).drop_outliers_iqr(1.5).standardize().fit(
      LinearRegression<double>{}, train, "y");
  CHECK(fp.features() == std::vector<std::string>{"a", "b", "c"});
  CHECK(fp.report().steps.size() == 3);
  CHECK(fp.report().steps[1].rows_out < fp.report().steps[1].rows_in);  // outliers dropped
  // No leakage: the imputer's median is the training median, not the full data's.
  const auto& imp = std::get<FittedSimpleImputer<double>>(fp.steps()[0]);
  const auto train_only = SimpleImputer<double>{impute_strategy::median}.fit(train, std::vector<std::string>{"a"});
  CHECK(imp.fill_values()[0] == train_only.fill_values()[0]);
  const auto all_data = SimpleImputer<double>{impute_strategy::median}.fit(frame, std::vector<std::string>{"a"});
  CHECK(imp.fill_values()[0] != all_data.fill_values()[0]);

  // ~8% of rows have 'a' (the strongest feature) imputed, which bounds R^2 near 0.92.
  const auto m = fp.evaluate(test);
  CHECK(m.r2 > 0.85);
  CHECK(fp.metrics().at("train.r2") > 0.85);
  const auto batch = fp.predict(test);
  // Clean rows are predicted far better than the whole split (imputed training rows
  // attenuate the coefficient of 'a' a little, so not exactly within the noise).
  std::size_t clean = 0;
  double sse = 0;
  for (std::size_t r = 0; r < test.rows(); ++r) {
    if (std::isnan(test.column("a")[r]) || test.column("b")[r] == 500) continue;
    ++clean;
    sse += (batch[r] - test.column("y")[r]) * (batch[r] - test.column("y")[r]);
  }
  CHECK(clean > 400);
  CHECK(std::sqrt(sse / static_cast<double>(clean)) < 2.0);
  CHECK(m.rmse > 5.0);
  std::vector<double> row(3);
  for (std::size_t r = 0; r < test.rows(); ++r) {
    for (std::size_t j = 0; j < 3; ++j) row[j] = test.column(fp.features()[j])[r];
    CHECK(std::bit_cast<std::uint64_t>(fp.predict_row(row)) == std::bit_cast<std::uint64_t>(batch[r]));
  }
  // Columns are matched by name: reordered input and extra columns give the same predictions.
  const auto reordered = test.select({"y", "c", "a", "b"});
  CHECK(fp.predict(reordered) == batch);
  // A missing column is a schema error naming it.
  try {
    (void)fp.predict(test.drop({"b"}));
    FAIL("expected schema_error");
  } catch (const schema_error& e) {
    CHECK(std::string(e.what()).find("'b'") != std::string::npos);
  }
  double out = 0;
  CHECK(fp.try_predict(std::vector<double>{1, 2}, out) == predict_status::wrong_length);
  CHECK(fp.try_predict(std::vector<double>{std::nan(""), 2, 0.5}, out) == predict_status::ok);  // imputed
}

TEST_CASE("pipeline without an imputer: a missing value is a clear error, never a silent NaN") {
  const auto frame = messy_frame(300, 2);
  auto clean = frame;
  for (auto& v : clean.column("a"))
    if (std::isnan(v)) v = 1;
  const auto fp = pipeline<double>().standardize().fit(LinearRegression<double>{}, clean, "y");
  CHECK_THROWS_AS(fp.predict(frame), data_error);
  double out = 0;
  CHECK(fp.try_predict(std::vector<double>{std::nan(""), 1, 1}, out) == predict_status::non_finite);
  // Rows whose target is missing are dropped from fitting and counted.
  auto t = clean;
  t.column("y")[0] = std::nan("");
  const auto fp2 = pipeline<double>().fit(LinearRegression<double>{}, t, "y");
  CHECK(fp2.report().rows_missing_target == 1);
  CHECK_THROWS_AS(pipeline<double>().fit(LinearRegression<double>{}, t, "nope"), schema_error);
  CHECK_THROWS_AS(pipeline<double>().features({"a", "y"}).fit(LinearRegression<double>{}, t, "y"), argument_error);
}

TEST_CASE("predicting one row is noexcept and allocates nothing") {
  const auto frame = messy_frame(500, 4);
  const auto fp = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().fit(LinearRegression<double>{}, frame, "y");
  static_assert(noexcept(fp.predict_row(std::span<const double>{})));
  const double row[] = {std::nan(""), 700.0, 0.25};
  const std::size_t before = test::allocations();
  double acc = 0;
  for (int i = 0; i < 1000; ++i) acc += fp.predict_row(row);
  double out = 0;
  bool outlier = false;
  (void)fp.try_predict(row, out, &outlier);
  const std::size_t after = test::allocations();
  CHECK(after == before);
  CHECK(std::isfinite(acc));
  // The counter does count: a vector allocates.
  std::vector<int> v(10);
  CHECK(test::allocations() > after);
}

TEST_CASE("flag mode marks rows outside the fences at serving time") {
  const auto frame = messy_frame(500, 5);
  const auto fp = pipeline<double>().impute().drop_outliers_iqr(1.5, outlier_action::flag).fit(LinearRegression<double>{}, frame, "y");
  const auto flags = fp.outlier_flags(frame);
  CHECK(flags[0] == 1);  // b = 500 at row 0
  CHECK(flags[1] == 0);
  double out = 0;
  bool outlier = false;
  CHECK(fp.try_predict(std::vector<double>{50, 500, 0.5}, out, &outlier) == predict_status::ok);
  CHECK(outlier);
}

TEST_CASE_TEMPLATE("save/load round-trips bit-identical predictions", T, float, double) {
  DataFrame<T> frame;
  const auto src = messy_frame(800, 6);
  for (const auto& n : src.names()) {
    std::vector<T> c(src.column(n).begin(), src.column(n).end());
    frame.add_column(n, std::span<const T>(c));
  }
  auto fp = pipeline<T>().impute(impute_strategy::mean).drop_outliers_iqr(2.0).standardize().fit(LinearRegression<T>{true, 0.5}, frame, "y");
  fp.set_metric("test.r2", 0.5);
  const auto path = temp_path(sizeof(T) == 4 ? "model_f.mlops" : "model_d.mlops");
  fp.save(path);
  const auto back = FittedPipeline<T>::load(path);
  CHECK(back.features() == fp.features());
  CHECK(back.target() == "y");
  CHECK(back.metrics() == fp.metrics());
  CHECK(back.report().rows_used == fp.report().rows_used);
  const auto p1 = fp.predict(frame), p2 = back.predict(frame);
  REQUIRE(p1.size() == p2.size());
  for (std::size_t i = 0; i < p1.size(); ++i) CHECK(std::memcmp(&p1[i], &p2[i], sizeof(T)) == 0);
  // Loading as the other scalar type is a typed error.
  using Other = std::conditional_t<std::is_same_v<T, float>, double, float>;
  try {
    (void)FittedPipeline<Other>::load(path);
    FAIL("expected format_error");
  } catch (const format_error& e) {
    CHECK(e.code() == errc::format_scalar_type);
  }
}

TEST_CASE("corrupt, truncated and foreign files are typed errors, never crashes") {
  const auto frame = messy_frame(300, 7);
  const auto fp = pipeline<double>().impute().standardize().fit(LinearRegression<double>{}, frame, "y");
  const std::string bytes = fp.to_bytes();
  // Truncated at every length.
  for (std::size_t len = 0; len < bytes.size(); ++len)
    CHECK_THROWS_AS(FittedPipeline<double>::from_bytes(std::string_view(bytes).substr(0, len)), format_error);
  // Every single-bit flip is caught (CRC-32C detects all of them).
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ (1 << (i % 8)));
    CHECK_THROWS_AS(FittedPipeline<double>::from_bytes(b), format_error);
  }
  try {
    (void)FittedPipeline<double>::from_bytes("area,price\n1,2\n");
    FAIL("expected format_error");
  } catch (const format_error& e) {
    CHECK(e.code() == errc::format_bad_magic);
  }
  std::string future = bytes;
  future[8] = 2;  // major version 2
  CHECK_THROWS_AS(FittedPipeline<double>::from_bytes(future), format_error);
  CHECK_THROWS_AS(FittedPipeline<double>::load("/nonexistent/model.mlops"), io_error);
}

TEST_CASE("a failed save leaves the previous file intact") {
  const auto frame = messy_frame(300, 8);
  const auto fp = pipeline<double>().impute().fit(LinearRegression<double>{}, frame, "y");
  const auto path = temp_path("keep.mlops");
  fp.save(path);
  const auto before = detail::read_file(path);
  CHECK_THROWS_AS(fp.save(temp_path("no_such_dir") / "x" / "model.mlops"), io_error);
  // Saving onto a path whose directory is read-only fails without touching the file.
  if (::geteuid() != 0) {
    std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    CHECK_THROWS_AS(fp.save(path), io_error);
    std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all);
  }
  CHECK(detail::read_file(path) == before);
  // No temporary files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path()))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("the model card names every fitted parameter") {
  const auto frame = messy_frame(300, 9);
  const auto fp = pipeline<double>().impute().drop_outliers_iqr().standardize().fit(LinearRegression<double>{}, frame, "y");
  const auto card = io::model_card(fp);
  CHECK(card["target"] == "y");
  CHECK(card["steps"].size() == 3);
  CHECK(card["steps"][1]["columns"]["b"].contains("upper"));
  CHECK(card["model"]["coefficients"].contains("c"));
  CHECK(card["format"]["version"] == "1.0");
  CHECK(card["metrics"].contains("train.rmse"));
}
