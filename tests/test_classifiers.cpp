// Classifiers (logistic regression, linear SVM), classification metrics, partial_fit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "golden/sklearn_golden.hpp"
#include "mlops/csv.hpp"
#include "mlops/eval/classification.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/learn/classifier.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/io/card.hpp"
#include "mlops/select/report.hpp"
#include "support.hpp"

using namespace mlops;

namespace {
double rel(double a, double b) { return std::abs(a - b) / (std::max)(std::abs(b), 1e-12); }

template <class T>
std::vector<std::vector<T>> golden_columns() {
  std::vector<std::vector<T>> cols;
  for (int j = 0; j < golden::cd; ++j) cols.emplace_back(golden::Xc + j * golden::cn, golden::Xc + (j + 1) * golden::cn);
  return cols;
}
template <class T>
std::vector<std::span<const T>> spans(const std::vector<std::vector<T>>& cols) {
  return {cols.begin(), cols.end()};
}
template <class T>
std::vector<T> labels(const double* y) {
  return std::vector<T>(y, y + golden::cn);
}
template <class T>
DataFrame<T> classification_frame(const double* y) {
  DataFrame<T> f;
  const auto cols = golden_columns<T>();
  for (int j = 0; j < golden::cd; ++j) f.add_column("x" + std::to_string(j), std::span<const T>(cols[static_cast<std::size_t>(j)]));
  const auto yy = labels<T>(y);
  f.add_column("label", std::span<const T>(yy));
  return f;
}
std::filesystem::path temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops_ctest_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}
/// Two Gaussian blobs (labels -1 / +1) in d dimensions, `gap` apart along every axis.
struct blobs {
  std::vector<std::vector<double>> cols;
  std::vector<double> y;
};
blobs make_blobs(std::size_t n, std::size_t d, double gap, std::uint64_t seed, std::size_t classes = 2) {
  detail::xoshiro256ss rng(seed);
  blobs b;
  b.cols.assign(d, std::vector<double>(n));
  b.y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t k = i % classes;
    b.y[i] = classes == 2 ? (k == 0 ? -1.0 : 1.0) : static_cast<double>(10 * k);
    for (std::size_t j = 0; j < d; ++j) {
      // Box-Muller from our own generator: same values everywhere.
      const double u1 = rng.uniform01() + 1e-300, u2 = rng.uniform01();
      const double g = std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      const double centre = classes == 2 ? (k == 0 ? -gap / 2 : gap / 2) : (j % classes == k ? gap : 0.0);
      b.cols[j][i] = centre + g;
    }
  }
  return b;
}
}  // namespace

TEST_CASE_TEMPLATE("logistic regression agrees with scikit-learn to 1e-4 (binary, labels 3/7)", T, float, double) {
  const auto cols = golden_columns<T>();
  const auto y = labels<T>(golden::yb);
  const double tol = std::is_same_v<T, float> ? 1e-3 : 1e-4;
  for (const auto solver : {classifier_solver::newton, classifier_solver::lbfgs}) {
    LogisticRegression<T> lr;
    lr.C = 0.5;
    lr.solver = solver;
    const auto r = lr.fit_detailed(spans(cols), y);
    CAPTURE(to_string(solver));
    CHECK(r.status == fit_status::converged);
    REQUIRE(r.model.classes() == std::vector<T>{T(3), T(7)});
    REQUIRE(r.model.n_outputs() == 1);
    for (int j = 0; j < golden::cd; ++j) CHECK(rel(r.model.coef()(j, 0), golden::logit_coef[j]) < tol);
    CHECK(rel(r.model.intercept()(0), golden::logit_intercept) < tol);
    std::array<double, 2> p{};
    for (int i = 0; i < 5; ++i) {
      std::vector<T> row;
      for (int j = 0; j < golden::cd; ++j) row.push_back(cols[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)]);
      REQUIRE(r.model.predict_proba_row(row, p));
      CHECK(rel(p[1], golden::logit_proba0[i]) < tol);
      CHECK(p[0] + p[1] == doctest::Approx(1.0));
      const T label = r.model.predict_row(row);
      CHECK(label == (p[1] > 0.5 ? T(7) : T(3)));  // the labels themselves, never 0/1
    }
  }
  if constexpr (std::is_same_v<T, double>) {  // Newton needs a handful of iterations
    LogisticRegression<double> lr;
    lr.C = 0.5;
    CHECK(lr.fit_detailed(spans(cols), y).epochs <= 10);
    // ftol: L-BFGS also stops once an iteration lowers the objective by less than ftol
    // relative; a loose ftol stops it earlier, near the same optimum. ftol < 0 is refused.
    LogisticRegression<double> strict, loose;
    strict.C = loose.C = 0.5;
    strict.solver = loose.solver = classifier_solver::lbfgs;
    strict.tol = loose.tol = 0;  // only ftol (or the line search) can stop them
    loose.ftol = 1e-6;
    const auto rs = strict.fit_detailed(spans(cols), y), rl = loose.fit_detailed(spans(cols), y);
    CHECK(rs.status == fit_status::converged);
    CHECK(rl.status == fit_status::converged);
    CHECK(rl.epochs < rs.epochs);
    CHECK(rl.loss >= rs.loss);
    CHECK(rl.loss - rs.loss < 1e-5 * rs.loss);
    loose.ftol = -1;
    CHECK_THROWS_AS((void)loose.fit_detailed(spans(cols), y), argument_error);
  }
}

