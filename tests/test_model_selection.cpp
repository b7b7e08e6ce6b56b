// Model selection (issue 4): cross_validate, grid_search, parameters by name, metric
// names, reports (table and JSON); the column buffer cache.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "golden/sklearn_golden.hpp"
#include "golden/tables/class_golden.hpp"
#include "mlops/csv.hpp"
#include "mlops/detail/block_quantiles.hpp"
#include "mlops/detail/buffer_cache.hpp"
#include "mlops/eval/time_split.hpp"
#include "mlops/pipeline/auto.hpp"
#include "mlops/prep/steps.hpp"
#include "mlops/select/model_selection.hpp"
#include "mlops/select/report.hpp"

using namespace mlops;

namespace {
double rel(double a, double b) { return std::abs(a - b) / (std::max)(std::abs(b), 1e-12); }

/// golden::Xm (missing values as NaN) and golden::y as a frame x0..x3, y.
DataFrame<double> golden_missing_frame() {
  DataFrame<double> f;
  for (int j = 0; j < golden::d; ++j) {
    std::vector<double> c(golden::Xm + j * golden::n, golden::Xm + (j + 1) * golden::n);
    for (auto& v : c)
      if (v == -12345.0) v = std::nan("");
    f.add_column("x" + std::to_string(j), std::span<const double>(c));
  }
  f.add_column("y", std::span<const double>(golden::y, static_cast<std::size_t>(golden::n)));
  return f;
}

/// n rows, d features with 3% missing values and a few wild values; y linear plus noise.
DataFrame<double> synthetic(std::size_t n, std::size_t d, std::uint64_t seed) {
  detail::xoshiro256ss rng(seed);
  std::vector<std::vector<double>> cols(d, std::vector<double>(n));
  std::vector<double> y(n, 1.0);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      const double v = (rng.uniform01() + rng.uniform01() + rng.uniform01() - 1.5) * 2.0;
      y[i] += (static_cast<double>(j % 3) - 1.0) * v;
      cols[j][i] = rng.uniform01() < 0.03 ? std::nan("") : (rng.uniform01() < 0.005 ? v * 40.0 : v);
    }
  for (auto& v : y) v += 0.2 * (rng.uniform01() - 0.5);
  DataFrame<double> f;
  for (std::size_t j = 0; j < d; ++j) f.add_column("f" + std::to_string(j), std::span<const double>(cols[j]));
  f.add_column("target", std::span<const double>(y));
  return f;
}

void check_same(const CvResult& a, const CvResult& b) {
  REQUIRE(a.folds.size() == b.folds.size());
  CHECK(a.metrics == b.metrics);
  for (std::size_t i = 0; i < a.folds.size(); ++i) {
    CHECK(a.folds[i].rows_used == b.folds[i].rows_used);
    CHECK(a.folds[i].test == b.folds[i].test);  // bit for bit
  }
  for (std::size_t m = 0; m < a.test.size(); ++m) {
    CHECK(a.test[m].mean == b.test[m].mean);
    CHECK(a.test[m].std == b.test[m].std);
  }
}
}  // namespace

TEST_CASE("cross_validate agrees with scikit-learn's Pipeline + cross_validate (impute -> standardize -> ridge)") {
  const auto f = golden_missing_frame();
  const auto p = pipeline<double>().impute().standardize().estimator(LinearRegression<double>{true, 2.5});
  const auto cv = cross_validate(p, f, "y", KFold{3}, {"r2", "mse", "mae"});
  REQUIRE(cv.folds.size() == 3);
  CHECK(cv.task == task_kind::regression);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(cv.folds[i].train_rows == 40);
    CHECK(cv.folds[i].test_rows == 20);
    CHECK(rel(*cv.folds[i].test[0], golden::cv_r2[i]) < 1e-9);
    CHECK(rel(*cv.folds[i].test[1], golden::cv_mse[i]) < 1e-9);
    CHECK(rel(*cv.folds[i].test[2], golden::cv_mae[i]) < 1e-9);
  }
  const double mean = (golden::cv_r2[0] + golden::cv_r2[1] + golden::cv_r2[2]) / 3;
  CHECK(rel(*cv.mean("r2"), mean) < 1e-9);
  double ss = 0;
  for (const double v : golden::cv_r2) ss += (v - mean) * (v - mean);
  CHECK(rel(*cv.std("r2"), std::sqrt(ss / 3)) < 1e-7);  // population std, as cv_results_
  CHECK_THROWS_AS((void)cv.mean("accuracy"), argument_error);
}

TEST_CASE("classification tables with text labels and gaps: scikit-learn's cross-validated metrics on its folds") {
  // scikit-learn 1.2.1: SimpleImputer(mean) + StandardScaler + LogisticRegression(C=1) on
  // StratifiedKFold(5, shuffle, seed 0) folds, exported row by row
  // (tests/golden/tables/make_class_golden.py). Here: the table as read (text labels,
  // empty fields), auto_pipeline's choices, a scaler and the logistic regression.
  for (const auto& g : class_golden::cases) {
    CAPTURE(g.name);
    auto f = read_csv<double>(std::string(MLOPS_TEST_GOLDEN_DIR) + "/tables/" + g.file);
    REQUIRE(f.rows() == static_cast<std::size_t>(g.n));
    REQUIRE(f.kind(g.target) == column_kind::categorical);
    const auto labels = encode_labels(f, g.target);
    CHECK(labels.size() == (std::string_view(g.name) == "iris" ? 3u : 2u));
    std::vector<SplitIndices> folds(5);
    for (std::size_t r = 0; r < f.rows(); ++r)
      for (std::size_t k = 0; k < 5; ++k) (g.fold[r] == k ? folds[k].test : folds[k].train).push_back(r);
    auto [p, choices] = auto_pipeline(f, g.target);
    CHECK(choices.empty() == (std::string_view(g.name) == "iris"));  // the gaps are imputed: one choice per column with gaps
    LogisticRegression<double> lr;
    lr.tol = 1e-12;
    p.standardize().estimator(lr);
    const auto cv = cross_validate(p, f, g.target, folds, {"accuracy", "f1", "roc_auc", "log_loss"});
    REQUIRE(cv.folds.size() == 5);
    for (std::size_t k = 0; k < 5; ++k) {
      CAPTURE(k);
      CHECK(*cv.folds[k].test[0] == doctest::Approx(g.accuracy[k]).epsilon(1e-12));
      CHECK(*cv.folds[k].test[1] == doctest::Approx(g.f1[k]).epsilon(1e-12));
      CHECK(rel(*cv.folds[k].test[2], g.roc_auc[k]) < 1e-6);
      CHECK(rel(*cv.folds[k].test[3], g.log_loss[k]) < 1e-6);
    }
  }
}

