// mlops/serve/metrics.hpp - what a prediction service counts, as accumulators that merge
// across threads: requests by endpoint and status, errors by kind, rows, a latency
// histogram with fixed buckets, in-flight requests, reloads; exported in the Prometheus
// text exposition format (version 0.0.4) with the loaded version of each alias.
//
//   mlops::ServingMetrics m;
//   m.record(mlops::endpoint::predict, 200, rows, seconds);  // noexcept, no allocation, no lock
//   std::string text = mlops::to_prometheus(m.snapshot(), {{"model", "price"}});
//
// Each thread counts into one of `ServingMetrics::shards` cache-line-aligned shards of
// relaxed atomics; snapshot() merges the shards (ServingCounters::merge), so the totals
// equal those of one counter fed every request.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

/// The service's endpoints, as counted (label `endpoint`).
enum class endpoint : std::uint8_t { predict = 0, feedback = 1, status = 2, metrics = 3, health = 4, other = 5 };
inline constexpr std::size_t endpoint_count = 6;
constexpr std::string_view endpoint_name(endpoint e) noexcept {
  constexpr std::string_view n[] = {"predict", "feedback", "status", "metrics", "health", "other"};
  return n[static_cast<int>(e)];
}

/// Why a request failed (label `kind` of mlops_serving_errors_total). Stable names.
enum class serve_error : std::uint8_t {
  malformed = 0,      // the body is not valid JSON or CSV, or lacks "instances"/"inputs"
  schema = 1,         // a feature column is missing, or a row has the wrong width
  bad_value = 2,      // a value of the wrong type, NaN or Inf, or an unseen label
  too_large = 3,      // the body is over the configured limit (413)
  too_many_rows = 4,  // more rows than the configured limit per request (413)
  timeout = 5,        // the client was too slow (408)
  not_found = 6,      // unknown model, endpoint or request id (404)
  unavailable = 7,    // no version loaded (503)
  unsupported = 8,    // wrong method or content type (405, 415)
  internal = 9,       // anything else (500)
};
inline constexpr std::size_t serve_error_count = 10;
constexpr std::string_view serve_error_name(serve_error e) noexcept {
  constexpr std::string_view n[] = {"malformed", "schema", "bad_value", "too_large", "too_many_rows",
                                    "timeout", "not_found", "unavailable", "unsupported", "internal"};
  return n[static_cast<int>(e)];
}

/// Upper bounds (seconds) of the latency histogram's buckets; the last bucket is +Inf.
inline constexpr std::array<double, 16> latency_bounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                          0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};
/// HTTP status codes counted by value (label `code`); any other is counted as its class
/// ("2xx" ... "5xx").
inline constexpr std::array<int, 12> counted_status = {200, 400, 404, 405, 408, 409, 413, 415, 422, 429, 500, 503};
inline constexpr std::size_t status_slots = counted_status.size() + 4;  // + 2xx, 3xx, 4xx, 5xx (others)

namespace detail {
constexpr std::size_t status_slot(int code) noexcept {
  for (std::size_t i = 0; i < counted_status.size(); ++i)
    if (counted_status[i] == code) return i;
  const int cls = code / 100;
  return counted_status.size() + static_cast<std::size_t>(cls >= 2 && cls <= 5 ? cls - 2 : 3);
}
}  // namespace detail

/// Plain counters: one shard's, or all shards merged. Mergeable and comparable.
struct ServingCounters {
  std::array<std::array<std::uint64_t, status_slots>, endpoint_count> requests{};
  std::array<std::uint64_t, serve_error_count> errors{};
  std::uint64_t rows = 0;                 // rows predicted (champion answers)
  std::uint64_t challenger_rows = 0;      // rows also (shadow) or instead (traffic) predicted by the challenger
  std::uint64_t challenger_answers = 0;   // rows whose answer came from the challenger (traffic share)
  std::uint64_t feedback_labels = 0;      // labels matched to a request
  std::array<std::uint64_t, latency_bounds.size() + 1> latency{};  // non-cumulative bucket counts
  std::uint64_t latency_nanos = 0;        // sum of request latencies

