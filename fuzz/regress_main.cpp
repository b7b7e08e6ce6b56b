// Runs every file of the given corpus directories through its harness (no libFuzzer):
//   fuzz_regress model=DIR card=DIR csv=DIR
// A crash, a sanitizer report or an exception other than mlops::error fails the run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

int main(int argc, char** argv) {
  std::size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (eq == std::string::npos) return 2;
    const std::string kind = arg.substr(0, eq);
    auto* fn = kind == "model" ? &fuzz_model_one : kind == "card" ? &fuzz_card_one : kind == "csv" ? &fuzz_csv_one : nullptr;
    if (!fn) return 2;
    for (const auto& e : std::filesystem::directory_iterator(arg.substr(eq + 1))) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      fn(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++files;
    }
  }
  std::printf("fuzz regression: %zu corpus files ran clean\n", files);
  return files > 0 ? 0 : 1;
}
