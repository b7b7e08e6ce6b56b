// The whole loop of a deployed model: serve a model on a stream whose world changes
// halfway (one input moves and the relationship to the target changes), let the drift
// monitor notice, retrain on recent data, register the new version, promote it to
// production, and roll back if it does worse than the old one on fresh held-out rows.
//
//   drift_retrain_loop REGISTRY_DIR [--stale]
//
// --stale retrains on old data on purpose (a broken retraining job): the candidate is
// worse on the fresh rows and the example rolls production back to the previous version.
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "mlops/csv.hpp"
#include "mlops/eval/split.hpp"
#include "mlops/monitor/drift.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/registry.hpp"

namespace {
constexpr std::size_t d = 6;

/// Rows of the synthetic world: before the change y = 2 x0 - x1 + 0.5 x2 + noise;
/// after it x2 is shifted by 1.5 and y = 2 x0 + x1 + 0.5 x2 + noise.
struct world {
  mlops::detail::xoshiro256ss rng{2026};
  double normal() {
    // Sum of 12 uniforms - 6: a bell shape with unit variance, from our own generator.
    double s = -6;
    for (int i = 0; i < 12; ++i) s += rng.uniform01();
    return s;
  }
  void draw(bool changed, std::vector<double>& x, double& y) {
    for (auto& v : x) v = normal();
    if (changed) x[2] += 1.5;
    y = 2 * x[0] + (changed ? 1.0 : -1.0) * x[1] + 0.5 * x[2] + 0.3 * normal();
  }
  mlops::DataFrame<double> frame(std::size_t n, bool changed) {
    std::vector<std::vector<double>> cols(d + 1, std::vector<double>(n));
    std::vector<double> x(d);
    for (std::size_t i = 0; i < n; ++i) {
      double y;
      draw(changed, x, y);
      for (std::size_t j = 0; j < d; ++j) cols[j][i] = x[j];
      cols[d][i] = y;
    }
    return mlops::DataFrame<double>::from_columns(names(), cols);
  }
  static std::vector<std::string> names() {
    std::vector<std::string> n;
    for (std::size_t j = 0; j < d; ++j) n.push_back("x" + std::to_string(j));
    n.push_back("y");
    return n;
  }
};

mlops::DataFrame<double> to_frame(const std::deque<std::vector<double>>& rows) {
  std::vector<std::vector<double>> cols(d + 1, std::vector<double>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j <= d; ++j) cols[j][i] = rows[i][j];
  return mlops::DataFrame<double>::from_columns(world::names(), cols);
}

mlops::FittedPipeline<double> train(const mlops::DataFrame<double>& data, std::uint64_t seed) {
  const auto [tr, held] = mlops::train_test_split(data, 0.25, seed);
  auto fitted = mlops::pipeline<double>().standardize().fit(mlops::LinearRegression<double>{true, 1.0}, tr, "y");
  fitted.set_baseline(held);  // the monitor compares live errors with the held-out error
  fitted.set_metrics("test", fitted.evaluate(held));
  return fitted;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: drift_retrain_loop REGISTRY_DIR [--stale]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const bool stale = argc > 2 && std::strcmp(argv[2], "--stale") == 0;
  try {
    std::filesystem::remove_all(dir);
    mlops::ModelRegistry reg(dir);
    world w;

    // Version 1: trained on the world as it was.
    const auto history = w.frame(6000, false);
    const auto v1 = reg.register_model("demand", train(history, 1), {.parameters = {{"data", "initial"}}});
    reg.promote("demand", v1, "production", "example");
    std::printf("registered demand v%llu and promoted it to production\n", static_cast<unsigned long long>(v1));

    // Serve: predict every row, observe it (labels arrive with the row), keep recent rows.
    auto production = reg.load<double>("demand", "production");
    auto monitor = production.monitor();
    std::size_t alerts = 0;
    monitor.on_alert([&](const mlops::DriftAlert& a) {
      if (a.level == mlops::alert_level::critical && alerts++ < 8)
        std::printf("  alert: %s %s%s%.*s = %.4g (threshold %.4g) over rows [%llu, %llu)\n",
                    std::string(mlops::level_name(a.level)).c_str(), std::string(mlops::statistic_name(a.statistic)).c_str(),
                    a.feature.empty() ? "" : " of ", static_cast<int>(a.feature.size()), a.feature.data(), a.value, a.threshold,
                    static_cast<unsigned long long>(a.window_begin), static_cast<unsigned long long>(a.window_end));
    });
    // Once drift is detected the old model keeps serving while `keep` rows of the new
    // world are gathered; the retraining uses only those.
    const std::size_t stream_rows = 20000, change_at = 10000, keep = 3000;
    std::deque<std::vector<double>> recent;
    std::vector<double> x(d);
    std::size_t detected_at = 0, i = 0;
    for (; i < stream_rows && (detected_at == 0 || recent.size() < keep); ++i) {
      double y;
      w.draw(i >= change_at, x, y);
      const double yhat = production.predict_row(x);
      monitor.observe(x, yhat, y);
      if (detected_at == 0 && monitor.retrain_recommended()) detected_at = i + 1;
      if (detected_at != 0) recent.emplace_back(x).push_back(y);
    }
    if (detected_at == 0) {
      std::printf("no drift detected in %zu rows\n", stream_rows);
      return 1;
    }
    std::printf("drift detected after row %zu (the world changed at row %zu): %.*s\n", detected_at, change_at,
                static_cast<int>(monitor.retrain_reason().size()), monitor.retrain_reason().data());
    std::printf("gathered %zu rows since the detection (row %zu now)\n%s", recent.size(), i,
                fmt::format("{:t}", monitor.report()).c_str());

    // Retrain on the recent rows (or, with --stale, on old data), register, promote.
    const auto candidate = train(stale ? history : to_frame(recent), 2);
    const auto v2 = reg.register_model("demand", candidate,
                                       {.parameters = {{"data", stale ? "stale" : "recent"}},
                                        .tags = {{"trigger", std::string(monitor.retrain_reason())}}});
    reg.promote("demand", v2, "production", "example");
    std::printf("retrained on %s rows, registered v%llu (held-out rmse %.4f), promoted to production\n", stale ? "stale" : "recent",
                static_cast<unsigned long long>(v2), candidate.metrics().at("test.rmse"));

    // Verify on fresh rows of the new world; roll back if the new version is worse.
    const auto fresh = w.frame(2000, true);
    const auto old_model = reg.load<double>("demand", std::to_string(v1));
    const auto new_model = reg.load<double>("demand", "production");
    const double old_rmse = old_model.evaluate(fresh).rmse, new_rmse = new_model.evaluate(fresh).rmse;
    std::printf("fresh held-out rows: v%llu rmse %.4f, v%llu rmse %.4f\n", static_cast<unsigned long long>(v1), old_rmse,
                static_cast<unsigned long long>(v2), new_rmse);
    if (new_rmse > old_rmse) {
      const auto back = reg.rollback("demand", "production", "example");
      std::printf("v%llu is worse: rolled production back to v%llu\n", static_cast<unsigned long long>(v2),
                  static_cast<unsigned long long>(back));
    } else {
      std::printf("v%llu is better: production stays on v%llu\n", static_cast<unsigned long long>(v2),
                  static_cast<unsigned long long>(v2));
      // The new model starts a fresh monitor against its own profile.
      auto next = new_model.monitor();
      for (std::size_t i = 0; i < 3000; ++i) {
        double y;
        w.draw(true, x, y);
        next.observe(x, new_model.predict_row(x), y);
      }
      std::printf("after the swap: %s\n", fmt::format("{}", next.report()).c_str());
    }
    std::printf("production is v%llu\n", static_cast<unsigned long long>(reg.get("demand", "production").version));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "drift_retrain_loop: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