  std::uint64_t request_count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& e : requests)
      for (const auto v : e) n += v;
    return n;
  }
  void merge(const ServingCounters& o) noexcept {
    for (std::size_t e = 0; e < endpoint_count; ++e)
      for (std::size_t s = 0; s < status_slots; ++s) requests[e][s] += o.requests[e][s];
    for (std::size_t k = 0; k < serve_error_count; ++k) errors[k] += o.errors[k];
    rows += o.rows;
    challenger_rows += o.challenger_rows;
    challenger_answers += o.challenger_answers;
    feedback_labels += o.feedback_labels;
    for (std::size_t b = 0; b < latency.size(); ++b) latency[b] += o.latency[b];
    latency_nanos += o.latency_nanos;
  }
  friend bool operator==(const ServingCounters&, const ServingCounters&) = default;
};

/// The version an alias serves and its reload history (gauges and counters per alias).
struct AliasState {
  std::string alias;      // "production", "staging", or "file" for a model served from a file
  std::string role;       // "champion" or "challenger"
  std::uint64_t version = 0;   // 0: none loaded
  std::uint64_t reloads = 0, reload_failures = 0;
  double loaded_at = 0;   // unix seconds of the last successful load
};

/// Per-version quality measured on fed-back labels (regression: squared error;
/// classification: misclassification).
struct VersionQuality {
  std::string role;
  std::uint64_t version = 0;
  std::uint64_t labels = 0;
  double loss_sum = 0;    // sum of squared errors, or of 0/1 errors
};

/// Everything exported at one moment.
struct ServingSnapshot {
  ServingCounters counters;
  std::int64_t in_flight = 0;
  std::vector<AliasState> aliases;
  std::vector<VersionQuality> quality;
  /// The champion/challenger test: pairs seen, challenger wins and losses, the
  /// log-likelihood ratio and the recommendation (0 continue, 1 promote, -1 keep).
  std::uint64_t ab_pairs = 0, ab_wins = 0, ab_losses = 0;
  double ab_llr = 0;
  int ab_decision = 0;
  std::uint64_t rollbacks = 0;   // automatic rollbacks on critical concept drift
  std::string drift_text;        // the champion's drift monitor (monitor/prometheus.hpp), if any
};

/// Sharded counters of one service. record() is noexcept, lock-free and allocation-free.
class ServingMetrics {
 public:
  static constexpr std::size_t shards = 8;

  /// One finished request: its endpoint, HTTP status, rows predicted and latency.
  void record(endpoint e, int status, std::uint64_t rows, double seconds) noexcept {
    auto& s = local();
    add(s.requests[static_cast<std::size_t>(e)][detail::status_slot(status)], 1);
    if (rows) add(s.rows, rows);
    std::size_t b = 0;
    while (b < latency_bounds.size() && !(seconds <= latency_bounds[b])) ++b;
    add(s.latency[b], 1);
    const double ns = seconds > 0 && std::isfinite(seconds) ? seconds * 1e9 : 0.0;
    add(s.latency_nanos, ns < 1.8e19 ? static_cast<std::uint64_t>(ns) : 0);
  }
  /// Rows answered by a request (counted apart from record(), which the HTTP layer's
  /// logger calls once the response is written).
  void predicted(std::uint64_t rows) noexcept { add(local().rows, rows); }
  void error(serve_error k) noexcept { add(local().errors[static_cast<std::size_t>(k)], 1); }
  void challenger(std::uint64_t rows, bool answered) noexcept {
    auto& s = local();
    add(s.challenger_rows, rows);
    if (answered) add(s.challenger_answers, rows);
  }
  void feedback(std::uint64_t labels) noexcept { add(local().feedback_labels, labels); }

  /// Requests being served: a guard increments on construction, decrements on destruction.
  class in_flight_guard {
   public:
    explicit in_flight_guard(ServingMetrics& m) noexcept : m_(m) { m_.in_flight_.fetch_add(1, std::memory_order_relaxed); }
    ~in_flight_guard() { m_.in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    in_flight_guard(const in_flight_guard&) = delete;
    in_flight_guard& operator=(const in_flight_guard&) = delete;

   private:
    ServingMetrics& m_;
  };
  std::int64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  /// The shards merged (a consistent total per counter; counters recorded concurrently
  /// may or may not be included).
  ServingCounters counters() const noexcept {
    ServingCounters out;
    for (const auto& s : shards_) {
      ServingCounters c;
      for (std::size_t e = 0; e < endpoint_count; ++e)
        for (std::size_t k = 0; k < status_slots; ++k) c.requests[e][k] = get(s.requests[e][k]);
      for (std::size_t k = 0; k < serve_error_count; ++k) c.errors[k] = get(s.errors[k]);
      c.rows = get(s.rows);
      c.challenger_rows = get(s.challenger_rows);
      c.challenger_answers = get(s.challenger_answers);
      c.feedback_labels = get(s.feedback_labels);
      for (std::size_t b = 0; b < c.latency.size(); ++b) c.latency[b] = get(s.latency[b]);
      c.latency_nanos = get(s.latency_nanos);
      out.merge(c);
    }
    return out;
  }

