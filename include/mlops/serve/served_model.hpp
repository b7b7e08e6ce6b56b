// mlops/serve/served_model.hpp - a fitted pipeline that serving threads read while
// another thread swaps in a new version.
//
//   mlops::ServedModel<double> served;
//   served.on_event([](const mlops::ServeEvent& e) { log(e.message); });
//   served.load([&] { return registry.load<double>("price", "7"); }, 7, "registry:price@7");
//   auto v = served.current();                 // a handle: keeps its version alive
//   if (v) y = v->pipeline.predict_row(row);   // in-flight work finishes on the version it started with
//
// Publication is atomic (std::atomic<std::shared_ptr>): a reader gets the old or the new
// version, whole, and holds it as long as its handle lives; readers take no mutex (the
// standard library guards the pointer copy with a per-object spin bit for a few
// instructions) and allocate nothing. A version that fails to load or validate never
// replaces a working one: the failure is reported through the event callback and the
// previous version keeps serving.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN

/// What a served model (or a service) reports through its callback. Never thrown.
struct ServeEvent {
  enum class kind_t : std::uint8_t {
    loaded = 0,        // the first version of an alias was published
    reloaded = 1,      // a new version replaced the previous one
    load_failed = 2,   // a version failed to load or validate; the previous one keeps serving
    rolled_back = 3,   // the champion alias was rolled back (critical concept drift)
    recommendation = 4,// the champion/challenger test reached a decision
    alert = 5,         // the champion's drift monitor raised or cleared an alert
    warning = 6,       // a repair made on the way (a torn registry record cut)
  };
  kind_t kind = kind_t::loaded;
  std::string alias;                        // "production", "staging", "file"
  std::uint64_t from_version = 0, to_version = 0;
  std::string message;                      // one line, for a log
};
constexpr std::string_view event_name(ServeEvent::kind_t k) noexcept {
  constexpr std::string_view n[] = {"loaded", "reloaded", "load_failed", "rolled_back", "recommendation", "alert", "warning"};
  return n[static_cast<int>(k)];
}

/// A checked pipeline: empty when it can serve, else why not. The default check predicts
/// one probe row (the reference means of the drift profile, or zeros) and requires a
/// finite answer.
template <scalar T>
std::string check_servable(const FittedPipeline<T>& p) {
  std::vector<T> probe(p.n_features(), T(0));
  if (p.has_drift_profile()) {
    const auto& f = p.drift_profile().features;
    for (std::size_t j = 0; j < probe.size() && j < f.size(); ++j)
      if (std::isfinite(f[j].mean)) probe[j] = static_cast<T>(f[j].mean);
  }
  T y{};
  const auto st = p.try_predict(probe, y);
  if (st != predict_status::ok)
    return fmt::format("the model predicts {} on a probe row of reference values", st == predict_status::wrong_length ? "nothing" : "a non-finite value");
  return {};
}

template <scalar T>
class ServedModel {
 public:
  /// One published version: the pipeline, its registry version (0 for a file), where it
  /// came from, and when it was loaded.
  struct snapshot {
    FittedPipeline<T> pipeline;
    std::uint64_t version = 0;
    std::string source;
    double loaded_at = 0;  // unix seconds
  };
  using handle = std::shared_ptr<const snapshot>;
  using event_callback = std::function<void(const ServeEvent&)>;
  /// Returns empty when the pipeline may serve, else the reason it may not.
  using validator = std::function<std::string(const FittedPipeline<T>&)>;

  explicit ServedModel(std::string alias = "production") : alias_(std::move(alias)) {}
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& alias() const noexcept { return alias_; }
  /// The version being served (null before the first successful load). noexcept, no allocation.
  handle current() const noexcept { return current_.load(std::memory_order_acquire); }
  std::uint64_t version() const noexcept {
    const auto h = current();
    return h ? h->version : 0;
  }
  std::uint64_t reloads() const noexcept { return reloads_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

  /// Set before serving starts (not synchronised with publish).
  void on_event(event_callback fn) { on_event_ = std::move(fn); }
  void set_validator(validator v) { validate_ = std::move(v); }

  /// Validates `p` and publishes it. False (reported, nothing replaced) when it fails
  /// validation. Publishing is serialised; readers are never blocked.
  bool publish(FittedPipeline<T> p, std::uint64_t version, std::string source) {
    std::string why = validate_ ? validate_(p) : check_servable(p);
    if (!why.empty()) {
      fail(version, fmt::format("{}: version {} ({}) was not published: {}", alias_, version, source, why));
      return false;
    }
    auto next = std::make_shared<const snapshot>(snapshot{std::move(p), version, std::move(source), unix_now()});
    const auto prev = current_.exchange(next, std::memory_order_acq_rel);
    ServeEvent e;
    e.alias = alias_;
    e.from_version = prev ? prev->version : 0;
    e.to_version = version;
    if (prev) {
      reloads_.fetch_add(1, std::memory_order_relaxed);
      e.kind = ServeEvent::kind_t::reloaded;
      e.message = fmt::format("{}: reloaded version {} -> {} ({})", alias_, e.from_version, version, next->source);
    } else {
      e.kind = ServeEvent::kind_t::loaded;
      e.message = fmt::format("{}: loaded version {} ({})", alias_, version, next->source);
    }
    emit(e);
    return true;
  }
  /// Runs `load` (which returns a FittedPipeline<T> or throws) and publishes the result;
  /// a thrown error is reported and the working version keeps serving. False on failure.
  template <class Loader>
  bool load(Loader&& loader, std::uint64_t version, std::string source) {
#if MLOPS_HAS_EXCEPTIONS
    try {
      return publish(std::forward<Loader>(loader)(), version, std::move(source));
    } catch (const std::exception& ex) {
      fail(version, fmt::format("{}: version {} ({}) failed to load: {}", alias_, version, source, ex.what()));
      return false;
    }
#else
    return publish(std::forward<Loader>(loader)(), version, std::move(source));
#endif
  }
  /// Stops serving (current() becomes null).
  void clear() noexcept { current_.store(nullptr, std::memory_order_release); }

 private:
  static double unix_now() noexcept {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  void fail(std::uint64_t version, std::string message) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    ServeEvent e;
    e.kind = ServeEvent::kind_t::load_failed;
    e.alias = alias_;
    e.from_version = this->version();
    e.to_version = version;
    e.message = std::move(message);
    emit(e);
  }
  void emit(const ServeEvent& e) const {
    if (on_event_) on_event_(e);
  }

  std::string alias_;
  std::atomic<std::shared_ptr<const snapshot>> current_;
  std::atomic<std::uint64_t> reloads_{0}, failures_{0};
  event_callback on_event_;
  validator validate_;
};

MLOPS_NAMESPACE_END
