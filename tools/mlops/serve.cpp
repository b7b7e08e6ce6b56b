// tools/mlops/serve.cpp - `mlops serve`: mlops::ModelService<double> behind cpp-httplib,
// with the TensorFlow Serving REST shape (docs/serving.md):
//   POST /v1/models/NAME[/versions/V|/labels/ALIAS]:predict   {"instances": [...]} | {"inputs": ...} | text/csv
//   POST /v1/models/NAME:feedback                             {"request_id": "...", "label": ...}
//   GET  /v1/models/NAME[/metadata]   GET /metrics   GET /healthz   GET /readyz
// Every failure is a JSON body {"error": "...", "kind": "..."} with a 4xx/5xx status, and
// the next request is served. SIGTERM/SIGINT: stop accepting, finish in-flight requests,
// exit 0.
// cli.hpp (Eigen) before httplib.h: httplib pulls in <resolv.h>, whose `_res` macro
// would rewrite a parameter name in Eigen's product kernels.
#include "cli.hpp"
#include "mlops/monitor/json.hpp"
#include "mlops/serve/service.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "mlops/detail/datetime.hpp"

namespace mlops_cli {
namespace {

struct serve_args {
  std::string model_file, registry, name, alias = "production", challenger;
  bool shadow = false, auto_rollback = false, no_notify = false;
  std::vector<std::string> trusted_keys;
  double traffic = 0;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t threads = 0, max_body = std::size_t{8} << 20, max_rows = 10000, window = 1000, feedback_capacity = std::size_t{1} << 16;
  double timeout = 5, poll = 1;
  std::string port_file, on_alert;
};

/// A failed request: its HTTP status, the kind counted, and the message returned.
struct http_error {
  int status;
  mlops::serve_error kind;
  std::string message;
};
[[noreturn]] void fail(int status, mlops::serve_error kind, std::string message) { throw http_error{status, kind, std::move(message)}; }

/// The error fields of every failed request's body: {"error": message, "kind": ...}.
json error_json(std::string_view message, mlops::serve_error kind) {
  return json{{"error", message}, {"kind", mlops::serve_error_name(kind)}};
}
std::string error_body(std::string_view message, mlops::serve_error kind) { return to_text(error_json(message, kind), -1); }

/// A request's rows in the service's form. Texts are views into `doc` or `owned`.
struct request_rows {
  std::vector<std::string_view> columns;  // empty: the champion's feature order
  std::vector<mlops::input_value> values;  // row-major
  std::size_t rows = 0, width = 0;
  std::deque<std::string> owned;           // texts made here (numbers given for categorical inputs)
};

/// Converts one JSON value for input column `col` (kind as the champion reads it).
mlops::input_value to_input(const json& v, std::optional<mlops::column_kind> read_as, std::string_view col, std::size_t row,
                            request_rows& out) {
  using mlops::input_value;
  if (v.is_null() || !read_as) return input_value::none();
  const mlops::column_kind kind = *read_as;
  auto where = [&] { return fmt::format("row {}, column '{}'", row, col); };
  if (v.is_number()) {
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(400, mlops::serve_error::bad_value, fmt::format("{}: not a finite number", where()));
    if (kind == mlops::column_kind::categorical) {  // a level written as a number: its text
      out.owned.push_back(v.is_number_float() ? fmt::format("{}", x) : to_text(v, -1));
      return input_value::of(std::string_view(out.owned.back()));
    }
    return input_value::of(x);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    switch (kind) {
      case mlops::column_kind::numeric:
        fail(400, mlops::serve_error::bad_value, fmt::format("{}: expected a number, got the text \"{}\"", where(), s.substr(0, 64)));
      case mlops::column_kind::datetime: {
        const auto t = mlops::detail::parse_iso8601(s);
        if (!t.ok)
          fail(400, mlops::serve_error::bad_value,
               fmt::format("{}: \"{}\" is not an ISO 8601 date or time (YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])", where(), s.substr(0, 64)));
        return input_value::at(t.micros);
      }
      case mlops::column_kind::categorical: return input_value::of(std::string_view(s));
    }
  }
  fail(400, mlops::serve_error::bad_value,
       fmt::format("{}: expected a number{}, got {}", where(), kind == mlops::column_kind::numeric ? "" : " or a text", v.type_name()));
}

/// The kind of each request column as the served versions read it (the champion's, else
/// the challenger's); nullopt for a column no version reads (ignored, never converted).
using kinds_t = std::vector<std::optional<mlops::column_kind>>;
kinds_t column_kinds(std::span<const mlops::FittedPipeline<double>* const> versions, std::span<const std::string_view> columns) {
  kinds_t k(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c)
    for (const auto* p : versions)
      for (std::size_t j = 0; p && !k[c] && j < p->n_features(); ++j)
        if (p->features()[j] == columns[c]) k[c] = p->input_kind(j);
  return k;
}

/// {"instances": [...]} or {"inputs": ...}: rows as objects by column name, or arrays in
/// the champion's feature order; "inputs" may also be columnar ({"a": [..], "b": [..]}).
void parse_json_rows(const json& doc, std::span<const mlops::FittedPipeline<double>* const> versions, std::size_t max_rows,
                     request_rows& out) {
  const auto& champion = *versions[0];
  if (!doc.is_object()) fail(400, mlops::serve_error::malformed, "the body must be a JSON object with \"instances\" or \"inputs\"");
  const bool has_inst = doc.contains("instances"), has_in = doc.contains("inputs");
  if (has_inst == has_in) fail(400, mlops::serve_error::malformed, "the body must have exactly one of \"instances\" and \"inputs\"");
  const json& data = has_inst ? doc["instances"] : doc["inputs"];
  if (has_in && data.is_object()) {  // columnar
    std::size_t n = 0;
    bool first = true;
    for (auto it = data.begin(); it != data.end(); ++it) {
      if (!it.value().is_array()) fail(400, mlops::serve_error::malformed, fmt::format("\"inputs\".\"{}\" must be an array (one value per row)", it.key()));
      if (!first && it.value().size() != n)
        fail(400, mlops::serve_error::schema, fmt::format("\"inputs\" columns differ in length: '{}' has {} values, the first column {}", it.key(), it.value().size(), n));
      n = it.value().size();
      first = false;
      out.columns.push_back(it.key());
    }
    if (n > max_rows) fail(413, mlops::serve_error::too_many_rows, fmt::format("{} rows; at most {} per request (--max-rows)", n, max_rows));
    out.rows = n;
    out.width = out.columns.size();
    const auto kinds = column_kinds(versions, out.columns);
    out.values.resize(n * out.width);
    std::size_t c = 0;
    for (auto it = data.begin(); it != data.end(); ++it, ++c)
      for (std::size_t r = 0; r < n; ++r) out.values[r * out.width + c] = to_input(it.value()[r], kinds[c], out.columns[c], r, out);
    return;
  }
  if (!data.is_array()) fail(400, mlops::serve_error::malformed, fmt::format("\"{}\" must be an array of rows", has_inst ? "instances" : "inputs"));
  if (data.empty()) fail(400, mlops::serve_error::malformed, "no rows to predict");
  if (data.size() > max_rows) fail(413, mlops::serve_error::too_many_rows, fmt::format("{} rows; at most {} per request (--max-rows)", data.size(), max_rows));
  out.rows = data.size();
  if (data[0].is_object()) {
    for (auto it = data[0].begin(); it != data[0].end(); ++it) out.columns.push_back(it.key());
  } else if (!data[0].is_array()) {
    // A single-feature model may take bare values.
    if (champion.n_features() != 1)
      fail(400, mlops::serve_error::malformed, "each row must be an object (by column name) or an array (in the model's feature order)");
  }
  const std::size_t width = data[0].is_object() ? out.columns.size() : champion.n_features();
  out.width = width;
  std::vector<std::string_view> order(champion.features().begin(), champion.features().end());
  const auto kinds = column_kinds(versions, data[0].is_object() ? std::span<const std::string_view>(out.columns) : std::span<const std::string_view>(order));
  out.values.resize(out.rows * width);
  for (std::size_t r = 0; r < out.rows; ++r) {
    const json& row = data[r];
    mlops::input_value* dst = out.values.data() + r * width;
    if (row.is_object()) {
      if (!data[0].is_object()) fail(400, mlops::serve_error::malformed, fmt::format("row {} is an object; row 0 is not", r));
      for (std::size_t c = 0; c < width; ++c) {
        const auto it = row.find(out.columns[c]);
        dst[c] = it == row.end() ? mlops::input_value::none() : to_input(*it, kinds[c], out.columns[c], r, out);
      }
      if (row.size() != width)
        for (auto it = row.begin(); it != row.end(); ++it)
          if (std::find(out.columns.begin(), out.columns.end(), it.key()) == out.columns.end())
            fail(400, mlops::serve_error::schema, fmt::format("row {} has column '{}', which row 0 does not", r, it.key()));
    } else if (row.is_array()) {
      if (data[0].is_object()) fail(400, mlops::serve_error::malformed, fmt::format("row {} is an array; row 0 is an object", r));
      if (row.size() != width)
        fail(400, mlops::serve_error::schema,
             fmt::format("row {} has {} values; the model takes {} ({})", r, row.size(), width, fmt::join(champion.features(), ", ")));
      for (std::size_t c = 0; c < width; ++c) dst[c] = to_input(row[c], kinds[c], order[c], r, out);
    } else {
      if (width != 1) fail(400, mlops::serve_error::malformed, fmt::format("row {} must be an object or an array", r));
      dst[0] = to_input(row, kinds[0], order[0], r, out);
    }
  }
}

/// A text/csv body: a header row, then rows; read as the champion reads its inputs.
void parse_csv_rows(const std::string& body, const mlops::FittedPipeline<double>& champion, std::size_t max_rows,
                    mlops::DataFrame<double>& frame, request_rows& out) {
  mlops::CsvOptions o;
  o.source = "request body";
  for (const auto& [k, v] : model_columns(champion)) o.column_types[k] = v;
  o.detect_index = false;
  try {
    frame = mlops::parse_csv<double>(body, o);
  } catch (const mlops::error& e) {
    fail(400, mlops::serve_error::malformed, e.what());
  }
  if (frame.rows() == 0) fail(400, mlops::serve_error::malformed, "the CSV body has no rows");
  if (frame.rows() > max_rows) fail(413, mlops::serve_error::too_many_rows, fmt::format("{} rows; at most {} per request (--max-rows)", frame.rows(), max_rows));
  out.rows = frame.rows();
  for (const auto& n : frame.names()) out.columns.push_back(n);
  out.width = out.columns.size();
  out.values.resize(out.rows * out.width);
  for (std::size_t c = 0; c < out.width; ++c) {
    switch (frame.kind(c)) {
      case mlops::column_kind::numeric: {
        const auto col = frame.column(c);
        for (std::size_t r = 0; r < out.rows; ++r) {
          const double v = col[r];
          if (std::isinf(v)) fail(400, mlops::serve_error::bad_value, fmt::format("row {}, column '{}': not a finite number", r, out.columns[c]));
          out.values[r * out.width + c] = std::isnan(v) ? mlops::input_value::none() : mlops::input_value::of(v);
        }
        break;
      }
      case mlops::column_kind::categorical: {
        const auto col = frame.categorical(c);
        for (std::size_t r = 0; r < out.rows; ++r)
          out.values[r * out.width + c] = col.codes[r] < 0 ? mlops::input_value::none() : mlops::input_value::of(col.label(r));
        break;
      }
      case mlops::column_kind::datetime: {
        const auto col = frame.datetime(c);
        for (std::size_t r = 0; r < out.rows; ++r)
          out.values[r * out.width + c] =
              col.values[r] == mlops::missing_time ? mlops::input_value::none() : mlops::input_value::at(col.values[r]);
        break;
      }
    }
  }
}

/// Writes a prediction: a class label's text when the classifier has text labels.
json answer_json(const mlops::FittedPipeline<double>& p, double v) {
  if (p.is_classifier() && !p.class_labels().empty()) return std::string(p.label_of(v));
  return v;
}

class server {
 public:
  explicit server(serve_args a) : a_(std::move(a)), svc_(config(a_)) {
    std::random_device rd;
    boot_ = fmt::format("{:08x}", rd());
    svc_.on_event([this](const mlops::ServeEvent& e) { log_event(e); });
  }