TEST_CASE("logistic regression: balanced class weights and the multinomial model agree with scikit-learn") {
  const auto cols = golden_columns<double>();
  LogisticRegression<double> bal;
  bal.class_weight.balanced = true;
  const auto rb = bal.fit_detailed(spans(cols), labels<double>(golden::yi));
  for (int j = 0; j < golden::cd; ++j) CHECK(rel(rb.model.coef()(j, 0), golden::logit_bal_coef[j]) < 1e-4);
  CHECK(rel(rb.model.intercept()(0), golden::logit_bal_intercept) < 1e-4);
  REQUIRE(rb.model.class_weights().size() == 2);

  LogisticRegression<double> multi;
  multi.C = 2.0;
  const auto rm = multi.fit_detailed(spans(cols), labels<double>(golden::ym));
  CHECK(rm.status == fit_status::converged);
  CHECK(rm.model.solver() == classifier_solver::lbfgs);
  REQUIRE(rm.model.classes() == std::vector<double>{-1, 0, 2});
  REQUIRE(rm.model.n_outputs() == 3);
  for (int k = 0; k < 3; ++k) {
    for (int j = 0; j < golden::cd; ++j) CHECK(rel(rm.model.coef()(j, k), golden::multi_coef[k * golden::cd + j]) < 1e-4);
    CHECK(std::abs(rm.model.intercept()(k) - golden::multi_intercept[k]) < 1e-5);
  }
  std::array<double, 3> p{};
  for (int i = 0; i < 3; ++i) {
    const std::vector<double> row{cols[0][static_cast<std::size_t>(i)], cols[1][static_cast<std::size_t>(i)],
                                  cols[2][static_cast<std::size_t>(i)], cols[3][static_cast<std::size_t>(i)]};
    REQUIRE(rm.model.predict_proba_row(row, p));
    for (int k = 0; k < 3; ++k) CHECK(rel(p[static_cast<std::size_t>(k)], golden::multi_proba0[i * 3 + k]) < 1e-4);
  }
  // The gradient-descent core reaches the same optimum (full batch, same objective).
  LogisticRegression<double> viagd;
  viagd.C = 2.0;
  viagd.solver = classifier_solver::gradient_descent;
  viagd.gd.rate = constant_rate{1.0};
  viagd.gd.max_epochs = 20000;
  viagd.gd.tol = 1e-15;
  const auto rg = viagd.fit_detailed(spans(cols), labels<double>(golden::ym));
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < golden::cd; ++j) CHECK(std::abs(rg.model.coef()(j, k) - golden::multi_coef[k * golden::cd + j]) < 1e-3);
}

