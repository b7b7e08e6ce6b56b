// Signed models (issue 21): Ed25519 signatures over a version's model and metadata bytes
// (mlops/io/signing.hpp, libsodium); a registry with a load check refuses unsigned,
// tampered and untrusted versions; a service keeps serving its last good version and
// takes a version once it is signed. Built only where libsodium is installed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "mlops/io/signing.hpp"
#include "mlops/serve/service.hpp"
#include "support.hpp"

using namespace mlops;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) { return test::fresh_dir("signing_test", name); }

FittedPipeline<double> model(double slope) {
  std::vector<double> a, y;
  for (int i = 0; i < 50; ++i) {
    a.push_back(i * 0.5);
    y.push_back(slope * a.back() + 1.0 + ((i * 13) % 5) * 0.01);
  }
  return pipeline<double>().standardize().fit(LinearRegression<double>{}, DataFrame<double>::from_columns({"a", "y"}, {a, y}), "y");
}

void edit(const fs::path& p, std::size_t at, char to) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(to);
}

using test::error_id_of;
}  // namespace

TEST_CASE("signing: keys round-trip through their files; damaged keys are refused") {
  const auto dir = fresh_dir("keys");
  const auto k = signing::generate_keys();
  CHECK(signing::public_key_of(k.secret) == k.public_key);
  CHECK(signing::key_id(k.public_key).size() == 16);
  signing::save_keys(k, dir / "release");
  struct ::stat st {};
  REQUIRE(::stat((dir / "release.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the secret key is readable by its owner only
  CHECK(signing::load_public_key(dir / "release.pub") == k.public_key);
  CHECK(signing::public_key_of(signing::load_secret_key(dir / "release.key")) == k.public_key);
  // Never overwritten.
  CHECK(error_id_of([&] { signing::save_keys(signing::generate_keys(), dir / "release"); }) == "argument.invalid");
  CHECK(signing::public_key_of(signing::load_secret_key(dir / "release.key")) == k.public_key);
  // A public key is not a secret key, a truncated or edited one is refused.
  CHECK(error_id_of([&] { (void)signing::load_secret_key(dir / "release.pub"); }) == "signature.key");
  CHECK(error_id_of([&] { (void)signing::parse_public_key("mlops-ed25519-public-key 00ff"); }) == "signature.key");
  auto text = signing::secret_key_text(k.secret);
  text[30] = text[30] == '0' ? '1' : '0';
  CHECK(error_id_of([&] { (void)signing::parse_secret_key(text); }) == "signature.key");
}

TEST_CASE("signing: a registry with a trusted key loads signed versions only") {
  const auto dir = fresh_dir("registry");
  const auto keys = signing::generate_keys(), other = signing::generate_keys();
  ModelRegistry reg(dir);
  reg.register_model("m", model(2.0));
  reg.register_model("m", model(3.0));
  reg.register_model("m", model(4.0));
  CHECK(signing::sign_version(reg, "m", "1", keys.secret) == 1);
  CHECK(signing::sign_version(reg, "m", "2", keys.secret) == 2);
  CHECK(signing::sign_version(reg, "m", "3", other.secret) == 3);  // signed, but by a key not trusted
  const std::vector<signing::public_key> trusted{keys.public_key};
  CHECK(signing::verify_version(reg, "m", "1", trusted) == signing::key_id(keys.public_key));

  ModelRegistry guarded(dir);
  guarded.set_load_check(signing::require_signed_by(trusted));
  const double row[] = {3.0};
  CHECK(guarded.load<double>("m", "1").predict_row(std::span<const double>(row)) ==
        reg.load<double>("m", "1").predict_row(std::span<const double>(row)));
  CHECK(test::error_text_of([&] { (void)guarded.load<double>("m", "3"); }).find("not trusted") != std::string::npos);
  CHECK(error_id_of([&] { (void)guarded.load<double>("m", "3"); }) == "signature.invalid");

  // Unsigned.
  reg.register_model("m", model(5.0));
  CHECK(error_id_of([&] { (void)guarded.load<double>("m", "4"); }) == "signature.missing");
  CHECK_NOTHROW((void)reg.load<double>("m", "4"));  // a registry without the check loads it

  // The metadata changed after signing (a metric edited: the model's checksum still
  // matches, so only the signature can tell).
  const auto meta = dir / "m" / "v000002.json";
  std::string text;
  {
    std::ifstream in(meta, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = text.find("\"created_at_unix\": ");
  REQUIRE(at != std::string::npos);
  const auto digit = at + std::string("\"created_at_unix\": ").size();
  edit(meta, digit, text[digit] == '1' ? '2' : '1');
  CHECK_NOTHROW((void)reg.load<double>("m", "2"));
  CHECK(error_id_of([&] { (void)guarded.load<double>("m", "2"); }) == "signature.invalid");
  CHECK(test::error_text_of([&] { (void)guarded.load<double>("m", "2"); }).find("metadata changed") != std::string::npos);

  // A signature moved onto another version does not verify (the metadata names the version).
  fs::copy_file(dir / "m" / "v000001.sig", dir / "m" / "v000004.sig");
  CHECK(error_id_of([&] { (void)guarded.load<double>("m", "4"); }) == "signature.invalid");
  // A damaged signature file is an error, not a crash.
  {
    std::ofstream(dir / "m" / "v000004.sig", std::ios::binary) << "{\"format\": \"mlops-signature\", \"algorithm\": ";
  }
  CHECK(error_id_of([&] { (void)guarded.load<double>("m", "4"); }) == "signature.invalid");

  // Deleting a version removes its signature; retention and debris keep no stray .sig.
  reg.delete_version("m", 3);
  CHECK(!fs::exists(dir / "m" / "v000003.sig"));
  CHECK(!reg.signature("m", 3));
  CHECK(reg.signature("m", 1));
  CHECK(error_id_of([&] { reg.attach_signature("m", 3, "x"); }) == "registry.not_found");
}

TEST_CASE("signing: a model file and its sidecar signature") {
  const auto dir = fresh_dir("file");
  const auto keys = signing::generate_keys();
  const auto path = dir / "m.mlops";
  model(2.0).save(path);
  const std::vector<signing::public_key> trusted{keys.public_key};
  CHECK(error_id_of([&] { (void)signing::verify_file(path, trusted); }) == "signature.missing");
  signing::sign_file(path, keys.secret);
  CHECK(fs::exists(dir / "m.mlops.sig"));
  CHECK(signing::verify_file(path, trusted) == signing::key_id(keys.public_key));
  model(2.5).save(path);  // replaced: the old signature no longer matches
  CHECK(test::error_text_of([&] { (void)signing::verify_file(path, trusted); }).find("model file changed") != std::string::npos);
}

TEST_CASE("signing: a service with a trusted key keeps its last signed version until the next is signed") {
  const auto dir = fresh_dir("service");
  const auto keys = signing::generate_keys();
  {
    ModelRegistry reg(dir);
    reg.register_model("m", model(2.0));
    reg.register_model("m", model(3.0));
    signing::sign_version(reg, "m", "1", keys.secret);
    reg.promote("m", 1, "production");
  }
  ServiceConfig c;
  c.name = "m";
  c.registry = dir;
  c.verify = signing::require_signed_by({keys.public_key});
  ModelService<double> svc(c);
  std::vector<ServeEvent> events;
  svc.on_event([&](const ServeEvent& e) { events.push_back(e); });
  CHECK(svc.poll());
  CHECK(svc.champion().version() == 1);

  ModelRegistry reg(dir);
  reg.promote("m", 2, "production");  // unsigned
  CHECK(!svc.poll());
  CHECK(svc.champion().version() == 1);
  REQUIRE(!events.empty());
  CHECK(events.back().kind == ServeEvent::kind_t::load_failed);
  CHECK(events.back().message.find("not signed") != std::string::npos);
  CHECK(svc.status()[0].last_error.find("not signed") != std::string::npos);
  const auto failures = events.size();
  CHECK(!svc.poll());  // not retried while nothing changed
  CHECK(events.size() == failures);

  signing::sign_version(reg, "m", "2", keys.secret);  // signed after the promotion: taken
  CHECK(svc.poll());
  CHECK(svc.champion().version() == 2);
  CHECK(svc.status()[0].last_error.empty());

  // A model file served with the same check.
  const auto path = dir / "file.mlops";
  model(4.0).save(path);
  ServiceConfig fc;
  fc.name = "f";
  fc.file = path;
  fc.verify = c.verify;
  ModelService<double> fsvc(fc);
  CHECK(!fsvc.poll());
  CHECK(!fsvc.ready());
  signing::sign_file(path, keys.secret);
  CHECK(fsvc.poll());
  CHECK(fsvc.ready());
}
