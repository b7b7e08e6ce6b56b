// mlops/monitor/drift.hpp - DriftMonitor<T>: a fixed-memory accumulator that watches a
// deployed model against its reference profile and raises alerts.
//
//   mlops::DriftMonitor<double> mon(fitted.drift_profile());     // or (profile, config)
//   mon.on_alert([](const mlops::DriftAlert& a) { log(a); });      // never throws
//   double y = fitted.predict_row(row);
//   mon.observe(row, y);                // noexcept, no allocation, O(d log bins)
//   mon.observe_label(truth);           // pairs with the last prediction (or pass both)
//   if (mon.retrain_recommended()) ...;
//   fmt::print("{:t}", mon.report());   // table; to_json (monitor/json.hpp); to_prometheus
//
// Data drift is measured per count-based window: rows are gathered in panes of `step`
// rows; a window is the last window/step panes (tumbling when step == window, sliding
// otherwise). When a pane completes, the window's statistics are computed against the
// reference profile and every (column, statistic) moves between ok / warning / critical
// with hysteresis; raising a level fires an alert unless the same alert fired within
// `cooldown` rows. Concept drift runs on the stream of errors (Page-Hinkley, ADWIN, DDM
// for classifiers, and the window's error relative to the baseline).
// Definitions, defaults and where they come from: docs/monitoring.md.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/atomic_file.hpp"
#include "mlops/fwd.hpp"
#include "mlops/io/container.hpp"
#include "mlops/monitor/detectors.hpp"
#include "mlops/monitor/drift_config.hpp"
#include "mlops/monitor/level_stats.hpp"
#include "mlops/monitor/prometheus.hpp"
#include "mlops/monitor/profile.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
/// Drift statistics of live bin counts against reference proportions (see docs/monitoring.md).
struct bin_stats {
  double psi = NAN, ks = NAN, js = NAN;
};
inline bin_stats compare_bins(const std::uint64_t* counts, std::span<const double> ref, double eps) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) n += counts[i];
  bin_stats s;
  if (n == 0) return s;
  s.psi = 0;
  s.ks = 0;
  double ca = 0, cr = 0, js = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double a = static_cast<double>(counts[i]) / static_cast<double>(n), r = ref[i];
    const double ae = (std::max)(a, eps), re = (std::max)(r, eps);
    s.psi += (ae - re) * std::log(ae / re);
    ca += a;
    cr += r;
    s.ks = (std::max)(s.ks, std::fabs(ca - cr));
    const double m = 0.5 * (a + r);
    if (a > 0) js += 0.5 * a * std::log2(a / m);
    if (r > 0) js += 0.5 * r * std::log2(r / m);
  }
  s.js = std::sqrt((std::max)(0.0, js));
  return s;
}
}  // namespace detail

template <scalar T>
class DriftMonitor {
 public:
  using alert_callback = std::function<void(const DriftAlert&)>;

