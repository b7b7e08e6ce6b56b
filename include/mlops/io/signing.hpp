// mlops/io/signing.hpp - Ed25519 signatures of registry versions and model files, with
// libsodium (Debian: libsodium-dev; link it: `pkg-config --libs libsodium`). The rest of
// mlops never needs libsodium: only a program that includes this header does.
//
//   auto keys = mlops::signing::generate_keys();
//   mlops::signing::save_keys(keys, "release");              // release.key (0600), release.pub
//   mlops::signing::sign_version(reg, "price", "3", keys.secret);
//   reg.set_load_check(mlops::signing::require_signed_by({keys.public_key}));
//   auto p = reg.load<double>("price", "production");          // signature_error unless signed by a trusted key
//
// What is signed: a statement naming the BLAKE2b-256 digests of the model file's bytes
// and of the version's metadata file (DIR/NAME/vNNNNNN.json, which names the model, the
// version, its schema and metrics), so neither can change, nor a signed version be
// passed off as another version or model. A model file outside a registry is signed
// alone, its signature in MODEL.mlops.sig. Aliases are not signed: promoting or rolling
// back to any signed version is allowed.
//
// The signature file (JSON): {"format": "mlops-signature", "format_version": 1,
// "algorithm": "ed25519", "key_id": ..., "model_blake2b": ..., "metadata_blake2b": ...,
// "signature": ...} (hex). Key files are one line of text: "mlops-ed25519-public-key HEX"
// and "mlops-ed25519-secret-key HEX" (written with mode 0600).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sodium.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mlops/config.hpp"
#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/durable_file.hpp"
#include "mlops/detail/json_limits.hpp"
#include "mlops/error.hpp"
#include "mlops/registry.hpp"

MLOPS_NAMESPACE_BEGIN
namespace signing {

struct public_key {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> bytes{};
  friend bool operator==(const public_key&, const public_key&) = default;
};
struct secret_key {
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> bytes{};  // seed and public key
};
struct key_pair {
  signing::public_key public_key;
  secret_key secret;
};

namespace detail {
inline void init() {
  if (::sodium_init() < 0) MLOPS_THROW(signature_error(errc::signature_key, "libsodium could not be initialised (no entropy source?)"));
}
inline std::string hex(const unsigned char* p, std::size_t n) {
  std::string s(2 * n + 1, '\0');
  ::sodium_bin2hex(s.data(), s.size(), p, n);
  s.pop_back();
  return s;
}
/// Exactly `n` bytes from hex text; nullopt for anything else.
inline std::optional<std::vector<unsigned char>> unhex(std::string_view text, std::size_t n) {
  if (text.size() != 2 * n) return std::nullopt;
  std::vector<unsigned char> out(n);
  std::size_t len = 0;
  const char* end = nullptr;
  if (::sodium_hex2bin(out.data(), n, text.data(), text.size(), nullptr, &len, &end) != 0 || len != n || end != text.data() + text.size())
    return std::nullopt;
  return out;
}
inline std::string blake2b(std::string_view bytes) {
  std::array<unsigned char, 32> d{};
  ::crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return hex(d.data(), d.size());
}
/// The signed message: the digests, under a domain line so a signature of anything else
/// can never be mistaken for one of a model.
inline std::string statement(const std::string& model_digest, const std::string& metadata_digest) {
  return fmt::format("mlops-signature-v1\nmodel-blake2b-256 {}\nmetadata-blake2b-256 {}\n", model_digest, metadata_digest);
}
inline std::string subject(const VersionFiles& f) {
  return f.version ? fmt::format("'{}' version {}", f.name, f.version) : fmt::format("'{}'", f.name);
}
}  // namespace detail

/// A short, stable name of a public key: the first 16 hex digits of its BLAKE2b digest.
inline std::string key_id(const public_key& k) {
  return detail::blake2b(std::string_view(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size())).substr(0, 16);
}

inline key_pair generate_keys() {
  detail::init();
  key_pair k;
  ::crypto_sign_keypair(k.public_key.bytes.data(), k.secret.bytes.data());
  return k;
}
inline public_key public_key_of(const secret_key& s) {
  public_key p;
  ::crypto_sign_ed25519_sk_to_pk(p.bytes.data(), s.bytes.data());
  return p;
}

inline std::string public_key_text(const public_key& k) { return "mlops-ed25519-public-key " + detail::hex(k.bytes.data(), k.bytes.size()) + "\n"; }
inline std::string secret_key_text(const secret_key& k) { return "mlops-ed25519-secret-key " + detail::hex(k.bytes.data(), k.bytes.size()) + "\n"; }

namespace detail {
template <class Key>
Key parse_key(std::string_view text, std::string_view tag, std::string_view source) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  Key k;
  const std::string prefix = std::string(tag) + " ";
  const auto bytes = text.starts_with(prefix) ? unhex(text.substr(prefix.size()), k.bytes.size()) : std::nullopt;
  if (!bytes)
    MLOPS_THROW(signature_error(errc::signature_key, fmt::format("'{}' is not an mlops {} (one line: \"{} <{} hex digits>\"); make keys with "
                                                                 "`mlops keygen`", source, tag.substr(14), tag, 2 * k.bytes.size())));
  std::copy(bytes->begin(), bytes->end(), k.bytes.begin());
  return k;
}
}  // namespace detail