TEST_CASE("time-ordered rows: TimeSeriesSplit gives scikit-learn's folds; the time split holds out the future") {
  auto rows = [](std::initializer_list<std::size_t> l) { return std::vector<std::size_t>(l); };
  // scikit-learn 1.2.1: TimeSeriesSplit(n_splits=3).split(np.zeros(10))
  auto a = TimeSeriesSplit{3}.split(10);
  REQUIRE(a.size() == 3);
  CHECK(a[0].train == rows({0, 1, 2, 3}));
  CHECK(a[0].test == rows({4, 5}));
  CHECK(a[2].train == rows({0, 1, 2, 3, 4, 5, 6, 7}));
  CHECK(a[2].test == rows({8, 9}));
  // TimeSeriesSplit(n_splits=3, gap=1, max_train_size=3, test_size=2) on 12 rows
  auto b = TimeSeriesSplit{3, 2, 1, 3}.split(12);
  CHECK(b[0].train == rows({2, 3, 4}));
  CHECK(b[0].test == rows({6, 7}));
  CHECK(b[2].train == rows({6, 7, 8}));
  CHECK(b[2].test == rows({10, 11}));
  // TimeSeriesSplit(n_splits=5) on 7 rows: one test row each
  auto c = TimeSeriesSplit{5}.split(7);
  CHECK(c[0].train == rows({0, 1}));
  CHECK(c[4].test == rows({6}));
  CHECK_THROWS_AS(TimeSeriesSplit{5}.split(5), argument_error);          // more folds than rows
  CHECK_THROWS_AS((TimeSeriesSplit{3, 0, 5}.split(10)), argument_error);  // the gap leaves no training rows
  CHECK_THROWS_AS(TimeSeriesSplit{1}.split(10), argument_error);

  // Rows out of time order, a datetime column; ties keep row order.
  const auto f = parse_csv<double>("t,x,y\n2021-03-01,3,30\n2021-01-01,1,10\n2021-05-01,5,50\n2021-02-01,2,20\n2021-04-01,4,40\n"
                                   "2021-01-01,0,0\n");
  CHECK(time_order(f, "t") == rows({1, 5, 3, 0, 4, 2}));
  const auto [train, test] = time_train_test_split(f, "t", 0.34);  // ceil(0.34 x 6) = 3 held out: the latest
  CHECK(std::vector<double>(train.column("x").begin(), train.column("x").end()) == std::vector<double>{1, 0, 2});
  CHECK(std::vector<double>(test.column("x").begin(), test.column("x").end()) == std::vector<double>{3, 4, 5});
  CHECK(time_order(f, "y") == rows({5, 1, 3, 0, 4, 2}));  // a numeric time column
  const auto gap = parse_csv<double>("t,y,name\n2021-03-01,1,a\n,2,b\n");
  CHECK_THROWS_WITH_AS(time_order(gap, "t"), doctest::Contains("no value at row 1"), data_error);
  CHECK_THROWS_AS(time_order(gap, "name"), schema_error);

  // Cross-validation on expanding windows: each fold trains on the past only.
  std::string csv = "t,x,y\n";
  for (int i = 0; i < 60; ++i) csv += fmt::format("{},{},{}\n", 2000 + i, i % 7, 3.0 * (i % 7) + 0.1 * i);
  const auto g = parse_csv<double>(csv);
  auto p = pipeline<double>();
  p.features({"x", "t"}).estimator(LinearRegression<double>{});
  const auto cv = cross_validate(p, g, "y", TimeSeriesSplit{4}.split(60));
  REQUIRE(cv.folds.size() == 4);
  CHECK(cv.folds[0].rows_used == 12);  // 60 / 5 = 12 rows per test part; the first fold trains on the first 12
  CHECK(cv.folds[3].rows_used == 48);
  CHECK(*cv.mean("r2") > 0.99);
}

TEST_CASE("each fold fits the whole pipeline on its training rows only (equals a manual fit per fold)") {
  const auto f = synthetic(1200, 5, 3);
  auto p = pipeline<double>().impute(impute_strategy::median).drop_outliers_iqr(1.5).standardize();
  p.estimator(LinearRegression<double>{true, 0.5});
  const KFold kf{4, true, 9};
  cv_options per_fold;
  per_fold.one_pass = false;
  const auto cv = cross_validate(p, f, "target", kf, {"r2", "rmse", "max_error"}, per_fold);
  const auto shared = cross_validate(p, f, "target", kf, {"r2", "rmse", "max_error"});  // the shared-statistics path
  CHECK(shared.one_pass);
  const auto splits = kf.split(f.rows());
  for (std::size_t i = 0; i < 4; ++i) {
    // The validation rows never reach the imputer's medians, the IQR fences or the scaler.
    // (The per-fold path fits on rows, as fit() does with fit_from_statistics(false).)
    const auto fitted = Pipeline<double>(p).fit_from_statistics(false).fit(f.take(splits[i].train), "target");
    const auto m = fitted.evaluate(f.take(splits[i].test));
    CHECK(*cv.folds[i].test[0] == m.r2);
    CHECK(*cv.folds[i].test[1] == m.rmse);
    CHECK(*cv.folds[i].test[2] == m.max_error);
    CHECK(rel(*shared.folds[i].test[0], m.r2) < 1e-9);
    CHECK(rel(*shared.folds[i].test[1], m.rmse) < 1e-9);
    CHECK(rel(*shared.folds[i].test[2], m.max_error) < 1e-9);
    CHECK(shared.folds[i].rows_used == fitted.report().rows_used);
    CHECK(cv.folds[i].rows_used == fitted.report().rows_used);
    CHECK(cv.folds[i].rows_used < cv.folds[i].train_rows);  // the IQR step dropped rows inside the fold
  }
}

TEST_CASE("cross-validation on several threads gives the serial result exactly") {
  const auto f = synthetic(2000, 6, 11);
  GradientDescentRegressor<double> sgd;
  sgd.batch_size = 1;
  sgd.max_epochs = 4;
  sgd.rate = inverse_scaling{0.02, 0.25};
  sgd.seed = 5;
  const auto p = pipeline<double>().impute().drop_outliers_iqr(2.0).standardize().estimator(sgd);
  cv_options serial, threaded;
  threaded.threads = 3;
  serial.seed = threaded.seed = 17;
  const auto a = cross_validate(p, f, "target", 5, {}, serial);
  const auto b = cross_validate(p, f, "target", 5, {}, threaded);
  check_same(a, b);
  CHECK(a.metrics == default_metrics(task_kind::regression));
  CHECK(*a.mean("r2") > 0.9);

  param_grid g;
  g.add("model.learning_rate", {0.005, 0.02}).add("iqr.k", {1.5, 3.0});
  grid_options go1, go3;
  go3.threads = 3;
  go1.refit = go3.refit = false;
  const auto s1 = grid_search(p, g, f, "target", 3, "rmse", {}, go1);
  const auto s3 = grid_search(p, g, f, "target", 3, "rmse", {}, go3);
  REQUIRE(s1.candidates.size() == 4);
  for (std::size_t c = 0; c < 4; ++c) check_same(s1.candidates[c].cv, s3.candidates[c].cv);
  CHECK(s1.best == s3.best);
  CHECK(!s1.refitted.has_value());
}

