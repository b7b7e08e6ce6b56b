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
// 1/B, 2/B, ..., (B-1)/B (numpy's linear method; of every k-th value above 65,536 rows)
// with repeated values and values at the
// minimum removed, and an edge dropped wherever it would leave a bin without reference
// values, so a discrete or constant feature gets fewer, wider bins instead of empty ones
// (a constant feature has one bin); no reference bin is empty. +-inf fall in
// the outer bins; NaN counts as missing and in no bin.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
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

namespace detail {
/// The bin of a finite value v: the number of edges <= v in a row of S slots holding the
/// edges then NaN padding (NaN compares false), S a power of two > the edge count. For
/// S <= 16 every slot is compared at once in 2- or 4-wide vectors (no chain of dependent
/// loads; GCC and Clang vector extensions, MLOPS_NO_VECTOR_EXTENSIONS turns them off),
/// above that a branch-free binary search of log2(S) steps.
template <std::size_t S>
inline std::size_t drift_bin(const double* e, double v) noexcept {
  std::size_t lo = 0;
  if constexpr (S <= 4) {
    for (std::size_t k = 0; k + 1 < S; ++k) lo += e[k] <= v;
#if defined(__GNUC__) && !defined(MLOPS_NO_VECTOR_EXTENSIONS)
  } else if constexpr (S == 16 || S == 8) {
#if defined(__AVX__)
    constexpr std::size_t W = 4;
#else
    constexpr std::size_t W = 2;
#endif
    using vd = double __attribute__((vector_size(8 * W)));
    using vl = long long __attribute__((vector_size(8 * W)));
    const vd vv = vd{} + v;  // broadcast
    vl acc = {};
    for (std::size_t k = 0; k < S; k += W) {
      vd ek;
      std::memcpy(&ek, e + k, sizeof ek);
      acc += (ek <= vv);  // a true lane is -1
    }
    long long t = 0;
    for (std::size_t k = 0; k < W; ++k) t -= acc[k];
    lo = static_cast<std::size_t>(t);
#endif
  } else {
    for (std::size_t s = S / 2; s > 0; s /= 2) lo += (e[lo + s - 1] <= v) ? s : 0;
  }
  return lo;
}

/// Calls fn.template operator()<S>() with S = the padded row width for `bins` bins.
template <class Fn>
inline decltype(auto) with_bin_stride(std::size_t stride, Fn&& fn) {
  switch (stride) {
    case 1: return fn.template operator()<1>();
    case 2: return fn.template operator()<2>();
    case 4: return fn.template operator()<4>();
    case 8: return fn.template operator()<8>();
    case 16: return fn.template operator()<16>();
    case 32: return fn.template operator()<32>();
    case 64: return fn.template operator()<64>();
    case 128: return fn.template operator()<128>();
    default: return fn.template operator()<256>();
  }
}

/// Counts the present values of `data` per bin of `edges` (NaN skipped; +-inf in the outer bins).
template <class T>
inline std::vector<double> bin_counts(std::span<const T> data, const std::vector<double>& edges) {
  const std::size_t stride = std::bit_ceil(edges.size() + 1);
  std::vector<double> row(stride, std::numeric_limits<double>::quiet_NaN());
  std::copy(edges.begin(), edges.end(), row.begin());
  std::vector<std::uint64_t> counts(stride, 0);
  with_bin_stride(stride, [&]<std::size_t S>() {
    for (const T x : data) {
      const double v = static_cast<double>(x);
      if (MLOPS_LIKELY(std::isfinite(v))) ++counts[drift_bin<S>(row.data(), v)];
      else if (!std::isnan(v)) ++counts[v > 0 ? edges.size() : 0];
    }
  });
  return std::vector<double>(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(edges.size() + 1));
}
}  // namespace detail