TEST_CASE("logistic regression: L-BFGS converges on badly scaled, uncentred features (preconditioned)") {
  // Features on scales 1 to 1536 with offsets: plain L-BFGS crawls here (over 100
  // iterations at this tolerance); with the sampled Hessian at zero as its initial
  // inverse Hessian it converges in a handful, to the optimum Newton finds (Newton is
  // affine invariant), in the binary and the multinomial model.
  for (const std::size_t classes : {2u, 3u}) {
    CAPTURE(classes);
    auto b = make_blobs(40000, 12, 1.5, 17, classes);
    for (std::size_t j = 0; j < b.cols.size(); ++j)
      for (auto& v : b.cols[j]) v = v * std::pow(2.0, static_cast<double>(j)) * (j % 2 ? 0.75 : 1.0) + 10.0 * static_cast<double>(j);
    std::vector<std::span<const double>> cols(b.cols.begin(), b.cols.end());
    LogisticRegression<double> lb;
    lb.solver = classifier_solver::lbfgs;
    lb.max_iter = 60;
    lb.tol = 1e-9;
    const auto rl = lb.fit_detailed(cols, b.y);
    CHECK(rl.status == fit_status::converged);
    CHECK(rl.epochs <= 40);
    if (classes == 2) {
      LogisticRegression<double> nt;
      nt.solver = classifier_solver::newton;
      nt.tol = 1e-12;
      const auto rn = nt.fit_detailed(cols, b.y);
      REQUIRE(rn.status == fit_status::converged);
      for (Eigen::Index j = 0; j < rn.model.coef().rows(); ++j) CHECK(rel(rl.model.coef()(j, 0), rn.model.coef()(j, 0)) < 1e-4);
      CHECK(rel(rl.model.intercept()(0), rn.model.intercept()(0)) < 1e-4);
    }
  }
}

TEST_CASE("logistic regression: separable data, one class, too many labels, bad input, threshold") {
  const auto b = make_blobs(200, 3, 12.0, 5);  // far apart: perfectly separable
  std::vector<std::span<const double>> cols(b.cols.begin(), b.cols.end());
  LogisticRegression<double> unpenalised;
  unpenalised.C = std::numeric_limits<double>::infinity();
  for (const auto s : {classifier_solver::newton, classifier_solver::lbfgs}) {
    unpenalised.solver = s;
    try {
      (void)unpenalised.fit_detailed(cols, b.y);
      FAIL("expected train.separable");
    } catch (const training_error& e) {
      CHECK(e.code() == errc::training_separable);
      CHECK(std::string(e.what()).find("finite C") != std::string::npos);
    }
  }
  // With a penalty the same data give a finite, converged model that separates them.
  const auto ok = LogisticRegression<double>{}.fit_detailed(cols, b.y);
  CHECK(ok.status == fit_status::converged);
  CHECK(ok.model.coef().allFinite());
  std::size_t right = 0;
  for (std::size_t i = 0; i < b.y.size(); ++i)
    right += ok.model.predict_row(std::vector<double>{b.cols[0][i], b.cols[1][i], b.cols[2][i]}) == b.y[i];
  CHECK(right == b.y.size());

  const std::vector<double> one(200, 4.0);
  try {
    (void)LogisticRegression<double>{}.fit_detailed(cols, one);
    FAIL("expected data.single_class");
  } catch (const data_error& e) {
    CHECK(e.code() == errc::data_single_class);
    CHECK(std::string(e.what()).find("(4)") != std::string::npos);
  }
  std::vector<double> many(200);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = 0.5 * static_cast<double>(i);
  LogisticRegression<double> few;
  few.max_classes = 50;
  CHECK_THROWS_WITH_AS((void)few.fit_detailed(cols, many), doctest::Contains("regression target"), data_error);
  auto holed = b.cols;
  holed[1][17] = std::nan("");
  std::vector<std::span<const double>> hc(holed.begin(), holed.end());
  CHECK_THROWS_WITH_AS((void)LogisticRegression<double>{}.fit_detailed(hc, b.y), doctest::Contains("row 17"), data_error);
  // Every solver finds NaN and +-Inf (Newton and L-BFGS from their first gradient, not
  // in a pass of their own), also in a row whose class weighs 0, and in the multinomial
  // model; the error names the column and the row.
  const std::vector<std::string> names{"a", "b", "c"};
  const auto cols_m = golden_columns<double>();
  const auto ym = labels<double>(golden::ym);
  for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    for (const auto s : {classifier_solver::newton, classifier_solver::lbfgs, classifier_solver::gradient_descent}) {
      for (const bool zero_weight : {false, true}) {
        auto h = b.cols;
        h[2][40] = bad;
        std::vector<std::span<const double>> hs(h.begin(), h.end());
        LogisticRegression<double> lr;
        lr.solver = s;
        if (zero_weight) lr.class_weight.weights = b.y[40] > 0.5 ? std::vector<double>{1.0, 0.0} : std::vector<double>{0.0, 1.0};
        try {
          (void)lr.fit_detailed(hs, b.y, names);
          FAIL("expected data.non_finite for solver ", to_string(s));
        } catch (const data_error& e) {
          CHECK(e.code() == errc::data_non_finite);
          CHECK(std::string(e.what()).find("row 40") != std::string::npos);
          CHECK(std::string(e.what()).find("'c'") != std::string::npos);
        }
      }
    }
    auto hm = cols_m;
    hm[3][5] = bad;
    LogisticRegression<double> multi;
    multi.solver = classifier_solver::lbfgs;
    CHECK_THROWS_WITH_AS((void)multi.fit_detailed(spans(hm), ym), doctest::Contains("row 5"), data_error);
  }

  // The threshold trades recall for precision; out-of-range thresholds are refused.
  const auto cols_g = golden_columns<double>();
  auto model = LogisticRegression<double>{}.fit_detailed(spans(cols_g), labels<double>(golden::yb)).model;
  auto positives = [&] {
    std::size_t k = 0;
    for (int i = 0; i < golden::cn; ++i) {
      const auto u = static_cast<std::size_t>(i);
      k += model.predict_row(std::vector<double>{cols_g[0][u], cols_g[1][u], cols_g[2][u], cols_g[3][u]}) == 7.0;
    }
    return k;
  };
  const auto at_half = positives();
  model.set_threshold(0.8);
  CHECK(positives() < at_half);
  CHECK_THROWS_AS(model.set_threshold(1.5), argument_error);
}

