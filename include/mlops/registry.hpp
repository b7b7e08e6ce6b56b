// mlops/registry.hpp - an embedded model registry: a directory on disk, no server.
//
//   mlops::ModelRegistry reg{"models"};
//   auto v = reg.register_model("price", fitted, {.parameters = {{"alpha", "1"}}});
//   reg.promote("price", v, "production");
//   auto live = reg.load<double>("price", "production");
//   reg.rollback("price", "production");            // back to the previous holder
//
// Layout (docs/registry.md):
//   DIR/.lock                     advisory lock (flock): writers exclusive, readers shared
//   DIR/NAME/v000001.mlops        the pipeline file (the format of docs/file-format.md)
//   DIR/NAME/v000001.json         its metadata; its presence is the version's commit point
//   DIR/NAME/v000001.sig          its signature, when signed (mlops/io/signing.hpp)
//   DIR/NAME/v000001.deleted      tombstone of a deleted version (numbers are never reused)
//   DIR/NAME/history.log          append-only alias history, one checksummed line per change
//   DIR/NAME/index.json           a summary rewritten after every change; readers never
//                                 trust it (everything derives from the files above), so a
//                                 damaged or missing index changes nothing and is rebuilt
//                                 by the next change or rebuild_index()
//
// Every file is written with the crash-safe protocol (temporary file, fsync, rename,
// fsync of the directory); history lines are appended and fsynced, and a torn or
// garbled last line is ignored (and cut off before the next append). Two processes
// registering at once serialise on the lock and never get the same version number.
// Names are [A-Za-z0-9_.-], at most 128 characters, not starting with '.'; files are
// opened without following symbolic links, and a NAME directory that is a link is refused.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/durable_file.hpp"
#include "mlops/detail/crc32c.hpp"
#include "mlops/detail/json_limits.hpp"
#include "mlops/io/fingerprint.hpp"
#include "mlops/pipeline.hpp"

MLOPS_NAMESPACE_BEGIN

/// What a registered version carries besides the model.
struct ModelMetadata {
  std::map<std::string, std::string> parameters;  // trainer and step settings, free-form
  std::map<std::string, double> metrics;          // merged over the pipeline's stored metrics
  std::string data_fingerprint;                   // data_fingerprint(training frame)
  std::optional<std::uint64_t> parent;            // default: the latest version at registration
  std::map<std::string, std::string> tags;
};

struct ModelVersion {
  std::string name;
  std::uint64_t version = 0;
  std::string created_at;          // ISO 8601 UTC
  std::int64_t created_at_unix = 0;
  std::string target, task, scalar;  // task: regression | classification; scalar: float | double
  std::vector<std::string> features;
  ModelMetadata metadata;
  std::vector<std::string> aliases;  // aliases that point at it now
  std::uint64_t model_bytes = 0;
};

/// The exact bytes of one version as stored: what a signature covers and a load check
/// sees. For a model file outside a registry, `name` is the file's path, `version` 0,
/// `metadata_bytes` empty and `signature` its sidecar (MODEL.mlops.sig).
struct VersionFiles {
  std::string name;
  std::uint64_t version = 0;
  std::string model_bytes;
  std::string metadata_bytes;
  std::optional<std::string> signature;
};

/// A model file outside a registry as a load check sees it: its bytes and its signature
/// from the sidecar MODEL.mlops.sig (model_file_signature_path).
inline std::filesystem::path model_file_signature_path(const std::filesystem::path& model) { return model.string() + ".sig"; }
MLOPS_FUNC VersionFiles read_model_file(const std::filesystem::path& model);

/// One alias change: promote pushes a version, rollback returns to the previous holder.
struct AliasEvent {
  std::uint64_t seq = 0;
  std::string time;  // ISO 8601 UTC
  std::string alias, action, who;
  std::optional<std::uint64_t> version, previous;  // holder after / before the change
};

struct VersionComparison {
  struct entry {
    std::string key;
    std::optional<double> a, b;
  };
  struct text_entry {
    std::string key;
    std::optional<std::string> a, b;
  };
  std::uint64_t a = 0, b = 0;
  std::vector<entry> metrics;            // every metric of either version
  std::vector<text_entry> parameters;    // parameters that differ
  bool same_schema = true;               // same target and features in the same order
};

