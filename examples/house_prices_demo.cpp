// The end-to-end demo: raw CSV -> impute -> IQR filter -> standardize -> linear
// regression -> evaluate on a held-out split -> save -> reload -> predict -> watch for
// drift, printing what happened at each step, and an actual-vs-predicted scatter plot as
// SVG; then a table as people have it (text and date columns, pandas' index, ';'):
// read as it comes, its steps chosen from the data (auto_pipeline), trained, saved,
// reloaded and asked about one mixed row.
//
//   house_prices_demo data/house_prices.csv out/ [data/house_sales.csv]
#include <algorithm>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mlops/csv.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/monitor/drift.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/prep/impute.hpp"
#include "mlops/prep/outliers.hpp"
#include "mlops/prep/scale.hpp"

namespace {

void write_scatter_svg(const std::filesystem::path& path, std::span<const double> actual, std::span<const double> predicted,
                       const mlops::RegressionMetrics& m) {
  const double W = 640, H = 640, pad = 70;
  double lo = actual[0], hi = actual[0];
  for (std::size_t i = 0; i < actual.size(); ++i) {
    lo = std::min({lo, actual[i], predicted[i]});
    hi = std::max({hi, actual[i], predicted[i]});
  }
  const double span = hi > lo ? hi - lo : 1;
  auto sx = [&](double v) { return pad + (v - lo) / span * (W - 2 * pad); };
  auto sy = [&](double v) { return H - pad - (v - lo) / span * (H - 2 * pad); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  s += fmt::format("<text x=\"{}\" y=\"30\" text-anchor=\"middle\" font-size=\"16\">House prices: actual vs predicted "
                   "(held-out split, n={}, R\u00b2={:.3f})</text>\n", W / 2, m.n, m.r2);
  s += fmt::format("<rect x=\"{0}\" y=\"{0}\" width=\"{1}\" height=\"{1}\" fill=\"none\" stroke=\"#444\"/>\n", pad, W - 2 * pad);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#c33\" stroke-dasharray=\"6 4\"/>\n", sx(lo), sy(lo), sx(hi), sy(hi));
  for (int t = 0; t <= 5; ++t) {
    const double v = lo + span * t / 5;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.0f}k</text>\n", sx(v), H - pad + 18, v / 1000);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0f}k</text>\n", pad - 6, sy(v) + 4, v / 1000);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">actual price</text>\n", W / 2, H - 20);
  s += fmt::format("<text x=\"20\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 20 {})\">predicted price</text>\n", H / 2, H / 2);
  for (std::size_t i = 0; i < actual.size(); ++i)
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"#1f77b4\" fill-opacity=\"0.6\"/>\n", sx(actual[i]), sy(predicted[i]));
  s += "</svg>\n";
  mlops::detail::atomic_write_file(path, s);
}