inline public_key parse_public_key(std::string_view text, std::string_view source = "key") {
  return detail::parse_key<public_key>(text, "mlops-ed25519-public-key", source);
}
inline secret_key parse_secret_key(std::string_view text, std::string_view source = "key") {
  auto k = detail::parse_key<secret_key>(text, "mlops-ed25519-secret-key", source);
  // The last 32 bytes must be the public key of the first 32 (the seed): a damaged file
  // would otherwise sign with a key nobody can verify.
  detail::init();
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  ::crypto_sign_seed_keypair(pk.data(), sk.data(), k.bytes.data());
  const bool ok = sk == k.bytes;
  ::sodium_memzero(sk.data(), sk.size());
  if (!ok) MLOPS_THROW(signature_error(errc::signature_key, fmt::format("'{}': the secret key is damaged (its two halves disagree)", source)));
  return k;
}
inline public_key load_public_key(const std::filesystem::path& path) { return parse_public_key(mlops::detail::read_file(path, true, 4096), path.string()); }
inline secret_key load_secret_key(const std::filesystem::path& path) { return parse_secret_key(mlops::detail::read_file(path, true, 4096), path.string()); }

/// Writes PREFIX.key (the secret key, mode 0600) and PREFIX.pub. Refuses to replace an
/// existing key file (a lost secret key cannot be recovered).
inline void save_keys(const key_pair& k, const std::filesystem::path& prefix) {
  const std::filesystem::path sec = prefix.string() + ".key", pub = prefix.string() + ".pub";
  for (const auto& p : {sec, pub})
    if (std::filesystem::exists(std::filesystem::symlink_status(p)))
      MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("'{}' exists; keys are never overwritten: choose another name", p.string())));
  mlops::detail::atomic_write_file(sec, secret_key_text(k.secret), 0600);
  mlops::detail::atomic_write_file(pub, public_key_text(k.public_key));
}

/// The signature file of `f` (its model and metadata bytes) made with `key`.
inline std::string sign(const VersionFiles& f, const secret_key& key) {
  detail::init();
  const auto md = detail::blake2b(f.model_bytes), dd = detail::blake2b(f.metadata_bytes);
  const auto msg = detail::statement(md, dd);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  ::crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), key.bytes.data());
  nlohmann::json j{{"format", "mlops-signature"},
                   {"format_version", 1},
                   {"algorithm", "ed25519"},
                   {"key_id", key_id(public_key_of(key))},
                   {"model_blake2b", md},
                   {"metadata_blake2b", dd},
                   {"signature", detail::hex(sig.data(), sig.size())}};
  return j.dump(2) + "\n";
}

