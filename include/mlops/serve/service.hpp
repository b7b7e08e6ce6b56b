// mlops/serve/service.hpp - a prediction service without HTTP: the champion (an alias
// of a registry model, or a model file) and an optional challenger (a second alias),
// reloaded when their aliases move, a drift monitor on the champion, labels fed back by
// request id, a sequential champion/challenger test, optional automatic rollback, and
// the serving metrics. `mlops serve` is this class behind cpp-httplib.
//
//   mlops::ServiceConfig c;
//   c.name = "price"; c.registry = "reg"; c.challenger = "staging";   // shadow
//   mlops::ModelService<double> svc(c);
//   svc.on_event([](const mlops::ServeEvent& e) { log(e.message); }); // thread-safe callback
//   svc.start();                                  // loads, then checks on file changes and every poll_period
//   auto b = svc.bind(columns);                   // per request: pins the versions, maps the columns
//                                                 // (or pin(), parse against b.champion, map_columns(b, columns))
//   auto a = svc.predict_row(b, values, key, id); // per row: noexcept, no allocation
//   svc.feedback(id, label);                      // later: scores both versions, feeds the test
//
// Threads: predict_row and feedback may run on any number of threads at once; poll runs
// on the watcher thread (or the caller's). A request keeps the versions bind() pinned,
// so a reload never changes the model under a request in flight.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/detail/change_waiter.hpp"
#include "mlops/error.hpp"
#include "mlops/monitor/drift.hpp"
#include "mlops/monitor/prometheus.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/registry.hpp"
#include "mlops/serve/challenger.hpp"
#include "mlops/serve/metrics.hpp"
#include "mlops/serve/served_model.hpp"

MLOPS_NAMESPACE_BEGIN

struct ServiceConfig {
  std::string name = "model";        // the model's name (URLs, metrics); with a registry, the registered name
  std::filesystem::path registry;    // registry root; empty: serve `file`
  std::filesystem::path file;        // a model file, reloaded when it changes (no registry)
  std::string alias = "production";  // the champion's alias
  std::string challenger;            // the challenger's alias; empty: none
  double traffic = 0;                // share of request keys the challenger answers; 0: shadow only
  SequentialTestConfig test{};
  bool auto_rollback = false;        // roll the champion alias back on a critical concept-drift alert
  bool monitor = true;               // watch the champion with a drift monitor (needs a drift profile)
  DriftConfig drift{};
  std::size_t feedback_capacity = std::size_t{1} << 16;
  std::chrono::milliseconds poll_period{1000};
  bool notify = true;                // also check when the files change (inotify, where available)
  /// Run on every version before it may serve (after its checksum, before parsing); it
  /// throws to refuse it, and the working version keeps serving. Empty: none. With
  /// mlops/io/signing.hpp: `signing::require_signed_by(keys)` serves signed versions only.
  ModelRegistry::load_check verify;
};

/// One alias as the status endpoint reports it.
struct AliasStatus {
  std::string alias, role;
  std::uint64_t version = 0;         // 0: nothing loaded
  std::string source;
  std::string last_error;            // the last load or validation failure, if any
};

template <scalar T>
class ModelService {
 public:
  using handle = typename ServedModel<T>::handle;
  using event_callback = std::function<void(const ServeEvent&)>;