namespace detail {

/// Timestamps of versions and alias events: ISO 8601 UTC, and now as Unix seconds.
MLOPS_FUNC std::string iso_utc(std::int64_t unix_seconds);
MLOPS_FUNC std::int64_t unix_now();

/// Every key of either map with its value in each (sorted by key).
template <class V>
std::vector<std::tuple<std::string, std::optional<V>, std::optional<V>>> side_by_side(const std::map<std::string, V>& a,
                                                                                      const std::map<std::string, V>& b) {
  std::set<std::string> keys;
  for (const auto& kv : a) keys.insert(kv.first);
  for (const auto& kv : b) keys.insert(kv.first);
  std::vector<std::tuple<std::string, std::optional<V>, std::optional<V>>> out;
  for (const auto& k : keys) {
    std::optional<V> x, y;
    if (auto it = a.find(k); it != a.end()) x = it->second;
    if (auto it = b.find(k); it != b.end()) y = it->second;
    out.emplace_back(k, std::move(x), std::move(y));
  }
  return out;
}

inline std::string version_stem(std::uint64_t v) { return fmt::format("v{:06}", v); }
/// The largest version number: a file named with a larger one is not a version (ignored
/// as foreign), and registering past it is refused.
inline constexpr std::uint64_t max_version = 999'999'999;
/// The largest history.log read (about a million alias changes): beyond it the registry
/// refuses to read rather than size memory by a damaged (or sparse) file.
inline constexpr std::uint64_t max_history_bytes = std::uint64_t{256} << 20;

/// "v000012.json" -> 12 (with the extension); nullopt for any other name.
MLOPS_FUNC std::optional<std::uint64_t> version_of(const std::string& file, std::string_view ext);
}  // namespace detail

MLOPS_FUNC void to_json(nlohmann::json& j, const ModelVersion& v);
MLOPS_FUNC void to_json(nlohmann::json& j, const AliasEvent& e);
MLOPS_FUNC void to_json(nlohmann::json& j, const VersionComparison& c);

class ModelRegistry {
 public:
  /// Opens (creating if needed) the registry directory.
  explicit ModelRegistry(std::filesystem::path root);
  const std::filesystem::path& root() const noexcept;
  /// Receives what a writer repaired on its way (a torn last history record cut after an
  /// interrupted write), one line each. Never called for a change the caller asked for.
  using warning_callback = std::function<void(std::string_view)>;
  void on_warning(warning_callback fn) { warn_ = std::move(fn); }
  /// A check every load() runs on the version's bytes (after the registration checksum,
  /// before the model is parsed); it throws to refuse the version. Signing installs one
  /// that requires a trusted signature (signing::require_signed_by).
  using load_check = std::function<void(const VersionFiles&)>;
  void set_load_check(load_check fn) { check_ = std::move(fn); }

  /// Names must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.': no path
  /// separators, "..", NUL or absolute paths can reach outside the registry.
  static void check_name(std::string_view name, std::string_view what = "model name");