 private:
  using counter = std::atomic<std::uint64_t>;
  struct alignas(64) shard {
    std::array<std::array<counter, status_slots>, endpoint_count> requests{};
    std::array<counter, serve_error_count> errors{};
    counter rows{0}, challenger_rows{0}, challenger_answers{0}, feedback_labels{0};
    std::array<counter, latency_bounds.size() + 1> latency{};
    counter latency_nanos{0};
  };
  static void add(counter& c, std::uint64_t v) noexcept { c.fetch_add(v, std::memory_order_relaxed); }
  static std::uint64_t get(const counter& c) noexcept { return c.load(std::memory_order_relaxed); }
  /// The calling thread's shard: threads take shards round-robin on first use.
  shard& local() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % shards;
    return shards_[mine];
  }

  std::array<shard, shards> shards_{};
  std::atomic<std::int64_t> in_flight_{0};
};

/// The snapshot in the Prometheus text exposition format (version 0.0.4), every family
/// with HELP and TYPE (`promtool check metrics` clean). `labels` (e.g. {{"model",
/// "price"}}) are added to every sample; the drift monitor's gauges (drift_text) are
/// appended as they are.
MLOPS_FUNC std::string to_prometheus(const ServingSnapshot& s, const std::vector<std::pair<std::string, std::string>>& labels = {},
                                     std::string_view prefix = "mlops_serving");

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_MONITOR)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
#include <fmt/format.h>

#include "mlops/monitor/prometheus.hpp"

MLOPS_NAMESPACE_BEGIN