/// Columns longer than this get their bin edges from every k-th value (see capture).
inline constexpr std::size_t quantile_sample_limit = std::size_t{1} << 16;

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
  /// A categorical input's training levels, in code order (empty otherwise). Its values
  /// are level codes, its edges -0.5, 0.5, ..., L - 0.5: bin k + 1 holds level k, bins 0
  /// and L + 1 any other number (a level not seen in training). Not written by save():
  /// FittedPipeline restores it from the model's input levels (level_edges).
  std::vector<std::string> levels;

  /// A datetime input profiled with its range (capture_range): the first edge is the
  /// minimum and the last the next double above the maximum, so bin 0 holds the values
  /// earlier than any training value and the last bin the later ones (both reference
  /// share 0). Not written by save(): FittedPipeline restores it (range_edges).
  bool ranged = false;

  std::size_t bins() const noexcept { return edges.size() + 1; }
  bool categorical() const noexcept { return !levels.empty(); }
  /// true when the edges and shares are those capture_range makes.
  bool range_edges() const noexcept {
    return count > 0 && freq.size() >= 3 && freq.front() == 0 && freq.back() == 0 && edges.front() == min &&
           edges.back() == std::nextafter(max, std::numeric_limits<double>::infinity());
  }
  /// The profile of a datetime column (days since 1970; NaN missing): capture's quantile
  /// bins plus a bin below the training minimum and one above the maximum.
  template <class T>
  static FeatureProfile capture_range(std::string name, std::span<const T> values, std::size_t bins) {
    FeatureProfile p = capture<T>(std::move(name), values, bins);
    if (p.count == 0 || p.edges.size() + 3 > max_profile_bins || !std::isfinite(p.min) || !std::isfinite(p.max)) return p;
    p.edges.insert(p.edges.begin(), p.min);  // capture drops an edge at the minimum: p.min is below every edge
    p.edges.push_back(std::nextafter(p.max, std::numeric_limits<double>::infinity()));
    p.freq = detail::bin_counts<T>(values, p.edges);
    for (auto& f : p.freq) f /= static_cast<double>(p.count);
    p.ranged = true;
    return p;
  }
  /// true when `e` are the edges of a categorical profile of `n_levels` levels.
  static bool level_edges(const std::vector<double>& e, std::size_t n_levels) noexcept {
    if (n_levels == 0 || e.size() != n_levels + 1) return false;
    for (std::size_t k = 0; k < e.size(); ++k)
      if (e[k] != static_cast<double>(k) - 0.5) return false;
    return true;
  }
  /// Most levels a categorical profile bins one by one (two more bins hold unseen
  /// values); a column with more is profiled on its codes as a number.
  static constexpr std::size_t max_levels = max_profile_bins - 2;

  /// The profile of a categorical column given as level codes (NaN missing): one bin per
  /// level and two for codes outside the levels, the moments of the codes.
  template <class T>
  static FeatureProfile capture_levels(std::string name, std::span<const T> codes, std::vector<std::string> levels, std::size_t bins) {
    if (levels.empty() || levels.size() > max_levels) return capture<T>(std::move(name), codes, bins);
    FeatureProfile p = capture<T>(std::move(name), codes, 1);  // counts and moments
    p.edges.resize(levels.size() + 1);
    for (std::size_t k = 0; k < p.edges.size(); ++k) p.edges[k] = static_cast<double>(k) - 0.5;
    p.freq = detail::bin_counts<T>(codes, p.edges);
    if (p.count > 0)
      for (auto& f : p.freq) f /= static_cast<double>(p.count);
    p.levels = std::move(levels);
    return p;
  }
  /// The bin of a present value (see the binning rule above).
  std::size_t bin_of(double v) const noexcept {
    return static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());
  }

  /// The profile of one column: quantile edges (exact, numpy's linear method, by the
  /// one-pass bracket selection of detail::nan_quantiles), moments, and the reference
  /// share of each bin. A few linear passes over the column, no copy of it.
  template <class T>
  static FeatureProfile capture(std::string name, std::span<const T> values, std::size_t bins) {
    if (bins < 1 || bins > max_profile_bins)
      MLOPS_THROW(argument_error(errc::invalid_argument,
                                 fmt::format("drift profile: bins must be in 1..{} (got {})", max_profile_bins, bins)));
    FeatureProfile p;
    p.name = std::move(name);
    p.rows = values.size();
    // Pass 1: present count, min and max of the finite values, whether any is infinite.
    std::uint64_t present = 0;
    bool infinite = false;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const T x : values) {
      const double v = static_cast<double>(x);
      present += !std::isnan(v);
      if (std::isfinite(v)) {
        lo = (std::min)(lo, v);
        hi = (std::max)(hi, v);
      } else {
        infinite |= !std::isnan(v);
      }
    }
    p.count = present;
    p.missing_rate = p.rows ? static_cast<double>(p.rows - p.count) / static_cast<double>(p.rows) : 0.0;
    p.min = lo <= hi ? lo : 0.0;
    p.max = lo <= hi ? hi : 0.0;
    // Moments of the finite values: the vectorised two-lane-set pass when there is no inf.
    if (!infinite) {
      const auto m = detail::nan_moments<T>(values, 0);
      if (m.count > 0) {
        p.mean = m.mean;
        p.std = std::sqrt(m.var);
      }
    } else {
      double sum = 0, ss = 0;
      std::uint64_t finite = 0;
      for (const T x : values)
        if (std::isfinite(x)) sum += static_cast<double>(x), ++finite;
      if (finite > 0) {
        p.mean = sum / static_cast<double>(finite);
        for (const T x : values)
          if (std::isfinite(x)) ss += (static_cast<double>(x) - p.mean) * (static_cast<double>(x) - p.mean);
        p.std = std::sqrt(ss / static_cast<double>(finite));
      }
    }
    if (p.count > 0 && bins > 1) {
      std::vector<double> probs(bins - 1);
      std::vector<T> q(bins - 1), scratch;
      for (std::size_t i = 0; i + 1 < bins; ++i) probs[i] = static_cast<double>(i + 1) / static_cast<double>(bins);
      // Edges: exact quantiles of the column, or above quantile_sample_limit rows of every
      // k-th value (k = ceil(rows / limit)): deterministic, and the edges' sampling error
      // (~0.005 sd at the deciles) is far below any window's noise; the bin shares below
      // are counted over every row. nan_quantiles brackets four ranks per pass.
      std::span<const T> src = values;
      std::vector<T> sample;
      if (values.size() > quantile_sample_limit) {
        const std::size_t k = (values.size() + quantile_sample_limit - 1) / quantile_sample_limit;
        sample.reserve(values.size() / k + 1);
        for (std::size_t i = 0; i < values.size(); i += k) sample.push_back(values[i]);
        src = sample;
      }
      for (std::size_t i = 0; i < probs.size(); i += 4) {
        const std::size_t k = (std::min)(std::size_t{4}, probs.size() - i);
        (void)detail::nan_quantiles<T>(src, std::span<const double>(probs).subspan(i, k), std::span<T>(q).subspan(i, k), scratch);
      }
      // Repeated quantiles collapse; an edge at the minimum would leave bin 0 empty.
      for (const T e : q)
        if (std::isfinite(e) && static_cast<double>(e) > p.min && (p.edges.empty() || static_cast<double>(e) > p.edges.back()))
          p.edges.push_back(static_cast<double>(e));
    }
    p.freq = detail::bin_counts<T>(values, p.edges);
    // An interpolated quantile between two repeated values leaves an empty bin
    // [e_{i-1}, e_i): drop e_{i-1}, merging that bin into its lower neighbour.
    std::vector<double> kept;
    for (std::size_t i = 0; i < p.edges.size(); ++i)
      if (p.freq[i + 1] > 0) kept.push_back(p.edges[i]);
    if (kept.size() != p.edges.size()) {
      p.edges = std::move(kept);
      p.freq = detail::bin_counts<T>(values, p.edges);
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
