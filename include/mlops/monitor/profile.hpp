// mlops/monitor/profile.hpp - the reference profile a drift monitor compares against.
//
// Captured while fitting a pipeline (Pipeline::fit) from the raw training rows and saved
// inside the pipeline file (optional section "DRFT", format 1.1). Per feature: quantile
// bin edges and the reference frequency of every bin, mean, standard deviation, missing
// rate; the same for the model's predictions on the training rows; and the baseline
// error of the model (FittedPipeline::set_baseline on the held-out split).
//
// Binning rule (pinned down; docs/monitoring.md): with edges e_0 < e_1 < ... < e_{m-1},
// a value v falls in bin i = #{ k : e_k <= v }, so bin 0 is (-inf, e_0), bin i is
// [e_{i-1}, e_i) and bin m is [e_{m-1}, +inf). The edges are the reference's quantiles at
// 1/B, 2/B, ..., (B-1)/B (numpy's linear method) with repeated values and values at the
// minimum removed, and an edge dropped wherever it would leave a bin without reference
// values, so a discrete or constant feature gets fewer, wider bins instead of empty ones
// (a constant feature has one bin); no reference bin is empty. +-inf fall in
// the outer bins; NaN counts as missing and in no bin.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/detail/crc32c.hpp"
#include "mlops/detail/stats.hpp"
#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN

/// Largest bin count a profile accepts (the monitor's bin search is padded to a power of two).
inline constexpr std::size_t max_profile_bins = 256;

/// The reference distribution of one column.
struct FeatureProfile {
  std::string name;
  std::vector<double> edges;  // strictly increasing interior cut points (bins - 1 of them, fewer after dedup)
  std::vector<double> freq;   // reference proportion of the present values in each bin (edges.size() + 1)
  double mean = 0, std = 0;   // of the finite values (population standard deviation)
  double min = 0, max = 0;    // of the finite values
  double missing_rate = 0;    // share of NaN
  std::uint64_t count = 0;    // present (non-NaN) values
  std::uint64_t rows = 0;     // all values

  std::size_t bins() const noexcept { return edges.size() + 1; }
  /// The bin of a present value (see the binning rule above).
  std::size_t bin_of(double v) const noexcept {
    return static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());
  }

  template <class T>
  static FeatureProfile capture(std::string name, std::span<const T> values, std::size_t bins) {
    if (bins < 1 || bins > max_profile_bins)
      MLOPS_THROW(argument_error(errc::invalid_argument,
                                 fmt::format("drift profile: bins must be in 1..{} (got {})", max_profile_bins, bins)));
    FeatureProfile p;
    p.name = std::move(name);
    p.rows = values.size();
    std::vector<double> present;
    present.reserve(values.size());
    double sum = 0;
    std::uint64_t finite = 0;
    p.min = std::numeric_limits<double>::infinity();
    p.max = -std::numeric_limits<double>::infinity();
    for (const T x : values) {
      if (std::isnan(x)) continue;
      const double v = static_cast<double>(x);
      present.push_back(v);
      if (std::isfinite(v)) {
        sum += v;
        ++finite;
        p.min = (std::min)(p.min, v);
        p.max = (std::max)(p.max, v);
      }
    }
    p.count = present.size();
    p.missing_rate = p.rows ? static_cast<double>(p.rows - p.count) / static_cast<double>(p.rows) : 0.0;
    if (finite == 0) {
      p.min = p.max = 0;
    } else {
      p.mean = sum / static_cast<double>(finite);
      double ss = 0;
      for (const double v : present)
        if (std::isfinite(v)) ss += (v - p.mean) * (v - p.mean);
      p.std = std::sqrt(ss / static_cast<double>(finite));
    }
    if (p.count > 0 && bins > 1) {
      std::vector<double> probs(bins - 1), q(bins - 1);
      for (std::size_t i = 0; i + 1 < bins; ++i) probs[i] = static_cast<double>(i + 1) / static_cast<double>(bins);
      std::vector<double> work = present;
      detail::quantiles_inplace<double>(work, probs, q);
      // Repeated quantiles collapse; an edge at the minimum would leave bin 0 empty.
      for (const double e : q)
        if (std::isfinite(e) && e > p.min && (p.edges.empty() || e > p.edges.back())) p.edges.push_back(e);
    }
    p.freq.assign(p.edges.size() + 1, 0.0);
    for (const double v : present) p.freq[p.bin_of(v)] += 1.0;
    // An interpolated quantile between two repeated values leaves an empty bin
    // [e_{i-1}, e_i): drop e_{i-1}, merging that bin into its lower neighbour.
    std::vector<double> kept;
    for (std::size_t i = 0; i < p.edges.size(); ++i)
      if (p.freq[i + 1] > 0) kept.push_back(p.edges[i]);
    if (kept.size() != p.edges.size()) {
      p.edges = std::move(kept);
      p.freq.assign(p.edges.size() + 1, 0.0);
      for (const double v : present) p.freq[p.bin_of(v)] += 1.0;
    }
    if (p.count > 0)
      for (auto& f : p.freq) f /= static_cast<double>(p.count);
    return p;
  }

  void save(detail::byte_writer& w) const {
    w.put_string(name);
    w.put_array<double>(edges);
    w.put_array<double>(freq);
    for (const double v : {mean, std, min, max, missing_rate}) w.put(v);
    w.put(count);
    w.put(rows);
  }
  static FeatureProfile load(detail::byte_reader& r) {
    FeatureProfile p;
    p.name = r.get_string();
    p.edges = r.get_array<double>();
    p.freq = r.get_array<double>();
    for (double* v : {&p.mean, &p.std, &p.min, &p.max, &p.missing_rate}) *v = r.get<double>();
    p.count = r.get<std::uint64_t>();
    p.rows = r.get<std::uint64_t>();
    if (p.edges.size() + 1 > max_profile_bins) r.corrupt(fmt::format("profile of '{}' has {} bins", p.name, p.edges.size() + 1));
    if (p.freq.size() != p.edges.size() + 1) r.corrupt(fmt::format("profile of '{}': frequencies do not match the edges", p.name));
    for (std::size_t i = 0; i < p.edges.size(); ++i)
      if (!std::isfinite(p.edges[i]) || (i > 0 && !(p.edges[i] > p.edges[i - 1])))
        r.corrupt(fmt::format("profile of '{}': bin edges are not finite and strictly increasing", p.name));
    for (const double f : p.freq)
      if (!(f >= 0 && f <= 1)) r.corrupt(fmt::format("profile of '{}': a frequency is outside [0, 1]", p.name));
    if (p.count > p.rows || !(p.missing_rate >= 0 && p.missing_rate <= 1) || !(p.std >= 0) || !std::isfinite(p.mean))
      r.corrupt(fmt::format("profile of '{}': inconsistent moments or counts", p.name));
    return p;
  }
};