  DriftMonitor() = default;
  explicit DriftMonitor(DriftProfile profile, DriftConfig config = {}) : profile_(std::move(profile)), config_(config) {
    if (config_.step == 0) config_.step = config_.window == 0 ? 1000 : config_.window;
    if (config_.window != 0 && config_.window % config_.step != 0)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("DriftMonitor: step {} must divide the window {}; "
                                                                     "use a divisor (step == window is a tumbling window)",
                                                                     config_.step, config_.window)));
    panes_ = config_.window == 0 ? 1 : config_.window / config_.step;
    if (panes_ > 1024)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("DriftMonitor: window/step = {} panes; at most 1024", panes_)));
    if (!(config_.hysteresis >= 0 && config_.hysteresis < 1))
      MLOPS_THROW(argument_error(errc::invalid_argument, "DriftMonitor: hysteresis must be in [0, 1)"));
    d_ = profile_.features.size();
    cols_ = d_ + 1;
    std::size_t bmax = 1;
    for (std::size_t c = 0; c < cols_; ++c) bmax = (std::max)(bmax, column(c).bins());
    stride_ = std::bit_ceil(bmax);
    edges_.assign(cols_ * stride_, std::numeric_limits<double>::quiet_NaN());  // NaN padding: never <= v
    for (std::size_t c = 0; c < cols_; ++c)
      std::copy(column(c).edges.begin(), column(c).edges.end(), edges_.begin() + static_cast<std::ptrdiff_t>(c * stride_));
    for (auto* p : {&cur_, &total_, &scratch_}) p->resize(cols_, stride_);
    ring_.resize(panes_);
    for (auto& p : ring_) p.resize(cols_, stride_);
    levels_.assign(n_slots(), 0);
    last_fired_.assign(n_slots() * 3, never);
    fingerprint_ = profile_.fingerprint();
    reset();
  }

  const DriftProfile& profile() const noexcept { return profile_; }
  const DriftConfig& config() const noexcept { return config_; }
  std::size_t n_features() const noexcept { return d_; }
  std::uint64_t observed() const noexcept { return observed_; }
  /// The callback that receives every alert (and the clearing of a level). It runs inside
  /// observe, which is noexcept: it must not throw.
  void on_alert(alert_callback fn) { on_alert_ = std::move(fn); }

  /// Observes one raw row (features in profile order) and the model's prediction for it.
  /// noexcept, allocation-free, O(d log bins). A row of the wrong length is ignored and
  /// counted (report().rejected). NaN is a missing value; +-inf fall in the outer bins.
  void observe(std::span<const T> row, T prediction) noexcept {
    if (MLOPS_UNLIKELY(row.size() != d_ || cols_ == 0)) {  // cols_ == 0: a default-constructed monitor
      ++rejected_;
      return;
    }
    dispatch_values(row, prediction);
    last_prediction_ = static_cast<double>(prediction);
    ++cur_.rows;
    ++observed_;
    if (cur_.rows >= config_.step) close_pane();
  }
  /// observe(row, prediction) then observe_label(label, prediction).
  void observe(std::span<const T> row, T prediction, T label) noexcept {
    observe(row, prediction);
    if (row.size() == d_) observe_label(label, prediction);
  }
  /// The true label (or target) of the last observed row.
  void observe_label(T label) noexcept { observe_label(label, static_cast<T>(last_prediction_)); }
  /// A (possibly delayed) label with the prediction that was made for it. NaN is ignored.
  void observe_label(T label, T prediction) noexcept {
    const double y = static_cast<double>(label), p = static_cast<double>(prediction);
    if (std::isnan(y) || std::isnan(p)) return;
    const auto& b = profile_.baseline;
    const bool classify = b.kind == BaselineError::kind_t::misclassification;
    double e;
    if (classify) {
      e = y != p ? 1.0 : 0.0;
    } else {
      e = std::fabs(y - p);
      if (b.kind == BaselineError::kind_t::absolute_error && b.mean > 0) e /= b.mean;  // relative: 1 = as good as the baseline
    }
    if (!std::isfinite(e)) return;
    cur_.labels += 1;
    cur_.err_sum += e;
    ++labels_;
    const std::uint64_t at = observed_;
    if (ph_.update(e)) {
      ++ph_drifts_;
      raise_event(slot_concept(drift_statistic::page_hinkley), alert_level::warning, drift_statistic::page_hinkley, {},
                  ph_.statistic(), ph_.threshold, at);
    }
    const double before = adwin_.estimation();
    if (adwin_.update(e)) {
      ++adwin_drifts_;
      if (adwin_.estimation() > before)  // only an increase of the error is a problem
        raise_event(slot_concept(drift_statistic::adwin), alert_level::critical, drift_statistic::adwin, {},
                    adwin_.estimation(), before, at);
    }
    if (classify) {
      const bool was_warning = ddm_.warning_detected();
      if (ddm_.update(e > 0.5)) {
        ++ddm_drifts_;
        raise_event(slot_concept(drift_statistic::ddm), alert_level::critical, drift_statistic::ddm, {}, ddm_.error_rate(),
                    ddm_.drift_threshold, at);
      } else if (ddm_.warning_detected() && !was_warning) {
        raise_event(slot_concept(drift_statistic::ddm), alert_level::warning, drift_statistic::ddm, {}, ddm_.error_rate(),
                    ddm_.warning_threshold, at);
      }
    }
  }

  /// True once the evidence says the model should be retrained (a critical dataset,
  /// prediction or concept drift); stays true until acknowledge_retrain() or reset().
  bool retrain_recommended() const noexcept { return retrain_; }
  std::string_view retrain_reason() const noexcept { return retrain_reason_; }
  void acknowledge_retrain() noexcept {
    retrain_ = false;
    retrain_reason_ = {};
  }

  /// Forgets everything observed (counts, windows, detectors, alert levels); keeps the
  /// profile, configuration and callback.
  void reset() noexcept {
    cur_.clear();
    total_.clear();
    for (auto& p : ring_) p.clear();
    head_ = 0;
    closed_ = 0;
    observed_ = rejected_ = labels_ = 0;
    last_prediction_ = NAN;
    std::fill(levels_.begin(), levels_.end(), std::uint8_t{0});
    std::fill(last_fired_.begin(), last_fired_.end(), never);
    event_row_.fill(never);
    ph_ = config_.page_hinkley;
    ph_.reset();
    adwin_ = config_.adwin;
    adwin_.reset();
    ddm_ = config_.ddm;
    ddm_.reset();
    ph_drifts_ = adwin_drifts_ = ddm_drifts_ = 0;
    fired_ = suppressed_ = 0;
    retrain_ = false;
    retrain_reason_ = {};
  }

  /// Adds another monitor's counts (one monitor per thread, merged for the report): the
  /// totals since reset and every pane of the window (newest with newest) are summed, so
  /// report(drift_scope::total) equals that of one monitor fed both streams. Sequential
  /// state (the error-stream detectors, alert levels) stays this monitor's: two streams'
  /// order cannot be recovered. argument_error if the profiles or windows differ.
  void merge(const DriftMonitor& o) {
    if (o.fingerprint_ != fingerprint_ || o.config_.window != config_.window || o.config_.step != config_.step)
      MLOPS_THROW(argument_error(errc::invalid_argument,
                                 "DriftMonitor::merge: the monitors watch different profiles or windows; merge monitors built "
                                 "from the same profile and configuration"));
    total_.add(o.total_);
    for (std::size_t i = 0; i < panes_ && i < o.closed_; ++i) ring_[pane_back(i)].add(o.ring_[o.pane_back(i)]);
    closed_ = (std::max)(closed_, o.closed_);
    cur_.add(o.cur_);
    observed_ += o.observed_;
    rejected_ += o.rejected_;
    labels_ += o.labels_;
    fired_ += o.fired_;
    suppressed_ += o.suppressed_;
    if (cur_.rows >= config_.step) close_pane();
  }

  /// The drift statistics now: over the last complete window (scope window; before the
  /// first pane completes, over the rows so far), or over every row since reset.
  DriftReport report(drift_scope scope = drift_scope::window) const {
    DriftReport r;
    r.scope = scope;
    r.observed = observed_;
    r.rejected = rejected_;
    pane w;
    w.resize(cols_, stride_);
    window_into(scope, w, r.window_begin, r.window_end);
    r.window_rows = w.rows;
    r.window_size = config_.window;
    r.judged = closed_ > 0;
    r.features.resize(d_);
    for (std::size_t c = 0; c < cols_; ++c) {
      ColumnDrift& cd = c < d_ ? r.features[c] : r.prediction;
      cd.name = column(c).name;
      column_drift(c, w, cd);
      if (column(c).categorical()) detail::moved_levels(column(c), w.counts.data() + c * stride_, cd.present, cd);
      cd.level = alert_level::ok;
      for (std::size_t s = 0; s < column_statistics; ++s)
        cd.level = (std::max)(cd.level, static_cast<alert_level>(levels_[c * column_statistics + s]));
    }
    for (const auto& f : r.features) r.drifted_features += f.level == alert_level::critical;
    r.drift_share = d_ ? static_cast<double>(r.drifted_features) / static_cast<double>(d_) : 0.0;
    r.dataset_level = static_cast<alert_level>(levels_[slot_concept(drift_statistic::drift_share)]);
    const auto& b = profile_.baseline;
    r.labels = labels_;
    r.window_labels = w.labels;
    r.error_kind = b.kind == BaselineError::kind_t::absolute_error      ? "absolute_error"
                   : b.kind == BaselineError::kind_t::misclassification ? "misclassification"
                                                                        : "none";
    if (b.kind != BaselineError::kind_t::none) r.baseline_error = b.mean;
    if (w.labels > 0) {
      const double rel = w.err_sum / static_cast<double>(w.labels);
      r.error_ratio = error_ratio(rel);
      r.window_error = b.kind == BaselineError::kind_t::absolute_error && b.mean > 0 ? rel * b.mean : rel;
    }
    r.page_hinkley = ph_.statistic();
    r.adwin_estimation = adwin_.estimation();
    r.adwin_width = adwin_.width();
    r.ddm_error_rate = ddm_.error_rate();
    r.page_hinkley_drifts = ph_drifts_;
    r.adwin_drifts = adwin_drifts_;
    r.ddm_drifts = ddm_drifts_;
    for (auto s : {drift_statistic::error_ratio, drift_statistic::page_hinkley, drift_statistic::adwin, drift_statistic::ddm})
      r.concept_level = (std::max)(r.concept_level, static_cast<alert_level>(levels_[slot_concept(s)]));
    r.retrain_recommended = retrain_;
    r.retrain_reason = std::string(retrain_reason_);
    r.alerts_fired = fired_;
    r.alerts_suppressed = suppressed_;
    return r;
  }

  /// The live state (counts, windows, detectors, alert levels) as bytes, so a restarted
  /// process resumes where it stopped; restore_state() checks it belongs to the same profile
  /// and configuration.
  std::string save_state() const {
    detail::byte_writer w;
    w.put(fingerprint_);
    w.put(static_cast<std::uint64_t>(config_.window));
    w.put(static_cast<std::uint64_t>(config_.step));
    w.put(static_cast<std::uint64_t>(cols_));
    w.put(static_cast<std::uint64_t>(stride_));
    for (std::uint64_t v : {observed_, rejected_, labels_, static_cast<std::uint64_t>(head_), closed_, ph_drifts_,
                            adwin_drifts_, ddm_drifts_, fired_, suppressed_})
      w.put(v);
    w.put(last_prediction_);
    cur_.save(w);
    total_.save(w);
    for (const auto& p : ring_) p.save(w);
    for (auto l : levels_) w.put(l);
    for (auto t : last_fired_) w.put(t);
    for (auto t : event_row_) w.put(t);
    ph_.save(w);
    adwin_.save(w);
    ddm_.save(w);
    w.put(static_cast<std::uint8_t>(retrain_));
    w.put_string(retrain_reason_);
    io::container_writer c(sizeof(T));
    c.add(tag_state, std::move(w.buffer()));
    return c.bytes();
  }
  void restore_state(std::string_view bytes, std::string_view source = "<memory>") {
    static constexpr std::uint32_t known[] = {tag_state};
    const io::container c = io::parse_container(bytes, sizeof(T), source, known);
    detail::byte_reader r(c.get(tag_state, source), "monitor state");
    if (r.get<std::uint32_t>() != fingerprint_)
      MLOPS_THROW(schema_error(errc::schema_mismatch,
                               fmt::format("{}: the monitor state was recorded against a different reference profile; "
                                           "restore it into a monitor built from the same model", source)));
    const auto window = r.get<std::uint64_t>(), step = r.get<std::uint64_t>(), cols = r.get<std::uint64_t>(),
               stride = r.get<std::uint64_t>();
    if (window != config_.window || step != config_.step || cols != cols_ || stride != stride_)
      MLOPS_THROW(schema_error(errc::schema_mismatch,
                               fmt::format("{}: the monitor state has window {} / step {}, this monitor {} / {}; "
                                           "use the same DriftConfig", source, window, step, config_.window, config_.step)));
    DriftMonitor m = *this;  // built aside: a corrupt state leaves this monitor untouched
    std::uint64_t head = 0;
    for (std::uint64_t* v : {&m.observed_, &m.rejected_, &m.labels_, &head, &m.closed_, &m.ph_drifts_, &m.adwin_drifts_,
                             &m.ddm_drifts_, &m.fired_, &m.suppressed_})
      *v = r.get<std::uint64_t>();
    if (head >= panes_) r.corrupt("pane index out of range");
    m.head_ = static_cast<std::size_t>(head);
    m.last_prediction_ = r.get<double>();
    m.cur_.load(r);
    m.total_.load(r);
    for (auto& p : m.ring_) p.load(r);
    for (auto& l : m.levels_) {
      l = r.get<std::uint8_t>();
      if (l > 2) r.corrupt("alert level out of range");
    }
    for (auto& t : m.last_fired_) t = r.get<std::uint64_t>();
    for (auto& t : m.event_row_) t = r.get<std::uint64_t>();
    m.ph_.load(r);
    m.adwin_.load(r);
    m.ddm_.load(r);
    m.retrain_ = r.get<std::uint8_t>() != 0;
    const auto reason = r.get_string();
    m.retrain_reason_ = {};
    for (auto s : retrain_reasons)
      if (s == reason) m.retrain_reason_ = s;
    if (!r.at_end()) r.corrupt(fmt::format("{} unexpected bytes at the end", r.remaining()));
    *this = std::move(m);
  }
  /// Atomic save (temporary file, fsync, rename) and load of the live state.
  void save_state(const std::filesystem::path& path) const { detail::atomic_write_file(path, save_state()); }
  void load_state(const std::filesystem::path& path) { restore_state(io::read_container_file(path), path.string()); }

 private:
  static constexpr std::uint32_t tag_state = io::make_tag("MONS");
  static constexpr std::uint64_t never = ~std::uint64_t{0};
  static constexpr std::string_view retrain_reasons[] = {"dataset drift: the share of drifted features reached critical",
                                                         "prediction drift: the model's outputs moved away from the reference",
                                                         "concept drift: the error rose above the baseline"};

  /// Counts of one pane (or of a total).
  struct pane {
    std::vector<std::uint64_t> counts;  // cols x stride
    std::vector<std::uint64_t> missing, infinite;
    std::vector<double> sum;
    std::uint64_t rows = 0, labels = 0;
    double err_sum = 0;
    void resize(std::size_t cols, std::size_t stride) {
      counts.assign(cols * stride, 0);
      missing.assign(cols, 0);
      infinite.assign(cols, 0);
      sum.assign(cols, 0.0);
    }
    void clear() noexcept {
      std::fill(counts.begin(), counts.end(), 0);
      std::fill(missing.begin(), missing.end(), 0);
      std::fill(infinite.begin(), infinite.end(), 0);
      std::fill(sum.begin(), sum.end(), 0.0);
      rows = labels = 0;
      err_sum = 0;
    }
    void add(const pane& o) noexcept {
      for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
      for (std::size_t i = 0; i < sum.size(); ++i) {
        missing[i] += o.missing[i];
        infinite[i] += o.infinite[i];
        sum[i] += o.sum[i];
      }
      rows += o.rows;
      labels += o.labels;
      err_sum += o.err_sum;
    }
    void save(detail::byte_writer& w) const {
      for (auto v : counts) w.put(v);
      for (std::size_t i = 0; i < sum.size(); ++i) {
        w.put(missing[i]);
        w.put(infinite[i]);
        w.put(sum[i]);
      }
      w.put(rows);
      w.put(labels);
      w.put(err_sum);
    }
    void load(detail::byte_reader& r) {
      for (auto& v : counts) v = r.get<std::uint64_t>();
      for (std::size_t i = 0; i < sum.size(); ++i) {
        missing[i] = r.get<std::uint64_t>();
        infinite[i] = r.get<std::uint64_t>();
        sum[i] = r.get<double>();
      }
      rows = r.get<std::uint64_t>();
      labels = r.get<std::uint64_t>();
      err_sum = r.get<double>();
      if (!std::isfinite(err_sum) || err_sum < 0) r.corrupt("error sum is not finite and non-negative");
      // Every row lands in exactly one bin or the missing count of every column (an
      // infinite value in an outer bin as well as in `infinite`); sums are finite.
      const std::size_t cols = sum.size(), stride = cols ? counts.size() / cols : 0;
      for (std::size_t c = 0; c < cols; ++c) {
        if (!std::isfinite(sum[c])) r.corrupt("a column sum is not finite");
        std::uint64_t seen = missing[c];
        if (seen > rows) r.corrupt("a column has more missing values than rows");
        for (std::size_t b = 0; b < stride; ++b) {
          const std::uint64_t v = counts[c * stride + b];
          if (v > rows - seen) r.corrupt("a column's bin counts exceed its rows");
          seen += v;
        }
        if (seen != rows) r.corrupt("a column's bin and missing counts do not add up to its rows");
        if (infinite[c] > rows - missing[c]) r.corrupt("a column has more infinite values than binned ones");
      }
    }
  };

  const FeatureProfile& column(std::size_t c) const noexcept { return c < d_ ? profile_.features[c] : profile_.prediction; }

  /// The hot path: one finite value into the current pane (false for NaN / inf, which
  /// add_special counts); the bin from detail::drift_bin. Raw pointers in locals: the
  /// compiler need not reload them after every store.
  template <std::size_t S>
  struct lanes {
    const double* edges;
    std::uint64_t* counts;
    double* sum;
    bool add(std::size_t c, double v) const noexcept {
      if (MLOPS_UNLIKELY(!std::isfinite(v))) return false;
      ++counts[c * S + detail::drift_bin<S>(edges + c * S, v)];
      sum[c] += v;
      return true;
    }
  };
  template <std::size_t S>
  void observe_values(std::span<const T> row, T prediction) noexcept {
    const lanes<S> l{edges_.data(), cur_.counts.data(), cur_.sum.data()};
    for (std::size_t j = 0; j < d_; ++j)
      if (MLOPS_UNLIKELY(!l.add(j, static_cast<double>(row[j])))) add_special(j, static_cast<double>(row[j]));
    if (MLOPS_UNLIKELY(!l.add(d_, static_cast<double>(prediction)))) add_special(d_, static_cast<double>(prediction));
  }
  void dispatch_values(std::span<const T> row, T prediction) noexcept {
    detail::with_bin_stride(stride_, [&]<std::size_t S>() { observe_values<S>(row, prediction); });
  }
  void add_special(std::size_t c, double v) noexcept {
    if (std::isnan(v)) {
      ++cur_.missing[c];
    } else {
      ++cur_.counts[c * stride_ + (v > 0 ? column(c).edges.size() : 0)];
      ++cur_.infinite[c];
    }
  }

  std::size_t pane_back(std::size_t i) const noexcept { return (head_ + panes_ - 1 - i) % panes_; }

  /// Sums the window (or the total) into w, and the rows [begin, end) it covers.
  void window_into(drift_scope scope, pane& w, std::uint64_t& begin, std::uint64_t& end) const noexcept {
    w.clear();
    end = observed_;
    begin = 0;
    if (scope == drift_scope::total || config_.window == 0) {
      w.add(total_);
      w.add(cur_);
      return;
    }
    if (closed_ == 0) {  // no complete pane yet: the rows so far
      w.add(cur_);
      return;
    }
    const std::size_t k = static_cast<std::size_t>((std::min<std::uint64_t>)(closed_, panes_));
    for (std::size_t i = 0; i < k; ++i) w.add(ring_[pane_back(i)]);
    end = observed_ - (std::min)(observed_, cur_.rows);
    begin = end - (std::min)(end, w.rows);
  }

  void column_drift(std::size_t c, const pane& w, ColumnDrift& cd) const noexcept {
    const FeatureProfile& p = column(c);
    cd.psi = cd.ks = cd.js = cd.mean_shift = cd.mean = NAN;
    const std::uint64_t missing = w.missing[c];
    const std::uint64_t present = w.rows >= missing ? w.rows - missing : 0;
    cd.rows = w.rows;
    cd.present = present;
    cd.reference_missing_rate = p.missing_rate;
    cd.reference_mean = p.mean;
    cd.missing_rate = w.rows ? static_cast<double>(missing) / static_cast<double>(w.rows) : 0.0;
    if (present > 0 && p.count > 0) {
      const auto s = detail::compare_bins(w.counts.data() + c * stride_, p.freq, config_.psi_epsilon);
      cd.psi = s.psi;
      cd.ks = s.ks;
      cd.js = s.js;
    }
    if (p.categorical()) {
      detail::level_drift(p, w.counts.data() + c * stride_, present, cd);
      return;
    }
    cd.ranged = p.ranged;
    cd.before_range_rate = cd.after_range_rate = NAN;
    if (p.ranged && present > 0) {
      const std::uint64_t* n = w.counts.data() + c * stride_;
      cd.before_range_rate = static_cast<double>(n[0]) / static_cast<double>(present);
      cd.after_range_rate = static_cast<double>(n[p.bins() - 1]) / static_cast<double>(present);
    }
    const std::uint64_t finite = present - (std::min)(present, w.infinite[c]);
    if (finite > 0) {
      cd.mean = w.sum[c] / static_cast<double>(finite);
      const double delta = cd.mean - p.mean;
      cd.mean_shift = p.std > 0 ? delta / p.std : (delta == 0 ? 0.0 : std::copysign(INFINITY, delta));
    }
  }
  double error_ratio(double rel) const noexcept {
    const auto& b = profile_.baseline;
    if (b.kind == BaselineError::kind_t::absolute_error) return b.mean > 0 ? rel : NAN;
    if (b.kind == BaselineError::kind_t::misclassification) return b.mean > 0 ? rel / b.mean : NAN;
    return NAN;
  }

  // Alert slots: column statistics, then one per dataset/concept statistic.
  std::size_t n_slots() const noexcept { return cols_ * column_statistics + 6; }
  std::size_t slot_concept(drift_statistic s) const noexcept {
    return cols_ * column_statistics + static_cast<std::size_t>(s) - column_statistics;
  }

  /// A pane is complete: fold it into the total and the window, then judge the window.
  void close_pane() noexcept {
    total_.add(cur_);
    if (config_.window != 0) {
      ring_[head_] = cur_;  // same sizes: copies without allocating
      head_ = (head_ + 1) % panes_;
      ++closed_;
    } else {
      ++closed_;
    }
    cur_.clear();
    evaluate();
  }

  void evaluate() noexcept {
    // A detector's event holds its level for `cooldown` rows, then the level clears.
    for (std::size_t k = 0; k < event_row_.size(); ++k)
      if (event_row_[k] != never && observed_ - event_row_[k] >= config_.cooldown) {
        levels_[slot_concept(static_cast<drift_statistic>(static_cast<std::size_t>(drift_statistic::page_hinkley) + k))] = 0;
        event_row_[k] = never;
      }
    std::uint64_t begin = 0, end = 0;
    window_into(drift_scope::window, scratch_, begin, end);
    const auto& th = config_.thresholds;
    std::size_t critical = 0;
    ColumnDrift cd;
    for (std::size_t c = 0; c < cols_; ++c) {
      column_drift(c, scratch_, cd);
      alert_level worst = alert_level::ok;
      for (std::size_t s = 0; s < column_statistics; ++s) {
        const auto stat = static_cast<drift_statistic>(s);
        const double v = cd.value(stat);
        if (!std::isnan(v)) judge(c * column_statistics + s, stat, column(c).name, v, th.of(stat), begin, end);
        worst = (std::max)(worst, static_cast<alert_level>(levels_[c * column_statistics + s]));
      }
      if (c < d_) critical += worst == alert_level::critical;
      else if (worst == alert_level::critical) recommend(1);
    }
    const double share = d_ ? static_cast<double>(critical) / static_cast<double>(d_) : 0.0;
    judge(slot_concept(drift_statistic::drift_share), drift_statistic::drift_share, {}, share, th.drift_share, begin, end);
    if (levels_[slot_concept(drift_statistic::drift_share)] == 2) recommend(0);
    if (scratch_.labels >= config_.min_labels) {
      const double ratio = error_ratio(scratch_.err_sum / static_cast<double>(scratch_.labels));
      if (!std::isnan(ratio))
        judge(slot_concept(drift_statistic::error_ratio), drift_statistic::error_ratio, {}, ratio, th.error_ratio, begin, end);
      if (levels_[slot_concept(drift_statistic::error_ratio)] == 2) recommend(2);
    }
  }

  /// Moves one (column, statistic) between levels with hysteresis; fires on a raise.
  void judge(std::size_t slot, drift_statistic stat, std::string_view feature, double v, const DriftThreshold& t,
             std::uint64_t begin, std::uint64_t end) noexcept {
    const auto cur = static_cast<alert_level>(levels_[slot]);
    const alert_level up = v >= t.critical ? alert_level::critical : v >= t.warning ? alert_level::warning : alert_level::ok;
    const double keep = 1.0 - config_.hysteresis;
    const alert_level down = v >= keep * t.critical  ? alert_level::critical
                             : v >= keep * t.warning ? alert_level::warning
                                                     : alert_level::ok;
    if (up > cur) {
      levels_[slot] = static_cast<std::uint8_t>(up);
      fire(slot, {up, stat, feature, v, up == alert_level::critical ? t.critical : t.warning, begin, end});
    } else if (down < cur) {
      levels_[slot] = static_cast<std::uint8_t>(down);
      if (down == alert_level::ok && on_alert_) on_alert_(DriftAlert{alert_level::ok, stat, feature, v, t.warning, begin, end});
    }
  }
  /// An event from a sequential detector: fires (subject to the cooldown) without a level change.
  void raise_event(std::size_t slot, alert_level level, drift_statistic stat, std::string_view feature, double v, double threshold,
                   std::uint64_t at) noexcept {
    levels_[slot] = (std::max)(levels_[slot], static_cast<std::uint8_t>(level));
    event_row_[static_cast<std::size_t>(stat) - static_cast<std::size_t>(drift_statistic::page_hinkley)] = at;
    fire(slot, {level, stat, feature, v, threshold, at, at + 1});
    if (level == alert_level::critical) recommend(2);
  }
  void fire(std::size_t slot, const DriftAlert& a) noexcept {
    // Cooldown: the same slot at the same or a lower level fired recently -> suppressed.
    for (int l = static_cast<int>(a.level); l <= 2; ++l) {
      const std::uint64_t t = last_fired_[slot * 3 + static_cast<std::size_t>(l)];
      if (t != never && observed_ - t < config_.cooldown) {
        ++suppressed_;
        return;
      }
    }
    last_fired_[slot * 3 + static_cast<std::size_t>(a.level)] = observed_;
    ++fired_;
    if (on_alert_) on_alert_(a);
  }
  void recommend(int reason) noexcept {
    if (retrain_) return;
    retrain_ = true;
    retrain_reason_ = retrain_reasons[reason];
    ++fired_;
    if (on_alert_) on_alert_(DriftAlert{alert_level::critical, drift_statistic::retrain, {}, 1.0, 1.0, observed_, observed_});
  }

  DriftProfile profile_;
  DriftConfig config_;
  std::size_t d_ = 0, cols_ = 0, stride_ = 1, panes_ = 1;
  std::vector<double> edges_;
  pane cur_, total_, scratch_;
  std::vector<pane> ring_;
  std::size_t head_ = 0;
  std::uint64_t closed_ = 0;
  std::uint64_t observed_ = 0, rejected_ = 0, labels_ = 0;
  double last_prediction_ = NAN;
  std::vector<std::uint8_t> levels_;
  std::vector<std::uint64_t> last_fired_;
  std::array<std::uint64_t, 3> event_row_{never, never, never};  // last Page-Hinkley, ADWIN, DDM event
  PageHinkley ph_;
  Adwin adwin_;
  Ddm ddm_;
  std::uint64_t ph_drifts_ = 0, adwin_drifts_ = 0, ddm_drifts_ = 0;
  std::uint64_t fired_ = 0, suppressed_ = 0;
  bool retrain_ = false;
  std::string_view retrain_reason_;
  std::uint32_t fingerprint_ = 0;
  alert_callback on_alert_;
};

// The compiled mode holds these (src/monitor.cpp); see MLOPS_EXTERN_TEMPLATE.
MLOPS_EXTERN_TEMPLATE_FD(class DriftMonitor)

MLOPS_NAMESPACE_END
