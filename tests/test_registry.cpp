// Persistence (issue 5): golden files of every released format version, forward
// compatibility, the JSON model card; the model registry: versions, metadata, aliases,
// rollback, history, compare, retention, name and symlink safety, damaged files,
// concurrent processes, SIGKILL.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlops/csv.hpp"
#include "mlops/io/card.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/detail/rng.hpp"
#include "mlops/registry.hpp"
#include "support.hpp"

using namespace mlops;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) { return test::fresh_dir("registry_test", name); }

DataFrame<double> small_frame(double slope) {
  std::vector<double> a, b, y;
  for (int i = 0; i < 60; ++i) {
    a.push_back(i * 0.5);
    b.push_back((i * 7) % 11);
    y.push_back(slope * a.back() - 0.3 * b.back() + 1.0 + ((i * 13) % 5) * 0.01);
  }
  return DataFrame<double>::from_columns({"a", "b", "y"}, {a, b, y});
}

FittedPipeline<double> small_model(double slope, double alpha = 0) {
  return pipeline<double>().standardize().fit(LinearRegression<double>{true, alpha}, small_frame(slope), "y");
}

using test::error_id_of;

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}
}  // namespace

namespace {
template <class T>
void check_golden(const nlohmann::json& g, const fs::path& dir) {
  const auto p = FittedPipeline<T>::load(dir / g["file"].get<std::string>());
  const auto& rows = g["rows"];
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<T> row;
    for (const auto& v : rows[r]) row.push_back(static_cast<T>(v.get<double>()));
    CHECK(static_cast<double>(p.predict_row(row)) == g["predictions"][r].get<double>());  // bit for bit
    if (!g["proba"].empty()) {
      std::vector<double> q(p.n_classes());
      REQUIRE(p.predict_proba_row(row, q));
      for (std::size_t k = 0; k < q.size(); ++k) CHECK(q[k] == g["proba"][r][k].get<double>());
    }
  }
  // Format 1.1 and later: the drift profile loads bit for bit.
  CHECK(p.has_drift_profile() == g.contains("drift_profile"));
  if (g.contains("drift_profile")) {
    CHECK(nlohmann::json(p.drift_profile()) == g["drift_profile"]);
    CHECK(p.drift_profile().fingerprint() == g["drift_profile_crc"].get<std::uint32_t>());
  }
}
std::uint64_t le(const std::string& b, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)])) << (8 * k);
  return v;
}
void put_le(std::string& b, std::size_t at, std::uint64_t v, int n) {
  for (int k = 0; k < n; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
/// The file with one more section (tag XTRA) and a newer minor version, checksums redone.
std::string with_extra_section(const std::string& file, bool required, std::uint16_t minor) {
  std::string payload = "future data";
  std::string sec(20, '\0');
  put_le(sec, 0, 0x41525458, 4);  // "XTRA"
  put_le(sec, 4, required ? 1 : 0, 4);
  put_le(sec, 8, payload.size(), 8);
  put_le(sec, 16, detail::crc32c(payload.data(), payload.size()), 4);
  std::string b = file.substr(0, file.size() - 4) + sec + payload;
  put_le(b, 10, minor, 2);
  put_le(b, 16, le(b, 16, 4) + 1, 4);
  put_le(b, 20, b.size() + 4, 8);
  put_le(b, 28, detail::crc32c(b.data(), 28), 4);
  std::string crc(4, '\0');
  put_le(crc, 0, detail::crc32c(b.data(), b.size()), 4);
  return b + crc;
}
}  // namespace

TEST_CASE("format: the golden files of every released version load and predict as they did") {
  std::size_t versions = 0, files = 0;
  for (const auto& d : fs::directory_iterator(fs::path(MLOPS_TEST_GOLDEN_DIR) / "format")) {
    if (!d.is_directory()) continue;
    ++versions;
    const auto expected = nlohmann::json::parse(detail::read_file(d.path() / "expected.json"));
    for (const auto& g : expected) {
      if (g["scalar"] == "float") check_golden<float>(g, d.path());
      else check_golden<double>(g, d.path());
      ++files;
    }
  }
  CHECK(versions >= 3);  // v1.0, v1.1 (drift profile), v1.2 (typed inputs, encoders)
  CHECK(files >= 14);
  // The other scalar type is a typed error, never a silent conversion.
  CHECK(error_id_of([] { (void)FittedPipeline<float>::load(fs::path(MLOPS_TEST_GOLDEN_DIR) / "format/v1.0/ridge_double.mlops"); }) ==
        "format.scalar_type");
}

TEST_CASE("format: a newer minor version with an unknown optional section loads; a required one is refused") {
  const auto m = small_model(2.0);
  const auto bytes = m.to_bytes();
  const auto newer = with_extra_section(bytes, false, 9);
  const auto back = FittedPipeline<double>::from_bytes(newer);
  CHECK(back.predict(small_frame(2.0)) == m.predict(small_frame(2.0)));
  CHECK(error_id_of([&] { (void)FittedPipeline<double>::from_bytes(with_extra_section(bytes, true, 9)); }) == "format.version");
}

TEST_CASE("model card: written next to the model, read back, limits enforced") {
  const auto dir = fresh_dir("card");
  const auto m = small_model(2.0, 0.5);
  io::save_model_card(m, dir / "model.card.json");
  const auto card = io::load_model_card(dir / "model.card.json");
  CHECK(card.format_version == "1.2");
  CHECK(card.scalar == "double");
  CHECK(card.target == "y");
  CHECK(card.features == m.features());
  CHECK(card.steps == std::vector<std::string>{"standardize"});
  CHECK(card.model_kind == "ridge");
  for (std::size_t j = 0; j < m.n_features(); ++j) CHECK(card.coefficients.at(m.features()[j]) == m.model().coef()(static_cast<Eigen::Index>(j)));
  CHECK(*card.intercept == m.model().intercept());
  CHECK(card.metrics.at("train.r2") == m.metrics().at("train.r2"));

  const auto cls = pipeline<double>().fit(LogisticRegression<double>{}, DataFrame<double>::from_columns({"x", "t"}, {{0, 1, 2, 3, 4, 5}, {0, 0, 1, 0, 1, 1}}), "t");
  const auto cc = io::parse_model_card(io::model_card(cls).dump());
  CHECK(cc.classes == std::vector<double>{0, 1});
  CHECK(cc.model_kind == "logistic");

  std::string deep = "{\"format\":";
  for (int i = 0; i < 10000; ++i) deep += "[";
  for (int i = 0; i < 10000; ++i) deep += "]";
  CHECK(error_id_of([&] { (void)io::parse_model_card(deep + "}"); }) == "format.corrupt");
  auto j = io::model_card(m);
  j["format"]["version"] = "7.0";
  CHECK(error_id_of([&] { (void)io::parse_model_card(j.dump()); }) == "format.version");
  j = io::model_card(m);
  j["features"][0] = 5;
  CHECK(error_id_of([&] { (void)io::parse_model_card(j.dump()); }) == "format.corrupt");
  j = io::model_card(m);
  j["model"].erase("coefficients");
  CHECK(error_id_of([&] { (void)io::parse_model_card(j.dump()); }) == "format.corrupt");
  CHECK(error_id_of([&] { (void)io::parse_model_card("[1, 2"); }) == "format.corrupt");
}

TEST_CASE("registry: register, list, get, load, metadata") {
  const auto dir = fresh_dir("basic");
  ModelRegistry reg(dir);
  const auto m1 = small_model(2.0);
  ModelMetadata meta;
  meta.parameters = {{"alpha", "0"}};
  meta.data_fingerprint = data_fingerprint(small_frame(2.0));
  meta.tags = {{"owner", "tests"}};
  meta.metrics = {{"holdout.r2", 0.5}};
  CHECK(reg.register_model("price", m1, meta) == 1);
  CHECK(reg.register_model("price", small_model(3.0, 1.0), {}) == 2);
  CHECK(reg.models() == std::vector<std::string>{"price"});
  CHECK(*reg.latest("price") == 2);

  const auto vs = reg.versions("price");
  REQUIRE(vs.size() == 2);
  CHECK(vs[0].version == 1);
  CHECK(vs[0].metadata.parameters.at("alpha") == "0");
  CHECK(vs[0].metadata.tags.at("owner") == "tests");
  CHECK(vs[0].metadata.metrics.at("holdout.r2") == 0.5);
  CHECK(vs[0].metadata.metrics.count("train.r2") == 1);  // the pipeline's stored metrics come along
  CHECK(vs[0].metadata.data_fingerprint == data_fingerprint(small_frame(2.0)));
  CHECK(vs[0].metadata.data_fingerprint != data_fingerprint(small_frame(2.5)));
  CHECK(!vs[0].metadata.parent.has_value());
  CHECK(*vs[1].metadata.parent == 1);  // default parent: the latest version at registration
  CHECK(vs[0].features == std::vector<std::string>{"a", "b"});
  CHECK(vs[0].target == "y");
  CHECK(vs[0].task == "regression");
  CHECK(vs[0].scalar == "double");
  CHECK(vs[0].created_at.size() == 20);  // 2026-11-24T05:52:40Z

  const auto back = reg.load<double>("price", "1");
  const auto f = small_frame(2.0);
  CHECK(back.predict(f) == m1.predict(f));  // bit for bit
  CHECK(reg.get("price", "latest").version == 2);
  CHECK(error_id_of([&] { (void)reg.load<float>("price", "1"); }) == "format.scalar_type");
  CHECK(error_id_of([&] { (void)reg.get("price", "7"); }) == "registry.not_found");
  CHECK(error_id_of([&] { (void)reg.get("nope", "1"); }) == "registry.not_found");
  CHECK(error_id_of([&] { (void)reg.get("price", "staging"); }) == "registry.not_found");
}

TEST_CASE("registry: aliases, promote, rollback to the previous holder, history, compare") {
  const auto dir = fresh_dir("aliases");
  ModelRegistry reg(dir);
  for (int i = 0; i < 3; ++i) {
    ModelMetadata meta;
    meta.parameters = {{"alpha", std::to_string(i)}, {"kind", "ridge"}};
    (void)reg.register_model("m", small_model(1.0 + i, i), meta);
  }
  CHECK(error_id_of([&] { reg.rollback("m", "production"); }) == "registry.alias");  // never set
  reg.promote("m", 1, "production", "alice");
  CHECK(error_id_of([&] { reg.rollback("m", "production"); }) == "registry.alias");  // no previous holder
  reg.promote("m", 2, "production", "bob");
  reg.promote("m", 3, "production", "carol");
  reg.promote("m", 3, "staging");
  CHECK(reg.aliases("m") == std::map<std::string, std::uint64_t>{{"production", 3}, {"staging", 3}});
  CHECK(reg.get("m", "production").aliases == std::vector<std::string>{"production", "staging"});
  CHECK(reg.rollback("m", "production", "dave") == 2);
  CHECK(reg.rollback("m", "production") == 1);
  CHECK(error_id_of([&] { reg.rollback("m", "production"); }) == "registry.alias");
  CHECK(reg.resolve("m", "production") == 1);
  CHECK(reg.load<double>("m", "production").predict(small_frame(1.0)) == small_model(1.0, 0).predict(small_frame(1.0)));

  const auto h = reg.history("m", "production");
  REQUIRE(h.size() == 5);
  CHECK(h[0].action == "promote");
  CHECK(!h[0].previous.has_value());
  CHECK(h[0].who == "alice");
  CHECK(h[2].previous == 2u);
  CHECK(h[2].version == 3u);
  CHECK(h[3].action == "rollback");
  CHECK(h[3].previous == 3u);
  CHECK(h[3].version == 2u);
  CHECK(h[3].who == "dave");
  CHECK(reg.history("m").size() == 6);  // staging too
  for (std::size_t i = 1; i < h.size(); ++i) CHECK(h[i].seq > h[i - 1].seq);

  const auto c = reg.compare("m", "1", "3");
  CHECK(c.a == 1);
  CHECK(c.b == 3);
  CHECK(c.same_schema);
  REQUIRE(c.parameters.size() == 1);  // kind is equal; alpha differs
  CHECK(c.parameters[0].key == "alpha");
  CHECK(*c.parameters[0].a == "0");
  CHECK(*c.parameters[0].b == "2");
  bool saw_r2 = false;
  for (const auto& e : c.metrics)
    if (e.key == "train.r2") saw_r2 = e.a && e.b;
  CHECK(saw_r2);
  const nlohmann::json cj = c;
  CHECK(cj["parameters"][0]["parameter"] == "alpha");

  CHECK(error_id_of([&] { reg.promote("m", 9, "production"); }) == "registry.not_found");
  CHECK(error_id_of([&] { reg.promote("m", 1, "42"); }) == "registry.bad_name");  // would read as a version
  CHECK(error_id_of([&] { reg.promote("m", 1, "latest"); }) == "registry.bad_name");
}

TEST_CASE("registry: delete and retention never touch a version an alias needs; numbers are never reused") {
  const auto dir = fresh_dir("retention");
  ModelRegistry reg(dir);
  for (int i = 0; i < 6; ++i) (void)reg.register_model("m", small_model(1.0 + i), {});
  reg.promote("m", 1, "production");
  reg.promote("m", 2, "production");  // 1 stays a rollback target
  CHECK(error_id_of([&] { reg.delete_version("m", 2); }) == "registry.in_use");
  CHECK(error_id_of([&] { reg.delete_version("m", 1); }) == "registry.in_use");
  reg.delete_version("m", 6);  // the latest
  CHECK(reg.register_model("m", small_model(9.0), {}) == 7);  // 6 is not handed out again
  const auto deleted = reg.apply_retention("m", 2);
  CHECK(deleted == std::vector<std::uint64_t>{3, 4});  // keeps 5, 7 (newest two) and 1, 2 (aliases)
  std::vector<std::uint64_t> live;
  for (const auto& v : reg.versions("m")) live.push_back(v.version);
  CHECK(live == std::vector<std::uint64_t>{1, 2, 5, 7});
  CHECK(error_id_of([&] { reg.delete_version("m", 3); }) == "registry.not_found");
}

TEST_CASE("registry: names cannot leave the directory; symbolic links are not followed") {
  const auto dir = fresh_dir("names");
  ModelRegistry reg(dir);
  const auto m = small_model(1.0);
  const std::vector<std::string> bads{"", "..", ".", "../escape", "a/b", "/abs", ".hidden", std::string("a\0b", 3), std::string(129, 'x'),
                                      "sp ace", "back\\slash"};
  for (const auto& bad : bads)
    CHECK(error_id_of([&] { (void)reg.register_model(bad, m, {}); }) == "registry.bad_name");
  CHECK(!fs::exists(dir.parent_path() / "escape"));
  CHECK(reg.register_model(std::string(128, 'x'), m, {}) == 1);
  CHECK(reg.register_model("ok-name_1.2", m, {}) == 1);

  // A model directory that is a link to somewhere else is refused.
  const auto outside = fresh_dir("outside");
  fs::create_directory_symlink(outside, dir / "evil");
  CHECK(error_id_of([&] { (void)reg.register_model("evil", m, {}); }) == "registry.bad_name");
  CHECK(error_id_of([&] { (void)reg.versions("evil"); }) == "registry.bad_name");
  CHECK(fs::is_empty(outside));
  // Files replaced by links are not read through: a linked metadata file hides its
  // version, a linked model file fails to load.
  (void)reg.register_model("linked", m, {});
  (void)reg.register_model("linked", m, {});
  const auto meta = dir / "linked" / "v000001.json";
  write_text(outside / "v.json", detail::read_file(meta));
  fs::remove(meta);
  fs::create_symlink(outside / "v.json", meta);
  CHECK(error_id_of([&] { (void)reg.get("linked", "1"); }) == "registry.not_found");
  CHECK(reg.versions("linked").size() == 1);
  const auto model_file = dir / "linked" / "v000002.mlops";
  write_text(outside / "v.mlops", detail::read_file(model_file));
  fs::remove(model_file);
  fs::create_symlink(outside / "v.mlops", model_file);
  CHECK(error_id_of([&] { (void)reg.load<double>("linked", "2"); }) == "io.failed");
}

TEST_CASE("registry: damaged index, torn history tail, deep JSON, tampered model file") {
  const auto dir = fresh_dir("damage");
  ModelRegistry reg(dir);
  (void)reg.register_model("m", small_model(1.0), {});
  (void)reg.register_model("m", small_model(2.0), {});
  reg.promote("m", 1, "production");
  reg.promote("m", 2, "production");

  // The index is a summary: garbage in it changes nothing, and it is rebuilt.
  write_text(dir / "m" / "index.json", "{ this is not json");
  CHECK(reg.versions("m").size() == 2);
  CHECK(reg.aliases("m").at("production") == 2);
  reg.rebuild_index("m");
  const auto idx = nlohmann::json::parse(detail::read_file(dir / "m" / "index.json"));
  CHECK(idx["versions"] == nlohmann::json::array({1, 2}));
  CHECK(idx["aliases"]["production"] == 2);

  // A torn last history line (a crash mid-append) is ignored, then cut off by the next change.
  {
    std::ofstream(dir / "m" / "history.log", std::ios::app) << "deadbeef {\"action\":\"promote\",\"alias\":\"produ";
  }
  CHECK(reg.aliases("m").at("production") == 2);
  CHECK(reg.history("m").size() == 2);
  // A garbled line (checksum mismatch) is ignored too.
  CHECK(reg.rollback("m", "production") == 1);
  CHECK(reg.history("m").size() == 3);
  const auto log = detail::read_file(dir / "m" / "history.log");
  CHECK(log.find("produ\n") == std::string::npos);  // the torn tail is gone
  CHECK(std::count(log.begin(), log.end(), '\n') == 3);
  std::string flipped = log;
  flipped[flipped.size() - 5] ^= 0x01;  // damage the last line's body
  write_text(dir / "m" / "history.log", flipped);
  CHECK(reg.history("m").size() == 2);  // the damaged line and what follows are not trusted
  CHECK(reg.aliases("m").at("production") == 2);

  // Metadata nested deeper than the limit is refused, not parsed into the stack.
  std::string deep = "{\"x\":";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  write_text(dir / "m" / "v000001.json", deep + "}");
  CHECK(error_id_of([&] { (void)reg.get("m", "1"); }) == "registry.corrupt");

  // A model file changed after registration does not load.
  auto bytes = detail::read_file(dir / "m" / "v000002.mlops");
  bytes[bytes.size() / 2] ^= 0x10;
  write_text(dir / "m" / "v000002.mlops", bytes);
  CHECK(error_id_of([&] { (void)reg.load<double>("m", "2"); }) == "registry.corrupt");

  // Sparse giants: memory is never sized by a damaged file. A model file grown past the
  // size recorded at registration, metadata past the JSON limit, a history past its
  // limit: each refused by its size, unread.
  (void)reg.register_model("m", small_model(3.0), {});
  fs::resize_file(dir / "m" / "v000003.mlops", std::uint64_t{1} << 30);
  CHECK(error_id_of([&] { (void)reg.load<double>("m", "3"); }) == "io.failed");
  fs::resize_file(dir / "m" / "v000003.json", std::uint64_t{1} << 30);
  CHECK(test::error_text_of([&] { (void)reg.get("m", "3"); }).find("limit") != std::string::npos);
  fs::resize_file(dir / "m" / "history.log", std::uint64_t{1} << 30);
  CHECK(test::error_text_of([&] { (void)reg.aliases("m"); }).find("limit") != std::string::npos);
}

TEST_CASE("registry: processes registering at once get distinct numbers and leave a consistent registry") {
  const auto dir = fresh_dir("concurrent");
  const auto model = small_model(1.5);
  constexpr int procs = 4, each = 8;
  // A fifth process deletes and recreates DIR/.lock all along: the lock must not depend on
  // a file that can be swapped under it (issue 19: 10 duplicate numbers with a lock file).
  const pid_t deleter = ::fork();
  REQUIRE(deleter >= 0);
  if (deleter == 0) {
    for (;;) {
      ::unlink((dir / ".lock").c_str());
      write_text(dir / ".lock", "");
    }
  }
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 0;
      try {
        ModelRegistry r(dir);
        for (int i = 0; i < each; ++i) {
          ModelMetadata meta;
          meta.tags = {{"process", std::to_string(p)}};
          const auto v = r.register_model("shared", model, meta);
          if (i % 3 == 0) r.promote("shared", v, "production");
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (const auto pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  ::kill(deleter, SIGKILL);
  ::waitpid(deleter, nullptr, 0);
  ModelRegistry reg(dir);
  const auto vs = reg.versions("shared");
  REQUIRE(vs.size() == procs * each);
  for (std::size_t i = 0; i < vs.size(); ++i) CHECK(vs[i].version == i + 1);  // 1..32, no duplicate, no gap
  CHECK(reg.history("shared", "production").size() == procs * 3);
  CHECK(reg.load<double>("shared", "production").predict(small_frame(1.5)) == model.predict(small_frame(1.5)));
}

TEST_CASE("registry: a child killed with SIGKILL at random moments never leaves a partial state (60 kills)") {
  const auto dir = fresh_dir("sigkill");
  const auto model = small_model(2.5);
  const auto frame = small_frame(2.5);
  const auto expected = model.predict(frame);
  detail::xoshiro256ss rng(99);
  std::size_t kills = 0;
  {
    ModelRegistry first(dir);  // a state to protect from the start
    first.promote("live", first.register_model("live", model, {}), "production");
  }
  for (int round = 0; round < 60; ++round) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(ready[0]);
      try {
        ModelRegistry r(dir);
        (void)!::write(ready[1], "g", 1);  // the loop starts now
        for (int i = 0;; ++i) {  // register, promote, roll back, prune until killed
          const auto v = r.register_model("live", model, {});
          r.promote("live", v, "production");
          if (i % 2) (void)r.rollback("live", "production");
          if (i % 5 == 4) (void)r.apply_retention("live", 3);
        }
      } catch (...) {
      }
      ::_exit(3);  // only reached on an error: the parent counts it as a failure
    }
    ::close(ready[1]);
    char go = 0;
    (void)!::read(ready[0], &go, 1);
    ::close(ready[0]);
    // Random moments inside the loop; every tenth round lets it run longer (progress under sanitizers).
    ::usleep(static_cast<useconds_t>(round % 10 == 9 ? 150'000 : rng.bounded(25'000)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    // After every kill: every listed version loads and predicts as saved, every alias
    // points at a live version, and the history replays.
    ModelRegistry reg(dir);
    for (const auto& v : reg.versions("live")) CHECK(reg.load<double>("live", std::to_string(v.version)).predict(frame) == expected);
    for (const auto& [alias, v] : reg.aliases("live")) CHECK(reg.resolve("live", alias) == v);
    CHECK(reg.history("live").size() >= reg.aliases("live").size());
  }
  CHECK(kills == 60);
  ModelRegistry reg(dir);
  CHECK(reg.versions("live").size() >= 1);
  CHECK(*reg.latest("live") > 6);  // the children got work done between the kills
}

// ---- crash simulation ---------------------------------------------------------------------
namespace {
struct simulated_crash {};

/// A file layer that counts every write/sync/rename/unlink/truncate point, "crashes" (throws)
/// at point `crash_at`, and afterwards rewrites the disk as a crash would have left it:
/// kept (every write reached the disk), dropped (only fsynced data and renames/unlinks
/// made durable by a directory fsync survive) or garbled (unsynced bytes are garbage).
struct crash_injector : detail::file_ops {
  enum class mode { kept, dropped, garbled };
  int crash_at = -1, points = 0;
  std::map<int, std::string> fd_path;
  std::set<int> dir_fds;
  std::map<std::string, std::optional<std::string>> durable;  // path -> durable content (nullopt: absent)
  struct pending {
    std::string kind, from, to;
    std::optional<std::string> old_to;
  };
  std::vector<pending> undurable;  // renames and unlinks not yet made durable by a directory fsync

  static std::optional<std::string> contents(const std::string& p) {
    struct ::stat st {};
    if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
    return detail::read_file(p);
  }
  void remember(const std::string& p) {
    if (!durable.count(p)) durable[p] = contents(p);
  }
  void point() {
    if (++points == crash_at) throw simulated_crash{};
  }
  int make_temp(char* tmpl) override {
    point();
    const int fd = ::mkstemp(tmpl);
    durable[tmpl] = std::nullopt;
    fd_path[fd] = tmpl;
    return fd;
  }
  int open(const char* path, int flags, ::mode_t m) override {
    if (flags & O_DIRECTORY) {
      const int fd = ::open(path, flags, m);
      dir_fds.insert(fd);
      fd_path[fd] = path;
      return fd;
    }
    remember(path);
    const int fd = ::open(path, flags, m);
    fd_path[fd] = path;
    return fd;
  }
  ::ssize_t write(int fd, const void* d, std::size_t n) override {
    point();
    return ::write(fd, d, n);
  }
  int sync(int fd) override {
    point();
    const int r = ::fsync(fd);
    const std::string p = fd_path[fd];
    if (dir_fds.count(fd)) {  // renames and unlinks in this directory become durable
      std::vector<pending> rest;
      for (auto& u : undurable) {
        const std::string& where = u.kind == "rename" ? u.to : u.from;
        if (fs::path(where).parent_path() != fs::path(p)) {
          rest.push_back(u);
          continue;
        }
        if (u.kind == "rename") {
          durable[u.to] = durable[u.from];
          durable[u.from] = std::nullopt;
        } else {
          durable[u.from] = std::nullopt;
        }
      }
      undurable = rest;
    } else {
      durable[p] = contents(p);
    }
    return r;
  }
  int close(int fd) override {
    dir_fds.erase(fd);
    return ::close(fd);
  }
  int rename(const char* from, const char* to) override {
    point();
    remember(from);
    remember(to);
    undurable.push_back({"rename", from, to, contents(to)});
    return ::rename(from, to);
  }
  int unlink(const char* path) override {
    point();
    remember(path);
    undurable.push_back({"unlink", path, "", contents(path)});
    return ::unlink(path);
  }
  int truncate(int fd, ::off_t size) override {
    point();
    return ::ftruncate(fd, size);
  }

  /// The disk after the crash.
  void settle(mode m) {
    if (m == mode::kept) return;
    if (m == mode::dropped) {
      for (auto it = undurable.rbegin(); it != undurable.rend(); ++it) {
        if (it->kind == "rename") {
          if (fs::exists(it->to)) fs::rename(it->to, it->from);
          if (it->old_to) write_text(it->to, *it->old_to);
        } else if (it->old_to) {
          write_text(it->from, *it->old_to);
        }
      }
    }
    else  // garbled: the renames stand, and a renamed file's data is what was synced before it moved
      for (const auto& u : undurable)
        if (u.kind == "rename") durable[u.to] = durable[u.from], durable[u.from] = std::nullopt;
    detail::xoshiro256ss rng(7);
    for (const auto& [p, d] : durable) {
      const auto now = contents(p);
      if (now == d || !now) continue;
      if (m == mode::dropped) {
        if (d) write_text(p, *d);
        else fs::remove(p);
      } else {  // garbled: bytes past the durable prefix are noise
        std::string g = *now;
        for (std::size_t i = d ? (std::min)(d->size(), g.size()) : 0; i < g.size(); ++i) g[i] = static_cast<char>(rng.bounded(256));
        write_text(p, g);
      }
    }
  }
};

/// What a reader sees: versions (with a prediction), aliases, the alias history.
std::string observe_registry(const fs::path& dir) {
  try {
    ModelRegistry reg(dir);
    std::string s;
    for (const auto& v : reg.versions("m"))
      s += fmt::format("v{}:{} ", v.version, reg.load<double>("m", std::to_string(v.version)).predict(small_frame(1.0))[3]);
    for (const auto& [a, v] : reg.aliases("m")) s += fmt::format("{}={} ", a, v);
    for (const auto& e : reg.history("m")) s += fmt::format("{}:{} ", e.action, e.version.value_or(0));
    return s;
  } catch (const std::exception& e) {
    return std::string("unreadable: ") + e.what();
  }
}
std::string observe_file(const fs::path& file) {
  try {
    if (!fs::exists(file)) return "absent";
    return fmt::format("{}", FittedPipeline<double>::load(file).predict(small_frame(1.0))[3]);
  } catch (const std::exception& e) {
    return std::string("unreadable: ") + e.what();
  }
}

/// For every point of `op`, each crash mode: the state afterwards is exactly the old or
/// the new one, and the registry keeps working. Returns the number of crashes simulated.
template <class Op, class Observe>
std::size_t crash_everywhere(const std::string& label, const std::function<void(const fs::path&)>& setup, Op op, Observe observe) {
  const auto base = fresh_dir("crash_" + label + "_base");
  setup(base);
  const std::string before = observe(base);
  const auto clean = fresh_dir("crash_" + label + "_clean");
  fs::copy(base, clean, fs::copy_options::recursive);
  crash_injector counter;
  detail::set_file_ops(&counter);
  op(clean);
  detail::set_file_ops(nullptr);
  const std::string after = observe(clean);
  REQUIRE(before != after);
  std::size_t crashes = 0;
  for (int at = 1; at <= counter.points; ++at)
    for (const auto m : {crash_injector::mode::kept, crash_injector::mode::dropped, crash_injector::mode::garbled}) {
      const auto work = fresh_dir("crash_" + label + "_work");
      fs::remove_all(work);
      fs::copy(base, work, fs::copy_options::recursive);
      crash_injector inj;
      inj.crash_at = at;
      detail::set_file_ops(&inj);
      bool crashed = false;
      try {
        op(work);
      } catch (const simulated_crash&) {
        crashed = true;
      }
      detail::set_file_ops(nullptr);
      REQUIRE(crashed);
      inj.settle(m);
      const std::string seen = observe(work);
      INFO(label << ": crash at point " << at << " of " << counter.points << ", mode " << static_cast<int>(m));
      CHECK((seen == before || seen == after));
      if (label != "save" && label != "monitor_state") {  // and the registry keeps working: the next version gets a fresh number
        ModelRegistry r(work);
        const auto highest = r.versions("m").back().version;
        CHECK(r.register_model("m", small_model(7.0), {}) > highest);
      }
      ++crashes;
    }
  return crashes;
}
}  // namespace

TEST_CASE("crash safety: a crash at any write, sync, rename or unlink of save, register, promote, rollback, delete, a monitor state or a signature leaves the old or the new state") {
  auto setup = [](const fs::path& dir) {
    ModelRegistry reg(dir);
    (void)reg.register_model("m", small_model(1.0), {});
    (void)reg.register_model("m", small_model(2.0), {});
    reg.promote("m", 1, "production");
    reg.promote("m", 2, "production");
  };
  std::size_t crashes = 0;
  crashes += crash_everywhere(
      "register", setup, [](const fs::path& d) { (void)ModelRegistry(d).register_model("m", small_model(3.0), {}); }, observe_registry);
  crashes += crash_everywhere("promote", setup, [](const fs::path& d) { ModelRegistry(d).promote("m", 1, "staging"); }, observe_registry);
  crashes += crash_everywhere("rollback", setup, [](const fs::path& d) { (void)ModelRegistry(d).rollback("m", "production"); },
                              observe_registry);
  crashes += crash_everywhere(
      "delete",
      [&](const fs::path& dir) {
        setup(dir);
        (void)ModelRegistry(dir).register_model("m", small_model(5.0), {});
      },
      [](const fs::path& d) { ModelRegistry(d).delete_version("m", 3); }, observe_registry);
  crashes += crash_everywhere(
      "save", [](const fs::path& dir) { small_model(1.0).save(dir / "model.mlops"); },
      [](const fs::path& d) { small_model(2.0).save(d / "model.mlops"); }, [](const fs::path& d) { return observe_file(d / "model.mlops"); });
  // A drift monitor's state (the monitor command's --state), and a signature attached
  // to a version: the same protocol, the same guarantee.
  crashes += crash_everywhere(
      "monitor_state", [](const fs::path& dir) { small_model(1.0).monitor().save_state(dir / "state.bin"); },
      [](const fs::path& d) {
        const auto p = small_model(1.0);
        auto m = p.monitor();
        const double row[] = {3.0, 4.0};
        for (int i = 0; i < 50; ++i) m.observe(std::span<const double>(row), p.predict_row(std::span<const double>(row)));
        m.save_state(d / "state.bin");
      },
      [](const fs::path& d) {  // the state's bytes, when a monitor takes them
        const auto f = d / "state.bin";
        if (!fs::exists(f)) return std::string("absent");
        try {
          auto m = small_model(1.0).monitor();
          m.load_state(f);
          return detail::read_file(f);
        } catch (const std::exception&) {
          return std::string("unreadable");
        }
      });
  crashes += crash_everywhere(
      "signature", setup, [](const fs::path& d) { ModelRegistry(d).attach_signature("m", 2, "{\"signed\": true}\n"); },
      [](const fs::path& d) {
        const auto sig = ModelRegistry(d).signature("m", 2);
        return observe_registry(d) + (sig ? *sig : std::string("unsigned"));
      });
  CHECK(crashes >= 60);
  MESSAGE("simulated crashes: " << crashes);
}

// ---- issue 19: nothing lost, nothing silent ----

TEST_CASE("atomic save: only a regular file (or nothing) is replaced; links, FIFOs and directories are refused") {
  const auto dir = fresh_dir("nonregular");
  const auto m = small_model(2.0);
  m.save(dir / "plain.mlops");
  m.save(dir / "plain.mlops");  // replacing a regular file is the normal case
  CHECK(FittedPipeline<double>::load(dir / "plain.mlops").to_bytes() == m.to_bytes());

  write_text(dir / "target.txt", "keep me");
  fs::create_symlink(dir / "target.txt", dir / "link.mlops");
  CHECK_THROWS_WITH_AS(m.save(dir / "link.mlops"), doctest::Contains("symbolic link"), io_error);
  CHECK(fs::is_symlink(dir / "link.mlops"));
  CHECK(detail::read_file(dir / "target.txt") == "keep me");

  REQUIRE(::mkfifo((dir / "fifo.mlops").c_str(), 0644) == 0);
  CHECK_THROWS_WITH_AS(m.save(dir / "fifo.mlops"), doctest::Contains("FIFO"), io_error);
  CHECK(fs::is_fifo(dir / "fifo.mlops"));

  fs::create_directory(dir / "adir.mlops");
  CHECK_THROWS_WITH_AS(m.save(dir / "adir.mlops"), doctest::Contains("directory"), io_error);
  CHECK(fs::is_directory(dir / "adir.mlops"));
  // Nothing was left behind by the refusals.
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

namespace {
// Fails fsync of directories (what `strace -e inject=fsync:error=EIO` did to the rename's
// directory sync); files sync normally.
struct dir_sync_fails : detail::file_ops {
  int dir_syncs = 0;
  int sync(int fd) override {
    struct ::stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ++dir_syncs;
      errno = EIO;
      return -1;
    }
    return ::fsync(fd);
  }
};
}  // namespace

TEST_CASE("atomic save: a failed directory fsync is reported, and says the new file is in place") {
  const auto dir = fresh_dir("dirsync");
  const auto a = small_model(2.0), b = small_model(3.0);
  a.save(dir / "m.mlops");
  dir_sync_fails inj;
  detail::set_file_ops(&inj);
  std::string msg;
  try {
    b.save(dir / "m.mlops");
  } catch (const io_error& e) {
    msg = e.what();
  }
  detail::set_file_ops(nullptr);
  CHECK(inj.dir_syncs == 1);
  CHECK(msg.find("was written") != std::string::npos);
  CHECK(msg.find("in effect") != std::string::npos);
  CHECK(msg.find("Input/output error") != std::string::npos);
  CHECK(FittedPipeline<double>::load(dir / "m.mlops").to_bytes() == b.to_bytes());  // the rename happened
}

TEST_CASE("atomic save: temporary files of an interrupted save are removed by the next one") {
  const auto dir = fresh_dir("stale");
  write_text(dir / ".m.mlops.tmp.abc123", "half a model");
  write_text(dir / ".m.mlops.tmp.def456", "a save in progress");
  write_text(dir / ".other.mlops.tmp.abc123", "another file's");
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(5);
  fs::last_write_time(dir / ".m.mlops.tmp.abc123", old);
  fs::last_write_time(dir / ".other.mlops.tmp.abc123", old);
  small_model(2.0).save(dir / "m.mlops");
  CHECK(!fs::exists(dir / ".m.mlops.tmp.abc123"));
  CHECK(fs::exists(dir / ".m.mlops.tmp.def456"));      // young: may belong to a save in progress
  CHECK(fs::exists(dir / ".other.mlops.tmp.abc123"));  // another target's
}

TEST_CASE("registry: version numbers are bounded; a stray huge number is not a version") {
  const auto dir = fresh_dir("bounded");
  ModelRegistry reg(dir);
  CHECK(reg.register_model("m", small_model(2.0)) == 1);
  write_text(dir / "m" / "v999999999999999999.deleted", "{}\n");
  write_text(dir / "m" / "v1000000000.json", "{}\n");
  CHECK(reg.register_model("m", small_model(3.0)) == 2);
  // One fit, kept: a model's bytes hold its creation second, so a second fit may differ.
  const auto third = small_model(4.0);
  CHECK(reg.register_model("m", third) == 3);
  CHECK(reg.versions("m").size() == 3);
  CHECK(reg.load<double>("m", "3").to_bytes() == third.to_bytes());
  CHECK(!detail::version_of("v1000000000.mlops", ".mlops"));
  CHECK(*detail::version_of("v999999999.mlops", ".mlops") == detail::max_version);
  // At the bound, registering is refused rather than wrapping or overwriting.
  write_text(dir / "m" / "v999999999.deleted", "{}\n");
  CHECK(error_id_of([&] { reg.register_model("m", small_model(5.0)); }) == "registry.corrupt");
  CHECK(reg.versions("m").size() == 3);
}

TEST_CASE("registry: promote and rollback remove the debris of interrupted writers") {
  const auto dir = fresh_dir("debris");
  ModelRegistry reg(dir);
  reg.register_model("m", small_model(2.0));
  reg.register_model("m", small_model(3.0));
  const auto old = fs::file_time_type::clock::now() - std::chrono::minutes(5);
  write_text(dir / "m" / ".index.json.tmp.Zx81Qa", "{");
  fs::last_write_time(dir / "m" / ".index.json.tmp.Zx81Qa", old);
  reg.promote("m", 1, "production");
  CHECK(!fs::exists(dir / "m" / ".index.json.tmp.Zx81Qa"));
  write_text(dir / "m" / ".index.json.tmp.Zx81Qb", "{");
  fs::last_write_time(dir / "m" / ".index.json.tmp.Zx81Qb", old);
  reg.promote("m", 2, "production");
  reg.rollback("m", "production");
  CHECK(!fs::exists(dir / "m" / ".index.json.tmp.Zx81Qb"));
  CHECK(reg.resolve("m", "production") == 1);
}

TEST_CASE("registry: mid-log damage in history.log is reported with its line, never cut; a torn tail is cut and reported") {
  const auto dir = fresh_dir("midlog");
  ModelRegistry reg(dir);
  reg.register_model("m", small_model(2.0));
  reg.register_model("m", small_model(3.0));
  for (int i = 0; i < 8; ++i) reg.promote("m", 1 + (i % 2), "production");
  CHECK(reg.resolve("m", "production") == 2);
  const auto log = dir / "m" / "history.log";
  const std::string good = detail::read_file(log);
  // One bit flipped in the middle of line 3.
  std::string damaged = good;
  std::size_t line3 = 0;
  for (int k = 0; k < 2; ++k) line3 = damaged.find('\n', line3) + 1;
  damaged[line3 + 30] = static_cast<char>(damaged[line3 + 30] ^ 0x04);
  write_text(log, damaged);
  CHECK_THROWS_WITH_AS((void)reg.resolve("m", "production"), doctest::Contains("history.log line 3"), registry_error);
  CHECK(error_id_of([&] { (void)reg.resolve("m", "production"); }) == "registry.corrupt");
  CHECK(error_id_of([&] { reg.promote("m", 1, "production"); }) == "registry.corrupt");
  CHECK(error_id_of([&] { (void)reg.rollback("m", "production"); }) == "registry.corrupt");
  CHECK(detail::read_file(log) == damaged);  // nothing dropped, nothing appended
  // Restored: everything is there.
  write_text(log, good);
  CHECK(reg.history("m").size() == 8);

  // A torn last record (a crash while appending): readers ignore it, the next writer cuts
  // it and says so.
  std::vector<std::string> warnings;
  reg.on_warning([&](std::string_view w) { warnings.emplace_back(w); });
  write_text(log, good + "0badc0de {\"seq\": 9, \"ali");
  CHECK(reg.resolve("m", "production") == 2);
  reg.promote("m", 1, "production");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("cut a torn last record") != std::string::npos);
  CHECK(reg.history("m").size() == 9);
  CHECK(reg.resolve("m", "production") == 1);
  // A garbled but complete last line is the same case.
  const std::string nine = detail::read_file(log);
  write_text(log, nine + "00000000 garbage\n");
  CHECK(reg.resolve("m", "production") == 1);
  reg.promote("m", 2, "production");
  CHECK(warnings.size() == 2);
  CHECK(reg.history("m").size() == 10);
}

TEST_CASE("registry: a hard-linked history.log is refused, the file outside untouched") {
  const auto dir = fresh_dir("hardlink");
  const auto outside = fresh_dir("hardlink_outside") / "precious.txt";
  ModelRegistry reg(dir);
  reg.register_model("m", small_model(2.0));
  reg.register_model("m", small_model(3.0));
  reg.promote("m", 1, "production");
  const auto log = dir / "m" / "history.log";
  const std::string before = detail::read_file(log);
  fs::copy_file(log, outside);
  fs::remove(log);
  fs::create_hard_link(outside, log);  // history.log is now also a name of a file outside
  CHECK_THROWS_WITH_AS(reg.promote("m", 2, "production"), doctest::Contains("hard links"), registry_error);
  CHECK(detail::read_file(outside) == before);
  // A torn tail to cut: the truncation is refused the same way.
  write_text(outside, before + "0badc0de {\"se");
  CHECK_THROWS_WITH_AS(reg.promote("m", 2, "production"), doctest::Contains("hard links"), registry_error);
  CHECK(detail::read_file(outside) == before + "0badc0de {\"se");
  // Readers still read it (reading through a link changes nothing).
  CHECK(reg.resolve("m", "production") == 1);
}

TEST_CASE("registry: readers create and write nothing") {
  const auto dir = fresh_dir("readers");
  {
    ModelRegistry reg(dir);
    reg.register_model("m", small_model(2.0));
  }
  fs::remove(dir / ".lock");
  const auto listing = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(e.path().string());
    return names;
  };
  const auto files = listing();
  ModelRegistry reg(dir);
  CHECK(reg.versions("m").size() == 1);
  CHECK(reg.models().size() == 1);
  (void)reg.history("m");
  CHECK(listing() == files);
}

namespace {
// Fails creating the index's temporary file: the disk filled up after the commit point.
struct index_write_fails : detail::file_ops {
  int make_temp(char* tmpl) override {
    if (std::string_view(tmpl).find("index.json") != std::string_view::npos) {
      errno = ENOSPC;
      return -1;
    }
    return ::mkstemp(tmpl);
  }
};
}  // namespace

TEST_CASE("registry: a failure after the commit point reports the change as in effect, never as failed") {
  const auto dir = fresh_dir("aftercommit");
  ModelRegistry reg(dir);
  std::vector<std::string> warnings;
  reg.on_warning([&](std::string_view w) { warnings.emplace_back(w); });
  reg.register_model("m", small_model(2.0));
  index_write_fails inj;
  detail::set_file_ops(&inj);
  std::uint64_t v = 0;
  CHECK_NOTHROW(v = reg.register_model("m", small_model(3.0)));  // committed: no error a script would retry
  CHECK_NOTHROW(reg.promote("m", 2, "production"));
  detail::set_file_ops(nullptr);
  CHECK(v == 2);
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("version 2 is registered (in effect)") != std::string::npos);
  CHECK(warnings[0].find("No space left") != std::string::npos);
  CHECK(warnings[1].find("production -> version 2 (in effect)") != std::string::npos);
  // Readers see the committed state (the stale index is rebuilt in memory).
  CHECK(reg.versions("m").size() == 2);
  CHECK(reg.resolve("m", "production") == 2);
}
