// mlops/monitor/drift_config.hpp - what the drift monitor is told and what it tells:
// alert levels and statistics, thresholds, DriftConfig, DriftAlert, ColumnDrift and
// DriftReport (printed with fmt: "{}" one line, "{:t}" a table). The monitor itself:
// monitor/drift.hpp; JSON: monitor/json.hpp; Prometheus text: monitor/prometheus.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/monitor/detectors.hpp"

MLOPS_NAMESPACE_BEGIN

enum class alert_level : std::uint8_t { ok = 0, warning = 1, critical = 2 };
constexpr std::string_view level_name(alert_level l) noexcept {
  constexpr std::string_view n[] = {"ok", "warning", "critical"};
  return n[static_cast<int>(l)];
}

/// What an alert is about. The first five are per column (features and the prediction).
enum class drift_statistic : std::uint8_t {
  psi = 0,           // population stability index
  ks = 1,            // Kolmogorov-Smirnov statistic at the bin edges
  js = 2,            // Jensen-Shannon distance (base 2, in [0, 1])
  mean_shift = 3,    // |window mean - reference mean| / reference standard deviation
  missing_rate = 4,  // |window missing rate - reference missing rate|
  drift_share = 5,   // share of features at critical (dataset level)
  error_ratio = 6,   // window error / baseline error (labelled rows)
  page_hinkley = 7,  // Page-Hinkley on the relative error stream
  adwin = 8,         // ADWIN on the relative error stream (an increase)
  ddm = 9,           // DDM on the 0/1 error stream (classifiers)
  retrain = 10,      // the retrain-recommended signal
};
inline constexpr std::size_t column_statistics = 5;
constexpr std::string_view statistic_name(drift_statistic s) noexcept {
  constexpr std::string_view n[] = {"psi", "ks", "js", "mean_shift", "missing_rate", "drift_share",
                                    "error_ratio", "page_hinkley", "adwin", "ddm", "retrain"};
  return n[static_cast<int>(s)];
}

struct DriftThreshold {
  double warning = 0, critical = 0;
};
/// Default levels (docs/monitoring.md gives the reasoning and the measured false-alarm
/// rates): PSI 0.1 / 0.25 is the credit-scoring convention (Siddiqi 2006), not a law;
/// JS 0.1 is Evidently's default; the others are sized so a 1000-row window drawn from
/// the reference stays far below the warning level.
struct DriftThresholds {
  DriftThreshold psi{0.1, 0.25};
  DriftThreshold ks{0.1, 0.2};
  DriftThreshold js{0.1, 0.2};
  DriftThreshold mean_shift{0.2, 0.4};
  DriftThreshold missing_rate{0.05, 0.2};
  DriftThreshold drift_share{0.25, 0.5};
  DriftThreshold error_ratio{1.25, 1.5};
  const DriftThreshold& of(drift_statistic s) const noexcept {
    const DriftThreshold* t[] = {&psi, &ks, &js, &mean_shift, &missing_rate, &drift_share, &error_ratio};
    return *t[(std::min)(static_cast<std::size_t>(s), std::size_t{6})];
  }
};

struct DriftConfig {
  std::size_t window = 1000;    // rows per window; 0: every row since reset (cumulative)
  std::size_t step = 0;         // rows per pane; 0 = window (tumbling); a divisor of window (sliding)
  double psi_epsilon = 1e-4;    // floor of an empty bin's proportion in PSI (no renormalisation)
  DriftThresholds thresholds;
  double hysteresis = 0.2;      // a level clears only once the value is below (1 - hysteresis) x its threshold
  std::size_t cooldown = 5000;  // rows: the same (column, statistic, level) alert does not fire again sooner
  std::size_t min_labels = 100; // labelled rows a window needs before error_ratio is judged
  PageHinkley page_hinkley{};   // river's defaults
  Adwin adwin{};
  Ddm ddm{};
};

/// A structured alert, handed to the callback. `feature` views into the monitor's
/// profile (empty for dataset-level and concept alerts). level ok = the condition cleared.
struct DriftAlert {
  alert_level level = alert_level::ok;
  drift_statistic statistic = drift_statistic::psi;
  std::string_view feature;
  double value = 0, threshold = 0;
  std::uint64_t window_begin = 0, window_end = 0;  // rows [begin, end) of the stream it was measured on
};

/// Drift of one column over a window.
struct ColumnDrift {
  std::string name;
  std::uint64_t rows = 0, present = 0;
  double psi = NAN, ks = NAN, js = NAN, mean_shift = NAN;
  double missing_rate = 0, reference_missing_rate = 0, mean = NAN, reference_mean = 0;
  alert_level level = alert_level::ok;
  /// A categorical input profiled per level (FeatureProfile::categorical): psi and js over
  /// its levels (unseen values in their own bins); ks, mean and mean_shift NaN (codes have
  /// no order); the share of present values holding a level training never saw; Pearson's
  /// chi-square of the known levels' counts against the reference shares, its degrees of
  /// freedom (levels with a reference share, less one) and p-value; and (report() only) the
  /// levels whose share moved most, largest |live - reference| first, at most three
  /// ("(unseen)" for the unseen values).
  bool categorical = false;
  double unseen_rate = NAN, chi2 = NAN, chi2_p = NAN;
  std::size_t chi2_df = 0;
  struct level_shift {
    std::string level;
    double reference = 0, live = 0;
  };
  std::vector<level_shift> moved;
  /// A datetime input profiled with its range (FeatureProfile::ranged): the shares of the
  /// present values earlier than any training value and later than any (future dates).
  bool ranged = false;
  double before_range_rate = NAN, after_range_rate = NAN;
  double value(drift_statistic s) const noexcept {
    switch (s) {
      case drift_statistic::psi: return psi;
      case drift_statistic::ks: return ks;
      case drift_statistic::js: return js;
      case drift_statistic::mean_shift: return std::fabs(mean_shift);
      case drift_statistic::missing_rate: return std::fabs(missing_rate - reference_missing_rate);
      default: return NAN;
    }
  }
};

