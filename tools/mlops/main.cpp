// mlops - the command-line face of the library. One source file per command
// (tools/mlops/<command>.cpp: its options, setup and run); this file holds the command
// table. `mlops --help` and `mlops COMMAND --help` print the usage, generated from the
// commands' flags.
// Errors: one line on stderr ("mlops: error: ..."), exit status 1 (2 for bad usage).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>
#include <system_error>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "mlops/config.hpp"
#include "mlops/detail/buffer_cache.hpp"

namespace {
const mlops_cli::command commands[] = {
    {"train", "train a pipeline on a CSV file and save it", mlops_cli::setup_train},
    {"tune", "grid-search pipeline and trainer parameters by cross-validation", mlops_cli::setup_tune},
    {"registry", "the model registry: versions, aliases, history", mlops_cli::setup_registry},
    {"predict", "predict every row of a CSV file", mlops_cli::setup_predict},
    {"evaluate", "score a model on labelled data", mlops_cli::setup_evaluate},
    {"inspect", "print the model card", mlops_cli::setup_inspect},
    {"monitor", "replay a CSV stream through the model's drift monitor and print the report", mlops_cli::setup_monitor},
#ifdef MLOPS_CLI_SERVE
    {"serve", "serve a model over HTTP: registry aliases, hot reload, champion/challenger, /metrics", mlops_cli::setup_serve},
#endif
#ifdef MLOPS_CLI_SIGN
    {"keygen", "make an Ed25519 key pair for signing models", mlops_cli::setup_keygen},
    {"sign", "sign a model file or a registry version (Ed25519)", mlops_cli::setup_sign},
    {"verify", "check a model file's or a registry version's signature against trusted keys", mlops_cli::setup_verify},
#endif
};
}  // namespace

/// Standard output is checked like any file: output that did not all reach it (a full
/// disk, /dev/full, an I/O error) is an error, exit 1 (or the command's own non-zero status).
int finish(int rc) {
  std::cout.flush();
  const bool cout_ok = static_cast<bool>(std::cout);
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int e = errno;
  if (flushed && cout_ok && !std::ferror(stdout)) return rc;
  std::fprintf(stderr, "mlops: error: writing to standard output failed%s%s; the output is incomplete\n", e ? ": " : "",
               e ? std::strerror(e) : "");
  return rc == 0 ? 1 : rc;
}

int main(int argc, char** argv) {
  // One short-lived run that repeats work on large frames (splits, folds, grid search):
  // it opts in to the column buffer cache (detail/buffer_cache.hpp).
  mlops::set_buffer_cache_limit(mlops::recommended_buffer_cache_limit);
  CLI::App app{"mlops: train, tune, evaluate, inspect and serve linear models from CSV files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MLOPS_VERSION_STRING);
  struct parsed {
    CLI::App* cmd;
    std::function<int()> run;
  };
  std::vector<parsed> table;
  for (const auto& c : commands) {
    auto* sub = app.add_subcommand(c.name, c.about);
    table.push_back({sub, c.setup(*sub)});
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& p : table)
      if (*p.cmd) return finish(p.run());
  } catch (const std::system_error& e) {
    // fmt::print reports a failed write to standard output by throwing.
    if (std::string_view(e.what()).starts_with("cannot write to file")) {
      std::fprintf(stderr, "mlops: error: writing to standard output failed: %s; the output is incomplete\n", e.code().message().c_str());
      return 1;
    }
    std::fprintf(stderr, "mlops: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (auto& c : msg)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "mlops: error: %s\n", msg.c_str());
    return 1;
  }
  return 1;
}