  /// Registers a fitted pipeline as the next version of `name`; returns its number.
  template <scalar T>
  std::uint64_t register_model(std::string_view name, const FittedPipeline<T>& pipeline, ModelMetadata meta = {}) {
    check_name(name);
    const auto dir = model_dir(name, true);
    detail::registry_lock lock(root_, true);
    remove_debris(dir);
    const auto scan = scan_dir(dir);
    if (scan.highest >= detail::max_version)
      MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' has used every version number up to {}; register under "
                                                                     "another name", name, detail::max_version)));
    const std::uint64_t v = scan.highest + 1;
    if (!meta.parent && !scan.live.empty()) meta.parent = *scan.live.rbegin();
    const std::string bytes = pipeline.to_bytes();
    nlohmann::json j;
    const auto now = detail::unix_now();
    j["format"] = "mlops-registry-version";
    j["format_version"] = 1;
    j["name"] = std::string(name);
    j["version"] = v;
    j["created_at"] = detail::iso_utc(now);
    j["created_at_unix"] = now;
    j["parent"] = meta.parent ? nlohmann::json(*meta.parent) : nlohmann::json(nullptr);
    j["parameters"] = meta.parameters;
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, x] : pipeline.metrics())
      if (std::isfinite(x)) metrics[k] = x;
    for (const auto& [k, x] : meta.metrics)
      if (std::isfinite(x)) metrics[k] = x;
    j["metrics"] = metrics;
    j["data_fingerprint"] = meta.data_fingerprint;
    j["tags"] = meta.tags;
    j["schema"] = {{"target", pipeline.target()},
                   {"features", pipeline.features()},
                   {"task", pipeline.is_classifier() ? "classification" : "regression"},
                   {"scalar", sizeof(T) == 4 ? "float" : "double"}};
    j["model_file"] = detail::version_stem(v) + ".mlops";
    j["model_bytes"] = bytes.size();
    j["model_crc32c"] = fmt::format("{:08x}", detail::crc32c(bytes.data(), bytes.size()));
    // The metadata is made before anything is written, and cannot fail to print: a name
    // that is not valid UTF-8 (possible through the C++ API) has its bad bytes replaced
    // by U+FFFD here, while the model file keeps them exactly.
    const std::string meta_text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    detail::atomic_write_file(dir / (detail::version_stem(v) + ".mlops"), bytes);
    detail::atomic_write_file(dir / (detail::version_stem(v) + ".json"), meta_text);  // the commit point
    refresh_index(name, dir, fmt::format("'{}' version {} is registered", name, v));
    return v;
  }

  /// Every model name in the registry, sorted.
  std::vector<std::string> models() const;

  /// Every live version of `name`, oldest first.
  std::vector<ModelVersion> versions(std::string_view name) const;
  std::optional<std::uint64_t> latest(std::string_view name) const;
  /// A version by number ("3"), alias ("production") or "latest".
  ModelVersion get(std::string_view name, std::string_view spec) const;
  std::uint64_t resolve(std::string_view name, std::string_view spec) const;
  /// Loads the pipeline of a version (number, alias or "latest"); its bytes are checked
  /// against the checksum recorded at registration.
  template <scalar T>
  FittedPipeline<T> load(std::string_view name, std::string_view spec) const {
    const auto f = files(name, spec);
    if (check_) check_(f);
    return FittedPipeline<T>::from_bytes(f.model_bytes, (model_dir(name, false) / (detail::version_stem(f.version) + ".mlops")).string());
  }
  /// The stored bytes of a version (number, alias or "latest"): the model file, checked
  /// against the checksum recorded at registration, its metadata file, its signature.
  VersionFiles files(std::string_view name, std::string_view spec) const;
  /// Stores `signature` beside a version (replacing one stored before). The registry
  /// never interprets it; mlops/io/signing.hpp makes and checks it.
  void attach_signature(std::string_view name, std::uint64_t version, std::string_view signature);
  /// The signature stored beside a version, if any.
  std::optional<std::string> signature(std::string_view name, std::uint64_t version) const;

  /// Current aliases of `name`: alias -> version.
  std::map<std::string, std::uint64_t> aliases(std::string_view name) const;

  /// Points `alias` at `version` (the previous holder is remembered for rollback).
  void promote(std::string_view name, std::uint64_t version, std::string_view alias, std::string_view who = {});

  /// Returns `alias` to its previous holder; returns that version. registry_error
  /// (registry.alias) when the alias has no previous holder.
  std::uint64_t rollback(std::string_view name, std::string_view alias, std::string_view who = {});

  /// The alias history of `name` (every alias, or one), oldest first.
  std::vector<AliasEvent> history(std::string_view name, std::string_view alias = {}) const;

  /// Metrics of both versions side by side, the parameters that differ, and whether the
  /// schema is the same.
  VersionComparison compare(std::string_view name, std::string_view spec_a, std::string_view spec_b) const;

  /// Deletes a version (its files; a tombstone keeps its number from being reused).
  /// registry_error (registry.in_use) if an alias points at it or could roll back to it.
  void delete_version(std::string_view name, std::uint64_t version);

  /// Retention: keeps the newest `keep_last` versions and every version an alias holds
  /// or could roll back to; deletes the rest. Returns the deleted version numbers.
  std::vector<std::uint64_t> apply_retention(std::string_view name, std::size_t keep_last);

  /// Rewrites DIR/NAME/index.json from the version files and the history (what every
  /// reader does in memory when the index is missing, damaged or stale).
  void rebuild_index(std::string_view name);

 private:
  struct dir_scan {
    std::set<std::uint64_t> live;  // committed versions (metadata present)
    std::uint64_t highest = 0;     // highest number ever used (live, orphaned or deleted)
  };
  struct alias_state {
    std::vector<AliasEvent> events;
    std::map<std::string, std::vector<std::uint64_t>> stacks;  // alias -> holders, current last
    std::uint64_t valid_bytes = 0, file_bytes = 0;             // of history.log
  };

  std::filesystem::path model_dir(std::string_view name, bool create) const;

  /// Under the exclusive lock no other writer is active: temporary files of interrupted
  /// writes and model files whose metadata never landed are debris. An orphan's number
  /// stays used (a tombstone replaces it), so numbers are never handed out twice.
  static void remove_debris(const std::filesystem::path& dir);

  static dir_scan scan_dir(const std::filesystem::path& dir);

  /// The metadata of version v, parsed and checked to describe it; its bytes into `bytes`.
  nlohmann::json read_meta_json(std::string_view name, const std::filesystem::path& dir, std::uint64_t v, std::string* bytes = nullptr) const;

  ModelVersion read_version(std::string_view name, const std::filesystem::path& dir, std::uint64_t v, const alias_state& state) const;

  std::uint64_t resolve_locked(std::string_view name, const std::filesystem::path& dir, std::string_view spec, const alias_state& state) const;

  static std::string join_keys(const std::map<std::string, std::uint64_t>& m);

  static std::map<std::string, std::uint64_t> current_aliases(const alias_state& s);
  static std::set<std::uint64_t> needed_by_aliases(const alias_state& s);

  /// Replays history.log: valid lines up to the first torn or garbled one.
  alias_state read_state(std::string_view name, const std::filesystem::path& dir) const;

  void append_event(const std::filesystem::path& dir, alias_state& s, std::string alias, std::string_view action,
                    std::optional<std::uint64_t> version, std::optional<std::uint64_t> previous, std::string_view who);

  void delete_locked(std::string_view name, const std::filesystem::path& dir, std::uint64_t v, const alias_state& state);

  /// index.json: a summary readers may use; always derivable from the files.
  void write_index(std::string_view name, const std::filesystem::path& dir) const;
  /// write_index after a commit point: the change (`done`) is in effect whatever happens
  /// here, so a failure to rewrite the index (a cache readers rebuild from the files) is a
  /// warning, never an error that would make a caller retry a committed change.
  void refresh_index(std::string_view name, const std::filesystem::path& dir, std::string_view done) const;

  std::filesystem::path root_;
  warning_callback warn_;
  load_check check_;
};

MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_IO)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC std::string iso_utc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

MLOPS_FUNC std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

MLOPS_FUNC std::optional<std::uint64_t> version_of(const std::string& file, std::string_view ext) {
  if (file.size() < 2 + ext.size() || file[0] != 'v' || !file.ends_with(ext)) return std::nullopt;
  const std::string_view digits(file.data() + 1, file.size() - 1 - ext.size());
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || v == 0 || v > max_version) return std::nullopt;
  return v;
}
}  // namespace detail

MLOPS_FUNC void to_json(nlohmann::json& j, const ModelVersion& v) {
  j = {{"name", v.name},
       {"version", v.version},
       {"created_at", v.created_at},
       {"aliases", v.aliases},
       {"task", v.task},
       {"scalar", v.scalar},
       {"target", v.target},
       {"features", v.features},
       {"parent", v.metadata.parent ? nlohmann::json(*v.metadata.parent) : nlohmann::json(nullptr)},
       {"parameters", v.metadata.parameters},
       {"metrics", v.metadata.metrics},
       {"data_fingerprint", v.metadata.data_fingerprint},
       {"tags", v.metadata.tags},
       {"model_bytes", v.model_bytes}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const AliasEvent& e) {
  j = {{"seq", e.seq},
       {"time", e.time},
       {"alias", e.alias},
       {"action", e.action},
       {"version", e.version ? nlohmann::json(*e.version) : nlohmann::json(nullptr)},
       {"previous", e.previous ? nlohmann::json(*e.previous) : nlohmann::json(nullptr)},
       {"who", e.who}};
}

MLOPS_FUNC void to_json(nlohmann::json& j, const VersionComparison& c) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json m = nlohmann::json::array(), p = nlohmann::json::array();
  for (const auto& e : c.metrics) {
    nlohmann::json x = {{"metric", e.key}, {"a", opt(e.a)}, {"b", opt(e.b)}};
    x["delta"] = e.a && e.b ? nlohmann::json(*e.b - *e.a) : nlohmann::json(nullptr);
    m.push_back(std::move(x));
  }
  for (const auto& e : c.parameters) p.push_back({{"parameter", e.key}, {"a", opt(e.a)}, {"b", opt(e.b)}});
  j = {{"a", c.a}, {"b", c.b}, {"metrics", m}, {"parameters", p}, {"same_schema", c.same_schema}};
}


MLOPS_FUNC ModelRegistry::ModelRegistry(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(root_)) && !std::filesystem::is_directory(root_))
    MLOPS_THROW(io_error(errc::io, fmt::format("cannot create the registry directory '{}'{}", root_.string(),
                                               ec ? ": " + ec.message() : std::string())));
}

MLOPS_FUNC const std::filesystem::path& ModelRegistry::root() const noexcept { return root_; }

MLOPS_FUNC void ModelRegistry::check_name(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= 128 && name.front() != '.';
  for (const char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.');
  if (!ok)
    MLOPS_THROW(registry_error(errc::registry_bad_name,
                               fmt::format("invalid {} '{}': use 1-128 characters of A-Z a-z 0-9 _ . - not starting with '.'", what,
                                           std::string(name.substr(0, 200)))));
}

MLOPS_FUNC std::vector<std::string> ModelRegistry::models() const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(root_)) {
    const auto n = e.path().filename().string();
    if (n.empty() || n[0] == '.' || !e.is_directory() || e.is_symlink()) continue;
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

MLOPS_FUNC std::vector<ModelVersion> ModelRegistry::versions(std::string_view name) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  const auto state = read_state(name, dir);
  std::vector<ModelVersion> out;
  for (const auto v : scan_dir(dir).live) out.push_back(read_version(name, dir, v, state));
  return out;
}

MLOPS_FUNC std::optional<std::uint64_t> ModelRegistry::latest(std::string_view name) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  const auto s = scan_dir(dir);
  if (s.live.empty()) return std::nullopt;
  return *s.live.rbegin();
}

MLOPS_FUNC ModelVersion ModelRegistry::get(std::string_view name, std::string_view spec) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  const auto state = read_state(name, dir);
  return read_version(name, dir, resolve_locked(name, dir, spec, state), state);
}

MLOPS_FUNC std::uint64_t ModelRegistry::resolve(std::string_view name, std::string_view spec) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  return resolve_locked(name, dir, spec, read_state(name, dir));
}

MLOPS_FUNC std::map<std::string, std::uint64_t> ModelRegistry::aliases(std::string_view name) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  return current_aliases(read_state(name, dir));
}