MLOPS_FUNC std::string to_prometheus(const ServingSnapshot& s, const std::vector<std::pair<std::string, std::string>>& labels,
                                     std::string_view prefix) {
  std::string base;
  for (const auto& [k, v] : labels) base += fmt::format("{}=\"{}\",", k, detail::prometheus_escape(v));
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {}_{} {}\n# TYPE {}_{} {}\n", prefix, name, help, prefix, name, type);
  };
  // extra: further labels as `k="v",` pairs (escaped by the caller).
  auto sample = [&](std::string_view name, const std::string& extra, double v) {
    std::string l = base + extra;
    if (!l.empty()) l.pop_back();
    out += l.empty() ? fmt::format("{}_{} {}\n", prefix, name, detail::prometheus_number(v))
                     : fmt::format("{}_{}{{{}}} {}\n", prefix, name, l, detail::prometheus_number(v));
  };
  const auto& c = s.counters;
  family("requests_total", "counter", "Requests answered, by endpoint and HTTP status.");
  for (std::size_t e = 0; e < endpoint_count; ++e)
    for (std::size_t k = 0; k < status_slots; ++k) {
      const std::string code = k < counted_status.size() ? std::to_string(counted_status[k]) : fmt::format("{}xx", k - counted_status.size() + 2);
      // Every endpoint's 200 is always present, so rates exist before the first request.
      if (c.requests[e][k] == 0 && k != 0) continue;
      sample("requests_total", fmt::format("endpoint=\"{}\",code=\"{}\",", endpoint_name(static_cast<endpoint>(e)), code),
             static_cast<double>(c.requests[e][k]));
    }
  family("errors_total", "counter", "Failed requests, by kind.");
  for (std::size_t k = 0; k < serve_error_count; ++k)
    sample("errors_total", fmt::format("kind=\"{}\",", serve_error_name(static_cast<serve_error>(k))), static_cast<double>(c.errors[k]));
  family("rows_total", "counter", "Rows predicted (answers returned).");
  sample("rows_total", {}, static_cast<double>(c.rows));
  family("challenger_rows_total", "counter", "Rows the challenger predicted (shadow or traffic share).");
  sample("challenger_rows_total", {}, static_cast<double>(c.challenger_rows));
  family("challenger_answers_total", "counter", "Rows whose returned answer came from the challenger.");
  sample("challenger_answers_total", {}, static_cast<double>(c.challenger_answers));
  family("feedback_labels_total", "counter", "Labels fed back and matched to a request.");
  sample("feedback_labels_total", {}, static_cast<double>(c.feedback_labels));
  family("request_duration_seconds", "histogram", "Time from a request's arrival to its answer.");
  std::uint64_t cum = 0;
  for (std::size_t b = 0; b < c.latency.size(); ++b) {
    cum += c.latency[b];
    const std::string le = b < latency_bounds.size() ? detail::prometheus_number(latency_bounds[b]) : "+Inf";
    sample("request_duration_seconds_bucket", fmt::format("le=\"{}\",", le), static_cast<double>(cum));
  }
  sample("request_duration_seconds_sum", {}, static_cast<double>(c.latency_nanos) * 1e-9);
  sample("request_duration_seconds_count", {}, static_cast<double>(cum));
  family("in_flight_requests", "gauge", "Requests being served now.");
  sample("in_flight_requests", {}, static_cast<double>(s.in_flight));
  family("loaded_version", "gauge", "The registry version each alias serves (0: none loaded).");
  for (const auto& a : s.aliases)
    sample("loaded_version", fmt::format("alias=\"{}\",role=\"{}\",", detail::prometheus_escape(a.alias), a.role), static_cast<double>(a.version));
  family("loaded_timestamp_seconds", "gauge", "When each alias's version was loaded (unix seconds).");
  for (const auto& a : s.aliases)
    sample("loaded_timestamp_seconds", fmt::format("alias=\"{}\",role=\"{}\",", detail::prometheus_escape(a.alias), a.role), a.loaded_at);
  family("reloads_total", "counter", "Versions loaded after the first, per alias.");
  for (const auto& a : s.aliases)
    sample("reloads_total", fmt::format("alias=\"{}\",role=\"{}\",", detail::prometheus_escape(a.alias), a.role), static_cast<double>(a.reloads));
  family("reload_failures_total", "counter", "Versions that failed to load or validate (the previous one kept serving).");
  for (const auto& a : s.aliases)
    sample("reload_failures_total", fmt::format("alias=\"{}\",role=\"{}\",", detail::prometheus_escape(a.alias), a.role),
           static_cast<double>(a.reload_failures));
  family("version_labels_total", "counter", "Fed-back labels scored per version.");
  for (const auto& q : s.quality)
    sample("version_labels_total", fmt::format("role=\"{}\",version=\"{}\",", q.role, q.version), static_cast<double>(q.labels));
  family("version_loss_total", "counter", "Sum of squared errors (regression) or misclassifications per version on fed-back labels.");
  for (const auto& q : s.quality) sample("version_loss_total", fmt::format("role=\"{}\",version=\"{}\",", q.role, q.version), q.loss_sum);
  family("ab_pairs_total", "counter", "Labelled rows both champion and challenger predicted (the paired test's sample).");
  sample("ab_pairs_total", {}, static_cast<double>(s.ab_pairs));
  family("ab_challenger_wins_total", "counter", "Pairs where the challenger's loss was smaller.");
  sample("ab_challenger_wins_total", {}, static_cast<double>(s.ab_wins));
  family("ab_challenger_losses_total", "counter", "Pairs where the champion's loss was smaller.");
  sample("ab_challenger_losses_total", {}, static_cast<double>(s.ab_losses));
  family("ab_log_likelihood_ratio", "gauge", "The sequential test's log-likelihood ratio (challenger better vs not).");
  sample("ab_log_likelihood_ratio", {}, s.ab_llr);
  family("ab_recommendation", "gauge", "The sequential test's recommendation: 1 promote, -1 keep, 0 undecided.");
  sample("ab_recommendation", {}, static_cast<double>(s.ab_decision));
  family("rollbacks_total", "counter", "Automatic rollbacks of the champion alias on critical concept drift.");
  sample("rollbacks_total", {}, static_cast<double>(s.rollbacks));
  out += s.drift_text;
  return out;
}

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_MONITOR