TEST_CASE("linear SVM: binary and one-vs-rest, decision function, no probabilities; partial_fit keeps the classes") {
  const auto b = make_blobs(600, 4, 3.0, 9);
  std::vector<std::span<const double>> cols(b.cols.begin(), b.cols.end());
  LinearSVM<double> svm;
  const auto r = svm.fit_detailed(cols, b.y);
  CHECK(r.model.loss() == classifier_loss::hinge);
  CHECK_FALSE(r.model.has_proba());
  std::size_t right = 0;
  std::array<double, 1> s{};
  for (std::size_t i = 0; i < b.y.size(); ++i) {
    const std::vector<double> row{b.cols[0][i], b.cols[1][i], b.cols[2][i], b.cols[3][i]};
    r.model.decision_row(row, s);
    const double label = r.model.predict_row(row);
    CHECK(label == (s[0] > 0 ? 1.0 : -1.0));
    right += label == b.y[i];
  }
  CHECK(static_cast<double>(right) / static_cast<double>(b.y.size()) > 0.95);
  std::array<double, 2> p{};
  CHECK_FALSE(r.model.predict_proba_row(std::vector<double>{0, 0, 0, 0}, p));

  const auto m = make_blobs(900, 3, 4.0, 10, 3);
  std::vector<std::span<const double>> mc(m.cols.begin(), m.cols.end());
  const auto rm = svm.fit_detailed(mc, m.y);
  REQUIRE(rm.model.n_outputs() == 3);
  std::size_t ok = 0;
  for (std::size_t i = 0; i < m.y.size(); ++i) ok += rm.model.predict_row(std::vector<double>{m.cols[0][i], m.cols[1][i], m.cols[2][i]}) == m.y[i];
  CHECK(static_cast<double>(ok) / static_cast<double>(m.y.size()) > 0.9);

  // partial_fit: new batches continue the optimizer; an unseen label is refused.
  auto streamed = svm.fit_detailed(cols, b.y);
  const std::size_t steps = streamed.state.step;
  svm.partial_fit(streamed, cols, b.y);
  CHECK(streamed.state.step > steps);
  std::vector<double> bad = b.y;
  bad[3] = 5.0;
  CHECK_THROWS_AS(svm.partial_fit(streamed, cols, bad), data_error);
}