MLOPS_FUNC void ModelRegistry::promote(std::string_view name, std::uint64_t version, std::string_view alias, std::string_view who) {
  check_name(alias, "alias");
  if (alias == "latest" || std::all_of(alias.begin(), alias.end(), [](char c) { return c >= '0' && c <= '9'; }))
    MLOPS_THROW(registry_error(errc::registry_bad_name, fmt::format("alias '{}' would read as a version; choose a word", alias)));
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  remove_debris(dir);
  if (!scan_dir(dir).live.count(version))
    MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no version {}", name, version)));
  auto state = read_state(name, dir);
  const auto cur = current_aliases(state);
  const auto it = cur.find(std::string(alias));
  append_event(dir, state, std::string(alias), "promote", version, it == cur.end() ? std::nullopt : std::optional(it->second), who);
  refresh_index(name, dir, fmt::format("'{}' {} -> version {}", name, alias, version));
}

MLOPS_FUNC std::uint64_t ModelRegistry::rollback(std::string_view name, std::string_view alias, std::string_view who) {
  check_name(alias, "alias");
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  remove_debris(dir);
  auto state = read_state(name, dir);
  const auto& stack = state.stacks[std::string(alias)];
  if (stack.size() < 2)
    MLOPS_THROW(registry_error(errc::registry_alias, fmt::format("'{}' alias '{}' has {}; nothing to roll back to", name, alias,
                                                                 stack.empty() ? "never been set" : "no previous holder")));
  const std::uint64_t now = stack.back(), prev = stack[stack.size() - 2];
  append_event(dir, state, std::string(alias), "rollback", prev, now, who);
  refresh_index(name, dir, fmt::format("'{}' {} rolled back to version {}", name, alias, prev));
  return prev;
}

MLOPS_FUNC std::vector<AliasEvent> ModelRegistry::history(std::string_view name, std::string_view alias) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  std::vector<AliasEvent> out;
  for (const auto& e : read_state(name, dir).events)
    if (alias.empty() || e.alias == alias) out.push_back(e);
  return out;
}

MLOPS_FUNC VersionComparison ModelRegistry::compare(std::string_view name, std::string_view spec_a, std::string_view spec_b) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  const auto state = read_state(name, dir);
  const auto va = read_version(name, dir, resolve_locked(name, dir, spec_a, state), state);
  const auto vb = read_version(name, dir, resolve_locked(name, dir, spec_b, state), state);
  VersionComparison c;
  c.a = va.version, c.b = vb.version;
  for (auto& [k, a, b] : detail::side_by_side(va.metadata.metrics, vb.metadata.metrics)) c.metrics.push_back({k, a, b});
  for (auto& [k, a, b] : detail::side_by_side(va.metadata.parameters, vb.metadata.parameters))
    if (a != b) c.parameters.push_back({k, a, b});
  c.same_schema = va.target == vb.target && va.features == vb.features;
  return c;
}

MLOPS_FUNC void ModelRegistry::delete_version(std::string_view name, std::uint64_t version) {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  delete_locked(name, dir, version, read_state(name, dir));
  refresh_index(name, dir, fmt::format("'{}' version {} is deleted", name, version));
}

MLOPS_FUNC std::vector<std::uint64_t> ModelRegistry::apply_retention(std::string_view name, std::size_t keep_last) {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  const auto state = read_state(name, dir);
  const auto protected_versions = needed_by_aliases(state);
  const auto live = scan_dir(dir).live;
  std::vector<std::uint64_t> deleted;
  std::size_t rank = 0;
  for (auto it = live.rbegin(); it != live.rend(); ++it, ++rank)
    if (rank >= keep_last && !protected_versions.count(*it)) {
      delete_locked(name, dir, *it, state);
      deleted.push_back(*it);
    }
  std::sort(deleted.begin(), deleted.end());
  refresh_index(name, dir, fmt::format("'{}': retention deleted {} version(s)", name, deleted.size()));
  return deleted;
}

MLOPS_FUNC void ModelRegistry::rebuild_index(std::string_view name) {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  write_index(name, dir);
}

MLOPS_FUNC std::filesystem::path ModelRegistry::model_dir(std::string_view name, bool create) const {
  check_name(name);
  const auto dir = root_ / std::string(name);
  struct ::stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
      MLOPS_THROW(registry_error(errc::registry_bad_name, fmt::format("'{}' in the registry is not a plain directory (symbolic links "
                                                                      "are not followed)", std::string(name))));
    return dir;
  }
  if (!create) MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("no model named '{}' in '{}'", name, root_.string())));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    const int e = errno;
    MLOPS_THROW(io_error(errc::io, fmt::format("cannot create '{}': {}", dir.string(), detail::errno_text(e))));
  }
  detail::sync_directory(root_, fmt::format("the model directory '{}' was created", dir.string()));
  return dir;
}

