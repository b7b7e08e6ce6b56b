// Shared by the libFuzzer harnesses and the regression runner (tests: every corpus file
// is run through the same entry points with the sanitizers of the test build).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(MLOPS_FUZZ_LIBFUZZER)
#define MLOPS_FUZZ_ENTRY(name) extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define MLOPS_FUZZ_ENTRY(name) int name(const std::uint8_t* data, std::size_t size)
#endif

int fuzz_model_one(const std::uint8_t* data, std::size_t size);
int fuzz_card_one(const std::uint8_t* data, std::size_t size);
int fuzz_csv_one(const std::uint8_t* data, std::size_t size);
