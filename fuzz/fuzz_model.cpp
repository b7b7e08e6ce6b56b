// Fuzzes the binary model loader: FittedPipeline<double|float>::from_bytes.
// The first input byte picks the mode: odd = repair the checksums and the declared total
// length first (so mutations reach the structural checks and the builders behind the
// CRCs), even = the bytes as they are. Anything but a typed mlops::error is a crash.
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "mlops/detail/crc32c.hpp"
#include "mlops/pipeline.hpp"

namespace {
void put_u32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
void put_u64(std::string& b, std::size_t at, std::uint64_t v) {
  for (int k = 0; k < 8; ++k) b[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xFF);
}
std::uint64_t get_u64(const std::string& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)])) << (8 * k);
  return v;
}
/// Makes every checksum (and the total length) of docs/file-format.md agree with the bytes.
void repair(std::string& b) {
  if (b.size() < 36) return;
  put_u64(b, 20, b.size());
  std::size_t at = 32;
  const std::size_t body_end = b.size() - 4;
  while (at + 20 <= body_end) {
    const std::uint64_t len = get_u64(b, at + 8);
    if (len > body_end - (at + 20)) break;
    put_u32(b, at + 16, mlops::detail::crc32c(b.data() + at + 20, static_cast<std::size_t>(len)));
    at += 20 + static_cast<std::size_t>(len);
  }
  put_u32(b, 28, mlops::detail::crc32c(b.data(), 28));
  put_u32(b, body_end, mlops::detail::crc32c(b.data(), body_end));
}
template <class T>
void load(const std::string& bytes) {
  try {
    const auto p = mlops::FittedPipeline<T>::from_bytes(bytes, "fuzz");
    std::vector<T> row(p.n_features(), T(0.5));
    T out{};
    (void)p.try_predict(row, out);
    if (p.has_proba()) {
      std::vector<double> proba(p.n_classes());
      (void)p.predict_proba_row(row, proba);
    }
    if (p.has_drift_profile()) {  // format 1.1: a monitor built on the loaded profile
      auto mon = p.monitor();
      for (int i = 0; i < 3; ++i) mon.observe(row, out, T(1));
      (void)mon.report();
    }
  } catch (const mlops::error&) {
  }
}
}  // namespace

MLOPS_FUZZ_ENTRY(fuzz_model_one) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) repair(bytes);
  load<double>(bytes);
  load<float>(bytes);
  return 0;
}
