// mlops/monitor/detectors.hpp - concept-drift detectors on a stream of errors.
//
// PageHinkley, Adwin and Ddm follow river's (online-ml/river) definitions and defaults,
// so a stream gives the same detection indices as river's `drift.PageHinkley()`,
// `drift.ADWIN()` and `drift.binary.DDM()` (tests/test_monitor.cpp replays river's own
// test streams). Every detector has fixed memory, `update` is noexcept and allocates
// nothing, and the state serializes (save/load) so a restarted process resumes.
// As in river, a detector that signalled a drift starts afresh on its next update.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "mlops/detail/binary.hpp"

MLOPS_NAMESPACE_BEGIN

/// Page-Hinkley test for an increase of the mean (river's PageHinkley, mode "up").
struct PageHinkley {
  std::uint64_t min_instances = 30;
  double delta = 0.005;
  double threshold = 50;
  double alpha = 1 - 0.0001;

  /// Feeds one value; true when a drift is detected at this value.
  bool update(double x) noexcept {
    if (drift_) reset();
    mean_ += (x - mean_) / static_cast<double>(count_);
    sum_ = (std::max)(0.0, alpha * sum_ + (x - mean_ - delta));
    ++count_;
    drift_ = count_ >= min_instances && sum_ >= threshold;
    return drift_;
  }
  bool drift_detected() const noexcept { return drift_; }
  double statistic() const noexcept { return sum_; }
  void reset() noexcept {
    count_ = 1;
    mean_ = 0;
    sum_ = 0;
    drift_ = false;
  }
  void save(detail::byte_writer& w) const {
    w.put(count_);
    w.put(mean_);
    w.put(sum_);
    w.put(static_cast<std::uint8_t>(drift_));
  }
  void load(detail::byte_reader& r) {
    count_ = r.get<std::uint64_t>();
    mean_ = r.get<double>();
    sum_ = r.get<double>();
    drift_ = r.get<std::uint8_t>() != 0;
    if (count_ == 0 || !std::isfinite(mean_) || !(sum_ >= 0)) r.corrupt("Page-Hinkley state is inconsistent");
  }

 private:
  std::uint64_t count_ = 1;
  double mean_ = 0, sum_ = 0;
  bool drift_ = false;
};

/// ADWIN, adaptive windowing (Bifet & Gavalda 2007) with river's defaults: delta 0.002,
/// a cut check every 32 values once the window holds more than 10, sub-windows of at
/// least 5, at most 5 buckets per size. The exponential histogram has 64 rows of 6
/// buckets: fixed memory for any stream length.
class Adwin {
 public:
  double delta = 0.002;
  std::uint32_t clock = 32;
  std::uint32_t grace_period = 10;
  std::uint32_t min_window_length = 5;
  static constexpr int max_buckets = 5;