MLOPS_FUNC void ModelRegistry::remove_debris(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> junk;
  std::set<std::uint64_t> committed;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto f = e.path().filename().string();
    if (f.size() > 1 && f[0] == '.' && f.find(".tmp.") != std::string::npos && e.is_regular_file() && !e.is_symlink()) junk.push_back(e.path());
    if (const auto v = detail::version_of(f, ".json")) committed.insert(*v);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto f = e.path().filename().string();
    if (const auto v = detail::version_of(f, ".mlops"); v && !committed.count(*v)) {
      // Keep the number reserved with a tombstone before removing the orphan.
      detail::atomic_write_file(dir / (detail::version_stem(*v) + ".deleted"), "{\"orphan\": true}\n");
      junk.push_back(e.path());
    }
    if (const auto v = detail::version_of(f, ".sig"); v && !committed.count(*v) && e.is_regular_file() && !e.is_symlink())
      junk.push_back(e.path());  // the signature of a deleted or never committed version
  }
  for (const auto& p : junk) detail::remove_file(p);
  if (!junk.empty()) detail::sync_directory(dir, "debris of an interrupted write was removed");
}

MLOPS_FUNC ModelRegistry::dir_scan ModelRegistry::scan_dir(const std::filesystem::path& dir) {
  dir_scan s;
  std::set<std::uint64_t> models;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    const auto f = e.path().filename().string();
    for (const std::string_view ext : {".json", ".mlops", ".deleted"})
      if (const auto v = detail::version_of(f, ext)) {
        s.highest = (std::max)(s.highest, *v);
        if (ext == ".json") s.live.insert(*v);
      }
  }
  return s;
}

MLOPS_FUNC nlohmann::json ModelRegistry::read_meta_json(std::string_view name, const std::filesystem::path& dir, std::uint64_t v,
                                                        std::string* bytes) const {
  const auto path = dir / (detail::version_stem(v) + ".json");
  const auto text = detail::read_file_if_exists(path, detail::max_json_bytes);
  if (!text) MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no version {}", name, v)));
  auto j = detail::parse_json_limited<registry_error>(*text, path.string(), errc::registry_corrupt);
  if (bytes) *bytes = *text;
  if (!j.is_object() || j.value("version", std::uint64_t{0}) != v || j.value("name", std::string()) != name)
    MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' does not describe '{}' version {}", path.string(), name, v)));
  return j;
}

MLOPS_FUNC ModelVersion ModelRegistry::read_version(std::string_view name, const std::filesystem::path& dir, std::uint64_t v, const alias_state& state) const {
  const auto j = read_meta_json(name, dir, v);
  ModelVersion mv;
  mv.name = std::string(name);
  mv.version = v;
#if MLOPS_HAS_EXCEPTIONS
  try {
#endif
    mv.created_at = j.value("created_at", std::string());
    mv.created_at_unix = j.value("created_at_unix", std::int64_t{0});
    const auto& s = j.at("schema");
    mv.target = s.at("target").get<std::string>();
    mv.features = s.at("features").get<std::vector<std::string>>();
    mv.task = s.at("task").get<std::string>();
    mv.scalar = s.at("scalar").get<std::string>();
    mv.metadata.parameters = j.value("parameters", std::map<std::string, std::string>{});
    mv.metadata.metrics = j.value("metrics", std::map<std::string, double>{});
    mv.metadata.tags = j.value("tags", std::map<std::string, std::string>{});
    mv.metadata.data_fingerprint = j.value("data_fingerprint", std::string());
    if (j.contains("parent") && j["parent"].is_number_unsigned()) mv.metadata.parent = j["parent"].get<std::uint64_t>();
    mv.model_bytes = j.value("model_bytes", std::uint64_t{0});
#if MLOPS_HAS_EXCEPTIONS
  } catch (const nlohmann::json::exception& e) {
    MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' version {}: damaged metadata ({})", name, v, e.what())));
  }
#endif
  for (const auto& [alias, holder] : current_aliases(state))
    if (holder == v) mv.aliases.push_back(alias);
  return mv;
}

MLOPS_FUNC std::uint64_t ModelRegistry::resolve_locked(std::string_view name, const std::filesystem::path& dir, std::string_view spec, const alias_state& state) const {
  const auto live = scan_dir(dir).live;
  if (spec == "latest") {
    if (live.empty()) MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no versions", name)));
    return *live.rbegin();
  }
  std::uint64_t v = 0;
  const auto r = std::from_chars(spec.data(), spec.data() + spec.size(), v);
  if (r.ec == std::errc() && r.ptr == spec.data() + spec.size() && !spec.empty()) {
    if (!live.count(v)) MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no version {}", name, v)));
    return v;
  }
  check_name(spec, "alias");
  const auto cur = current_aliases(state);
  const auto it = cur.find(std::string(spec));
  if (it == cur.end())
    MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no alias '{}'{}", name, spec,
                                                                     cur.empty() ? "" : fmt::format(" (it has: {})", join_keys(cur)))));
  if (!live.count(it->second))
    MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' alias '{}' points at version {}, which is missing", name, spec, it->second)));
  return it->second;
}