/// Checks that `f` carries a signature, by one of `trusted`, of exactly its bytes.
/// signature_error: signature.missing (unsigned), signature.invalid (damaged, made by a
/// key not trusted, or the model or metadata changed since signing). Returns the key id.
inline std::string verify(const VersionFiles& f, std::span<const public_key> trusted) {
  detail::init();
  const auto who = detail::subject(f);
  if (!f.signature)
    MLOPS_THROW(signature_error(errc::signature_missing, fmt::format("{} is not signed; sign it (`mlops sign`) with a key this side trusts", who)));
  const auto j = mlops::detail::parse_json_limited<signature_error>(*f.signature, who + "'s signature", errc::signature_invalid);
  auto field = [&](const char* k) -> std::string {
    if (!j.is_object() || !j.contains(k) || !j[k].is_string())
      MLOPS_THROW(signature_error(errc::signature_invalid, fmt::format("{}: the signature file has no \"{}\" (damaged or not an mlops signature)", who, k)));
    return j[k].get<std::string>();
  };
  if (field("format") != "mlops-signature" || field("algorithm") != "ed25519")
    MLOPS_THROW(signature_error(errc::signature_invalid, fmt::format("{}: not an mlops Ed25519 signature", who)));
  const auto id = field("key_id");
  const public_key* key = nullptr;
  std::vector<std::string> ids;
  for (const auto& k : trusted) {
    ids.push_back(key_id(k));
    if (ids.back() == id) key = &k;
  }
  if (!key)
    MLOPS_THROW(signature_error(errc::signature_invalid, fmt::format("{} is signed by key {}, which is not trusted here (trusted: {})", who, id,
                                                                     ids.empty() ? std::string("none") : fmt::format("{}", fmt::join(ids, ", ")))));
  const auto sig = detail::unhex(field("signature"), crypto_sign_BYTES);
  if (!sig) MLOPS_THROW(signature_error(errc::signature_invalid, fmt::format("{}: the signature is damaged", who)));
  const auto md = detail::blake2b(f.model_bytes), dd = detail::blake2b(f.metadata_bytes);
  const auto msg = detail::statement(md, dd);
  if (::crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), key->bytes.data()) != 0) {
    const char* what = field("model_blake2b") != md      ? "the model file changed since it was signed"
                       : field("metadata_blake2b") != dd ? "its metadata changed since it was signed"
                                                         : "the signature does not verify";
    MLOPS_THROW(signature_error(errc::signature_invalid, fmt::format("{}: {} (key {}); it is refused", who, what, id)));
  }
  return id;
}

/// A registry load check (ModelRegistry::set_load_check) that requires a signature by
/// one of `trusted` on every version loaded.
inline ModelRegistry::load_check require_signed_by(std::vector<public_key> trusted) {
  return [keys = std::move(trusted)](const VersionFiles& f) { (void)verify(f, keys); };
}

/// Signs a registry version (number, alias or "latest"); returns its number.
inline std::uint64_t sign_version(ModelRegistry& reg, std::string_view name, std::string_view spec, const secret_key& key) {
  const auto f = reg.files(name, spec);
  reg.attach_signature(name, f.version, sign(f, key));
  return f.version;
}
/// Verifies a registry version; returns the signing key's id.
inline std::string verify_version(const ModelRegistry& reg, std::string_view name, std::string_view spec, std::span<const public_key> trusted) {
  return verify(reg.files(name, spec), trusted);
}

/// A model file outside a registry (its signature in MODEL.mlops.sig: model_file_signature_path).
inline void sign_file(const std::filesystem::path& model, const secret_key& key) {
  mlops::detail::atomic_write_file(model_file_signature_path(model), sign(read_model_file(model), key));
}
inline std::string verify_file(const std::filesystem::path& model, std::span<const public_key> trusted) {
  return verify(read_model_file(model), trusted);
}

}  // namespace signing
MLOPS_NAMESPACE_END