TEST_CASE("partial_fit: one pass per batch, optimizer state carried on, same bits as a one-epoch fit") {
  detail::xoshiro256ss rng(3);
  const std::size_t n = 4000;
  std::vector<std::vector<double>> X(3, std::vector<double>(n));
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto& c : X) c[i] = rng.uniform01() * 2 - 1;
    y[i] = 3 * X[0][i] - 2 * X[1][i] + 0.5 * X[2][i] + 1;
  }
  GradientDescentRegressor<double> sgd;
  sgd.batch_size = 16;
  sgd.rule = adam_step{};
  sgd.rate = constant_rate{0.05};
  sgd.max_epochs = 1;
  sgd.seed = 11;
  std::vector<std::span<const double>> all(X.begin(), X.end());
  const auto one_epoch = sgd.fit_detailed(all, y);
  GdResult<double> streamed;
  sgd.partial_fit(streamed, all, y);
  CHECK(streamed.model.coef() == one_epoch.model.coef());  // bit-identical
  CHECK(streamed.state.step == n / 16);
  CHECK(streamed.state.m1.norm() > 0);  // Adam's moments are kept for the next batch
  // Stream the data again in batches of 500 rows: the model keeps improving.
  for (int pass = 0; pass < 5; ++pass)
    for (std::size_t from = 0; from < n; from += 500) {
      std::vector<std::span<const double>> part;
      for (const auto& c : X) part.emplace_back(c.data() + from, 500);
      sgd.partial_fit(streamed, part, std::span<const double>(y.data() + from, 500));
    }
  CHECK(streamed.epochs == 1 + 5 * (n / 500));
  CHECK(streamed.model.coef()(0) == doctest::Approx(3.0).epsilon(0.01));
  CHECK(streamed.model.coef()(1) == doctest::Approx(-2.0).epsilon(0.01));
  CHECK(streamed.model.intercept() == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("classification metrics agree with scikit-learn (ties, averages, edge cases)") {
  const std::vector<double> t(golden::m_true, golden::m_true + 40), s(golden::m_score, golden::m_score + 40),
      p(golden::m_pred, golden::m_pred + 40);
  CHECK(accuracy_score<double>(t, p) == doctest::Approx(golden::m_values[0]));
  const auto bin = precision_recall_f1<double>(t, p, averaging::binary, 1.0);
  CHECK(bin.precision == doctest::Approx(golden::m_values[2]));
  CHECK(bin.recall == doctest::Approx(golden::m_values[3]));
  CHECK(bin.f1 == doctest::Approx(golden::m_values[4]));
  CHECK(*roc_auc_score<double>(t, s, 1.0) == doctest::Approx(golden::m_values[5]).epsilon(1e-12));
  Eigen::MatrixXd proba(40, 2);
  for (int i = 0; i < 40; ++i) {
    const double q = std::clamp(s[static_cast<std::size_t>(i)], 0.01, 0.99);
    proba(i, 0) = 1 - q, proba(i, 1) = q;
  }
  const std::vector<double> cls{0, 1};
  CHECK(log_loss<double>(t, proba, cls) == doctest::Approx(golden::m_values[6]).epsilon(1e-12));
  const auto all = classification_metrics<double>(t, p, cls, Eigen::MatrixXd(), proba);
  CHECK(all.balanced_accuracy == doctest::Approx(golden::m_values[1]));
  CHECK(*all.brier == doctest::Approx(golden::m_values[7]).epsilon(1e-12));
  std::vector<double> clipped(40);
  for (int i = 0; i < 40; ++i) clipped[static_cast<std::size_t>(i)] = proba(i, 1);
  CHECK(*all.roc_auc == *roc_auc_score<double>(t, clipped, 1.0));  // from the probabilities
  const auto by_score = classification_metrics<double>(t, p, cls, Eigen::Map<const Eigen::MatrixXd>(s.data(), 40, 1), Eigen::MatrixXd());
  CHECK(*by_score.roc_auc == doctest::Approx(golden::m_values[5]).epsilon(1e-12));
  CHECK_FALSE(by_score.log_loss.has_value());

  const std::vector<double> kt(golden::k_true, golden::k_true + 50), kp(golden::k_pred, golden::k_pred + 50);
  CHECK(precision_recall_f1<double>(kt, kp, averaging::macro).f1 == doctest::Approx(golden::k_values[0]));
  CHECK(precision_recall_f1<double>(kt, kp, averaging::micro).f1 == doctest::Approx(golden::k_values[1]));
  CHECK(precision_recall_f1<double>(kt, kp, averaging::weighted).f1 == doctest::Approx(golden::k_values[2]));
  CHECK(precision_recall_f1<double>(kt, kp, averaging::macro).precision == doctest::Approx(golden::k_values[3]));
  CHECK(precision_recall_f1<double>(kt, kp, averaging::weighted).recall == doctest::Approx(golden::k_values[4]));

  // Edge cases: one class in y_true has no ROC AUC; zero division gives 0.
  const std::vector<double> ones(5, 1.0), sc{0.1, 0.2, 0.3, 0.4, 0.5}, zeros(5, 0.0);
  CHECK_FALSE(roc_auc_score<double>(ones, sc, 1.0).has_value());
  CHECK(precision_recall_f1<double>(ones, zeros, averaging::binary, 1.0).precision == 0.0);
  const std::vector<double> all_tied(5, 0.3), mixed{0, 1, 0, 1, 1};
  CHECK(*roc_auc_score<double>(mixed, all_tied, 1.0) == 0.5);
  CHECK_THROWS_AS((void)accuracy_score<double>(ones, std::vector<double>(4, 1.0)), data_error);
}

TEST_CASE_TEMPLATE("classifier pipelines: allocation-free rows, evaluation, bit-identical save/load", T, float, double) {
  auto frame = classification_frame<T>(golden::ym);
  LogisticRegression<T> lr;
  lr.C = 2.0;
  auto fp = pipeline<T>().impute().standardize().fit(lr, frame, "label");
  REQUIRE(fp.is_classifier());
  CHECK_THROWS_AS((void)fp.model(), argument_error);
  CHECK_THROWS_AS((void)fp.evaluate(frame), argument_error);
  CHECK(fp.metrics().count("train.accuracy") == 1);
  CHECK(fp.metrics().count("train.roc_auc") == 1);
  const auto m = fp.evaluate_classifier(frame);
  CHECK(m.accuracy == doctest::Approx(fp.metrics().at("train.accuracy")));
  CHECK(m.accuracy > 0.5);
  CHECK(m.log_loss.has_value());

  static_assert(noexcept(fp.predict_row(std::span<const T>{})));
  static_assert(noexcept(fp.predict_proba_row(std::span<const T>{}, std::span<double>{})));
  const T row[] = {T(0.5), std::numeric_limits<T>::quiet_NaN(), T(-1), T(2)};
  std::array<double, 3> p{};
  const std::size_t before = test::allocations();
  T acc = 0;
  for (int i = 0; i < 200; ++i) {
    acc += fp.predict_row(row);
    (void)fp.predict_proba_row(row, p);
  }
  CHECK(test::allocations() == before);
  CHECK(std::isfinite(acc));
  CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0));

  const auto path = temp_path(sizeof(T) == 4 ? "clf_f.mlops" : "clf_d.mlops");
  fp.save(path);
  const auto back = FittedPipeline<T>::load(path);
  REQUIRE(back.is_classifier());
  CHECK(back.classifier().classes() == fp.classifier().classes());
  const auto p1 = fp.predict_proba(frame), p2 = back.predict_proba(frame);
  CHECK(std::memcmp(p1.data(), p2.data(), sizeof(double) * static_cast<std::size_t>(p1.size())) == 0);
  CHECK(back.predict(frame) == fp.predict(frame));
  const auto card = io::model_card(back);
  CHECK(card["model"]["kind"] == "logistic");
  CHECK(card["model"]["outputs"].size() == 3);

  // The SVM in a pipeline: labels, scores, and a clear error for probabilities.
  auto svm_fp = pipeline<T>().standardize().fit(LinearSVM<T>{}, classification_frame<T>(golden::yb), "label");
  CHECK_THROWS_AS((void)svm_fp.predict_proba(frame), argument_error);
  CHECK(svm_fp.decision_function(frame).cols() == 1);
  CHECK(svm_fp.metrics().count("train.roc_auc") == 1);
}