  bool update(double x) noexcept {
    if (drift_) reset();
    insert(x);
    drift_ = detect();
    return drift_;
  }
  bool drift_detected() const noexcept { return drift_; }
  double width() const noexcept { return width_; }
  /// Mean of the current window (the error estimate).
  double estimation() const noexcept { return width_ > 0 ? total_ / width_ : 0.0; }
  void reset() noexcept {
    for (auto& r : rows_) r.n = 0;
    n_rows_ = 1;
    total_ = variance_ = width_ = 0;
    tick_ = 0;
    drift_ = false;
  }
  void save(detail::byte_writer& w) const {
    w.put(static_cast<std::uint32_t>(n_rows_));
    for (int i = 0; i < n_rows_; ++i) {
      w.put(static_cast<std::uint8_t>(rows_[static_cast<std::size_t>(i)].n));
      for (int k = 0; k < rows_[static_cast<std::size_t>(i)].n; ++k) {
        w.put(rows_[static_cast<std::size_t>(i)].total[static_cast<std::size_t>(k)]);
        w.put(rows_[static_cast<std::size_t>(i)].var[static_cast<std::size_t>(k)]);
      }
    }
    w.put(total_);
    w.put(variance_);
    w.put(width_);
    w.put(tick_);
    w.put(static_cast<std::uint8_t>(drift_));
  }
  void load(detail::byte_reader& r) {
    reset();
    const auto n = r.get<std::uint32_t>();
    if (n < 1 || n > rows_.size()) r.corrupt("ADWIN state has an impossible row count");
    n_rows_ = static_cast<int>(n);
    for (int i = 0; i < n_rows_; ++i) {
      auto& bucket_row = rows_[static_cast<std::size_t>(i)];
      bucket_row.n = r.get<std::uint8_t>();
      if (bucket_row.n > max_buckets + 1) r.corrupt("ADWIN state has an overfull bucket row");
      for (int k = 0; k < bucket_row.n; ++k) {
        bucket_row.total[static_cast<std::size_t>(k)] = r.get<double>();
        bucket_row.var[static_cast<std::size_t>(k)] = r.get<double>();
        if (!std::isfinite(bucket_row.total[static_cast<std::size_t>(k)]) || !(bucket_row.var[static_cast<std::size_t>(k)] >= 0) ||
            !std::isfinite(bucket_row.var[static_cast<std::size_t>(k)]))
          r.corrupt("ADWIN bucket is not finite");
      }
    }
    total_ = r.get<double>();
    variance_ = r.get<double>();
    width_ = r.get<double>();
    tick_ = r.get<std::uint64_t>();
    drift_ = r.get<std::uint8_t>() != 0;
    if (!std::isfinite(total_) || !std::isfinite(variance_) || !(width_ >= 0)) r.corrupt("ADWIN state is inconsistent");
  }

 private:
  struct row {
    std::array<double, max_buckets + 1> total{}, var{};
    int n = 0;
    void drop_front(int k) noexcept {
      for (int i = k; i < n; ++i) {
        total[static_cast<std::size_t>(i - k)] = total[static_cast<std::size_t>(i)];
        var[static_cast<std::size_t>(i - k)] = var[static_cast<std::size_t>(i)];
      }
      n -= k;
    }
    void push(double t, double v) noexcept {
      total[static_cast<std::size_t>(n)] = t;
      var[static_cast<std::size_t>(n)] = v;
      ++n;
    }
  };
  static double size_of(int row) noexcept { return std::ldexp(1.0, row); }

  void insert(double x) noexcept {
    rows_[0].push(x, 0.0);
    width_ += 1;
    if (width_ > 1) {
      const double d = x - total_ / (width_ - 1);
      variance_ += (width_ - 1) * d * d / width_;
    }
    total_ += x;
    // Compress: a row with max_buckets + 1 entries merges its two oldest into the next row.
    for (int i = 0; i < n_rows_; ++i) {
      auto& r = rows_[static_cast<std::size_t>(i)];
      if (r.n != max_buckets + 1) break;
      if (i + 1 == n_rows_) {
        if (n_rows_ == static_cast<int>(rows_.size())) break;  // 2^64 values: cannot happen
        rows_[static_cast<std::size_t>(n_rows_)].n = 0;
        ++n_rows_;
      }
      auto& next = rows_[static_cast<std::size_t>(i + 1)];
      const double n1 = size_of(i);
      const double mu1 = r.total[0] / n1, mu2 = r.total[1] / n1;
      next.push(r.total[0] + r.total[1], r.var[0] + r.var[1] + n1 * n1 * (mu1 - mu2) * (mu1 - mu2) / (2 * n1));
      r.drop_front(2);
      if (next.n <= max_buckets) break;
    }
  }
  /// Removes the oldest bucket; returns its size.
  double delete_oldest() noexcept {
    const int last = n_rows_ - 1;
    auto& r = rows_[static_cast<std::size_t>(last)];
    const double n = size_of(last), u = r.total[0], mu = u / n, v = r.var[0];
    width_ -= n;
    total_ -= u;
    const double mu_w = total_ / width_;
    variance_ -= v + n * width_ * (mu - mu_w) * (mu - mu_w) / (n + width_);
    r.drop_front(1);
    if (r.n == 0 && n_rows_ > 1) --n_rows_;
    return n;
  }
  /// river's cut test; dprime = ln(2 ln(width) / delta) and var = variance / width are the
  /// same for every cut of one scan, so the caller computes them once.
  bool cut(double n0, double n1, double delta_mean, double dprime, double var) const noexcept {
    const double m_recip = 1.0 / (n0 - min_window_length + 1) + 1.0 / (n1 - min_window_length + 1);
    const double eps = std::sqrt(2 * m_recip * var * dprime) + 2.0 / 3.0 * dprime * m_recip;
    return std::fabs(delta_mean) > eps;
  }
  bool detect() noexcept {
    bool change = false;
    ++tick_;
    if (tick_ % clock != 0 || !(width_ > grace_period)) return false;
    for (bool again = true; again;) {
      again = false;
      double n0 = 0, n1 = width_, u0 = 0, u1 = total_;
      const double dprime = std::log(2 * std::log(width_) / delta), var = variance_ / width_;
      bool stop = false;
      for (int idx = n_rows_ - 1; idx >= 0 && !stop; --idx) {
        const auto& r = rows_[static_cast<std::size_t>(idx)];
        const double n2 = size_of(idx);
        // river scans every bucket of a row but its newest (range(current_idx - 1)).
        for (int k = 0; k + 1 < r.n; ++k) {
          n0 += n2;
          n1 -= n2;
          u0 += r.total[static_cast<std::size_t>(k)];
          u1 -= r.total[static_cast<std::size_t>(k)];
          if (n1 >= min_window_length && n0 >= min_window_length && cut(n0, n1, u0 / n0 - u1 / n1, dprime, var)) {
            again = change = true;
            if (width_ > 0) {
              n0 -= delete_oldest();
              stop = true;
              break;
            }
          }
        }
      }
    }
    return change;
  }