enum class drift_scope : std::uint8_t { window = 0, total = 1 };

struct DriftReport {
  drift_scope scope = drift_scope::window;
  std::uint64_t observed = 0;        // rows observed since reset
  std::uint64_t rejected = 0;        // rows of the wrong length (ignored)
  std::uint64_t window_begin = 0, window_end = 0, window_rows = 0;
  /// Feature levels are verdicts only once a window (a pane, with a step) has completed;
  /// before that the statistics cover the rows so far and no level is judged.
  bool judged = false;
  std::uint64_t window_size = 0;     // the configured window (0: every row)
  std::vector<ColumnDrift> features;
  ColumnDrift prediction;
  double drift_share = 0;            // share of features at critical
  std::size_t drifted_features = 0;
  alert_level dataset_level = alert_level::ok;
  // Concept drift (labelled rows).
  std::uint64_t labels = 0, window_labels = 0;
  std::string error_kind;            // "absolute_error" | "misclassification" | "none"
  double baseline_error = NAN, window_error = NAN, error_ratio = NAN;
  double page_hinkley = 0, adwin_estimation = 0, adwin_width = 0, ddm_error_rate = 0;
  std::uint64_t page_hinkley_drifts = 0, adwin_drifts = 0, ddm_drifts = 0;
  alert_level concept_level = alert_level::ok;
  bool retrain_recommended = false;
  std::string retrain_reason;
  std::uint64_t alerts_fired = 0, alerts_suppressed = 0;
};

MLOPS_NAMESPACE_END

/// "{}" one summary line; "{:t}" a table: one line per feature and the prediction, then
/// the dataset and concept verdicts.
template <>
struct fmt::formatter<mlops::DriftReport> {
  bool table = false;
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == 't') table = true, ++it;
    return it;
  }
  template <class Ctx>
  auto format(const mlops::DriftReport& r, Ctx& ctx) const {
    auto out = ctx.out();
    if (!table)
      return fmt::format_to(out, "rows={} window=[{}, {}) drifted={}/{} share={:.3f} concept={} retrain={}", r.observed, r.window_begin,
                            r.window_end, r.drifted_features, r.features.size(), r.drift_share, mlops::level_name(r.concept_level),
                            r.retrain_recommended ? "yes" : "no");
    out = fmt::format_to(out, "drift over rows [{}, {}) ({} rows; {} observed since reset)\n", r.window_begin, r.window_end, r.window_rows,
                         r.observed);
    if (!r.judged)
      out = fmt::format_to(out, "window incomplete ({} of {} rows): statistics over the rows so far, not judged\n", r.window_rows,
                           r.window_size);
    out = fmt::format_to(out, "{:<24} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9}\n", "column", "psi", "ks", "js", "mean_shift", "missing",
                         "level");
    auto line = [&](const mlops::ColumnDrift& c) {
      out = fmt::format_to(out, "{:<24} {:>9.4f} {:>9.4f} {:>9.4f} {:>11.4f} {:>9.4f} {:>9}\n", c.name.substr(0, 24), c.psi, c.ks, c.js,
                           c.mean_shift, c.missing_rate, r.judged ? mlops::level_name(c.level) : std::string_view("-"));
      if (c.categorical && c.present > 0) {  // levels: chi-square, unseen share, the levels that moved most
        out = fmt::format_to(out, "  levels: chi2 {:.4g} (df {}, p {:.3g}), unseen {:.4f}", c.chi2, c.chi2_df, c.chi2_p, c.unseen_rate);
        for (const auto& m : c.moved) out = fmt::format_to(out, "; '{}' {:.3f} -> {:.3f}", m.level, m.reference, m.live);
        out = fmt::format_to(out, "\n");
      }
      if (c.ranged && c.present > 0)
        out = fmt::format_to(out, "  range: {:.4f} before the training range, {:.4f} after it\n", c.before_range_rate, c.after_range_rate);
    };
    for (const auto& c : r.features) line(c);
    mlops::ColumnDrift p = r.prediction;
    p.name = "(prediction)";
    line(p);
    out = fmt::format_to(out, "dataset: {}/{} features drifted (share {:.3f}): {}\n", r.drifted_features, r.features.size(),
                         r.drift_share, r.judged ? mlops::level_name(r.dataset_level) : std::string_view("not judged yet"));
    if (r.labels == 0)
      out = fmt::format_to(out, "concept: no labels observed (baseline error {:.6g})\n", r.baseline_error);
    else
      out = fmt::format_to(out, "concept: {} labels ({} in window), error {:.6g} vs baseline {:.6g} (ratio {:.4f}); "
                           "page-hinkley {:.4g}, adwin drifts {}, ddm drifts {}: {}\n",
                           r.labels, r.window_labels, r.window_error, r.baseline_error, r.error_ratio, r.page_hinkley, r.adwin_drifts,
                           r.ddm_drifts, mlops::level_name(r.concept_level));
    return fmt::format_to(out, "retrain recommended: {}{}{}\n", r.retrain_recommended ? "yes" : "no",
                          r.retrain_recommended ? " - " : "", r.retrain_reason);
  }
};