TEST_CASE("stratified split and k-fold: seeded, complete, disjoint, label shares kept") {
  std::vector<double> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 10 < 7 ? 0.0 : (i % 10 < 9 ? 1.0 : 2.0));  // 72/21/10
  const auto s = stratified_train_test_split_indices<double>(labels, 0.2, 7);
  CHECK(s.test.size() == 21);  // ceil(0.2 * 103)
  CHECK(s.train.size() + s.test.size() == labels.size());
  std::array<int, 3> in_test{};
  for (const auto r : s.test) ++in_test[static_cast<std::size_t>(labels[r])];
  CHECK(in_test[0] == 15);  // 21 * 72/103 = 14.7 -> 15 (largest remainder)
  CHECK(in_test[1] == 4);
  CHECK(in_test[2] == 2);
  CHECK(stratified_train_test_split_indices<double>(labels, 0.2, 7).test == s.test);  // same seed, same rows
  CHECK(stratified_train_test_split_indices<double>(labels, 0.2, 8).test != s.test);

  const auto folds = KFold{5, true, 3}.split(103);
  std::vector<int> seen(103, 0);
  for (std::size_t f = 0; f < 5; ++f) {
    CHECK(folds[f].test.size() == (f < 3 ? 21u : 20u));  // 103 = 3 * 21 + 2 * 20
    CHECK(folds[f].train.size() + folds[f].test.size() == 103);
    for (const auto r : folds[f].test) ++seen[r];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));  // every row tested exactly once
  // assign(n): the fold of each row, as split(n) puts it (without the index lists).
  const auto fold_of = KFold{5, true, 3}.assign(103);
  REQUIRE(fold_of.size() == 103);
  for (std::size_t f = 0; f < 5; ++f)
    for (const auto r : folds[f].test) CHECK(fold_of[r] == f);
  const auto plain = KFold{4}.split(10);
  CHECK(plain[0].test == std::vector<std::size_t>{0, 1, 2});
  CHECK_THROWS_AS((void)KFold{1}.split(10), argument_error);
  CHECK_THROWS_AS((void)KFold{5}.split(3), data_error);

  const auto sf = StratifiedKFold{5, true, 1}.split<double>(labels);
  std::fill(seen.begin(), seen.end(), 0);
  for (const auto& f : sf) {
    std::array<int, 3> c{};
    for (const auto r : f.test) ++c[static_cast<std::size_t>(labels[r])], ++seen[r];
    CHECK(c[0] >= 14);  // 72 / 5
    CHECK(c[0] <= 15);
    CHECK(c[2] == 2);  // 10 / 5
    CHECK((f.test.size() == 20 || f.test.size() == 21));
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
  const auto sfold_of = StratifiedKFold{5, true, 1}.assign<double>(labels);
  for (std::size_t f = 0; f < 5; ++f)
    for (const auto r : sf[f].test) CHECK(sfold_of[r] == f);
  CHECK_THROWS_AS((void)KFold{5}.assign(3), data_error);
}

