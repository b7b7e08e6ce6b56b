// Writes the golden files of the current format version into tests/golden/format/vMAJ.MIN/
// (1.2 adds typed-input pipelines: one-hot, ordinal, date features, min-max)
// with expected.json (input rows and the predictions they must give). Run once per
// released format version; the files are then loaded by the tests forever:
//   g++ -std=c++20 -O2 -Iinclude -I/usr/include/eigen3 tests/golden/format/make_format_golden.cpp -lfmt -o /tmp/mk && /tmp/mk
#include <cmath>
#include <fstream>

#include "mlops/mlops.hpp"

using namespace mlops;

template <class T>
DataFrame<T> data(std::size_t n, bool labels) {
  detail::xoshiro256ss rng(2026);
  std::vector<std::vector<T>> c(4, std::vector<T>(n));
  std::vector<T> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto& col : c) col[i] = static_cast<T>(rng.uniform01() * 4 - 2);
    const double z = 1.5 * c[0][i] - 2.0 * c[1][i] + 0.5 * c[2][i] + 0.1 * (rng.uniform01() - 0.5);
    y[i] = labels ? static_cast<T>(z > 0.6 ? 2 : (z < -0.6 ? 0 : 1)) : static_cast<T>(z + 3);
    if (i % 17 == 3) c[3][i] = std::numeric_limits<T>::quiet_NaN();
  }
  return DataFrame<T>::from_columns({"a", "b", "c", "d", "y"}, {c[0], c[1], c[2], c[3], y});
}

template <class T>
nlohmann::json emit(const FittedPipeline<T>& p, const std::string& file, const std::filesystem::path& dir) {
  p.save(dir / file);
  nlohmann::json rows = nlohmann::json::array(), preds = nlohmann::json::array(), proba = nlohmann::json::array();
  const auto f = data<T>(40, p.is_classifier());
  for (std::size_t r = 0; r < 12; ++r) {
    std::vector<T> row;
    for (std::size_t j = 0; j < 4; ++j) row.push_back(f.column(j)[r] == f.column(j)[r] ? f.column(j)[r] : T(0.25));
    rows.push_back(std::vector<double>(row.begin(), row.end()));
    preds.push_back(static_cast<double>(p.predict_row(row)));
    if (p.has_proba()) {
      std::vector<double> q(p.n_classes());
      (void)p.predict_proba_row(row, q);
      proba.push_back(q);
    }
  }
  nlohmann::json g = {{"file", file}, {"scalar", sizeof(T) == 4 ? "float" : "double"}, {"rows", rows}, {"predictions", preds},
                      {"proba", proba}};
  if (p.has_drift_profile()) {  // format 1.1: the profile, and the CRC-32C of its bytes (bit for bit)
    g["drift_profile"] = p.drift_profile();
    g["drift_profile_crc"] = p.drift_profile().fingerprint();
  }
  return g;
}

/// Format 1.2: typed inputs. A city (text, with missing values), a sale date, two numbers.
template <class T>
DataFrame<T> typed_data(std::size_t n) {
  detail::xoshiro256ss rng(2027);
  const char* cities[] = {"Brest", "Lyon", "Paris", "Nantes"};
  std::vector<std::string> city(n);
  std::vector<std::int64_t> when(n);
  std::vector<T> a(n), b(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = rng.bounded(4);
    city[i] = i % 13 == 5 ? "?" : cities[c];
    const auto day = static_cast<std::int64_t>(rng.bounded(2000)) + 17000;
    when[i] = day * detail::micros_per_day + static_cast<std::int64_t>(rng.bounded(24)) * 3600 * detail::micros_per_second;
    a[i] = static_cast<T>(rng.uniform01() * 4 - 2);
    b[i] = i % 11 == 2 ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(rng.uniform01());
    y[i] = static_cast<T>(2 * a[i] + (c == 2 ? 3 : 0) + 0.001 * static_cast<double>(day % 365) + 0.1 * rng.uniform01());
  }
  DataFrame<T> f;
  const std::vector<std::string> na{"?"};
  f.add_categorical("city", std::span<const std::string>(city), std::span<const std::string>(na));
  f.add_datetime("when", std::move(when), true);
  f.add_column("a", std::span<const T>(a));
  f.add_column("b", std::span<const T>(b));
  f.add_column("y", std::span<const T>(y));
  return f;
}