int run(int argc, char** argv) {
  const std::filesystem::path data = argc > 1 ? argv[1] : "data/house_prices.csv";
  const std::filesystem::path out = argc > 2 ? argv[2] : "out";
  std::filesystem::create_directories(out);

  fmt::print("== 1. Load {}\n", data.string());
  const auto frame = mlops::read_csv<double>(data);
  fmt::print("{} rows x {} columns; missing values per column:", frame.rows(), frame.cols());
  const auto miss = frame.missing_counts();
  for (std::size_t c = 0; c < frame.cols(); ++c) fmt::print(" {}={}", frame.names()[c], miss[c]);
  fmt::print("\n\n{}\n", frame.describe());

  fmt::print("== 2. Split 80/20 (seed 42); every statistic below is fitted on the training part only\n");
  const auto [train, test] = mlops::train_test_split(frame, 0.2, 42);
  fmt::print("train {} rows, test {} rows\n\n", train.rows(), test.rows());

  fmt::print("== 3. Fit: impute(median) -> IQR filter (k=1.5) -> standardize -> linear regression\n");
  auto fitted = mlops::pipeline<double>()
                    .impute(mlops::impute_strategy::median)
                    .drop_outliers_iqr(1.5)
                    .standardize()
                    .fit(mlops::LinearRegression<double>{}, train, "price");
  const auto& rep = fitted.report();
  fmt::print("training rows: {} in, {} without a price dropped\n", rep.rows_in, rep.rows_missing_target);
  for (const auto& s : fitted.steps()) {
    if (auto* imp = mlops::get_if<mlops::FittedSimpleImputer<double>>(&s)) {
      fmt::print("  impute ({}):\n", mlops::to_string(imp->strategy()));
      for (std::size_t c = 0; c < imp->columns().size(); ++c)
        fmt::print("    {:<15} {:>3} missing -> filled with {:.4g}\n", imp->columns()[c], imp->missing_seen()[c], imp->fill_values()[c]);
    } else if (auto* iqr = mlops::get_if<mlops::FittedIqrOutlierFilter<double>>(&s)) {
      fmt::print("  IQR filter (k={}): {} rows in, {} kept, {} dropped; on new data: {}\n", iqr->k(), iqr->rows_in(), iqr->rows_out(),
                 iqr->rows_in() - iqr->rows_out(), mlops::to_string(iqr->on_new_data()));
      for (const auto& f : iqr->fences())
        fmt::print("    {:<15} Q1={:<10.4g} Q3={:<10.4g} fences [{:.4g}, {:.4g}]  rows outside: {}{}\n", f.name, f.q1, f.q3, f.lower,
                   f.upper, f.dropped, f.zero_iqr ? " (zero IQR: skipped)" : f.training_only ? " (target: training only)" : "");
    } else if (auto* sc = mlops::get_if<mlops::FittedStandardScaler<double>>(&s)) {
      fmt::print("  standardize:\n");
      for (std::size_t c = 0; c < sc->columns().size(); ++c)
        fmt::print("    {:<15} mean={:<12.6g} std={:.6g}\n", sc->columns()[c], sc->mean()[c], sc->scale()[c]);
    }
  }
  const auto& model = fitted.model();
  fmt::print("  linear regression on {} rows (solver {}, rank {}):\n", model.n_samples(), mlops::to_string(model.solver()), model.rank());
  for (std::size_t c = 0; c < fitted.n_features(); ++c)
    fmt::print("    {:<15} coef = {:.6g} per standard deviation\n", fitted.features()[c], model.coef()(static_cast<Eigen::Index>(c)));
  fmt::print("    intercept       {:.6g}\n\n", model.intercept());

  fmt::print("== 4. Evaluate\n");
  const auto train_m = fitted.stored_metrics("train").value();  // computed by fit
  const auto test_m = fitted.evaluate(test);
  fitted.set_metrics("test", test_m);
  fitted.set_baseline(test);  // the error a drift monitor should expect
  fmt::print("  train: {}\n  test:  {}\n\n", train_m, test_m);

  const auto model_path = out / "house_prices.mlops";
  fmt::print("== 5. Save to {} and reload\n", model_path.string());
  fitted.save(model_path);
  const auto loaded = mlops::FittedPipeline<double>::load(model_path);
  const auto p1 = fitted.predict(test);
  const auto p2 = loaded.predict(test);
  std::size_t same = 0;
  for (std::size_t i = 0; i < p1.size(); ++i) same += std::bit_cast<std::uint64_t>(p1[i]) == std::bit_cast<std::uint64_t>(p2[i]);
  fmt::print("  {} bytes on disk; reloaded model predicts {} of {} test rows bit-identically\n\n",
             std::filesystem::file_size(model_path), same, p1.size());
  if (same != p1.size()) return 1;

  fmt::print("== 6. Predict raw rows (missing values and outliers included)\n");
  const double rows[][3] = {{120.0, 15.0, 7.5}, {std::nan(""), 30.0, 5.0}, {1800.0, 10.0, 9.0}};
  for (const auto& r : rows) {
    const double y = loaded.predict_row(r);
    fmt::print("  area={:<6} age={:<4} location={:<4} -> predicted price {:.0f}\n", r[0], r[1], r[2], y);
  }
  const auto y_test = test.column("price");
  std::vector<double> actual, predicted;
  for (std::size_t i = 0; i < y_test.size(); ++i)
    if (!std::isnan(y_test[i])) {
      actual.push_back(y_test[i]);
      predicted.push_back(p2[i]);
    }
  const auto svg = out / "house_prices_scatter.svg";
  write_scatter_svg(svg, actual, predicted, test_m);
  fmt::print("\n== 7. Wrote {} (actual vs predicted on the held-out split)\n", svg.string());

  // 8. Serve with a drift monitor: the houses of the data set look like the training
  // data; the same houses with every area 60% larger (a new neighbourhood) do not.
  fmt::print("\n== 8. Watch for drift (reference profile saved with the model; judged over all {} rows)\n", frame.rows());
  const auto area = frame.column("area"), age = frame.column("age"), loc = frame.column("location_score");
  for (const double scale : {1.0, 1.6}) {
    mlops::DriftConfig cfg;
    cfg.window = 0;  // cumulative: one judgement over every row
    cfg.step = frame.rows();
    auto monitor = loaded.monitor(cfg);
    std::size_t alerts = 0;
    monitor.on_alert([&](const mlops::DriftAlert& a) { alerts += a.level != mlops::alert_level::ok; });
    for (std::size_t i = 0; i < frame.rows(); ++i) {
      const double row[] = {area[i] * scale, age[i], loc[i]};
      monitor.observe(std::span<const double>(row), loaded.predict_row(row));
    }
    const auto r = monitor.report(mlops::drift_scope::total);
    fmt::print("  {} rows, area x{}: area psi {:.3f} ({}), age psi {:.3f} ({}), prediction psi {:.3f}; {} alerts; retrain "
               "recommended: {}\n",
               r.observed, scale, r.features[0].psi, mlops::level_name(r.features[0].level), r.features[1].psi,
               mlops::level_name(r.features[1].level), r.prediction.psi, alerts, monitor.retrain_recommended() ? "yes" : "no");
    if (scale > 1) fmt::print("{:t}", r);
  }

  // 9. A table as it comes: a pandas index, a city name, a sale date, ';' as delimiter.
  const std::filesystem::path sales = argc > 3 ? std::filesystem::path(argv[3]) : data.parent_path() / "house_sales.csv";
  fmt::print("\n== 9. Tables as they come: {} (delimiter sniffed, column types inferred)\n", sales.string());
  const auto table = mlops::read_csv<double>(sales);
  fmt::print("{:5}", table);
  const auto [tr, te] = mlops::train_test_split(table, 0.2, 42);
  // No step chosen by hand: auto_pipeline reads the training rows and says what it did.
  auto [sp, choices] = mlops::auto_pipeline(tr, "price");
  for (const auto& c : choices) fmt::print("  auto: '{}' {}: {}\n", c.column, c.action, c.reason);
  sp.standardize().estimator(mlops::LinearRegression<double>{});
  const auto sf = sp.fit(tr, "price");
  fmt::print("inputs: {} (the index column is an id, not a feature)\nmodel columns: {}\n", fmt::join(sf.features(), ", "),
             fmt::join(sf.design_columns(), ", "));
  const auto sm = sf.evaluate(te);
  fmt::print("test:  {}\n", sm);
  for (std::size_t c = 0; c < sf.design_columns().size(); ++c)
    if (sf.design_columns()[c].rfind("city_", 0) == 0)
      fmt::print("  coef {:<22} {:+.0f}\n", sf.design_columns()[c], sf.model().coef()(static_cast<Eigen::Index>(c)));
  sf.save(out / "house_sales.mlops");
  const auto sl = mlops::FittedPipeline<double>::load(out / "house_sales.mlops");
  const auto a1 = sf.predict(te), a2 = sl.predict(te);
  std::size_t same9 = 0;
  for (std::size_t i = 0; i < a1.size(); ++i) same9 += std::bit_cast<std::uint64_t>(a1[i]) == std::bit_cast<std::uint64_t>(a2[i]);
  fmt::print("reloaded model predicts {} of {} test rows bit-identically\n", same9, a1.size());
  const mlops::input_value row[] = {mlops::input_value::of(std::string_view("Paris")), mlops::input_value::of(85.0),
                                    mlops::input_value::of(3.0), mlops::input_value::at(mlops::detail::parse_iso8601("2023-07-14").micros)};
  fmt::print("a 3-room, 85 m2 flat in Paris sold on 2023-07-14 -> predicted price {:.0f} (one mixed row: text, numbers, a date)\n",
             sl.predict_row(std::span<const mlops::input_value>(row)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "house_prices_demo: %s\n", e.what());
    return 1;
  }
}