TEST_CASE("regression extras agree with scikit-learn; the streaming accumulator merges to the batch values") {
  const std::vector<double> y(golden::y, golden::y + golden::n), p(golden::pred, golden::pred + golden::n);
  CHECK(mean_absolute_percentage_error<double>(y, p) == doctest::Approx(golden::reg_extras[0]).epsilon(1e-12));
  CHECK(max_error<double>(y, p) == doctest::Approx(golden::reg_extras[1]).epsilon(1e-12));
  CHECK(explained_variance_score<double>(y, p) == doctest::Approx(golden::reg_extras[2]).epsilon(1e-12));
  const auto batch = regression_metrics<double>(y, p);
  CHECK(*adjusted_r2_score(batch.r2, 60, 4) == doctest::Approx(1 - (1 - golden::r2) * 59.0 / 55.0));
  CHECK_FALSE(adjusted_r2_score(batch.r2, 5, 4).has_value());
  // Three uneven chunks, two accumulators merged: the batch values to rounding.
  RegressionAccumulator a, b;
  a.update<double>(std::span(y).first(7), std::span(p).first(7));
  b.update<double>(std::span(y).subspan(7, 30), std::span(p).subspan(7, 30));
  b.update<double>(std::span(y).subspan(37), std::span(p).subspan(37));
  a.merge(b);
  const auto s = a.metrics();
  CHECK(s.n == 60);
  for (const auto& [x, ref] : {std::pair{s.mse, batch.mse}, {s.mae, batch.mae}, {s.r2, batch.r2}, {s.mape, batch.mape},
                              {s.max_error, batch.max_error}, {s.explained_variance, batch.explained_variance}})
    CHECK(x == doctest::Approx(ref).epsilon(1e-12));
  CHECK(s.r2 == doctest::Approx(golden::r2).epsilon(1e-12));
  CHECK_FALSE(a.add(1.0, std::nan("")));  // refused, not counted
  CHECK(a.count() == 60);
  CHECK_THROWS_AS((void)RegressionAccumulator{}.metrics(), data_error);
}