  int run() {
    svc_.start();
    if (!svc_.ready()) log(fmt::format("no version of '{}' is loaded yet; /readyz answers 503 until one is", a_.name));
    httplib::Server http;
    // cpp-httplib gives each open connection a worker thread for as long as it is kept
    // alive: the default covers 32 concurrent clients (idle threads cost only memory).
    const std::size_t threads = a_.threads ? a_.threads : std::max<std::size_t>(32, 4 * std::thread::hardware_concurrency());
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(a_.max_body);
    http.set_tcp_nodelay(true);  // else a small answer waits for the client's delayed ACK (40 ms)
    const auto secs = static_cast<time_t>(a_.timeout);
    const auto usecs = static_cast<time_t>((a_.timeout - static_cast<double>(secs)) * 1e6);
    http.set_read_timeout(secs, usecs);
    http.set_write_timeout(secs, usecs);
    http.set_keep_alive_timeout(std::max<time_t>(1, secs));
    routes(http);

    int port = a_.port;
    if (port == 0) {
      port = http.bind_to_any_port(a_.host);
      if (port < 0) throw std::runtime_error(fmt::format("cannot bind {}:0", a_.host));
    } else if (!http.bind_to_port(a_.host, port)) {
      throw std::runtime_error(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", a_.host, port));
    }
    // SIGTERM / SIGINT: a dedicated thread waits for them and stops the server; the worker
    // threads finish the requests in flight before listen_after_bind returns.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    std::atomic<bool> done{false};
    std::thread signals([&] {
      int sig = 0;
      while (!done.load()) {
        timespec ts{0, 100'000'000};
        siginfo_t info;
        sig = sigtimedwait(&set, &info, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
          log(fmt::format("{}: finishing the requests in flight, then exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
          http.stop();
          return;
        }
      }
    });
    log(fmt::format("serving '{}' on http://{}:{} ({} threads)", a_.name, a_.host, port, threads));
    if (!a_.port_file.empty()) {
      mlops::detail::atomic_write_file(a_.port_file, std::to_string(port) + "\n");
    }
    const bool ok = http.listen_after_bind();
    done = true;
    signals.join();
    svc_.stop();
    log(fmt::format("stopped; {} requests served", svc_.metrics().counters().request_count()));
    return ok ? 0 : 1;
  }

 private:
  static mlops::ServiceConfig config(const serve_args& a) {
    mlops::ServiceConfig c;
    c.name = a.name;
    c.registry = a.registry;
    c.file = a.model_file;
    if (!a.trusted_keys.empty()) {
#ifdef MLOPS_CLI_SIGN
      c.verify = require_signatures(a.trusted_keys);
#else
      throw mlops::argument_error(mlops::errc::invalid_argument, "serve: --trusted-key needs an mlops built with libsodium (libsodium-dev)");
#endif
    }
    c.alias = a.alias;
    c.challenger = a.challenger;
    c.traffic = a.traffic;
    c.auto_rollback = a.auto_rollback;
    c.drift.window = a.window;
    c.feedback_capacity = a.feedback_capacity;
    c.poll_period = std::chrono::milliseconds(static_cast<std::int64_t>(a.poll * 1000));
    c.notify = !a.no_notify;
    return c;
  }

  void log(const std::string& line) {
    std::lock_guard lock(log_mutex_);
    std::fprintf(stderr, "mlops serve: %s\n", line.c_str());
    std::fflush(stderr);
  }
  void log_event(const mlops::ServeEvent& e) {
    log(e.message);
    if (!a_.on_alert.empty() && (e.kind == mlops::ServeEvent::kind_t::alert || e.kind == mlops::ServeEvent::kind_t::rolled_back ||
                                 e.kind == mlops::ServeEvent::kind_t::load_failed)) {
      const json j{{"event", mlops::event_name(e.kind)}, {"model", a_.name}, {"alias", e.alias},
                   {"from_version", e.from_version}, {"to_version", e.to_version}, {"message", e.message}};
      run_on_alert(a_.on_alert, to_text(j, -1));
    }
  }

  /// --on-alert CMD: runs the command with the event as one JSON line on stdin, on its own
  /// thread (a slow or failing command never delays serving).
  void run_on_alert(const std::string& cmd, std::string payload) {
    std::thread([this, cmd, payload = std::move(payload)] {
      const int rc = run_hook(cmd, payload);
      if (rc != 0) log(fmt::format("--on-alert: '{}' {}", cmd, rc < 0 ? "could not be started" : fmt::format("exited with status {}", rc)));
    }).detach();
  }

  std::string new_request_id() { return fmt::format("{}-{:x}", boot_, next_id_.fetch_add(1, std::memory_order_relaxed)); }

  // Times a request and counts it when it completes (httplib's logger runs after the
  // response is written, on the worker thread that began it in the pre-routing handler).
  struct request_clock {
    std::chrono::steady_clock::time_point t0;
    bool started = false;
  };
  static request_clock& clock() {
    thread_local request_clock c;
    return c;
  }

  static mlops::endpoint endpoint_of(const httplib::Request& req) {
    const auto& p = req.path;
    if (p.ends_with(":predict")) return mlops::endpoint::predict;
    if (p.ends_with(":feedback")) return mlops::endpoint::feedback;
    if (p.starts_with("/v1/models/")) return mlops::endpoint::status;
    if (p == "/metrics") return mlops::endpoint::metrics;
    if (p == "/healthz" || p == "/readyz") return mlops::endpoint::health;
    return mlops::endpoint::other;
  }

  /// Runs a handler: typed failures become JSON error bodies and are counted by kind.
  template <class F>
  void guarded(httplib::Response& res, F&& f) {
    auto reply = [&](int status, mlops::serve_error kind, const std::string& msg) {
      svc_.metrics().error(kind);
      res.status = status;
      res.set_content(error_body(msg, kind), "application/json");
    };
    try {
      f();
    } catch (const http_error& e) {
      reply(e.status, e.kind, e.message);
    } catch (const json::out_of_range& e) {  // a number beyond double's range (1e999)
      reply(400, mlops::serve_error::bad_value, fmt::format("a value out of range: {}", e.what()));
    } catch (const json::exception& e) {
      reply(400, mlops::serve_error::malformed, fmt::format("malformed JSON: {}", e.what()));
    } catch (const mlops::schema_error& e) {
      reply(400, mlops::serve_error::schema, e.what());
    } catch (const mlops::data_error& e) {
      reply(400, mlops::serve_error::bad_value, e.what());
    } catch (const mlops::argument_error& e) {
      reply(503, mlops::serve_error::unavailable, e.what());
    } catch (const std::exception& e) {
      reply(500, mlops::serve_error::internal, e.what());
    }
  }

  void check_model(const std::string& name) {
    if (name != a_.name) fail(404, mlops::serve_error::not_found, fmt::format("no model '{}' here; this server serves '{}'", name, a_.name));
  }

  void predict(const httplib::Request& req, httplib::Response& res) {
    check_model(req.matches[1]);
    const std::string selector = req.matches[2];  // "", "/versions/N" or "/labels/ALIAS"
    const auto ctype = req.get_header_value("Content-Type");
    const bool csv = ctype.starts_with("text/csv");
    // text/csv is read as CSV; any other type as JSON (as TensorFlow Serving does: curl -d
    // sends application/x-www-form-urlencoded).
    // The versions are pinned once: the request is parsed against them and predicted by
    // them, whatever reloads happen meanwhile.
    auto b = svc_.pin();  // argument_error before the first load: 503
    const auto& champion = b.champion;

    request_rows rows;
    json doc;
    mlops::DataFrame<double> frame;
    std::string request_id = req.get_header_value("X-Request-Id");
    std::string key = req.get_header_value("X-Mlops-Key");
    if (csv) {
      parse_csv_rows(req.body, champion->pipeline, a_.max_rows, frame, rows);
    } else {
      doc = json::parse(req.body);
      const mlops::FittedPipeline<double>* versions[] = {&champion->pipeline, b.challenger ? &b.challenger->pipeline : nullptr};
      parse_json_rows(doc, versions, a_.max_rows, rows);
      if (const auto it = doc.find("request_id"); it != doc.end() && it->is_string()) request_id = it->get<std::string>();
      if (const auto it = doc.find("key"); it != doc.end() && it->is_string()) key = it->get<std::string>();
    }
    if (request_id.empty()) request_id = new_request_id();
    if (request_id.size() > 256) fail(400, mlops::serve_error::malformed, "request_id: at most 256 characters");
    if (key.empty()) key = request_id;

    svc_.map_columns(b, rows.columns);
    // A version or label in the URL must name what is being served.
    bool force_challenger = false;
    if (!selector.empty()) {
      const bool by_version = selector.starts_with("/versions/");
      const std::string what = selector.substr(by_version ? 10 : 8);
      const bool champ = by_version ? what == std::to_string(b.champion->version) : what == svc_.champion().alias();
      const bool chall = b.challenger && (by_version ? what == std::to_string(b.challenger->version) : what == svc_.challenger().alias());
      if (!champ && !chall)
        fail(404, mlops::serve_error::not_found,
             fmt::format("'{}' {} is not being served (served: {} version {}{})", a_.name, selector.substr(1), svc_.champion().alias(),
                         b.champion->version,
                         b.challenger ? fmt::format(", {} version {}", svc_.challenger().alias(), b.challenger->version) : std::string()));
      force_challenger = !champ && chall;
    }

    const auto& champ_p = b.champion->pipeline;
    const bool proba = champ_p.has_proba() && (!b.challenger || !force_challenger);
    json preds = json::array(), probs = json::array(), ids = json::array();
    std::uint64_t version = 0;
    bool from_challenger = false;
    std::vector<double> p(proba ? champ_p.n_classes() : 0);
    for (std::size_t r = 0; r < rows.rows; ++r) {
      const std::span<const mlops::input_value> row(rows.values.data() + r * rows.width, rows.width);
      const std::string rid = rows.rows == 1 ? request_id : fmt::format("{}/{}", request_id, r);
      auto a = svc_.predict_row(b, row, key, rid);
      if (force_challenger) {
        a.value = a.challenger_value;
        a.from_challenger = true;
        a.version = b.challenger->version;
      }
      if (a.status != mlops::predict_status::ok)
        fail(400, mlops::serve_error::bad_value,
             fmt::format("row {} cannot be predicted: {}", r,
                         a.status == mlops::predict_status::wrong_length ? "wrong number of values"
                                                                         : "the model gives a non-finite value (a missing input with no imputer?)"));
      version = a.version;
      from_challenger = a.from_challenger;
      const auto& ans_p = a.from_challenger ? b.challenger->pipeline : champ_p;
      preds.push_back(answer_json(ans_p, static_cast<double>(a.value)));
      if (proba && !a.from_challenger && svc_.probabilities(b, row, false, p)) probs.push_back(p);
      if (rows.rows > 1) ids.push_back(rid);
    }
    svc_.metrics().predicted(rows.rows);
    json out{{"predictions", std::move(preds)}, {"model_version", std::to_string(version)}, {"request_id", request_id}};
    if (rows.rows > 1) out["request_ids"] = std::move(ids);
    if (from_challenger) out["served_by"] = svc_.challenger().alias();
    if (proba && !from_challenger) {
      json classes = json::array();
      for (const auto c : champ_p.classes()) classes.push_back(answer_json(champ_p, c));
      out["classes"] = std::move(classes);
      out["probabilities"] = std::move(probs);
    }
    res.set_header("X-Request-Id", request_id);
    res.set_content(to_text(out, -1), "application/json");
  }

  void feedback(const httplib::Request& req, httplib::Response& res) {
    check_model(req.matches[1]);
    const json doc = json::parse(req.body);
    if (!doc.is_object()) fail(400, mlops::serve_error::malformed, "the body must be a JSON object: {\"request_id\": ..., \"label\": ...} or {\"labels\": [...]}");
    std::vector<const json*> items;
    if (const auto it = doc.find("labels"); it != doc.end()) {
      if (!it->is_array()) fail(400, mlops::serve_error::malformed, "\"labels\" must be an array of {\"request_id\", \"label\"}");
      if (it->size() > a_.max_rows) fail(413, mlops::serve_error::too_many_rows, fmt::format("{} labels; at most {} per request", it->size(), a_.max_rows));
      for (const auto& x : *it) items.push_back(&x);
    } else {
      items.push_back(&doc);
    }
    std::size_t matched = 0;
    json unknown = json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const json& x = *items[i];
      if (!x.is_object() || !x.contains("request_id") || !x["request_id"].is_string() || !x.contains("label"))
        fail(400, mlops::serve_error::malformed, fmt::format("label {}: needs \"request_id\" (a text) and \"label\"", i));
      const auto& id = x["request_id"].get_ref<const std::string&>();
      const json& l = x["label"];
      double y = NAN;
      if (l.is_number()) {
        y = l.get<double>();
      } else if (l.is_string()) {
        const auto v = svc_.label_value(l.get<std::string>());
        if (!v) fail(400, mlops::serve_error::bad_value, fmt::format("label {}: '{}' is not a class the model knows", i, l.get<std::string>()));
        y = *v;
      }
      if (!std::isfinite(y)) fail(400, mlops::serve_error::bad_value, fmt::format("label {}: must be a finite number or a class label", i));
      if (svc_.feedback(id, y)) ++matched;
      else unknown.push_back(id);
    }
    json out{{"matched", matched}, {"unknown", unknown}};
    if (matched == 0 && !unknown.empty()) {
      svc_.metrics().error(mlops::serve_error::not_found);
      res.status = 404;
      out.update(error_json("no label matched a request id: never predicted here, already labelled, or too old (see --feedback-capacity)",
                            mlops::serve_error::not_found));
    }
    res.set_content(to_text(out, -1), "application/json");
  }

  json status_json() const {
    json list = json::array();
    for (const auto& s : svc_.status()) {
      const bool up = s.version != 0;
      list.push_back({{"version", std::to_string(s.version)},
                      {"state", up ? "AVAILABLE" : s.last_error.empty() ? "START" : "UNAVAILABLE"},
                      {"status", {{"error_code", s.last_error.empty() ? "OK" : "UNKNOWN"}, {"error_message", s.last_error}}},
                      {"alias", s.alias},
                      {"role", s.role},
                      {"source", s.source}});
    }
    return json{{"model_version_status", list}};
  }

  json metadata_json() const {
    const auto h = svc_.champion().current();
    if (!h) fail(503, mlops::serve_error::unavailable, fmt::format("model '{}' has no version loaded yet", a_.name));
    const auto& p = h->pipeline;
    json inputs = json::array();
    for (std::size_t j = 0; j < p.n_features(); ++j) {
      json in{{"name", p.features()[j]}, {"kind", mlops::kind_name(p.input_kind(j))}};
      if (p.input_kind(j) == mlops::column_kind::categorical) in["levels"] = p.input_levels(j);
      inputs.push_back(std::move(in));
    }
    json out{{"model_spec", {{"name", a_.name}, {"version", std::to_string(h->version)}}},
             {"metadata", {{"task", p.is_classifier() ? "classification" : "regression"}, {"target", p.target()}, {"inputs", inputs}}}};
    if (p.is_classifier()) {
      json classes = json::array();
      for (const auto c : p.classes()) classes.push_back(answer_json(p, c));
      out["metadata"]["classes"] = classes;
    }
    return out;
  }

  void routes(httplib::Server& http) {
    const std::string model = R"(/v1/models/([A-Za-z0-9_.\-]+))";
    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
      clock() = {std::chrono::steady_clock::now(), true};
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      auto& c = clock();
      const double secs = c.started ? std::chrono::duration<double>(std::chrono::steady_clock::now() - c.t0).count() : 0.0;
      c.started = false;
      svc_.metrics().record(endpoint_of(req), res.status, 0, secs);
    });
    // Responses httplib makes itself (413 body too large, 404 no route, 400 bad request
    // line, ...) get the JSON error shape too; a handler's own error body is kept.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      mlops::serve_error kind = mlops::serve_error::internal;
      std::string msg = fmt::format("HTTP {}", res.status);
      if (res.status == 413) kind = mlops::serve_error::too_large, msg = fmt::format("the body is over {} bytes (--max-body)", a_.max_body);
      else if (res.status == 404) kind = mlops::serve_error::not_found, msg = fmt::format("no endpoint {} {}", req.method, req.path);
      else if (res.status == 405) kind = mlops::serve_error::unsupported, msg = fmt::format("{} is not allowed on {}", req.method, req.path);
      else if (res.status == 408) kind = mlops::serve_error::timeout, msg = "the request was not received in time (--timeout)";
      else if (res.status == 400) kind = mlops::serve_error::malformed, msg = "malformed HTTP request";
      svc_.metrics().error(kind);
      res.set_content(error_body(msg, kind), "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      svc_.metrics().error(mlops::serve_error::internal);
      res.status = 500;
      res.set_content(error_body("internal error", mlops::serve_error::internal), "application/json");
    });
    http.Post(model + R"(((?:/versions/[0-9]+|/labels/[A-Za-z0-9_.\-]+)?):predict)",
              [this](const httplib::Request& req, httplib::Response& res) { guarded(res, [&] { predict(req, res); }); });
    http.Post(model + ":feedback", [this](const httplib::Request& req, httplib::Response& res) { guarded(res, [&] { feedback(req, res); }); });
    http.Get(model, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        check_model(req.matches[1]);
        res.set_content(to_text(status_json(), -1), "application/json");
      });
    });
    http.Get(model + "/metadata", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        check_model(req.matches[1]);
        res.set_content(to_text(metadata_json(), -1), "application/json");
      });
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(svc_.prometheus_text(), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"status\":\"ok\"}", "application/json"); });
    http.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const bool ready = svc_.ready();
      res.status = ready ? 200 : 503;
      res.set_content(to_text(json{{"ready", ready}, {"version", svc_.champion().version()}}, -1), "application/json");
    });
  }

  serve_args a_;
  mlops::ModelService<double> svc_;
  std::string boot_;
  std::atomic<std::uint64_t> next_id_{1};
  std::mutex log_mutex_;
};

}  // namespace

