// mlops - the command-line face of the library. One source file per command
// (tools/mlops/<command>.cpp: its options, setup and run); this file holds the command
// table. `mlops --help` and `mlops COMMAND --help` print the usage, generated from the
// commands' flags.
// Errors: one line on stderr ("mlops: error: [id] ...", or a JSON object with --json), exit
// status 1 (2 for bad usage).
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
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "json_text.hpp"
#include "mlops/config.hpp"
#include "mlops/detail/buffer_cache.hpp"
#include "mlops/error.hpp"

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

namespace {
/// Error text fit for a terminal: a newline becomes a space, other control characters
/// (a CR from a CRLF field, escape sequences) are shown escaped, never sent raw.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += ' ';
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += ch;
  }
  return out;
}

/// One error on stderr: "mlops: error: [id] message", or with --json the object
/// {"error": {"id": ..., "message": ...}} (invalid UTF-8 replaced, so it always prints).
void print_error(bool as_json, std::string_view id, std::string_view message) {
  if (as_json) {
    const nlohmann::json j{{"error", {{"id", id}, {"message", message}}}};
    std::fprintf(stderr, "%s\n", mlops_cli::to_text(j, -1).c_str());
  } else {
    std::fprintf(stderr, "mlops: error: [%s] %s\n", printable(id).c_str(), printable(message).c_str());
  }
}
/// An mlops::error's message without its "[id] " prefix.
std::string_view message_of(const mlops::error& e) {
  std::string_view w = e.what();
  const std::string prefix = "[" + std::string(e.id()) + "] ";
  if (w.starts_with(prefix)) w.remove_prefix(prefix.size());
  return w;
}
}  // namespace

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
  bool as_json = false;
  for (int i = 1; i < argc; ++i) as_json = as_json || std::string_view(argv[i]) == "--json";
  // `mlops` alone: the usage, on standard output, exit 2 (nothing was done).
  if (argc < 2) {
    std::fputs(app.help().c_str(), stdout);
    return finish(2);
  }
  // An unknown command is named (CLI11 would only say that a command is required).
  if (const std::string_view first = argv[1]; !first.starts_with("-")) {
    bool known = false;
    std::string names;
    for (const auto& c : commands) {
      known = known || first == c.name;
      names += names.empty() ? c.name : std::string(", ") + c.name;
    }
    if (!known) {
      print_error(as_json, "argument.invalid", fmt::format("unknown command '{}'; the commands are {} (mlops --help)", first, names));
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {  // help and the version are output like any other
    return finish(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finish(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finish(app.exit(e));
  } catch (const CLI::ParseError& e) {
    if (!as_json) return app.exit(e);
    print_error(true, "argument.invalid", e.what());
    return e.get_exit_code();
  }
  try {
    for (const auto& p : table)
      if (*p.cmd) return finish(p.run());
  } catch (const std::system_error& e) {
    // fmt::print reports a failed write to standard output by throwing.
    if (std::string_view(e.what()).starts_with("cannot write to file")) {
      print_error(as_json, "io.failed", fmt::format("writing to standard output failed: {}; the output is incomplete", e.code().message()));
      return 1;
    }
    print_error(as_json, "io.failed", e.what());
    return 1;
  } catch (const mlops::error& e) {
    print_error(as_json, e.id(), message_of(e));
    return 1;
  } catch (const std::exception& e) {
    print_error(as_json, "internal", e.what());
    return 1;
  }
  return 1;
}