/// What the model's error looked like before deployment.
struct BaselineError {
  enum class kind_t : std::uint8_t { none = 0, absolute_error = 1, misclassification = 2 };
  kind_t kind = kind_t::none;
  double mean = 0;         // mean absolute error (regression) or error rate (classification)
  double std = 0;          // standard deviation of the per-row error
  std::uint64_t n = 0;     // rows it was measured on
  std::string source;      // "held-out" (set_baseline) or "train" (captured at fit)
};

/// The reference profile of a fitted pipeline.
struct DriftProfile {
  std::size_t bins = 10;                // requested bin count (features may have fewer after dedup)
  std::vector<FeatureProfile> features; // in the pipeline's feature order
  FeatureProfile prediction;            // the model's output on the training rows
  BaselineError baseline;

  std::size_t n_features() const noexcept { return features.size(); }

  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint32_t>(bins));
    w.put(static_cast<std::uint64_t>(features.size()));
    for (const auto& f : features) f.save(w);
    prediction.save(w);
    w.put(static_cast<std::uint8_t>(baseline.kind));
    w.put(baseline.mean);
    w.put(baseline.std);
    w.put(baseline.n);
    w.put_string(baseline.source);
  }
  static DriftProfile load(detail::byte_reader& r) {
    DriftProfile p;
    p.bins = r.get<std::uint32_t>();
    if (p.bins < 1 || p.bins > max_profile_bins) r.corrupt(fmt::format("bin count {} is out of range", p.bins));
    const std::size_t n = r.get_count(8 * 9);
    for (std::size_t i = 0; i < n; ++i) p.features.push_back(FeatureProfile::load(r));
    p.prediction = FeatureProfile::load(r);
    const auto kind = r.get<std::uint8_t>();
    if (kind > 2) r.corrupt(fmt::format("unknown baseline kind {}", kind));
    p.baseline.kind = static_cast<BaselineError::kind_t>(kind);
    p.baseline.mean = r.get<double>();
    p.baseline.std = r.get<double>();
    p.baseline.n = r.get<std::uint64_t>();
    p.baseline.source = r.get_string();
    if (!std::isfinite(p.baseline.mean) || !(p.baseline.std >= 0)) r.corrupt("baseline error is not finite");
    return p;
  }
  std::string to_bytes() const {
    detail::byte_writer w;
    save(w);
    return std::move(w.buffer());
  }
  /// Identifies the profile (CRC-32C of its bytes): a saved monitor state is only
  /// restored against the profile it was recorded with.
  std::uint32_t fingerprint() const {
    const auto b = to_bytes();
    return detail::crc32c(b.data(), b.size());
  }
};

MLOPS_NAMESPACE_END