TEST_CASE("classification accumulator: exact counts, histogram ROC AUC within its stated bound, merge") {
  const std::vector<double> t(golden::m_true, golden::m_true + 40), s(golden::m_score, golden::m_score + 40),
      p(golden::m_pred, golden::m_pred + 40);
  Eigen::MatrixXd proba(40, 2);
  for (int i = 0; i < 40; ++i) {
    const double q = std::clamp(s[static_cast<std::size_t>(i)], 0.01, 0.99);
    proba(i, 0) = 1 - q, proba(i, 1) = q;
  }
  const std::vector<double> cls{0, 1};
  const auto batch = classification_metrics<double>(t, p, cls, Eigen::MatrixXd(), proba);
  ClassificationAccumulator a({0, 1}), b({0, 1});
  const Eigen::MatrixXd top = proba.topRows(25), rest = proba.bottomRows(15);
  a.update<double>(std::span(t).first(25), std::span(p).first(25), &top);
  b.update<double>(std::span(t).subspan(25), std::span(p).subspan(25), &rest);
  a.merge(b);
  const auto m = a.metrics();
  CHECK(m.confusion == batch.confusion);
  CHECK(m.accuracy == batch.accuracy);
  CHECK(m.f1 == batch.f1);
  CHECK(m.balanced_accuracy == batch.balanced_accuracy);
  CHECK(*m.log_loss == doctest::Approx(*batch.log_loss).epsilon(1e-12));
  CHECK(*m.brier == doctest::Approx(*batch.brier).epsilon(1e-12));
  // Scores on a 0.01 grid fall in distinct bins: ties are real ties, the bound is exact.
  CHECK(std::abs(*m.roc_auc - *batch.roc_auc) <= *a.auc_error_bound() + 1e-12);
  // With 4 bins the histogram is coarse: still within its bound, and the bound is larger.
  ClassificationAccumulator coarse({0, 1}, 4);
  coarse.update<double>(t, p, &proba);
  CHECK(*coarse.auc_error_bound() > *a.auc_error_bound());
  CHECK(std::abs(*coarse.metrics().roc_auc - *batch.roc_auc) <= *coarse.auc_error_bound() + 1e-12);
  CHECK_FALSE(a.add(5.0, 1.0));
  CHECK_THROWS_AS(a.merge(ClassificationAccumulator({0, 1, 2})), argument_error);
  // Without probabilities: counts only.
  ClassificationAccumulator counts({0, 1});
  counts.update<double>(t, p);
  CHECK_FALSE(counts.metrics().roc_auc.has_value());
  CHECK(counts.metrics().accuracy == batch.accuracy);
}

TEST_CASE("a text classification target: labels kept, classes are their indices, predictions name them") {
  std::string csv = "bill,flipper,species\n";
  detail::xoshiro256ss rng(8);
  const char* names[] = {"Gentoo", "Adelie", "Chinstrap"};
  for (int i = 0; i < 240; ++i) {
    const int k = i % 3;
    csv += fmt::format("{},{},{}\n", 38 + 5 * k + rng.uniform01() * 2, 190 + 10 * (k == 0) + rng.uniform01() * 3,
                       i == 7 ? "NA" : names[k]);
  }
  const auto f = parse_csv<double>(csv);
  REQUIRE(f.kind("species") == column_kind::categorical);
  const auto fp = pipeline<double>().standardize().fit(LogisticRegression<double>{}, f, "species");
  CHECK(fp.class_labels() == std::vector<std::string>{"Adelie", "Chinstrap", "Gentoo"});  // byte order
  CHECK(fp.classifier().classes() == std::vector<double>{0, 1, 2});
  CHECK(fp.label_of(2) == "Gentoo");
  CHECK(fp.label_of(7).empty());
  const auto m = fp.evaluate_classifier(f);  // the text target is mapped onto the labels
  CHECK(m.n == 239);                         // the row without a label is skipped
  CHECK(m.accuracy > 0.95);
  // Reports name the classes by their labels (the numbers stay in `labels`).
  CHECK(m.label_names == std::vector<std::string>{"Adelie", "Chinstrap", "Gentoo"});
  CHECK(m.labels == std::vector<double>{0, 1, 2});
  const auto text = fmt::format("{}", m), table = fmt::format("{:t}", m);
  CHECK(text.find("rows: true Adelie, Chinstrap, Gentoo") != std::string::npos);
  CHECK(text.find("    Gentoo | ") != std::string::npos);
  CHECK(table.find("        Adelie ") != std::string::npos);
  CHECK(nlohmann::json(m)["label_names"][2] == "Gentoo");
  const auto back = FittedPipeline<double>::from_bytes(fp.to_bytes());
  CHECK(back.class_labels() == fp.class_labels());
  CHECK(back.predict(f) == fp.predict(f));
  CHECK(io::model_card(fp)["class_labels"][1] == "Chinstrap");
  const auto unknown = parse_csv<double>("bill,flipper,species\n40,190,Emperor\n");
  CHECK(test::error_id_of([&] { (void)fp.evaluate_classifier(unknown); }) == "schema.mismatch");
  CHECK(test::error_id_of([&] { (void)pipeline<double>().fit(LinearRegression<double>{}, f, "species"); }) == "schema.column_type");
  auto g = f;
  const auto labels = encode_labels(g, "species");
  CHECK(labels == fp.class_labels());
  CHECK(g.names() == f.names());  // the column keeps its place
  CHECK(g.column("species")[0] == 2);  // Gentoo
  CHECK(std::isnan(g.column("species")[7]));
}