MLOPS_FUNC std::string ModelRegistry::join_keys(const std::map<std::string, std::uint64_t>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
  return s;
}

MLOPS_FUNC std::map<std::string, std::uint64_t> ModelRegistry::current_aliases(const alias_state& s) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [alias, stack] : s.stacks)
    if (!stack.empty()) out[alias] = stack.back();
  return out;
}

MLOPS_FUNC std::set<std::uint64_t> ModelRegistry::needed_by_aliases(const alias_state& s) {
  std::set<std::uint64_t> out;
  for (const auto& [alias, stack] : s.stacks) out.insert(stack.begin(), stack.end());
  return out;
}

MLOPS_FUNC ModelRegistry::alias_state ModelRegistry::read_state(std::string_view name, const std::filesystem::path& dir) const {
  alias_state s;
  const auto text = detail::read_file_if_exists(dir / "history.log", detail::max_history_bytes);
  if (!text) return s;
  s.file_bytes = text->size();
  std::size_t pos = 0, line_no = 0;
  // A record whose checksum holds: "crc32c json\n".
  auto sound = [](std::string_view line) {
    std::uint32_t crc = 0;
    if (line.size() < 10 || line[8] != ' ') return false;
    const auto r = std::from_chars(line.data(), line.data() + 8, crc, 16);
    const std::string_view body = line.substr(9);
    return r.ec == std::errc() && r.ptr == line.data() + 8 && crc == detail::crc32c(body.data(), body.size());
  };
  // A bad record is a torn tail only when no sound record follows it (an interrupted
  // append leaves garbage at the end, and the next writer cuts it before appending);
  // anything else is damage, reported with its line and never cut.
  // A sound record that is not an alias event, or does not apply, is damage wherever it is.
  auto bad = [&](std::size_t nl, std::string_view why, bool sound_record = false) {
    bool damage = sound_record;
    for (std::size_t p = nl + 1, q; !damage && p < text->size() && (q = text->find('\n', p)) != std::string::npos; p = q + 1)
      damage = sound(std::string_view(text->data() + p, q - p));
    if (damage)
      MLOPS_THROW(registry_error(errc::registry_corrupt,
                                 fmt::format("'{}' history.log line {}: {}{}: the aliases cannot be trusted and nothing was "
                                             "changed; restore {} from a backup, or move it aside and promote the aliases again "
                                             "(mlops registry promote)",
                                             name, line_no, why, sound_record ? "" : ", and sound records follow it",
                                             (dir / "history.log").string())));
  };
  while (pos < text->size()) {
    const auto nl = text->find('\n', pos);
    if (nl == std::string::npos) break;  // torn last line
    ++line_no;
    const std::string_view line(text->data() + pos, nl - pos);
    if (!sound(line)) {
      bad(nl, "the record does not match its checksum");
      break;
    }
    const std::string_view body = line.substr(9);
    AliasEvent e;
#if MLOPS_HAS_EXCEPTIONS
    try {
#endif
      const auto j = detail::parse_json_limited<registry_error>(body, "history.log", errc::registry_corrupt);
      e.seq = j.at("seq").get<std::uint64_t>();
      e.time = j.at("time").get<std::string>();
      e.alias = j.at("alias").get<std::string>();
      e.action = j.at("action").get<std::string>();
      e.who = j.value("who", std::string());
      if (j.at("version").is_number_unsigned()) e.version = j["version"].get<std::uint64_t>();
      if (j.at("previous").is_number_unsigned()) e.previous = j["previous"].get<std::uint64_t>();
#if MLOPS_HAS_EXCEPTIONS
    } catch (const registry_error&) {
      throw;
    } catch (const std::exception&) {
      bad(nl, "the record is not an alias event", true);
      break;
    }
#endif
    auto& stack = s.stacks[e.alias];
    if (e.action == "promote" && e.version) stack.push_back(*e.version);
    else if (e.action == "rollback" && stack.size() >= 2) stack.pop_back();
    else {
      bad(nl, "the event does not apply to the aliases before it", true);
      break;
    }
    s.events.push_back(std::move(e));
    pos = nl + 1;
    s.valid_bytes = pos;
  }
  return s;
}

MLOPS_FUNC void ModelRegistry::append_event(const std::filesystem::path& dir, alias_state& s, std::string alias, std::string_view action,
                    std::optional<std::uint64_t> version, std::optional<std::uint64_t> previous, std::string_view who) {
  const auto path = dir / "history.log";
  if (s.valid_bytes != s.file_bytes) {  // drop a torn tail first (read_state refuses mid-log damage)
    detail::truncate_durable(path, s.valid_bytes);
    if (warn_)
      warn_(fmt::format("'{}': cut a torn last record of history.log ({} bytes at byte {}), left by an interrupted write",
                        dir.filename().string(), s.file_bytes - s.valid_bytes, s.valid_bytes));
  }
  const auto now = detail::unix_now();
  nlohmann::json j = {{"seq", s.events.size() + 1},
                      {"time", detail::iso_utc(now)},
                      {"time_unix", now},
                      {"alias", alias},
                      {"action", std::string(action)},
                      {"version", version ? nlohmann::json(*version) : nlohmann::json(nullptr)},
                      {"previous", previous ? nlohmann::json(*previous) : nlohmann::json(nullptr)},
                      {"who", std::string(who)}};
  const std::string body = j.dump();
  detail::append_durable(path, fmt::format("{:08x} {}\n", detail::crc32c(body.data(), body.size()), body));
}

