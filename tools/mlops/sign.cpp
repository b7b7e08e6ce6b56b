// tools/mlops/sign.cpp - `mlops keygen`, `mlops sign`, `mlops verify`: Ed25519 signatures
// of registry versions and model files (mlops/io/signing.hpp; built with libsodium).
#include <iostream>

#include "cli.hpp"
#include "mlops/io/signing.hpp"

namespace mlops_cli {

mlops::ModelRegistry::load_check require_signatures(const std::vector<std::string>& public_key_files) {
  std::vector<mlops::signing::public_key> keys;
  for (const auto& f : public_key_files) keys.push_back(mlops::signing::load_public_key(f));
  return mlops::signing::require_signed_by(std::move(keys));
}

namespace {

/// What sign and verify act on: a model file, or a registry version.
struct target_args {
  std::string file, registry, model, version = "latest";
};
void add_target_flags(CLI::App& cmd, target_args& t) {
  cmd.add_option("file", t.file, "a model file (its signature goes to FILE.sig), instead of a registry version")->check(CLI::ExistingFile);
  cmd.add_option("--registry", t.registry, "a registry directory")->check(CLI::ExistingDirectory);
  cmd.add_option("--model", t.model, "the registered model's name (with --registry)");
  cmd.add_option("--version", t.version, "the version: a number, an alias or latest (with --registry)")->capture_default_str();
}
void check_target(const target_args& t, std::string_view cmd) {
  if (t.file.empty() == t.registry.empty())
    throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("{}: give a model file or --registry DIR --model NAME", cmd));
  if (!t.registry.empty() && t.model.empty())
    throw mlops::argument_error(mlops::errc::invalid_argument, fmt::format("{}: --registry needs --model NAME", cmd));
}

}  // namespace

std::function<int()> setup_keygen(CLI::App& cmd) {
  auto prefix = std::make_shared<std::string>();
  cmd.add_option("prefix", *prefix, "writes PREFIX.key (the secret key, mode 0600) and PREFIX.pub (the public key)")->required();
  return [prefix] {
    const auto k = mlops::signing::generate_keys();
    mlops::signing::save_keys(k, *prefix);
    fmt::print("key {}: wrote {}.key (secret: keep it private, sign with it) and {}.pub (give it to servers: --trusted-key)\n",
               mlops::signing::key_id(k.public_key), *prefix, *prefix);
    return 0;
  };
}

std::function<int()> setup_sign(CLI::App& cmd) {
  auto t = std::make_shared<target_args>();
  auto key = std::make_shared<std::string>();
  add_target_flags(cmd, *t);
  cmd.add_option("--key", *key, "the secret key file (mlops keygen)")->required()->check(CLI::ExistingFile);
  return [t, key] {
    check_target(*t, "sign");
    const auto secret = mlops::signing::load_secret_key(*key);
    const auto id = mlops::signing::key_id(mlops::signing::public_key_of(secret));
    if (!t->file.empty()) {
      mlops::signing::sign_file(t->file, secret);
      fmt::print("signed '{}' with key {}: {}\n", t->file, id, mlops::model_file_signature_path(t->file).string());
    } else {
      auto reg = open_registry(t->registry);
      const auto v = mlops::signing::sign_version(reg, t->model, t->version, secret);
      fmt::print("signed '{}' version {} with key {}\n", t->model, v, id);
    }
    return 0;
  };
}

std::function<int()> setup_verify(CLI::App& cmd) {
  auto t = std::make_shared<target_args>();
  auto keys = std::make_shared<std::vector<std::string>>();
  add_target_flags(cmd, *t);
  cmd.add_option("--trusted-key", *keys, "a public key file to trust (repeatable)")->required()->check(CLI::ExistingFile);
  return [t, keys] {
    check_target(*t, "verify");
    std::vector<mlops::signing::public_key> trusted;
    for (const auto& f : *keys) trusted.push_back(mlops::signing::load_public_key(f));
    if (!t->file.empty()) {
      const auto id = mlops::signing::verify_file(t->file, trusted);
      fmt::print("verified '{}': signed by key {}\n", t->file, id);
    } else {
      const auto reg = open_registry(t->registry);
      const auto f = reg.files(t->model, t->version);
      const auto id = mlops::signing::verify(f, trusted);
      fmt::print("verified '{}' version {}: signed by key {}\n", t->model, f.version, id);
    }
    return 0;
  };
}

}  // namespace mlops_cli
