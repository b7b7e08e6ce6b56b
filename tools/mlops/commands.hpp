// tools/mlops/commands.hpp - the command table's shape: what main.cpp needs to know of a
// command, and nothing of the library (so main.cpp stays a small translation unit).
#pragma once

#include <cstddef>
#include <functional>

namespace CLI {
class App;
}

namespace mlops_cli {

/// One command: its name, its one-line description, and its setup, which adds the
/// command's flags to `cmd` and returns the function that runs it once the command line
/// is parsed (exit status; errors are thrown as mlops::error or std::exception).
struct command {
  const char* name;
  const char* about;
  std::function<int()> (*setup)(CLI::App& cmd);
};

std::function<int()> setup_train(CLI::App& cmd);
std::function<int()> setup_tune(CLI::App& cmd);
std::function<int()> setup_registry(CLI::App& cmd);
std::function<int()> setup_predict(CLI::App& cmd);
std::function<int()> setup_evaluate(CLI::App& cmd);
std::function<int()> setup_inspect(CLI::App& cmd);
std::function<int()> setup_monitor(CLI::App& cmd);
#ifdef MLOPS_CLI_SERVE
std::function<int()> setup_serve(CLI::App& cmd);
#endif
#ifdef MLOPS_CLI_SIGN
std::function<int()> setup_keygen(CLI::App& cmd);
std::function<int()> setup_sign(CLI::App& cmd);
std::function<int()> setup_verify(CLI::App& cmd);
#endif

}  // namespace mlops_cli