  std::array<row, 64> rows_{};
  int n_rows_ = 1;
  double total_ = 0, variance_ = 0, width_ = 0;
  std::uint64_t tick_ = 0;
  bool drift_ = false;
};

/// DDM, the drift detection method (Gama et al. 2004) on a 0/1 error stream, with river's
/// defaults (warm start 30, warning at 2 and drift at 3 standard deviations).
struct Ddm {
  std::uint64_t warm_start = 30;
  double warning_threshold = 2.0;
  double drift_threshold = 3.0;

  /// Feeds one outcome (true: the prediction was wrong); true when a drift is detected.
  bool update(bool error) noexcept {
    if (drift_) reset();
    ++n_;
    p_ += ((error ? 1.0 : 0.0) - p_) / static_cast<double>(n_);
    const double s = std::sqrt(p_ * (1 - p_) / static_cast<double>(n_));
    if (n_ > warm_start) {
      if (p_ + s <= ps_min_) {
        p_min_ = p_;
        s_min_ = s;
        ps_min_ = p_ + s;
      }
      warning_ = p_ + s > p_min_ + warning_threshold * s_min_;
      if (p_ + s > p_min_ + drift_threshold * s_min_) {
        drift_ = true;
        warning_ = false;
      }
    }
    return drift_;
  }
  bool drift_detected() const noexcept { return drift_; }
  bool warning_detected() const noexcept { return warning_; }
  double error_rate() const noexcept { return p_; }
  void reset() noexcept {
    n_ = 0;
    p_ = 0;
    p_min_ = s_min_ = ps_min_ = std::numeric_limits<double>::infinity();
    drift_ = warning_ = false;
  }
  void save(detail::byte_writer& w) const {
    w.put(n_);
    for (const double v : {p_, p_min_, s_min_, ps_min_}) w.put(v);
    w.put(static_cast<std::uint8_t>(drift_ | (warning_ << 1)));
  }
  void load(detail::byte_reader& r) {
    n_ = r.get<std::uint64_t>();
    for (double* v : {&p_, &p_min_, &s_min_, &ps_min_}) *v = r.get<double>();
    const auto f = r.get<std::uint8_t>();
    drift_ = f & 1;
    warning_ = (f >> 1) & 1;
    if (!(p_ >= 0 && p_ <= 1)) r.corrupt("DDM state is inconsistent");
  }

 private:
  std::uint64_t n_ = 0;
  double p_ = 0;
  double p_min_ = std::numeric_limits<double>::infinity(), s_min_ = std::numeric_limits<double>::infinity(),
         ps_min_ = std::numeric_limits<double>::infinity();
  bool drift_ = false, warning_ = false;
};

MLOPS_NAMESPACE_END
