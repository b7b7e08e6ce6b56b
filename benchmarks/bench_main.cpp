// Speed of the issue-2 work on the shapes of ../shared/PERFORMANCE.md:
// A = 1,000,000 x 16 and B = 200,000 x 128, float64, one thread.
// Run: build/test/benchmarks/mlops_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

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

BENCHMARK(BM_rls_update)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_standardize_fit_transform)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_iqr_filter)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mean_impute)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_linear_fit)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_bare_eigen_gram_ldlt)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_pipeline_predict_row)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