MLOPS_FUNC void ModelRegistry::delete_locked(std::string_view name, const std::filesystem::path& dir, std::uint64_t v, const alias_state& state) {
  if (!scan_dir(dir).live.count(v)) MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no version {}", name, v)));
  for (const auto& [alias, stack] : state.stacks)
    if (std::find(stack.begin(), stack.end(), v) != stack.end())
      MLOPS_THROW(registry_error(errc::registry_in_use,
                                 fmt::format("'{}' version {} is {} alias '{}'; promote another version first", name, v,
                                             stack.back() == v ? "held by" : "a rollback target of", alias)));
  const auto stem = dir / detail::version_stem(v);
  detail::atomic_write_file(stem.string() + ".deleted", fmt::format("{{\"deleted_at\": \"{}\"}}\n", detail::iso_utc(detail::unix_now())));
  detail::remove_file(stem.string() + ".json");  // the version is gone from here on
  const std::string done = fmt::format("'{}' version {} was deleted", name, v);
  detail::sync_directory(dir, done);
  detail::remove_file(stem.string() + ".mlops");
  detail::remove_file(stem.string() + ".sig");
  detail::sync_directory(dir, done);
}

MLOPS_FUNC VersionFiles ModelRegistry::files(std::string_view name, std::string_view spec) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  const auto state = read_state(name, dir);
  VersionFiles f;
  f.name = std::string(name);
  f.version = resolve_locked(name, dir, spec, state);
  const auto v = f.version;
  const auto meta = read_meta_json(name, dir, v, &f.metadata_bytes);
  // At most the size recorded at registration: a file grown since is refused unread.
  auto bytes = detail::read_file_if_exists(dir / (detail::version_stem(v) + ".mlops"), meta.value("model_bytes", io::max_file_bytes));
  if (!bytes) MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' version {}: its model file is missing", name, v)));
  if (fmt::format("{:08x}", detail::crc32c(bytes->data(), bytes->size())) != meta.value("model_crc32c", std::string()))
    MLOPS_THROW(registry_error(errc::registry_corrupt, fmt::format("'{}' version {}: the model file does not match the checksum recorded "
                                                                   "at registration", name, v)));
  f.model_bytes = std::move(*bytes);
  f.signature = detail::read_file_if_exists(dir / (detail::version_stem(v) + ".sig"), detail::max_json_bytes);
  return f;
}

MLOPS_FUNC std::optional<std::string> ModelRegistry::signature(std::string_view name, std::uint64_t version) const {
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, false);
  return detail::read_file_if_exists(dir / (detail::version_stem(version) + ".sig"), detail::max_json_bytes);
}

MLOPS_FUNC VersionFiles read_model_file(const std::filesystem::path& model) {
  VersionFiles f;
  f.name = model.string();
  f.model_bytes = io::read_container_file(model);
  f.signature = detail::read_file_if_exists(model_file_signature_path(model), detail::max_json_bytes);
  return f;
}

MLOPS_FUNC void ModelRegistry::attach_signature(std::string_view name, std::uint64_t version, std::string_view signature) {
  check_name(name);
  const auto dir = model_dir(name, false);
  detail::registry_lock lock(root_, true);
  if (!scan_dir(dir).live.count(version))
    MLOPS_THROW(registry_error(errc::registry_not_found, fmt::format("'{}' has no version {}", name, version)));
  detail::atomic_write_file(dir / (detail::version_stem(version) + ".sig"), signature);
}

MLOPS_FUNC void ModelRegistry::refresh_index(std::string_view name, const std::filesystem::path& dir, std::string_view done) const {
#if MLOPS_HAS_EXCEPTIONS
  try {
    write_index(name, dir);
  } catch (const std::exception& e) {
    if (warn_) warn_(fmt::format("{} (in effect), but index.json could not be rewritten: {}; readers rebuild it from the files", done, e.what()));
  }
#else
  write_index(name, dir);
#endif
}

MLOPS_FUNC void ModelRegistry::write_index(std::string_view name, const std::filesystem::path& dir) const {
  const auto state = read_state(name, dir);
  const auto scan = scan_dir(dir);
  nlohmann::json j;
  j["format"] = "mlops-registry-index";
  j["format_version"] = 1;
  j["name"] = std::string(name);
  j["versions"] = scan.live;
  j["highest_version"] = scan.highest;
  j["aliases"] = current_aliases(state);
  j["history_events"] = state.events.size();
  detail::atomic_write_file(dir / "index.json", j.dump(2) + "\n");
}
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_IO