TEST_CASE("grid_search agrees with scikit-learn's GridSearchCV and refits the best on all rows") {
  const auto f = golden_missing_frame();
  const auto p = pipeline<double>().impute().standardize().estimator(LinearRegression<double>{});
  param_grid grid;
  grid.add("ridge.alpha", {0.1, 10.0, 1000.0});
  CHECK(grid.size() == 3);
  const auto gs = grid_search(p, grid, f, "y", KFold{3}, "r2");
  REQUIRE(gs.candidates.size() == 3);
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(rel(*gs.candidates[c].cv.mean("r2"), golden::gs_mean[c]) < 1e-9);
    CHECK(rel(*gs.candidates[c].cv.std("r2"), golden::gs_std[c]) < 1e-6);
  }
  CHECK(gs.best == static_cast<std::size_t>(golden::gs_best));
  CHECK(gs.candidates[gs.best].rank == 1);
  CHECK(gs.greater_is_better);
  REQUIRE(gs.refitted.has_value());
  // The refitted pipeline is the best candidate fitted on every row.
  const auto manual = gs.best_pipeline(p).fit(f, "y");
  CHECK(gs.refitted->model().l2() == 0.1);
  CHECK(gs.refitted->predict(f) == manual.predict(f));

  // Lower-is-better metrics are minimised; the metric is added to the reported ones.
  const auto by_mse = grid_search(p, grid, f, "y", KFold{3}, "mse", {"r2"});
  CHECK(by_mse.candidates[0].cv.metrics == std::vector<std::string>{"mse", "r2"});
  CHECK(!by_mse.greater_is_better);
  for (const auto& c : by_mse.candidates)
    CHECK(*by_mse.best_candidate().cv.mean("mse") <= *c.cv.mean("mse"));
  // Ranks are a permutation of 1..n.
  std::vector<std::size_t> ranks;
  for (const auto& c : by_mse.candidates) ranks.push_back(c.rank);
  std::sort(ranks.begin(), ranks.end());
  CHECK(ranks == std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("classifier cross-validation agrees with scikit-learn; undefined fold metrics are empty, not NaN") {
  DataFrame<double> f;
  for (int j = 0; j < golden::cd; ++j)
    f.add_column("x" + std::to_string(j), std::span<const double>(golden::Xc + j * golden::cn, static_cast<std::size_t>(golden::cn)));
  f.add_column("label", std::span<const double>(golden::yb, static_cast<std::size_t>(golden::cn)));
  LogisticRegression<double> lr;
  lr.tol = 1e-12;
  const auto p = pipeline<double>().standardize().estimator(lr);
  const auto cv = cross_validate(p, f, "label", KFold{3}, {"accuracy", "log_loss", "roc_auc"});
  CHECK(cv.task == task_kind::classification);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(*cv.folds[i].test[0] == doctest::Approx(golden::lcv_acc[i]).epsilon(1e-12));
    CHECK(rel(*cv.folds[i].test[1], golden::lcv_logloss[i]) < 1e-6);
    CHECK(rel(*cv.folds[i].test[2], golden::lcv_auc[i]) < 1e-9);
  }
  // The default for a classifier and a number of folds: stratified folds.
  const auto st = cross_validate(p, f, "label", 4);
  CHECK(st.metrics == default_metrics(task_kind::classification));
  CHECK(st.folds.size() == 4);

  // A validation fold holding one class: ROC AUC is undefined there (an empty optional),
  // and the summary averages the folds where it is defined.
  std::vector<SplitIndices> folds(2);
  std::vector<std::size_t> ones, rest;
  for (std::size_t r = 0; r < static_cast<std::size_t>(golden::cn); ++r) (golden::yb[r] == 7.0 && ones.size() < 10 ? ones : rest).push_back(r);
  folds[0] = {rest, ones};  // test: ten rows of class 7 only
  folds[1] = {std::vector<std::size_t>(rest.begin() + 20, rest.end()), std::vector<std::size_t>(rest.begin(), rest.begin() + 20)};
  const auto odd = cross_validate(p, f, "label", folds, {"roc_auc", "accuracy"});
  CHECK(!odd.folds[0].test[0].has_value());
  std::size_t sevens = 0;
  for (std::size_t i = 0; i < 20; ++i) sevens += golden::yb[rest[i]] == 7.0;
  REQUIRE(sevens > 0);  // fold 2's validation rows hold both classes
  REQUIRE(sevens < 20);
  CHECK(odd.folds[1].test[0].has_value());
  CHECK(odd.summary("roc_auc").defined == 1);
  CHECK(*odd.mean("roc_auc") == *odd.folds[1].test[0]);
  CHECK(*odd.std("roc_auc") == 0.0);
  const nlohmann::json j = odd;
  CHECK(j["folds"][0]["test"]["roc_auc"].is_null());
  CHECK_THROWS_AS((void)cross_validate(p, f, "label", 3, {"r2"}), argument_error);  // a regression metric for a classifier
}