std::function<int()> setup_serve(CLI::App& cmd) {
  auto a = std::make_shared<serve_args>();
  cmd.add_option("file", a->model_file, "serve this model file (reloaded when it changes), instead of a registry")->check(CLI::ExistingFile);
  cmd.add_option("--registry", a->registry, "serve a registered model from this registry directory")->check(CLI::ExistingDirectory);
  cmd.add_option("--model", a->name, "the registered model's name (with --registry); the name in URLs");
  cmd.add_option("--alias", a->alias, "the champion's alias")->capture_default_str();
  cmd.add_option("--challenger", a->challenger, "a second alias served as the challenger (e.g. staging)");
  auto* shadow = cmd.add_flag("--shadow", a->shadow, "the challenger predicts every row; only the champion's answers are returned (default)");
  auto* traffic = cmd.add_option("--traffic", a->traffic, "share of request keys the challenger answers (0..1)")->check(CLI::Range(0.0, 1.0));
  shadow->excludes(traffic);
  cmd.add_flag("--auto-rollback", a->auto_rollback, "roll the champion alias back on a critical concept-drift alert (labels fed back)");
  cmd.add_option("--host", a->host, "address to listen on (loopback by default)")->capture_default_str();
  cmd.add_option("--port", a->port, "port to listen on (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd.add_option("--port-file", a->port_file, "write the port listened on to this file once ready");
  cmd.add_option("--threads", a->threads, "worker threads; each open keep-alive connection holds one (default: 4 per core, at least 32)");
  cmd.add_option("--max-body", a->max_body, "largest request body in bytes (413 above)")->capture_default_str();
  cmd.add_option("--max-rows", a->max_rows, "most rows per request (413 above)")->capture_default_str();
  cmd.add_option("--timeout", a->timeout, "seconds to receive a request or send a response")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--poll", a->poll, "seconds between checks of the registry aliases (or the model file); a change also triggers a check at once "
                                    "where file notification (inotify) is available")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_flag("--no-notify", a->no_notify, "check every --poll seconds only (no file notification: e.g. a registry on NFS)");
  cmd.add_option("--window", a->window, "rows per drift-monitor window")->capture_default_str();
  cmd.add_option("--feedback-capacity", a->feedback_capacity, "predictions kept for labels fed back later")->capture_default_str();
  cmd.add_option("--on-alert", a->on_alert, "run this shell command with each alert, rollback or load failure as JSON on stdin");
  cmd.add_option("--trusted-key", a->trusted_keys,
                 "serve only versions signed by this public key (repeatable; mlops keygen/sign); others never replace the one serving")
      ->check(CLI::ExistingFile);
  return [a, &cmd]() -> int {
    if (a->model_file.empty() == a->registry.empty()) throw mlops::argument_error(mlops::errc::invalid_argument, "serve: give a model file or --registry DIR --model NAME");
    if (!a->registry.empty() && a->name.empty()) throw mlops::argument_error(mlops::errc::invalid_argument, "serve: --registry needs --model NAME");
    if (a->name.empty()) a->name = std::filesystem::path(a->model_file).stem().string();
    if (cmd.count("--traffic") && a->challenger.empty())
      throw mlops::argument_error(mlops::errc::invalid_argument, "serve: --traffic needs --challenger ALIAS");
    if (a->shadow && a->challenger.empty()) throw mlops::argument_error(mlops::errc::invalid_argument, "serve: --shadow needs --challenger ALIAS");
    // Signals go to the waiting thread only: blocked here, before any thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    server s(*a);
    return s.run();
  };
}

}  // namespace mlops_cli