  explicit ModelService(ServiceConfig c)
      : c_(std::move(c)),
        champion_(c_.registry.empty() ? std::string("file") : c_.alias),
        challenger_(c_.challenger),
        store_(c_.feedback_capacity),
        test_(c_.test) {
    if (c_.registry.empty() == c_.file.empty())
      MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: give a registry directory or a model file (one of them)"));
    if (!c_.challenger.empty() && c_.registry.empty())
      MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: a challenger alias needs a registry"));
    if (!c_.challenger.empty() && c_.challenger == c_.alias)
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("ModelService: the challenger alias '{}' is the champion's", c_.alias)));
    if (!(c_.traffic >= 0 && c_.traffic <= 1))
      MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: traffic must be a share in [0, 1]"));
    if (c_.traffic > 0 && c_.challenger.empty())
      MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: a traffic share needs a challenger alias"));
    if (c_.auto_rollback && c_.registry.empty())
      MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: automatic rollback needs a registry"));
    if (c_.poll_period.count() <= 0) MLOPS_THROW(argument_error(errc::invalid_argument, "ModelService: poll_period must be positive"));
    if (!c_.registry.empty()) {
      ModelRegistry::check_name(c_.name);
      ModelRegistry::check_name(c_.alias, "alias");
      if (!c_.challenger.empty()) ModelRegistry::check_name(c_.challenger, "alias");
    }
    auto relay = [this](const ServeEvent& e) {
      record_error(e);
      emit(e);
    };
    champion_.on_event(relay);
    challenger_.on_event(relay);
  }
  ~ModelService() { stop(); }
  ModelService(const ModelService&) = delete;
  ModelService& operator=(const ModelService&) = delete;

  const ServiceConfig& config() const noexcept { return c_; }
  /// Receives loads, reloads, failures, rollbacks, recommendations and alerts, from the
  /// watcher thread and from request threads: it must be thread-safe and not throw. Set
  /// before start().
  void on_event(event_callback fn) { on_event_ = std::move(fn); }
  ServingMetrics& metrics() noexcept { return metrics_; }
  const ServedModel<T>& champion() const noexcept { return champion_; }
  const ServedModel<T>& challenger() const noexcept { return challenger_; }
  bool has_challenger() const noexcept { return !c_.challenger.empty(); }
  /// True once the champion has a version loaded.
  bool ready() const noexcept { return champion_.current() != nullptr; }

  /// Checks the registry aliases (or the file) once and loads what changed; performs a
  /// pending automatic rollback first. True when a served version changed. Never throws:
  /// failures are events (and counted), and the working versions keep serving.
  bool poll() {
    std::lock_guard lock(poll_mutex_);
    checks_.fetch_add(1, std::memory_order_relaxed);
#if MLOPS_HAS_EXCEPTIONS
    try {
      return c_.registry.empty() ? poll_file() : poll_registry();
    } catch (const std::exception& ex) {
      ServeEvent e;
      e.kind = ServeEvent::kind_t::load_failed;
      e.alias = champion_.alias();
      e.from_version = e.to_version = champion_.version();
      e.message = fmt::format("{}: cannot read '{}': {}", c_.name, c_.registry.empty() ? c_.file.string() : c_.registry.string(), ex.what());
      record_error(e);
      emit(e);
      return false;
    }
#else
    return c_.registry.empty() ? poll_file() : poll_registry();
#endif
  }
  /// poll() now, then on a background thread until stop(): whenever the registry's model
  /// directory (or the model file's directory) changes, where file notification is
  /// available (Linux inotify) and `notify` is on, and every poll_period in any case.
  void start() {
    stop();
    poll();
    stop_flag_.store(false);
    watcher_ = std::thread([this] {
      auto waiter = std::make_unique<detail::change_waiter>();
      {
        std::lock_guard lock(waiter_mutex_);
        waiter_ = waiter.get();
      }
      bool model_dir_watched = false;
      while (!stop_flag_.load()) {
        if (c_.notify && waiter->notifying() && !model_dir_watched) {
          if (c_.registry.empty()) {
            model_dir_watched = waiter->watch(c_.file.has_parent_path() ? c_.file.parent_path() : std::filesystem::path("."));
          } else {
            // The root only for the model's directory appearing (the service opens the
            // root's lock file itself); then the model's directory, whose files it only reads.
            (void)waiter->watch(c_.registry, false);
            model_dir_watched = waiter->watch(c_.registry / c_.name);
          }
          notifying_.store(model_dir_watched, std::memory_order_relaxed);
        }
        (void)waiter->wait(c_.poll_period);
        if (stop_flag_.load()) break;
        poll();
      }
      std::lock_guard lock(waiter_mutex_);
      waiter_ = nullptr;
    });
  }
  void stop() {
    stop_flag_.store(true);
    {
      std::lock_guard lock(waiter_mutex_);
      if (waiter_) waiter_->wake();
    }
    if (watcher_.joinable()) watcher_.join();
  }
  /// True while the watcher thread is woken by file notification (not only by the period).
  bool notifying() const noexcept { return notifying_.load(std::memory_order_relaxed); }
  /// How many times the registry (or the file) was checked.
  std::uint64_t checks() const noexcept { return checks_.load(std::memory_order_relaxed); }

  /// A request's view: the versions it pinned and where each of their features is in
  /// the request's columns.
  struct binding {
    handle champion, challenger;
    std::vector<std::size_t> champion_cols, challenger_cols;
    std::size_t width = 0;  // values per row in the request
  };
  /// Pins the versions serving now (a request's view before its columns are known):
  /// what the request is parsed against and then predicted by, whatever reloads happen
  /// meanwhile. argument_error (unavailable) before the first load.
  binding pin() const {
    binding b;
    b.champion = champion_.current();
    if (!b.champion) MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("model '{}' has no version loaded yet", c_.name)));
    if (has_challenger()) b.challenger = challenger_.current();
    return b;
  }
  /// Maps `columns` (the request's column names) to the features of each version `b`
  /// pinned; an empty `columns` means rows in the champion's feature order. schema_error
  /// naming the first missing feature. Extra columns are ignored.
  void map_columns(binding& b, std::span<const std::string_view> columns) const {
    const auto& cf = b.champion->pipeline.features();
    std::vector<std::string_view> own;
    if (columns.empty()) {
      own.assign(cf.begin(), cf.end());
      columns = own;
    }
    b.width = columns.size();
    auto map = [&](const FittedPipeline<T>& p, std::vector<std::size_t>& out, std::string_view who) {
      out.resize(p.n_features());
      for (std::size_t j = 0; j < p.n_features(); ++j) {
        std::size_t k = 0;
        while (k < columns.size() && columns[k] != p.features()[j]) ++k;
        if (k == columns.size())
          MLOPS_THROW(schema_error(errc::schema_missing_column,
                                   fmt::format("the request has no column '{}', which the {} (version {}) needs; it needs: {}",
                                               p.features()[j], who, who == "champion" ? b.champion->version : b.challenger->version,
                                               fmt::join(p.features(), ", "))));
        out[j] = k;
      }
    };
    map(b.champion->pipeline, b.champion_cols, "champion");
    if (b.challenger) map(b.challenger->pipeline, b.challenger_cols, "challenger");
  }
  /// pin() then map_columns(): the versions serving now, with `columns` mapped.
  binding bind(std::span<const std::string_view> columns) const {
    binding b = pin();
    map_columns(b, columns);
    return b;
  }

  struct row_answer {
    predict_status status = predict_status::ok;  // of the returned answer
    T value{};                   // the answer (a class label for a classifier)
    bool from_challenger = false;
    std::uint64_t version = 0;   // the version that answered
    T champion_value{}, challenger_value{};
    bool has_challenger = false;
  };
  /// Predicts one row (values in the request's column order, `width` of them). The
  /// challenger, when loaded, predicts every row too: it answers when the traffic share
  /// routes `key` to it, else it runs in shadow. With a non-empty `request_id` the
  /// predictions are kept for feedback(). noexcept; no allocation for rows of up to
  /// FittedPipeline::wide_row features.
  row_answer predict_row(const binding& b, std::span<const input_value> values, std::string_view key,
                         std::string_view request_id) noexcept {
    row_answer a;
    if (values.size() != b.width) {
      a.status = predict_status::wrong_length;
      return a;
    }
    FeedbackRecord rec;
    a.version = b.champion->version;
    a.status = run_one(b.champion->pipeline, b.champion_cols, values, a.champion_value, true, b.champion->version);
    a.value = a.champion_value;
    rec.champion_version = b.champion->version;
    rec.champion = static_cast<double>(a.champion_value);
    rec.classifier = b.champion->pipeline.is_classifier();
    if (b.challenger) {
      const auto st = run_one(b.challenger->pipeline, b.challenger_cols, values, a.challenger_value, false, b.challenger->version);
      a.has_challenger = true;
      rec.challenger_version = b.challenger->version;
      rec.challenger = static_cast<double>(a.challenger_value);
      const bool routed = c_.traffic > 0 && route_to_challenger(key, c_.traffic);
      if (routed) {
        a.from_challenger = true;
        a.value = a.challenger_value;
        a.version = b.challenger->version;
        a.status = st;
        rec.challenger_answered = true;
      }
      metrics_.challenger(1, routed);
    }
    if (!request_id.empty() && a.status == predict_status::ok) store_.put(request_id, rec);
    return a;
  }

  /// Class probabilities of one row (as predict_row takes it) from the champion, or from
  /// the challenger when `challenger` (the version that answered); false for a regressor,
  /// an SVM or a wrong width. noexcept, allocation-free like predict_row.
  bool probabilities(const binding& b, std::span<const input_value> values, bool challenger, std::span<double> out) const noexcept {
    if (values.size() != b.width || (challenger && !b.challenger)) return false;
    const auto& h = challenger ? b.challenger : b.champion;
    return with_numeric_row(h->pipeline, challenger ? b.challenger_cols : b.champion_cols, values,
                            [&](std::span<const T> x) { return h->pipeline.predict_proba_row(x, out); });
  }

  /// The label of the request `request_id`: scores the versions that predicted it, feeds
  /// the champion's monitor (concept drift) and the champion/challenger test. False when
  /// the id is unknown (never predicted, already labelled, or overwritten: see
  /// FeedbackStore).
  bool feedback(std::string_view request_id, T label) {
    const auto rec = store_.take(request_id);
    if (!rec) return false;
    auto loss = [&](double pred) {
      const double y = static_cast<double>(label);
      return rec->classifier ? (pred == y ? 0.0 : 1.0) : (pred - y) * (pred - y);
    };
    const double lc = loss(rec->champion);
    std::optional<ServeEvent> decided;
    {
      std::lock_guard lock(quality_mutex_);
      add_quality("champion", rec->champion_version, lc);
      if (rec->challenger_version) {
        const double lh = loss(rec->challenger);
        add_quality("challenger", rec->challenger_version, lh);
        if (test_versions_ != std::pair{rec->champion_version, rec->challenger_version}) {
          test_versions_ = {rec->champion_version, rec->challenger_version};
          test_.reset();
        }
        const auto before = test_.recommendation();
        const auto after = test_.add(lc, lh);
        if (before == ab_recommendation::undecided && after != ab_recommendation::undecided) {
          ServeEvent e;
          e.kind = ServeEvent::kind_t::recommendation;
          e.alias = c_.challenger;
          e.from_version = rec->champion_version;
          e.to_version = rec->challenger_version;
          e.message = fmt::format("{}: after {} labelled pairs ({} challenger wins, {} losses) the test recommends: {} "
                                  "(challenger version {} vs champion version {})",
                                  c_.name, test_.pairs(), test_.wins(), test_.losses(),
                                  after == ab_recommendation::promote ? "promote the challenger" : "keep the champion",
                                  rec->challenger_version, rec->champion_version);
          decided = std::move(e);
        }
      }
    }
    if (auto box = monitor_.load(std::memory_order_acquire); box && box->version == rec->champion_version) {
      std::lock_guard lock(box->m);
      box->mon.observe_label(label, static_cast<T>(rec->champion));
    }
    metrics_.feedback(1);
    if (decided) emit(*decided);
    return true;
  }
  /// A label given as text, mapped onto the champion's class labels (nullopt when the
  /// champion has no text labels or does not know this one).
  std::optional<T> label_value(std::string_view label) const {
    const auto h = champion_.current();
    if (!h) return std::nullopt;
    const auto& l = h->pipeline.class_labels();
    for (std::size_t k = 0; k < l.size(); ++k)
      if (l[k] == label) return static_cast<T>(k);
    return std::nullopt;
  }

  /// The champion/challenger test as it stands (for the current pair of versions).
  PairedSequentialTest test() const {
    std::lock_guard lock(quality_mutex_);
    return test_;
  }
  std::uint64_t rollbacks() const noexcept { return rollbacks_.load(std::memory_order_relaxed); }
  /// The champion's drift report (nullopt without a monitor).
  std::optional<DriftReport> drift_report() const {
    const auto box = monitor_.load(std::memory_order_acquire);
    if (!box) return std::nullopt;
    std::lock_guard lock(box->m);
    return box->mon.report();
  }

  std::vector<AliasStatus> status() const {
    std::vector<AliasStatus> out;
    std::lock_guard lock(error_mutex_);
    auto one = [&](const ServedModel<T>& s, std::string_view role, const std::string& err) {
      AliasStatus a;
      a.alias = s.alias();
      a.role = std::string(role);
      if (const auto h = s.current()) {
        a.version = h->version;
        a.source = h->source;
      }
      a.last_error = err;
      out.push_back(std::move(a));
    };
    one(champion_, "champion", champion_error_);
    if (has_challenger()) one(challenger_, "challenger", challenger_error_);
    return out;
  }
  /// Everything the metrics endpoint exports.
  ServingSnapshot snapshot() const {
    ServingSnapshot s;
    s.counters = metrics_.counters();
    s.in_flight = metrics_.in_flight();
    auto one = [&](const ServedModel<T>& m, std::string_view role) {
      AliasState a;
      a.alias = m.alias();
      a.role = std::string(role);
      if (const auto h = m.current()) {
        a.version = h->version;
        a.loaded_at = h->loaded_at;
      }
      a.reloads = m.reloads();
      a.reload_failures = m.failures();
      s.aliases.push_back(std::move(a));
    };
    one(champion_, "champion");
    if (has_challenger()) one(challenger_, "challenger");
    {
      std::lock_guard lock(quality_mutex_);
      s.quality = quality_;
      s.ab_pairs = test_.pairs();
      s.ab_wins = test_.wins();
      s.ab_losses = test_.losses();
      s.ab_llr = test_.llr();
      s.ab_decision = static_cast<int>(test_.recommendation());
    }
    s.rollbacks = rollbacks();
    if (const auto r = drift_report()) s.drift_text = to_prometheus(*r, {{"model", c_.name}, {"alias", champion_.alias()}});
    return s;
  }
  /// snapshot() in the Prometheus text format, every sample labelled with the model name.
  std::string prometheus_text() const { return to_prometheus(snapshot(), {{"model", c_.name}}); }

 private:
  struct monitor_box {
    std::uint64_t version = 0;
    std::mutex m;
    DriftMonitor<T> mon;
  };

  // Gathers a request row into `p`'s feature order and numeric form, then calls
  // f(std::span<const T>) on it. Rows of up to wide_row features stay on the stack.
  template <class F>
  static auto with_numeric_row(const FittedPipeline<T>& p, const std::vector<std::size_t>& cols, std::span<const input_value> values,
                               F&& f) noexcept {
    const std::size_t d = p.n_features();
    std::array<T, FittedPipeline<T>::wide_row> small_x;  // not initialised: every used slot is written below
    T* x = small_x.data();
    if (d > FittedPipeline<T>::wide_row) {
      thread_local std::vector<T> big_x;
      if (big_x.size() < d) big_x.resize(d);
      x = big_x.data();
    }
    for (std::size_t j = 0; j < d; ++j) x[j] = p.numeric_value(j, values[cols[j]]);
    return f(std::span<const T>(x, d));
  }

  predict_status run_one(const FittedPipeline<T>& p, const std::vector<std::size_t>& cols, std::span<const input_value> values, T& out,
                         bool observe, std::uint64_t version) noexcept {
    return with_numeric_row(p, cols, values, [&](std::span<const T> x) {
      const auto st = p.try_predict(x, out);
      if (observe && st == predict_status::ok) {
        if (auto box = monitor_.load(std::memory_order_acquire); box && box->version == version) {
          std::lock_guard lock(box->m);
          box->mon.observe(x, out);
        }
      }
      return st;
    });
  }

  void add_quality(std::string_view role, std::uint64_t version, double loss) {
    for (auto& q : quality_)
      if (q.role == role && q.version == version) {
        ++q.labels;
        q.loss_sum += loss;
        return;
      }
    if (quality_.size() >= 16) quality_.erase(quality_.begin());  // the oldest versions leave the export
    quality_.push_back(VersionQuality{std::string(role), version, 1, loss});
  }

  void emit(const ServeEvent& e) const {
    if (on_event_) on_event_(e);
  }
  void record_error(const ServeEvent& e) {
    std::lock_guard lock(error_mutex_);
    std::string& slot = e.alias == challenger_.alias() && has_challenger() ? challenger_error_ : champion_error_;
    if (e.kind == ServeEvent::kind_t::load_failed) slot = e.message;
    else if (e.kind == ServeEvent::kind_t::loaded || e.kind == ServeEvent::kind_t::reloaded) slot.clear();
  }

  // A new champion version: a fresh monitor (when the model carries a drift profile).
  void champion_changed() {
    const auto h = champion_.current();
    if (!c_.monitor || !h || !h->pipeline.has_drift_profile()) {
      monitor_.store(nullptr, std::memory_order_release);
      return;
    }
    auto box = std::make_shared<monitor_box>();
    box->version = h->version;
    box->mon = h->pipeline.monitor(c_.drift);
    box->mon.on_alert([this, v = h->version](const DriftAlert& a) {
      const bool concept_stat = a.statistic == drift_statistic::error_ratio || a.statistic == drift_statistic::page_hinkley ||
                                a.statistic == drift_statistic::adwin || a.statistic == drift_statistic::ddm;
      if (concept_stat && a.level == alert_level::critical) rollback_version_.store(v, std::memory_order_relaxed);
      if (!on_event_) return;
      ServeEvent e;
      e.kind = ServeEvent::kind_t::alert;
      e.alias = champion_.alias();
      e.from_version = e.to_version = v;
      e.message = fmt::format("{}: drift alert on version {}: {} {}{}{} = {:.4g} (threshold {:.4g}), rows {}..{}", c_.name, v,
                              level_name(a.level), statistic_name(a.statistic), a.feature.empty() ? "" : " of ", a.feature, a.value,
                              a.threshold, a.window_begin, a.window_end);
      emit(e);
    });
    monitor_.store(std::move(box), std::memory_order_release);
  }

  bool poll_registry() {
    std::error_code ec;
    if (!std::filesystem::is_directory(c_.registry, ec))
      MLOPS_THROW(io_error(errc::io, fmt::format("'{}' is not a registry directory", c_.registry.string())));
    ModelRegistry reg(c_.registry);
    reg.set_load_check(c_.verify);
    reg.on_warning([this](std::string_view w) {
      ServeEvent e;
      e.kind = ServeEvent::kind_t::warning;
      e.alias = c_.alias;
      e.message = fmt::format("{}: {}", c_.name, w);
      emit(e);
    });
    bool changed = false;
    // A critical concept-drift alert on the serving champion: roll its alias back once.
    const std::uint64_t bad = rollback_version_.exchange(0, std::memory_order_relaxed);
    if (bad && c_.auto_rollback && bad == champion_.version() && bad != rolled_back_from_) {
      rolled_back_from_ = bad;
      ServeEvent e;
      e.alias = c_.alias;
      e.from_version = bad;
#if MLOPS_HAS_EXCEPTIONS
      try {
#endif
        e.to_version = reg.rollback(c_.name, c_.alias, "mlops serve: critical concept drift");
        e.kind = ServeEvent::kind_t::rolled_back;
        e.message = fmt::format("{}: critical concept drift on version {}: rolled '{}' back to version {}", c_.name, bad, c_.alias,
                                e.to_version);
        rollbacks_.fetch_add(1, std::memory_order_relaxed);
#if MLOPS_HAS_EXCEPTIONS
      } catch (const std::exception& ex) {
        e.kind = ServeEvent::kind_t::load_failed;
        e.to_version = bad;
        e.message = fmt::format("{}: critical concept drift on version {}, but '{}' cannot be rolled back: {}", c_.name, bad, c_.alias,
                                ex.what());
      }
#endif
      record_error(e);
      emit(e);
    }
    const auto aliases = reg.aliases(c_.name);
    auto follow = [&](ServedModel<T>& served, const std::string& alias, failure& failed) {
      const auto it = aliases.find(alias);
      if (it == aliases.end()) {
        if (failed.version != no_alias) {
          failed = {no_alias, std::nullopt};
          ServeEvent e;
          e.kind = ServeEvent::kind_t::load_failed;
          e.alias = alias;
          e.from_version = served.version();
          e.message = fmt::format("{}: the registry has no alias '{}' for '{}'; {}", c_.name, alias, c_.name,
                                  served.version() ? "the loaded version keeps serving" : "nothing to serve until it is set");
          record_error(e);
          emit(e);
        }
        return;
      }
      const std::uint64_t v = it->second;
      if (v == served.version()) {
        if (failed.version) {  // the alias moved back to the version serving: the failure is over
          failed = {};
          std::lock_guard lock(error_mutex_);
          (&served == &champion_ ? champion_error_ : challenger_error_).clear();
        }
        return;
      }
      // A failed version is tried again when the alias moves or, with a load check, when
      // its signature changes (signed after it was promoted).
      std::optional<std::string> sig;
      if (c_.verify) sig = reg.signature(c_.name, v);
      if (v == failed.version && sig == failed.signature) return;
      if (served.load([&] { return reg.load<T>(c_.name, std::to_string(v)); }, v, fmt::format("registry:{}@{}", c_.name, v))) {
        failed = {};
        changed = true;
        if (&served == &champion_) champion_changed();
      } else {
        failed = {v, std::move(sig)};
      }
    };
    follow(champion_, c_.alias, champion_failed_);
    if (has_challenger()) follow(challenger_, c_.challenger, challenger_failed_);
    return changed;
  }

  bool poll_file() {
    std::error_code ec;
    const auto st = std::filesystem::status(c_.file, ec);
    if (ec || !std::filesystem::is_regular_file(st))
      MLOPS_THROW(io_error(errc::io, fmt::format("'{}' is not a readable model file", c_.file.string())));
    // The file's stamp, and its signature's when a load check may need it: a file signed
    // after it was placed is tried again.
    auto stamp_of = [](const std::filesystem::path& p) {
      std::error_code e;
      const auto t = std::filesystem::last_write_time(p, e);
      const auto n = std::filesystem::file_size(p, e);
      return e ? std::pair<std::int64_t, std::int64_t>{-1, -1}
               : std::pair<std::int64_t, std::int64_t>{t.time_since_epoch().count(), static_cast<std::int64_t>(n)};
    };
    const auto stamp = std::pair{stamp_of(c_.file), c_.verify ? stamp_of(model_file_signature_path(c_.file)) : std::pair<std::int64_t, std::int64_t>{}};
    if (file_loads_ && stamp == file_stamp_) return false;
    file_stamp_ = stamp;
    const std::uint64_t v = file_loads_ + 1;  // the n-th distinct content seen at the path
    auto load = [&] {
      if (!c_.verify) return FittedPipeline<T>::load(c_.file);
      const auto f = read_model_file(c_.file);
      c_.verify(f);
      return FittedPipeline<T>::from_bytes(f.model_bytes, c_.file.string());
    };
    if (!champion_.load(load, v, c_.file.string())) return false;
    file_loads_ = v;
    champion_changed();
    return true;
  }

  static constexpr std::uint64_t no_alias = ~std::uint64_t{0};

  ServiceConfig c_;
  ServedModel<T> champion_, challenger_;
  ServingMetrics metrics_;
  FeedbackStore store_;
  event_callback on_event_;

  mutable std::mutex quality_mutex_;
  PairedSequentialTest test_;
  std::pair<std::uint64_t, std::uint64_t> test_versions_{0, 0};
  std::vector<VersionQuality> quality_;

  std::atomic<std::shared_ptr<monitor_box>> monitor_;
  std::atomic<std::uint64_t> rollback_version_{0};
  std::atomic<std::uint64_t> rollbacks_{0};
  std::uint64_t rolled_back_from_ = 0;

  mutable std::mutex error_mutex_;
  std::string champion_error_, challenger_error_;

  std::mutex poll_mutex_;  // one poll at a time
  struct failure {
    std::uint64_t version = 0;             // the alias's version that failed (no_alias: no alias)
    std::optional<std::string> signature;  // its signature then (with a load check)
  };
  failure champion_failed_, challenger_failed_;
  std::pair<std::pair<std::int64_t, std::int64_t>, std::pair<std::int64_t, std::int64_t>> file_stamp_{};
  std::uint64_t file_loads_ = 0;

  std::atomic<bool> stop_flag_{true}, notifying_{false};
  std::atomic<std::uint64_t> checks_{0};
  std::mutex waiter_mutex_;
  detail::change_waiter* waiter_ = nullptr;  // the watcher thread's, while it runs
  std::thread watcher_;
};

MLOPS_NAMESPACE_END