TEST_CASE("parameters by name: steps and trainers, clear errors") {
  auto p = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().drop_outliers_iqr(3.0);
  CHECK_THROWS_AS(set_param(p, "model.alpha", 1.0), argument_error);  // no estimator yet
  p.estimator(LinearRegression<double>{});
  set_param(p, "model.alpha", 4.0);
  CHECK(mlops::get<LinearRegression<double>>(*p.estimator()).l2 == 4.0);
  set_param(p, "iqr.k", 2.0);
  set_param(p, "iqr#2.k", 5.0);
  CHECK(mlops::get<IqrOutlierFilter<double>>(p.steps()[1]).k == 2.0);
  CHECK(mlops::get<IqrOutlierFilter<double>>(p.steps()[3]).k == 5.0);
  set_param(p, "impute.strategy", std::string("median"));
  CHECK(mlops::get<SimpleImputer<double>>(p.steps()[0]).strategy == impute_strategy::median);
  set_param(p, "standardize.with_mean", parse_param_value("false"));
  CHECK(!mlops::get<StandardScaler<double>>(p.steps()[2]).with_mean);

  auto message = [&](std::string_view name, const param_value& v) -> std::string {
    try {
      set_param(p, name, v);
    } catch (const argument_error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(message("model.C", 1.0).find("LinearRegression has no parameter 'C'; it has: alpha") != std::string::npos);
  CHECK(message("iqr#3.k", 1.0).find("has 2 'iqr' step(s)") != std::string::npos);
  CHECK(message("scaler.k", 1.0).find("unknown step 'scaler'") != std::string::npos);
  // The step vocabulary comes from the step list (each type's names).
  CHECK(message("scaler.k", 1.0).find("impute, iqr_filter, standardize, minmax") != std::string::npos);
  CHECK(message("minmax.hi", 1.0).find("has 0 'minmax' step(s)") != std::string::npos);
  CHECK(message("alpha", 1.0).find("<step or model>.<parameter>") != std::string::npos);
  CHECK(message("impute.strategy", 2.0).find("takes a word") != std::string::npos);
  CHECK(message("impute.strategy", std::string("mode")).find("choose from mean, median, constant") != std::string::npos);
  CHECK(message("iqr.k", std::string("big")).find("takes a number") != std::string::npos);

  p.estimator(LogisticRegression<double>{});
  set_param(p, "logistic.C", parse_param_value("inf"));
  set_param(p, "model.solver", std::string("lbfgs"));
  set_param(p, "model.class_weight", std::string("balanced"));
  set_param(p, "model.ftol", 2.2e-9);
  const auto& lr = mlops::get<LogisticRegression<double>>(*p.estimator());
  CHECK(lr.ftol == 2.2e-9);
  CHECK(std::isinf(lr.C));
  CHECK(lr.solver == classifier_solver::lbfgs);
  CHECK(lr.class_weight.balanced);
  p.estimator(GradientDescentRegressor<double>{});
  set_param(p, "model.schedule", std::string("invscaling"));
  set_param(p, "model.learning_rate", 0.3);
  set_param(p, "model.batch_size", 16.0);
  const auto& gd = mlops::get<GradientDescentRegressor<double>>(*p.estimator());
  CHECK(std::get<inverse_scaling>(gd.rate).eta0 == 0.3);
  CHECK(gd.batch_size == 16);
  CHECK(message("model.batch_size", 1.5).find("whole number") != std::string::npos);

  CHECK(std::get<double>(parse_param_value("1e-3")) == 1e-3);
  CHECK(std::get<std::string>(parse_param_value("median")) == "median");
  param_grid g;
  g.add("a.x", {1.0, 2.0}).add("b.y", {3.0, 4.0, 5.0});
  CHECK(g.size() == 6);
  CHECK(std::get<double>(g.candidate(4)[0].second) == 2.0);  // last axis fastest: 4 = 1 * 3 + 1
  CHECK(std::get<double>(g.candidate(4)[1].second) == 4.0);
  CHECK_THROWS_AS(g.add("c.z", std::vector<param_value>{}), argument_error);
}

namespace {
/// A user's own trainer: ridge with its penalty called "shrink", and a parameter by name.
struct ShrunkLinear {
  static constexpr std::string_view name = "ShrunkLinear";
  double shrink = 0;
  std::shared_ptr<int> report_to = std::make_shared<int>(0);  // cleared in each fold
  LinearModel<double> fit(const DataFrame<double>& f, const std::vector<std::string>& features, std::string_view target) const {
    if (report_to) ++*report_to;
    LinearRegression<double> r;
    r.l2 = shrink;
    return r.fit(f, features, target);
  }
  void set_param(std::string_view param, const param_value& v) {
    if (param == "shrink") shrink = detail::param_number(param, v);
    else detail::unknown_param(name, param, "shrink");
  }
};
/// A trainer with no parameters by name and no name.
struct PlainLinear {
  LinearModel<double> fit(const DataFrame<double>& f, const std::vector<std::string>& features, std::string_view target) const {
    return LinearRegression<double>{}.fit(f, features, target);
  }
};
}  // namespace

TEST_CASE("estimators: any trainer behind one interface; a user's trainer fits, tunes and cross-validates") {
  const auto frame = synthetic(400, 4, 21);
  Estimator<double> e = LinearRegression<double>{};
  CHECK(e.name() == "LinearRegression");
  CHECK(!e.is_classifier());
  CHECK(Estimator<double>(LogisticRegression<double>{}).is_classifier());
  CHECK(Estimator<double>(LinearSVM<double>{}).is_classifier());
  CHECK(mlops::get_if<LogisticRegression<double>>(&e) == nullptr);
  CHECK_THROWS_WITH_AS(mlops::get<LogisticRegression<double>>(e), doctest::Contains("'LinearRegression'"), argument_error);
  e.set_param("alpha", 3.0);
  const Estimator<double> copy = e;  // copies the trainer, not a reference to it
  e.set_param("alpha", 5.0);
  CHECK(mlops::get<LinearRegression<double>>(copy).l2 == 3.0);
  CHECK(mlops::get<LinearRegression<double>>(e).l2 == 5.0);

  // The user's trainer equals the library's ridge with the same penalty, bit for bit.
  auto p = pipeline<double>().impute().standardize();
  auto mine = p;
  mine.estimator(ShrunkLinear{});
  set_param(mine, "model.shrink", 2.0);
  CHECK(mlops::get<ShrunkLinear>(*mine.estimator()).shrink == 2.0);
  const auto fitted = mine.fit(frame, "target");
  LinearRegression<double> ridge;
  ridge.l2 = 2.0;
  const auto reference = Pipeline<double>(p).fit_from_statistics(false).fit(ridge, frame, "target");  // on rows, as mine
  const auto& a = std::get<LinearModel<double>>(fitted.estimator());
  const auto& b = std::get<LinearModel<double>>(reference.estimator());
  REQUIRE(a.coef().size() == b.coef().size());
  for (Eigen::Index j = 0; j < a.coef().size(); ++j) CHECK(a.coef()[j] == b.coef()[j]);
  CHECK(a.intercept() == b.intercept());

  // Cross-validation and grid search take it as they take the library's trainers; the
  // fold copies do not share its report_to (cleared), the caller's copy is untouched.
  const auto shared = mlops::get<ShrunkLinear>(*mine.estimator()).report_to;
  const int fits_before = *shared;
  const auto cv = cross_validate(mine, frame, "target", KFold{4, true, 3});
  CHECK(cv.folds.size() == 4);
  CHECK(*shared == fits_before);
  p.estimator(ridge);
  const auto cv_ref = cross_validate(p, frame, "target", KFold{4, true, 3}, {}, cv_options{.one_pass = false});
  CHECK(cv.mean("r2") == cv_ref.mean("r2"));
  param_grid grid;
  grid.add("model.shrink", {0.0, 1.0, 100.0});
  const auto gs = grid_search(mine, grid, frame, "target", 3, "rmse");
  CHECK(gs.candidates.size() == 3);

  // Errors name the trainer.
  CHECK_THROWS_WITH_AS(set_param(mine, "model.alpha", 1.0), doctest::Contains("ShrunkLinear has no parameter 'alpha'; it has: shrink"),
                       argument_error);
  mine.estimator(PlainLinear{});
  CHECK(mine.estimator()->name() == "estimator");
  CHECK_THROWS_WITH_AS(set_param(mine, "model.alpha", 1.0), doctest::Contains("has no parameter 'alpha'"), argument_error);
  CHECK(mine.fit(frame, "target").features().size() == 4);
}

TEST_CASE("cross-validation input checks and rows without a target") {
  auto f = synthetic(300, 3, 2);
  f.column("target")[7] = std::nan("");
  f.column("target")[8] = std::nan("");
  const auto p = pipeline<double>().impute().estimator(LinearRegression<double>{});
  const auto cv = cross_validate(p, f, "target", 3);
  CHECK(cv.rows == 300);
  CHECK(cv.rows_missing_target == 2);
  std::size_t tested = 0;
  for (const auto& fold : cv.folds) tested += fold.test_rows;
  CHECK(tested == 298);
  CHECK_THROWS_AS((void)cross_validate(pipeline<double>().impute(), f, "target", 3), argument_error);  // no estimator
  CHECK_THROWS_AS((void)cross_validate(p, f, "target", 1), argument_error);                       // k < 2
  CHECK_THROWS_AS((void)cross_validate(p, f, "nope", 3), schema_error);
  CHECK_THROWS_AS((void)cross_validate(p, f, "target", 3, {"accuracy"}), argument_error);
  std::vector<SplitIndices> bad(1);
  bad[0].train = {0, 1, 2};
  bad[0].test = {298};  // out of range: only 298 rows have a target
  CHECK_THROWS_AS((void)cross_validate(p, f, "target", bad), argument_error);
  // A failing fold surfaces as the error of the lowest failing fold, serial or threaded.
  const auto strict = pipeline<double>().estimator(LinearRegression<double>{});  // no imputer: NaN reaches the solver
  cv_options o;
  o.threads = 2;
  CHECK_THROWS_AS((void)cross_validate(strict, f, "target", 3, {}, o), data_error);
}

TEST_CASE("metrics reports: tables and JSON") {
  const auto f = golden_missing_frame();
  const auto fitted = pipeline<double>().impute().estimator(LinearRegression<double>{}).fit(f, "y");
  const auto m = fitted.evaluate(f);
  const auto table = fmt::format("{:t}", m);
  CHECK(table.find("explained_variance") != std::string::npos);
  CHECK(table.find("max_error") != std::string::npos);
  CHECK(fmt::format("{}", m).find("r2=") != std::string::npos);  // the one-line form is unchanged
  const nlohmann::json j = m;
  CHECK(j["mape"].get<double>() == m.mape);
  CHECK(j["n"].get<std::size_t>() == 60);

  const std::vector<double> t{0, 0, 1, 1, 2, 2}, p{0, 1, 1, 1, 2, 0}, classes{0, 1, 2};
  const auto cm = classification_metrics<double>(t, p, classes, Eigen::MatrixXd(), Eigen::MatrixXd());
  const auto ct = fmt::format("{:t}", cm);
  CHECK(ct.find("precision") != std::string::npos);
  CHECK(ct.find("0.6667") != std::string::npos);  // class 1: precision 2/3
  const nlohmann::json cj = cm;
  CHECK(cj["roc_auc"].is_null());
  CHECK(cj["confusion"][2][0].get<int>() == 1);

  const auto cv = cross_validate(pipeline<double>().impute().estimator(LinearRegression<double>{}), f, "y", KFold{3});
  const auto text = fmt::format("{}", cv);
  CHECK(text.find("3-fold cross-validation") != std::string::npos);
  CHECK(text.find("fold 3") != std::string::npos);
  const nlohmann::json cvj = cv;
  CHECK(cvj["k"].get<int>() == 3);
  CHECK(cvj["folds"].size() == 3);
  CHECK(cvj["mean"]["r2"].get<double>() == *cv.mean("r2"));

  param_grid g;
  g.add("model.alpha", {0.0, 1.0});
  const auto gs = grid_search(pipeline<double>().impute().estimator(LinearRegression<double>{}), g, f, "y", KFold{3});
  const nlohmann::json gj = gs;
  CHECK(gj["candidates"].size() == 2);
  CHECK(gj["best_params"]["model.alpha"].is_number());
  CHECK(fmt::format("{}", gs).find("chosen by r2") != std::string::npos);
}

TEST_CASE("large column blocks come in whole 2 MiB pages when rounding wastes at most a third") {
  auto& cache = detail::buffer_cache::instance();
  auto capacity_of = [](void* p) { return *reinterpret_cast<const std::size_t*>(static_cast<char*>(p) - detail::buffer_cache::header); };
  constexpr std::size_t mib2 = std::size_t{2} << 20;
  for (const std::size_t bytes : {std::size_t{1'600'000}, std::size_t{3'500'000}}) {  // 200,000 doubles; 3.5 MB
    void* p = cache.allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK((reinterpret_cast<std::uintptr_t>(p) - detail::buffer_cache::header) % mib2 == 0);
    CHECK((capacity_of(p) + detail::buffer_cache::header) % mib2 == 0);  // whole pages, no 4 KiB tail
    CHECK(capacity_of(p) >= bytes);
    cache.deallocate(p);
  }
  for (const std::size_t bytes : {std::size_t{1'000'000}, std::size_t{2'500'000}}) {  // rounding would waste over a third
    void* p = cache.allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK(capacity_of(p) == (bytes + 4095) / 4096 * 4096);
    cache.deallocate(p);
  }
}

TEST_CASE("column buffer cache: off by default, bounded and reused when on, can be turned off") {
  const std::size_t before = buffer_cache_limit();
  CHECK(before == 0);  // opt-in: nothing in the unit suite turns it on before this test
  {
    auto f = synthetic(200'000, 2, 1);
    auto g = f.take(std::vector<std::size_t>{0, 1, 2});
  }
  CHECK(buffer_cache_bytes() == 0);  // off: freed columns went back to the system
  set_buffer_cache_limit(recommended_buffer_cache_limit);
  release_buffer_cache();
  CHECK(buffer_cache_bytes() == 0);
  {
    auto f = synthetic(200'000, 2, 1);  // 1.6 MB columns: cached sizes
    auto g = f.take(std::vector<std::size_t>{0, 1, 2});
    CHECK(g.rows() == 3);
  }
  CHECK(buffer_cache_bytes() > 0);  // the frame's columns were kept for reuse
  CHECK(buffer_cache_bytes() <= buffer_cache_limit());
  std::vector<double> from_cache;
  {
    const auto f = synthetic(200'000, 2, 1);  // served from the cache (blocks with stale data)
    const auto c = f.column("f1");
    from_cache.assign(c.begin(), c.end());
  }
  set_buffer_cache_limit(0);
  CHECK(buffer_cache_bytes() == 0);
  {
    const auto f = synthetic(200'000, 2, 1);
    const auto c = f.column("f1");
    REQUIRE(c.size() == from_cache.size());
    CHECK(std::memcmp(c.data(), from_cache.data(), c.size() * sizeof(double)) == 0);  // bits: the column holds NaN
  }
  CHECK(buffer_cache_bytes() == 0);  // off: nothing kept
  set_buffer_cache_limit(before);
}

TEST_CASE("streaming accumulators answer metrics by name; ROC AUC from decision scores within its bound") {
  const std::vector<double> y{1, 2, 3, 4, 5}, p{1.1, 1.9, 3.2, 4.4, 4.7};
  RegressionAccumulator ra;
  ra.update<double>(y, p);
  CHECK(*ra.value("r2") == ra.metrics().r2);
  CHECK(*ra.value("max_error") == doctest::Approx(0.4));
  CHECK_THROWS_AS((void)ra.value("accuracy"), argument_error);

  // A linear SVM has no probabilities: its decision scores feed the histogram.
  detail::xoshiro256ss rng(4);
  std::vector<double> truth, pred, scores;
  for (int i = 0; i < 4000; ++i) {
    const double t = rng.uniform01() < 0.4 ? 1.0 : 0.0;
    const double s = (t == 1.0 ? 0.8 : -0.5) + 2.0 * (rng.uniform01() - 0.5);  // overlapping classes
    truth.push_back(t), scores.push_back(s), pred.push_back(s > 0 ? 1.0 : 0.0);
  }
  ClassificationAccumulator a({0, 1}, 256), b({0, 1}, 256);
  for (std::size_t i = 0; i < truth.size(); ++i) CHECK((i % 2 ? a : b).add_scores(truth[i], pred[i], &scores[i], 1));
  a.merge(b);
  const auto exact = roc_auc_score<double>(truth, scores, 1.0);
  REQUIRE(exact.has_value());
  const auto m = a.metrics();
  REQUIRE(m.roc_auc.has_value());
  CHECK(std::abs(*m.roc_auc - *exact) <= *a.auc_error_bound() + 1e-12);
  CHECK(*a.auc_error_bound() < 0.01);
  CHECK(*a.value("roc_auc") == *m.roc_auc);
  CHECK(!m.log_loss.has_value());  // undefined from scores
  CHECK(!a.value("brier").has_value());
  CHECK(m.accuracy == accuracy_score<double>(truth, pred));
  const double three[3] = {0.1, 0.2, 0.3};
  CHECK_FALSE(a.add_scores(1.0, 1.0, three, 3));  // two classes: one score (or two)
  CHECK_FALSE(a.add_scores(9.0, 1.0, scores.data(), 1));
}

// ---- the shared-statistics (one-pass) cross-validation ---------------------------------------
namespace {
/// The one-pass result against the per-fold fits: the same rows kept, the same scores to
/// rounding, and the path actually taken.
void check_one_pass(const Pipeline<double>& p, const DataFrame<double>& f, const std::string& target, const cv_folds& folds,
                    cv_options opt = {}) {
  const std::vector<std::string> metrics = {"r2", "mse", "mae", "max_error", "explained_variance"};
  cv_options slow = opt;
  slow.one_pass = false;
  const auto a = cross_validate(p, f, target, folds, metrics, opt);
  const auto b = cross_validate(p, f, target, folds, metrics, slow);
  CHECK(a.one_pass);
  CHECK_FALSE(b.one_pass);
  REQUIRE(a.folds.size() == b.folds.size());
  for (std::size_t i = 0; i < a.folds.size(); ++i) {
    CAPTURE(i);
    CHECK(a.folds[i].rows_used == b.folds[i].rows_used);
    CHECK(a.folds[i].train_rows == b.folds[i].train_rows);
    CHECK(a.folds[i].test_rows == b.folds[i].test_rows);
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      CAPTURE(metrics[m]);
      REQUIRE(a.folds[i].test[m].has_value());
      CHECK(rel(*a.folds[i].test[m], *b.folds[i].test[m]) < 1e-9);
    }
  }
}

/// n rows: f0..f2 smooth with 3% missing and wild values, f3 lognormal-like (skewed) with
/// `heavy` missing, f4 a 0/1 flag (90% zeros: its IQR is 0); y linear plus noise.
DataFrame<double> one_pass_frame(std::size_t n, double heavy, std::uint64_t seed) {
  auto f = synthetic(n, 3, seed);
  detail::xoshiro256ss rng(seed + 1);
  std::vector<double> skew(n), flag(n);
  auto y = std::vector<double>(f.column("target").begin(), f.column("target").end());
  for (std::size_t i = 0; i < n; ++i) {
    const double g = (rng.uniform01() + rng.uniform01() + rng.uniform01() - 1.5) * 2.0;
    skew[i] = std::exp(1.5 * g);
    flag[i] = rng.uniform01() < 0.1 ? 1.0 : 0.0;
    y[i] += 0.3 * std::log(skew[i]) + 0.5 * flag[i];
    if (rng.uniform01() < heavy) skew[i] = std::nan("");
  }
  DataFrame<double> out;
  for (int j = 0; j < 3; ++j) out.add_column("f" + std::to_string(j), f.column("f" + std::to_string(j)));
  out.add_column("f3", std::span<const double>(skew));
  out.add_column("f4", std::span<const double>(flag));
  out.add_column("target", std::span<const double>(y));
  return out;
}
}  // namespace

TEST_CASE("bracket_values: k-th smallest and count below of every block but one, as sorting gives them") {
  // Blocks of values (ties, a constant run, infinities, an empty block) indexed once; each
  // order statistic of "every block but f" must equal the sorted union's.
  detail::xoshiro256ss rng(11);
  auto check = [](const std::vector<std::vector<double>>& blocks) {
    std::vector<double> buf;
    std::vector<std::size_t> off, used;
    for (const auto& b : blocks) {
      off.push_back(buf.size());
      used.push_back(b.size());
      buf.insert(buf.end(), b.begin(), b.end());
    }
    detail::bracket_values bv;
    detail::index_bracket(buf, off, used.data(), bv);
    std::vector<double> work;
    for (std::size_t f = 0; f < blocks.size(); ++f) {
      std::vector<double> all;
      for (std::size_t g = 0; g < blocks.size(); ++g)
        if (g != f) all.insert(all.end(), blocks[g].begin(), blocks[g].end());
      std::sort(all.begin(), all.end());
      REQUIRE(bv.size_without(f) == all.size());
      for (std::size_t k = 0; k < all.size(); k += 1 + all.size() / 97) CHECK(bv.select(f, k, work) == all[k]);
      if (!all.empty()) {
        CHECK(bv.select(f, all.size() - 1, work) == all.back());
        for (const double m : {all.front(), all[all.size() / 3], all.back(), all.front() - 1.0, 0.5})
          CHECK(bv.below(f, m) == static_cast<std::size_t>(std::lower_bound(all.begin(), all.end(), m) - all.begin()));
      }
    }
  };
  std::vector<std::vector<double>> blocks(5);
  for (auto& b : blocks)
    for (int i = 0; i < 400; ++i) b.push_back(std::floor(rng.uniform01() * 300.0) / 7.0);  // many ties
  check(blocks);
  blocks[2].clear();                             // an empty block
  blocks[3].assign(50, 2.5);                     // a constant run inside the range
  check(blocks);
  check({{1.0, 1.0, 1.0}, {1.0}, {1.0, 1.0}});  // one value: one bucket
  check({{-std::numeric_limits<double>::infinity(), 1.0, 2.0}, {3.0, std::numeric_limits<double>::infinity()}, {0.0}});
}

TEST_CASE("one-pass cross-validation equals the per-fold fits (impute -> IQR -> standardize -> ridge)") {
  // 20,000 rows: the quartiles come from the bracket pass (its exact fallback included).
  const auto f = one_pass_frame(20'000, 0.3, 5);
  LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  SUBCASE("mean imputer, Tukey fences, ridge; 5 shuffled folds; threads do not change a bit") {
    const auto p = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().estimator(ridge);
    check_one_pass(p, f, "target", KFold{5, true, 3});
    cv_options one, two;
    two.threads = 2;
    const auto a = cross_validate(p, f, "target", KFold{5, true, 3}, {}, one);
    const auto b = cross_validate(p, f, "target", KFold{5, true, 3}, {}, two);
    CHECK(a.one_pass);
    check_same(a, b);
  }
  SUBCASE("median imputer, k = 1, no target fence, pass on new data, ddof 1, least squares, unshuffled folds") {
    IqrOutlierFilter<double> iqr;
    iqr.k = 1.0;
    iqr.include_target = false;
    iqr.on_new_data = outlier_action::pass;
    StandardScaler<double> sc;
    sc.ddof = 1;
    const auto p = pipeline<double>().impute(impute_strategy::median).drop_outliers_iqr(iqr).standardize(sc).estimator(LinearRegression<double>{});
    check_one_pass(p, f, "target", KFold{4, false, 0});
  }
  SUBCASE("constant fill, zero-IQR columns applied, flag on new data, no centring, no intercept") {
    IqrOutlierFilter<double> iqr;
    iqr.zero_iqr = zero_iqr_policy::apply;  // the 0/1 column's fences collapse onto 0: its 1s are dropped
    iqr.on_new_data = outlier_action::flag;
    StandardScaler<double> sc;
    sc.with_mean = false;
    LinearRegression<double> lr;
    lr.fit_intercept = false;
    lr.l2 = 0.5;
    const auto p = pipeline<double>().impute(impute_strategy::constant, 0.25).drop_outliers_iqr(iqr).standardize(sc).estimator(lr);
    check_one_pass(p, f, "target", KFold{3, true, 9});
  }
  SUBCASE("k = 0: the skewed column's mean lies outside its fences, so its imputed rows are dropped") {
    const auto p = pipeline<double>().impute().drop_outliers_iqr(0.0).standardize().estimator(ridge);
    check_one_pass(p, f, "target", KFold{5, true, 1});
  }
  SUBCASE("steps left out: impute -> standardize -> ridge, and impute -> ridge") {
    check_one_pass(pipeline<double>().impute().standardize().estimator(ridge), f, "target", KFold{5, true, 2});
    check_one_pass(pipeline<double>().impute(impute_strategy::median).estimator(ridge), f, "target", KFold{5, true, 2});
  }
  SUBCASE("small data (exact selection) and rows without a target") {
    auto small = one_pass_frame(700, 0.05, 8);
    auto y = small.column("target");
    for (std::size_t i = 0; i < y.size(); i += 37) y[i] = std::nan("");
    const auto p = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().estimator(ridge);
    check_one_pass(p, small, "target", KFold{5, true, 4});
    const auto r = cross_validate(p, small, "target", 5);
    CHECK(r.rows_missing_target == 19);
  }
  SUBCASE("grid search takes the shared path per candidate and ranks as the per-fold fits do") {
    const auto p = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().estimator(ridge);
    param_grid g;
    g.add("model.alpha", {0.1, 100.0}).add("iqr.k", {1.5, 3.0});
    grid_options fast, slow;
    fast.refit = slow.refit = false;
    slow.one_pass = false;
    const auto a = grid_search(p, g, f, "target", 3, "rmse", {}, fast);
    const auto b = grid_search(p, g, f, "target", 3, "rmse", {}, slow);
    REQUIRE(a.candidates.size() == 4);
    CHECK(a.best == b.best);
    for (std::size_t c = 0; c < 4; ++c) {
      CHECK(a.candidates[c].cv.one_pass);
      CHECK_FALSE(b.candidates[c].cv.one_pass);
      CHECK(a.candidates[c].rank == b.candidates[c].rank);
      CHECK(rel(*a.candidates[c].cv.mean("rmse"), *b.candidates[c].cv.mean("rmse")) < 1e-9);
    }
  }
}

TEST_CASE("one-pass cross-validation steps aside where the per-fold fits must run") {
  const auto f = one_pass_frame(3000, 0.05, 12);
  LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  const auto p = pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().estimator(ridge);
  cv_options train;
  train.train_scores = true;
  CHECK_FALSE(cross_validate(p, f, "target", 5, {}, train).one_pass);  // training scores need the fitted folds
  // A step without statistics (its fit needs the rows): dates' features.
  auto dated = f;
  std::vector<std::int64_t> when(f.rows());
  for (std::size_t i = 0; i < when.size(); ++i) when[i] = static_cast<std::int64_t>(i) * 86400;
  dated.add_datetime("when", std::move(when), false);
  CHECK_FALSE(cross_validate(pipeline<double>().add(DateFeatures<double>{}).impute().estimator(ridge), dated, "target", 5).one_pass);
  // Another trainer.
  GradientDescentRegressor<double> gd;
  gd.max_epochs = 2;
  CHECK_FALSE(cross_validate(pipeline<double>().impute().estimator(gd), f, "target", 5).one_pass);
  // Folds that overlap (not a partition of the rows).
  auto folds = KFold{3, true, 1}.split(f.rows());
  folds[1].test = folds[0].test;
  CHECK_FALSE(cross_validate(p, f, "target", folds).one_pass);
  // No imputer with missing values: the per-fold fit reports them, as before.
  CHECK_THROWS_AS((void)cross_validate(pipeline<double>().standardize().estimator(ridge), f, "target", 3), data_error);
  // An infinite value: the same error as the per-fold fit gives.
  auto bad = f;
  bad.column("f1")[100] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS((void)cross_validate(p, bad, "target", 3), data_error);
  // float pipelines take the per-fold fits.
  DataFrame<float> ff;
  for (const auto& name : f.names()) {
    std::vector<float> c(f.column(name).begin(), f.column(name).end());
    ff.add_column(name, std::span<const float>(c));
  }
  CHECK_FALSE(cross_validate(pipeline<float>().impute().estimator(LinearRegression<float>{}), ff, "target", 3).one_pass);
}

// ---- the general shared-statistics cross-validation (pipeline/fold_stats.hpp) ------------------
namespace {
/// one_pass_frame plus two text columns: "city" (a dictionary out of byte order with one
/// level no row has, 5% missing) and "grade" (one rare level); y depends on both.
DataFrame<double> stats_frame(std::size_t n, std::uint64_t seed) {
  auto f = one_pass_frame(n, 0.2, seed);
  detail::xoshiro256ss rng(seed + 7);
  std::vector<std::int32_t> city(n), grade(n);
  const double city_effect[] = {1.0, -0.5, 0.25, 2.0, 0.0, 0.0};
  auto y = f.column("target");
  for (std::size_t i = 0; i < n; ++i) {
    const double u = rng.uniform01();
    city[i] = u < 0.05 ? -1 : static_cast<std::int32_t>(rng.uniform01() * 5);  // code 5 ("unused") never drawn
    const double v = rng.uniform01();
    grade[i] = v < 0.02 ? 2 : (v < 0.6 ? 0 : 1);
    y[i] += (city[i] < 0 ? 0.7 : city_effect[city[i]]) + 0.4 * grade[i];
  }
  f.add_categorical("city", city, {"zurich", "basel", "aarau", "bern", "chur", "unused"});
  f.add_categorical("grade", grade, {"b", "a", "rare"});
  return f;
}
}  // namespace

TEST_CASE("statistics cross-validation equals the per-fold fits (encoders, min-max, any column-map step)") {
  const auto f = stats_frame(12'000, 21);
  LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  SUBCASE("impute -> one-hot -> standardize -> ridge; threads do not change a bit") {
    const auto p = pipeline<double>().impute().add(OneHotEncoder<double>{}).standardize().estimator(ridge);
    check_one_pass(p, f, "target", KFold{5, true, 3});
    cv_options two;
    two.threads = 2;
    check_same(cross_validate(p, f, "target", KFold{5, true, 3}), cross_validate(p, f, "target", KFold{5, true, 3}, {}, two));
  }
  SUBCASE("constant fill -> min-max (clipping) -> one-hot with an infrequent column -> least squares without intercept") {
    MinMaxScaler<double> mm;
    mm.clip = true;
    OneHotEncoder<double> oh;
    oh.min_frequency = 0.05;  // "rare" (2%) joins the infrequent column
    LinearRegression<double> lr;
    lr.fit_intercept = false;
    lr.l2 = 0.5;
    const auto p = pipeline<double>().impute(impute_strategy::constant, -1.0).add(mm).add(oh).estimator(lr);
    check_one_pass(p, f, "target", KFold{4, false, 0});
  }
  SUBCASE("one-hot first, then a scaler over the indicator columns too (their statistics from level counts)") {
    StandardScaler<double> sc;
    sc.columns = {"f0", "city_bern", "grade_a"};
    const auto p = pipeline<double>().add(OneHotEncoder<double>{}).impute().add(sc).estimator(ridge);
    check_one_pass(p, f, "target", KFold{3, true, 5});
  }
  SUBCASE("any order: outliers dropped before imputation, imputation after the filter's stage, min-max after it") {
    check_one_pass(pipeline<double>().drop_outliers_iqr(1.5).impute().standardize().estimator(ridge), f.drop({"city", "grade"}), "target",
                   KFold{5, true, 8});
    check_one_pass(pipeline<double>().add(OneHotEncoder<double>{}).impute(impute_strategy::median).drop_outliers_iqr(2.0)
                       .add(MinMaxScaler<double>{}).estimator(ridge),
                   f, "target", KFold{4, true, 2});
  }
  SUBCASE("median imputation with an encoder (exact fold-wise medians)") {
    check_one_pass(pipeline<double>().impute(impute_strategy::median).add(OneHotEncoder<double>{}).estimator(ridge), f, "target", 3);
  }
  SUBCASE("missing values reaching the trainer: the per-fold fit's error") {
    CHECK_THROWS_AS((void)cross_validate(pipeline<double>().add(OneHotEncoder<double>{}).estimator(ridge), f, "target", 3), data_error);
    // ordinal codes leave a missing city cell missing
    CHECK_THROWS_AS((void)cross_validate(pipeline<double>().add(OrdinalEncoder<double>{}).estimator(ridge), f.select({"city", "grade", "target"}),
                                         "target", 3),
                    data_error);
  }
}

TEST_CASE("statistics cross-validation: ordinal codes, unknown levels and missing cells") {
  auto f = stats_frame(6'000, 33);
  // "batch": one row has level "solo", so the fold that holds it for validation never
  // trained on it (its code there is the unknown value); "spare" is in no row.
  std::vector<std::int32_t> batch(f.rows());
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = i == 123 ? 2 : static_cast<std::int32_t>(i % 3 == 0);
  f.add_categorical("batch", batch, {"x", "y", "solo", "spare"});
  LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  SUBCASE("ordinal -> mean impute (the missing city cells) -> standardize -> ridge") {
    check_one_pass(pipeline<double>().add(OrdinalEncoder<double>{}).impute().standardize().estimator(ridge), f, "target",
                   KFold{5, true, 11});
  }
  SUBCASE("a chosen unknown value, median imputation over the codes, min-max after") {
    OrdinalEncoder<double> oe;
    oe.unknown_value = 7;
    check_one_pass(pipeline<double>().add(oe).impute(impute_strategy::median).add(MinMaxScaler<double>{}).estimator(ridge), f,
                   "target", KFold{4, true, 2});
  }
  SUBCASE("codes straight into the trainer (no missing cell in these columns)") {
    check_one_pass(pipeline<double>().add(OrdinalEncoder<double>{}).estimator(ridge), f.select({"grade", "batch", "target"}), "target",
                   KFold{5, false, 0});
  }
  SUBCASE("ordinal beside one-hot, and an IQR filter over the codes") {
    OrdinalEncoder<double> oe;
    oe.columns = {"grade", "batch"};
    OneHotEncoder<double> oh;
    oh.columns = {"city"};
    check_one_pass(pipeline<double>().add(oe).add(oh).impute().drop_outliers_iqr(1.5).standardize().estimator(ridge), f, "target", 3);
  }
}

// ---- Pipeline::fit from statistics (the same engine, one block of every row) -------------
namespace {
/// p.fit (from statistics) against the fit on rows: the same rows, step reports and design
/// columns, predictions and training metrics equal to rounding.
void check_fit_from_statistics(const Pipeline<double>& p, const DataFrame<double>& f, const std::string& target) {
  const auto a = p.fit(f, target);
  const auto b = Pipeline<double>(p).fit_from_statistics(false).fit(f, target);
  CHECK(a.report().from_statistics);
  CHECK_FALSE(b.report().from_statistics);
  CHECK(a.report().rows_in == b.report().rows_in);
  CHECK(a.report().rows_missing_target == b.report().rows_missing_target);
  CHECK(a.report().rows_used == b.report().rows_used);
  REQUIRE(a.report().steps.size() == b.report().steps.size());
  for (std::size_t i = 0; i < a.report().steps.size(); ++i) {
    CHECK(a.report().steps[i].step == b.report().steps[i].step);
    CHECK(a.report().steps[i].rows_in == b.report().steps[i].rows_in);
    CHECK(a.report().steps[i].rows_out == b.report().steps[i].rows_out);
  }
  CHECK(a.design_columns() == b.design_columns());
  // A filter's counts (its card's rows_in, rows_out, rows dropped per column) as on rows.
  REQUIRE(a.steps().size() == b.steps().size());
  for (std::size_t i = 0; i < a.steps().size(); ++i) {
    const auto* fa = get_if<FittedIqrOutlierFilter<double>>(&a.steps()[i]);
    const auto* fb = get_if<FittedIqrOutlierFilter<double>>(&b.steps()[i]);
    REQUIRE((fa == nullptr) == (fb == nullptr));
    if (!fa) continue;
    CHECK(fa->rows_in() == fb->rows_in());
    CHECK(fa->rows_out() == fb->rows_out());
    CHECK(fa->rows_out() < fa->rows_in());
    REQUIRE(fa->fences().size() == fb->fences().size());
    for (std::size_t c = 0; c < fa->fences().size(); ++c) {
      CAPTURE(fa->fences()[c].name);
      CHECK(fa->fences()[c].dropped == fb->fences()[c].dropped);
      CHECK(fa->fences()[c].active == fb->fences()[c].active);
    }
  }
  const auto pa = a.predict(f), pb = b.predict(f);
  REQUIRE(pa.size() == pb.size());
  double worst = 0;
  for (std::size_t r = 0; r < pa.size(); ++r) worst = (std::max)(worst, std::abs(pa[r] - pb[r]) / (1 + std::abs(pb[r])));
  CHECK(worst < 1e-9);
  const auto ma = a.stored_metrics("train"), mb = b.stored_metrics("train");
  REQUIRE(ma.has_value());
  REQUIRE(mb.has_value());
  CHECK(ma->n == mb->n);
  CHECK(rel(ma->rmse, mb->rmse) < 1e-9);
  CHECK(rel(ma->r2, mb->r2) < 1e-9);
  // Saved and loaded, it predicts as before (the file holds what was fitted, however).
  const auto again = FittedPipeline<double>::from_bytes(a.to_bytes());
  CHECK(again.predict(f) == pa);
}
}  // namespace

TEST_CASE("Pipeline::fit from statistics equals the fit on rows") {
  auto f = stats_frame(8'000, 41);
  auto y = f.column("target");
  for (std::size_t i = 0; i < y.size(); i += 97) y[i] = std::nan("");  // rows without a target are dropped and counted
  LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  SUBCASE("impute -> one-hot -> standardize -> ridge") {
    check_fit_from_statistics(pipeline<double>().impute().add(OneHotEncoder<double>{}).standardize().estimator(ridge), f, "target");
  }
  SUBCASE("median imputation -> IQR filter -> min-max -> least squares without intercept") {
    LinearRegression<double> ols;
    ols.fit_intercept = false;
    ols.l2 = 0.5;  // without an intercept, each group of one-hot columns sums to 1: singular unpenalised
    check_fit_from_statistics(pipeline<double>().add(OneHotEncoder<double>{}).impute(impute_strategy::median).drop_outliers_iqr(1.5)
                                  .add(MinMaxScaler<double>{}).estimator(ols),
                              f, "target");
  }
  SUBCASE("ordinal codes -> impute -> standardize; the trainer given to fit()") {
    const auto p = pipeline<double>().add(OrdinalEncoder<double>{}).impute().standardize();
    const auto a = p.fit(ridge, f, "target");
    CHECK(a.report().from_statistics);
    check_fit_from_statistics(Pipeline<double>(p).estimator(ridge), f, "target");
  }
  SUBCASE("where statistics cannot serve, the fit on rows runs with its own errors") {
    DecisionTreeRegressor<double> tree;
    tree.max_depth = 3;
    CHECK_FALSE(pipeline<double>().impute().add(OneHotEncoder<double>{}).estimator(tree).fit(f, "target").report().from_statistics);
    auto dated = f;
    std::vector<std::int64_t> when(f.rows());
    for (std::size_t i = 0; i < when.size(); ++i) when[i] = static_cast<std::int64_t>(i) * 86400;
    dated.add_datetime("when", std::move(when), false);
    CHECK_FALSE(pipeline<double>().add(DateFeatures<double>{}).add(OneHotEncoder<double>{}).impute().estimator(ridge)
                    .fit(dated, "target").report().from_statistics);
    // Missing values reaching the trainer: the fit on rows reports them.
    CHECK_THROWS_AS((void)pipeline<double>().add(OneHotEncoder<double>{}).estimator(ridge).fit(f, "target"), data_error);
    auto bad = f.drop({"city", "grade"});
    bad.column("f1")[10] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS((void)pipeline<double>().impute().estimator(ridge).fit(bad, "target"), data_error);
  }
}

TEST_CASE("predict on chosen rows reads them in place and equals predict on the whole frame") {
  const auto f = stats_frame(3000, 4);
  const auto fp = pipeline<double>().impute().add(OneHotEncoder<double>{}).standardize().estimator(LinearRegression<double>{}).fit(f, "target");
  const auto all = fp.predict(f);
  const std::vector<std::size_t> rows = {2999, 0, 17, 17, 1500};
  const auto some = fp.predict(f, rows);
  REQUIRE(some.size() == rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) CHECK(some[i] == all[rows[i]]);
  CHECK(fp.predict(f, std::vector<std::size_t>{}).empty());
  CHECK_THROWS_AS((void)fp.predict(f, std::vector<std::size_t>{3000}), argument_error);
}