/// Rows in predict_row's numeric form (level index, days since 1970) and their predictions.
template <class T>
nlohmann::json emit_typed(const FittedPipeline<T>& p, const std::string& file, const std::filesystem::path& dir) {
  p.save(dir / file);
  const auto f = typed_data<T>(40);
  const auto city = f.categorical("city");
  const auto when = f.datetime("when");
  nlohmann::json rows = nlohmann::json::array(), preds = nlohmann::json::array();
  for (std::size_t r = 0; r < 12; ++r) {
    const T b = f.column("b")[r];
    const std::vector<T> row{city.codes[r] < 0 ? T(-1) : p.level_code(0, city.label(r)), detail::days_of<T>(when.values[r]),
                             f.column("a")[r], b == b ? b : T(0.5)};
    rows.push_back(std::vector<double>(row.begin(), row.end()));
    preds.push_back(static_cast<double>(p.predict_row(row)));
  }
  nlohmann::json g = {{"file", file}, {"scalar", sizeof(T) == 4 ? "float" : "double"}, {"rows", rows}, {"predictions", preds},
                      {"proba", nlohmann::json::array()}};
  if (p.has_drift_profile()) {
    g["drift_profile"] = p.drift_profile();
    g["drift_profile_crc"] = p.drift_profile().fingerprint();
  }
  return g;
}

int main() {
  const auto dir = std::filesystem::path("tests/golden/format") / fmt::format("v{}.{}", io::format_major, io::format_minor);
  std::filesystem::create_directories(dir);
  nlohmann::json all = nlohmann::json::array();
  all.push_back(emit(pipeline<double>().impute(impute_strategy::median).drop_outliers_iqr(1.5).standardize()
                         .fit(LinearRegression<double>{true, 0.5}, data<double>(300, false), "y"), "ridge_double.mlops", dir));
  all.push_back(emit(pipeline<float>().impute().standardize().fit(LinearRegression<float>{}, data<float>(300, false), "y"),
                     "linear_float.mlops", dir));
  all.push_back(emit(pipeline<double>().impute().standardize().fit(LogisticRegression<double>{}, data<double>(300, true), "y"),
                     "logistic_multinomial_double.mlops", dir));
  LinearSVM<float> svm;
  svm.max_epochs = 20;
  all.push_back(emit(pipeline<float>().impute().standardize().fit(svm, data<float>(300, true), "y"), "svm_float.mlops", dir));
  if (io::format_minor >= 2) {  // typed inputs: one-hot + date features + min-max; ordinal
    auto p = pipeline<double>();
    p.add(OneHotEncoder<double>{});
    p.add(DateFeatures<double>{});
    p.impute();
    p.add(MinMaxScaler<double>{});
    p.estimator(LinearRegression<double>{true, 0.1});
    all.push_back(emit_typed(p.fit(typed_data<double>(300), "y"), "onehot_dates_minmax_double.mlops", dir));
    auto q = pipeline<float>();
    q.add(OrdinalEncoder<float>{});
    q.add(DateFeatures<float>{.parts = {detail::date_part::year, detail::date_part::weekday}});
    q.impute();
    q.estimator(LinearRegression<float>{});
    all.push_back(emit_typed(q.fit(typed_data<float>(300), "y"), "ordinal_dates_float.mlops", dir));
  }
  std::ofstream(dir / "expected.json") << all.dump(1) << "\n";
  fmt::print("wrote {} files into {}\n", all.size(), dir.string());
}
