// Speed of the issue-2 work on the shapes of ../shared/PERFORMANCE.md:
// A = 1,000,000 x 16 and B = 200,000 x 128, float64, one thread.
// Run: build/test/benchmarks/mlops_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <Eigen/Cholesky>

#include "mlops/mlops.hpp"

namespace {

struct shape {
  std::size_t n, d;
};
constexpr shape shapes[] = {{1'000'000, 16}, {200'000, 128}};

const mlops::DataFrame<double>& frame(int s) {
  static mlops::DataFrame<double> cache[2];
  auto& f = cache[s];
  if (f.cols() == 0) {
    const auto [n, d] = shapes[s];
    mlops::detail::xoshiro256ss rng(1);
    std::vector<double> y(n, 0.0), c(n);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < n; ++i) {
        // approximately normal: sum of 4 uniforms, centred
        double u = rng.uniform01() + rng.uniform01() + rng.uniform01() + rng.uniform01() - 2.0;
        c[i] = u * 1.7;
        y[i] += (static_cast<double>(j % 5) - 2.0) * c[i];
      }
      f.add_column("x" + std::to_string(j), std::span<const double>(c));
    }
    for (auto& v : y) v += rng.uniform01() - 0.5;
    f.add_column("y", std::span<const double>(y));
  }
  return f;
}
std::vector<std::string> features(int s) {
  std::vector<std::string> out;
  for (std::size_t j = 0; j < shapes[s].d; ++j) out.push_back("x" + std::to_string(j));
  return out;
}
void label(benchmark::State& st, int s) {
  st.SetLabel(s == 0 ? "A 1e6x16" : "B 2e5x128");
  st.counters["rows"] = static_cast<double>(shapes[s].n);
}

void BM_standardize_fit_transform(benchmark::State& st) {
  const int s = static_cast<int>(st.range(0));
  const auto& f = frame(s);
  auto work = f.select(features(s));  // a reused buffer, as PERFORMANCE.md's fair case
  for (auto _ : st) {
    auto fitted = mlops::StandardScaler<double>{}.fit(work);
    fitted.transform_inplace(work);
    benchmark::DoNotOptimize(work.column(0).data());
  }
  label(st, s);
}
void BM_iqr_filter(benchmark::State& st) {
  const int s = static_cast<int>(st.range(0));
  const auto& f = frame(s);
  const auto cols = features(s);
  for (auto _ : st) {
    auto fitted = mlops::IqrOutlierFilter<double>{}.fit(f, cols);
    auto mask = fitted.outlier_mask(f);
    benchmark::DoNotOptimize(mask.data());
  }
  label(st, s);
}
void BM_mean_impute(benchmark::State& st) {
  const int s = static_cast<int>(st.range(0));
  const auto& f = frame(s);
  auto work = f.select(features(s));
  for (auto _ : st) {
    auto fitted = mlops::SimpleImputer<double>{}.fit(work);
    fitted.transform_inplace(work);
    benchmark::DoNotOptimize(work.column(0).data());
  }
  label(st, s);
}
void BM_linear_fit(benchmark::State& st) {
  const int s = static_cast<int>(st.range(0));
  const auto& f = frame(s);
  const auto cols = features(s);
  for (auto _ : st) {
    auto m = mlops::LinearRegression<double>{}.fit(f, cols, "y");
    benchmark::DoNotOptimize(m.coef().data());
  }
  label(st, s);
}
// The bare reference: X as one Eigen matrix (already materialised), centred Gram by
// rankUpdate, LDLT. What "within 1.3x of bare Eigen" is measured against.
void BM_bare_eigen_gram_ldlt(benchmark::State& st) {
  const int s = static_cast<int>(st.range(0));
  const auto& f = frame(s);
  const Eigen::MatrixXd X = f.to_matrix(features(s));
  const Eigen::VectorXd y = f.column_map("y");
  for (auto _ : st) {
    const Eigen::RowVectorXd mu = X.colwise().mean();
    const double ym = y.mean();
    Eigen::MatrixXd G = Eigen::MatrixXd::Zero(X.cols(), X.cols());
    Eigen::VectorXd b = Eigen::VectorXd::Zero(X.cols());
    const Eigen::Index chunk = 1024;
    for (Eigen::Index r = 0; r < X.rows(); r += chunk) {
      const Eigen::Index m = std::min(chunk, X.rows() - r);
      const Eigen::MatrixXd C = X.middleRows(r, m).rowwise() - mu;
      G.selfadjointView<Eigen::Lower>().rankUpdate(C.transpose());
      b.noalias() += C.transpose() * (y.segment(r, m).array() - ym).matrix();
    }
    Eigen::VectorXd w = G.ldlt().solve(b);
    benchmark::DoNotOptimize(w.data());
  }
  label(st, s);
}
void BM_pipeline_predict_row(benchmark::State& st) {
  const auto& f = frame(0);
  static const auto fp = mlops::pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().fit(
      mlops::LinearRegression<double>{}, f.head(100'000), "y");
  std::vector<double> row(16);
  for (std::size_t j = 0; j < 16; ++j) row[j] = f.column(j)[7];
  for (auto _ : st) {
    benchmark::DoNotOptimize(row.data());
    double y = fp.predict_row(row);
    benchmark::DoNotOptimize(y);
  }
  st.SetLabel("d=16, impute+iqr+standardize+linear");
}

// Issue 29: a CART regression tree, max_depth 8, on shape A (1e6 x 16), and its row
// through the pipeline (impute + standardize + tree, depth 8).
void BM_tree_fit(benchmark::State& st) {
  const auto& f = frame(0);
  const auto names = features(0);
  mlops::DecisionTreeRegressor<double> t;
  t.max_depth = 8;
  for (auto _ : st) {
    auto m = t.fit(f, names, "y");
    benchmark::DoNotOptimize(m.n_leaves());
    st.counters["leaves"] = static_cast<double>(m.n_leaves());
  }
  label(st, 0);
}
void BM_tree_predict_row(benchmark::State& st) {
  const auto& f = frame(0);
  mlops::DecisionTreeRegressor<double> t;
  t.max_depth = 8;
  static const auto fp = mlops::pipeline<double>().impute().standardize().fit(t, f.head(100'000), "y");
  std::vector<double> row(16);
  std::size_t r = 0;
  for (auto _ : st) {
    for (std::size_t j = 0; j < 16; ++j) row[j] = f.column(j)[r];  // a different path each call
    r = (r + 1) & 1023;
    benchmark::DoNotOptimize(row.data());
    double y = fp.predict_row(row);
    benchmark::DoNotOptimize(y);
  }
  st.SetLabel("d=16, impute+standardize+tree depth 8 (row copy included)");
}

// Issue 17: a mixed row (12 numeric, 4 categorical given as text, 1 date as an instant)
// through one-hot x4 + date features + impute + standardize + linear.
// Arg 0: the pipeline built by hand (one-hot, date parts, imputer, scaler); Arg 1 the
// default one, auto_pipeline's choices on the same table plus the scaler (issue 30).
void BM_predict_row_mixed(benchmark::State& st) {
  static const auto fitted = [] {
    mlops::detail::xoshiro256ss rng(17);
    const std::size_t n = 20'000;
    mlops::DataFrame<double> f;
    std::vector<double> y(n, 0.0);
    for (std::size_t j = 0; j < 12; ++j) {
      std::vector<double> c(n);
      for (std::size_t i = 0; i < n; ++i) c[i] = rng.uniform01(), y[i] += c[i] * static_cast<double>(j + 1);
      f.add_column("x" + std::to_string(j), std::span<const double>(c));
    }
    for (std::size_t j = 0; j < 4; ++j) {
      std::vector<std::string> c(n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto l = rng.bounded(12 + 8 * j);
        c[i] = "level_" + std::to_string(l);
        y[i] += static_cast<double>(l % 5);
      }
      f.add_categorical("c" + std::to_string(j), std::span<const std::string>(c));
    }
    std::vector<std::int64_t> t(n);
    for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<std::int64_t>(rng.bounded(3650)) * mlops::detail::micros_per_day;
    f.add_datetime("when", std::move(t), false);
    f.add_column("y", std::span<const double>(y));
    auto p = mlops::pipeline<double>();
    p.add(mlops::OneHotEncoder<double>{});
    p.add(mlops::DateFeatures<double>{});
    p.impute();
    p.standardize();
    p.estimator(mlops::LinearRegression<double>{});
    auto a = mlops::auto_pipeline(f, "y").pipeline;
    a.standardize().estimator(mlops::LinearRegression<double>{});
    return std::array<mlops::FittedPipeline<double>, 2>{p.fit(f, "y"), a.fit(f, "y")};
  }();
  const auto& fp = fitted[static_cast<std::size_t>(st.range(0))];
  std::vector<mlops::input_value> row;
  for (std::size_t j = 0; j < 12; ++j) row.push_back(mlops::input_value::of(0.25 + 0.01 * static_cast<double>(j)));
  static const std::string levels[4] = {"level_3", "level_11", "level_7", "level_30"};
  for (const auto& l : levels) row.push_back(mlops::input_value::of(std::string_view(l)));
  row.push_back(mlops::input_value::at(mlops::detail::parse_iso8601("2024-05-17").micros));
  for (auto _ : st) {
    benchmark::DoNotOptimize(row.data());
    double y = fp.predict_row(std::span<const mlops::input_value>(row));
    benchmark::DoNotOptimize(y);
  }
  st.SetLabel(fmt::format("12 numeric + 4 text (one-hot) + 1 date, {} model columns, {}", fp.design_columns().size(),
                          st.range(0) ? "auto_pipeline + standardize" : "by hand"));
}

// Issue 17: read_csv with type inference of the table tables_bench.py writes (12 numeric,
// 4 text and 1 date column); the path comes from MLOPS_BENCH_TABLE.
void BM_read_csv_typed(benchmark::State& st) {
  const char* path = std::getenv("MLOPS_BENCH_TABLE");
  if (!path) {
    st.SkipWithError("set MLOPS_BENCH_TABLE to the file benchmarks/tables_bench.py writes");
    return;
  }
  std::size_t rows = 0;
  for (auto _ : st) {
    const auto f = mlops::read_csv<double>(path);
    rows = f.rows();
    benchmark::DoNotOptimize(rows);
  }
  st.SetLabel(fmt::format("{} rows", rows));
}
// Issue 17: one-hot fit + transform (dense) of 4 categorical columns x 1,000,000 rows
// with 8, 16, 32 and 64 levels.
void BM_onehot_fit_transform(benchmark::State& st) {
  static const auto f = [] {
    mlops::detail::xoshiro256ss rng(5);
    const std::size_t n = 1'000'000;
    mlops::DataFrame<double> t;
    const std::size_t levels[4] = {8, 16, 32, 64};
    for (std::size_t j = 0; j < 4; ++j) {
      std::vector<std::int32_t> codes(n);
      std::vector<std::string> names(levels[j]);
      for (std::size_t l = 0; l < levels[j]; ++l) names[l] = "level_" + std::to_string(l);
      for (auto& c : codes) c = static_cast<std::int32_t>(rng.bounded(levels[j]));
      t.add_categorical("c" + std::to_string(j), std::move(codes), std::move(names));
    }
    return t;
  }();
  for (auto _ : st) {
    auto g = f;
    const auto e = mlops::OneHotEncoder<double>{}.fit(g, g.names());
    e.transform_inplace(g);
    benchmark::DoNotOptimize(g.cols());
  }
  st.SetLabel("4 columns x 1e6 rows, 8/16/32/64 levels, 120 outputs");
}

void BM_rls_update(benchmark::State& st) {
  constexpr std::size_t d = 16;
  mlops::RecursiveLeastSquares<double> rls(d, mlops::RlsOptions{0.999, 1.0, true});
  mlops::detail::xoshiro256ss rng(3);
  std::vector<double> rows(1024 * d), ys(1024);
  for (auto& v : rows) v = rng.uniform01() - 0.5;
  for (auto& v : ys) v = rng.uniform01();
  std::size_t i = 0;
  for (auto _ : st) {
    rls.update(std::span<const double>(rows.data() + (i & 1023) * d, d), ys[i & 1023]);
    ++i;
  }
  st.SetLabel("d=16 + intercept, forgetting 0.999");
}

// ---- issue 3: gradient descent, SGD, logistic regression --------------------------------
// One full-batch gradient iteration through the library's core (the fused chunk pass plus
// the update) on A's columns, against a bare fused Eigen loop over the same data held as
// one column-major matrix.
void BM_gd_full_batch_iteration(benchmark::State& st) {
  const auto& f = frame(0);
  const auto names = features(0);
  std::vector<std::span<const double>> cols;
  for (const auto& c : names) cols.push_back(f.column(c));
  const std::vector<double> y(f.column("y").begin(), f.column("y").end());
  const mlops::detail::gd_data<double> data{cols, y, {}};
  mlops::gd_options o;
  o.rate = mlops::constant_rate{1e-3};
  mlops::gd_state state;
  state.init(16, 1);
  mlops::detail::gd_block blk(mlops::detail::gd_chunk_rows(16), 16, 1);
  Eigen::MatrixXd G(16, 1);
  Eigen::VectorXd gb(1);
  for (auto _ : st) {
    const double L = mlops::detail::gd_pass(mlops::squared_loss{}, data, nullptr, y.size(), blk, state.W, state.b, &G, &gb);
    G /= static_cast<double>(y.size());
    gb /= static_cast<double>(y.size());
    mlops::detail::gd_apply(o, state, G, gb, 1e-3);
    benchmark::DoNotOptimize(L);
  }
  label(st, 0);
}
void BM_bare_eigen_fused_gradient(benchmark::State& st) {
  const auto& f = frame(0);
  const Eigen::MatrixXd X = f.to_matrix(features(0));
  const Eigen::VectorXd y = f.column_map("y");
  Eigen::VectorXd w = Eigen::VectorXd::Zero(16), g(16), r;
  double b = 0;
  const Eigen::Index chunk = 512;
  for (auto _ : st) {
    g.setZero();
    double gb = 0;
    for (Eigen::Index r0 = 0; r0 < X.rows(); r0 += chunk) {
      const Eigen::Index m = std::min(chunk, X.rows() - r0);
      r.noalias() = X.middleRows(r0, m) * w;
      r.array() += b - y.segment(r0, m).array();
      g.noalias() += X.middleRows(r0, m).transpose() * r;
      gb += r.sum();
    }
    w -= 1e-3 / static_cast<double>(X.rows()) * g;
    b -= 1e-3 / static_cast<double>(X.rows()) * gb;
    benchmark::DoNotOptimize(w.data());
  }
  label(st, 0);
}
// SGD as scikit-learn's SGDRegressor defaults set it (invscaling eta0 0.01 power 0.25,
// l2 = alpha 1e-4), one epoch per fit.
mlops::GradientDescentRegressor<double> sgd_like_sklearn(std::size_t batch) {
  mlops::GradientDescentRegressor<double> sgd;
  sgd.batch_size = batch;
  sgd.rate = mlops::inverse_scaling{0.01, 0.25};
  sgd.l2 = 1e-4;
  sgd.max_epochs = 1;
  sgd.fit_intercept = true;
  return sgd;
}
// The time of one more epoch (setup excluded): the median over epochs 2..12 of one fit,
// from the per-epoch callback's elapsed times.
template <class Fit>
double marginal_epoch_ms(mlops::GradientDescentRegressor<double> sgd, Fit fit) {
  std::vector<double> per_epoch;
  double last = 0;
  sgd.tol = 0;
  sgd.max_epochs = 12;
  sgd.on_epoch = [&](const mlops::epoch_info& e) {
    const double now = std::chrono::duration<double, std::milli>(e.elapsed).count();
    if (e.epoch > 1) per_epoch.push_back(now - last);
    last = now;
    return true;
  };
  fit(sgd);
  std::sort(per_epoch.begin(), per_epoch.end());
  return per_epoch[per_epoch.size() / 2];
}
// One SGD epoch on A as a user runs it: fit with max_epochs = 1 from the frame (includes
// the one-time column-to-row copy, which also checks the values). Arg: batch size (1 =
// per sample, as scikit-learn's SGDRegressor). Counters: epoch_ms, the marginal epoch;
// mse_after_5_epochs, the training MSE after 5 epochs.
void BM_sgd_epoch(benchmark::State& st) {
  const auto& f = frame(0);
  const auto names = features(0);
  auto sgd = sgd_like_sklearn(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) {
    auto r = sgd.fit_detailed(f, names, "y");
    benchmark::DoNotOptimize(r.model.coef().data());
  }
  st.counters["epoch_ms"] = marginal_epoch_ms(sgd, [&](const auto& g) { (void)g.fit_detailed(f, names, "y"); });
  sgd.max_epochs = 5;
  sgd.tol = 0;
  const auto r = sgd.fit_detailed(f, names, "y");
  std::vector<std::span<const double>> cols;
  for (const auto& c : names) cols.push_back(f.column(c));
  double se = 0;
  const auto yv = f.column("y");
  std::vector<double> row(16);
  for (std::size_t i = 0; i < yv.size(); ++i) {
    for (std::size_t j = 0; j < 16; ++j) row[j] = cols[j][i];
    const double e = r.model.predict_row(row) - yv[i];
    se += e * e;
  }
  st.counters["mse_after_5_epochs"] = se / static_cast<double>(yv.size());
  label(st, 0);
}
// The same from row-major rows, as scikit-learn receives X (a C-ordered float64 array):
// the rows are read in place, no copy; the NaN/Inf check rides on the first epoch. The
// rows live in memory advised as transparent huge pages, as numpy allocates large arrays.
void BM_sgd_epoch_rows(benchmark::State& st) {
  const auto& f = frame(0);
  const auto names = features(0);
  const std::size_t n = shapes[0].n, d = shapes[0].d, huge = std::size_t{2} << 20;
  const std::size_t bytes = (n * d * sizeof(double) + huge - 1) / huge * huge;
  auto* mem = static_cast<double*>(std::aligned_alloc(huge, bytes));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  ::madvise(mem, bytes, MADV_HUGEPAGE);
#endif
  for (std::size_t j = 0; j < d; ++j) {
    const auto c = f.column(names[j]);
    for (std::size_t i = 0; i < n; ++i) mem[i * d + j] = c[i];
  }
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(
      mem, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  const auto y = f.column("y");
  auto sgd = sgd_like_sklearn(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) {
    auto r = sgd.fit_detailed(X, y);
    benchmark::DoNotOptimize(r.model.coef().data());
  }
  st.counters["epoch_ms"] = marginal_epoch_ms(sgd, [&](const auto& g) { (void)g.fit_detailed(X, y); });
  std::free(mem);
  label(st, 0);
}
// Logistic regression on 200,000 x 32 (labels from a logistic model), C = 1, at
// scikit-learn's default tolerance (its gradient 1e-4 on the summed objective = 1e-4 / n
// on our mean objective). Arg: 0 Newton, 1 L-BFGS (what auto picks at d = 32) with the
// default relative-decrease stop (64 eps), 2 L-BFGS stopping as scikit-learn 1.2.1's does
// (scipy's default factr 1e7: ftol 2.22e-9), i.e. at the reference's own two tolerances.
const mlops::DataFrame<double>& logistic_frame() {
  static mlops::DataFrame<double> f;
  if (f.cols() == 0) {
    const std::size_t n = 200'000, d = 32;
    mlops::detail::xoshiro256ss rng(5);
    std::vector<double> z(n, -0.3), c(n);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < n; ++i) {
        c[i] = (rng.uniform01() + rng.uniform01() + rng.uniform01() + rng.uniform01() - 2.0) * 1.7;
        z[i] += (static_cast<double>(j % 7) - 3.0) * 0.15 * c[i];
      }
      f.add_column("x" + std::to_string(j), std::span<const double>(c));
    }
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i) y[i] = rng.uniform01() < 1.0 / (1.0 + std::exp(-z[i])) ? 1.0 : 0.0;
    f.add_column("y", std::span<const double>(y));
  }
  return f;
}
void BM_logistic_fit(benchmark::State& st) {
  const auto& f = logistic_frame();
  std::vector<std::string> names;
  for (int j = 0; j < 32; ++j) names.push_back("x" + std::to_string(j));
  mlops::LogisticRegression<double> lr;
  lr.tol = 1e-4 / 200'000.0;
  lr.solver = st.range(0) >= 1 ? mlops::classifier_solver::lbfgs : mlops::classifier_solver::newton;
  if (st.range(0) == 2) lr.ftol = 1e7 * 2.220446049250313e-16;
  mlops::ClassifierResult<double> r;
  for (auto _ : st) {
    r = lr.fit_detailed(f, names, "y");
    benchmark::DoNotOptimize(r.model.coef().data());
  }
  std::size_t right = 0;
  std::vector<double> row(32);
  for (std::size_t i = 0; i < f.rows(); ++i) {
    for (std::size_t j = 0; j < 32; ++j) row[j] = f.column(j)[i];
    right += r.model.predict_row(row) == f.column("y")[i];
  }
  st.counters["accuracy"] = static_cast<double>(right) / static_cast<double>(f.rows());
  st.counters["iterations"] = static_cast<double>(r.epochs);
  st.counters["loss"] = r.loss;
  st.SetLabel(st.range(0) == 0 ? "2e5x32, Newton" : st.range(0) == 1 ? "2e5x32, L-BFGS" : "2e5x32, L-BFGS, ftol 2.22e-9");
}

// Issue 4: 5-fold cross-validation of impute(mean) -> IQR(1.5) -> standardize -> ridge(1)
// on 200,000 x 32 with 1% of the feature values missing; shuffled KFold. Arg: threads.
const mlops::DataFrame<double>& cv_frame() {
  static mlops::DataFrame<double> f;
  if (f.cols() == 0) {
    const std::size_t n = 200'000, d = 32;
    mlops::detail::xoshiro256ss rng(3);
    std::vector<double> y(n, 0.0), c(n);
    std::vector<std::vector<double>> cols;
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < n; ++i) {
        c[i] = (rng.uniform01() + rng.uniform01() + rng.uniform01() + rng.uniform01() - 2.0) * 1.7;
        y[i] += (static_cast<double>(j % 5) - 2.0) * c[i];
      }
      cols.push_back(c);
    }
    for (auto& v : y) v += rng.uniform01() - 0.5;
    for (std::size_t j = 0; j < d; ++j) {
      for (auto& v : cols[j])
        if (rng.uniform01() < 0.01) v = std::numeric_limits<double>::quiet_NaN();
      f.add_column("x" + std::to_string(j), std::span<const double>(cols[j]));
    }
    f.add_column("y", std::span<const double>(y));
  }
  return f;
}
void BM_cross_validate(benchmark::State& st) {
  const auto& f = cv_frame();
  mlops::LinearRegression<double> ridge;
  ridge.l2 = 1.0;
  const auto p = mlops::pipeline<double>().impute().drop_outliers_iqr(1.5).standardize().estimator(ridge);
  // Arg: threads; 0 = one thread with the per-fold fits (cv_options::one_pass = false).
  mlops::cv_options o;
  o.threads = st.range(0) == 0 ? 1 : static_cast<std::size_t>(st.range(0));
  o.one_pass = st.range(0) != 0;
  mlops::CvResult r;
  for (auto _ : st) {
    r = mlops::cross_validate(p, f, "y", mlops::KFold{5, true, 0}, {"r2", "mse", "mae"}, o);
    benchmark::DoNotOptimize(r.folds.data());
  }
  st.counters["r2"] = r.mean("r2").value_or(0);
  st.SetLabel(fmt::format("2e5x32, 5 folds, {} thread(s), {}", o.threads, r.one_pass ? "shared statistics" : "per-fold fits"));
}

// ---- issue 6: drift monitor ---------------------------------------------------------------
// One row of 16 features plus the prediction into DriftMonitor::observe (10 quantile bins,
// tumbling window of 1000 rows: the window's statistics and alert checks are amortised in).
// Arg 1 also feeds the label (error stream: Page-Hinkley and ADWIN). Arg 2: features 12 to
// 15 are categorical (5, 8, 3 and 12 levels, profiled per level; the row holds level codes,
// a tenth of them unseen), the other 12 numeric as in Arg 0 (issue 30: no slower per value).
void BM_monitor_observe(benchmark::State& st) {
  constexpr std::size_t d = 16, n_rows = 4096;
  mlops::detail::xoshiro256ss rng(17);
  auto gauss = [&] {
    double s = -6;
    for (int i = 0; i < 12; ++i) s += rng.uniform01();
    return s;
  };
  std::vector<std::vector<double>> ref(d, std::vector<double>(50'000));
  for (auto& c : ref)
    for (auto& v : c) v = gauss();
  mlops::DriftProfile p;
  const bool categorical = st.range(0) == 2;
  const std::size_t n_levels[] = {5, 8, 3, 12};
  auto level_count = [&](std::size_t j) { return categorical && j >= 12 ? n_levels[j - 12] : std::size_t{0}; };
  for (std::size_t j = 0; j < d; ++j) {
    if (const std::size_t L = level_count(j)) {
      std::vector<std::string> names;
      for (std::size_t k = 0; k < L; ++k) names.push_back("level" + std::to_string(k));
      for (auto& v : ref[j]) v = static_cast<double>(rng.bounded(L));
      p.features.push_back(mlops::FeatureProfile::capture_levels<double>("c" + std::to_string(j), ref[j], std::move(names), 10));
    } else {
      p.features.push_back(mlops::FeatureProfile::capture<double>("x" + std::to_string(j), ref[j], 10));
    }
  }
  p.prediction = mlops::FeatureProfile::capture<double>("prediction", ref[0], 10);
  p.baseline.kind = mlops::BaselineError::kind_t::absolute_error;
  p.baseline.mean = 0.8;
  mlops::DriftMonitor<double> mon(p);
  std::vector<double> rows(n_rows * d);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t L = level_count(i % d);
    rows[i] = L == 0 ? gauss() : rng.bounded(10) == 0 ? -1.0 : static_cast<double>(rng.bounded(L));
  }
  const bool labels = st.range(0) == 1;
  std::size_t i = 0;
  for (auto _ : st) {
    const std::span<const double> row(rows.data() + (i & (n_rows - 1)) * d, d);
    if (labels) mon.observe(row, row[0], row[1]);
    else mon.observe(row, row[0]);
    ++i;
  }
  benchmark::DoNotOptimize(mon.observed());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * d));
  st.SetLabel(labels        ? "d=16 + prediction + label, 10 bins, window 1000"
              : categorical ? "d=12 numeric + 4 categorical (5, 8, 3, 12 levels) + prediction, window 1000"
                            : "d=16 + prediction, 10 bins, window 1000");
}

BENCHMARK(BM_gd_full_batch_iteration)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bare_eigen_fused_gradient)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sgd_epoch)->Arg(1)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sgd_epoch_rows)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_logistic_fit)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cross_validate)->Arg(1)->Arg(2)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_rls_update)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_standardize_fit_transform)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_iqr_filter)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mean_impute)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_linear_fit)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bare_eigen_gram_ldlt)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_pipeline_predict_row)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_predict_row_mixed)->Arg(0)->Arg(1)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_read_csv_typed)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_onehot_fit_transform)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_tree_fit)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3);
BENCHMARK(BM_tree_predict_row)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_monitor_observe)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kNanosecond);

}  // namespace

// The figures in RESULTS.md are with the column buffer cache on (it is opt-in).
int main(int argc, char** argv) {
  mlops::set_buffer_cache_limit(mlops::recommended_buffer_cache_limit);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
