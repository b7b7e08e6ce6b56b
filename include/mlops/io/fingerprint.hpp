// mlops/io/fingerprint.hpp - a fingerprint of a table's schema and values, to record
// which data trained a model (the registry stores it with each version).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/frame.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// A 64-bit, platform-independent hash of bytes (little-endian words, multiply-xorshift).
inline std::uint64_t hash64(const void* data, std::size_t n, std::uint64_t h = 0x9E3779B97F4A7C15ull) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  auto mix = [](std::uint64_t x) {
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return x;
  };
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= static_cast<std::uint64_t>(p[i + static_cast<std::size_t>(k)]) << (8 * k);
    h = mix(h ^ w) * 0x9E3779B97F4A7C15ull;
  }
  std::uint64_t w = 0;
  for (std::size_t k = 0; k < 8 && i + k < n; ++k) w |= static_cast<std::uint64_t>(p[i + k]) << (8 * k);
  return mix(h ^ w ^ (static_cast<std::uint64_t>(n) << 56));
}

}  // namespace detail

/// A fingerprint of a frame's schema and every value (hex, 16 digits): store it with a
/// version to know which data trained it.
template <scalar T>
std::string data_fingerprint(const DataFrame<T>& frame) {
  std::uint64_t h = detail::hash64("mlops-data", 10);
  const std::uint64_t shape[2] = {frame.rows(), frame.cols()};
  h = detail::hash64(shape, sizeof shape, h);
  for (std::size_t c = 0; c < frame.cols(); ++c) {
    h = detail::hash64(frame.names()[c].data(), frame.names()[c].size(), h);
    switch (frame.kind(c)) {  // numeric columns hash as before typed columns existed
      case column_kind::numeric: {
        const auto col = frame.column(c);
        h = detail::hash64(col.data(), col.size() * sizeof(T), h);
        break;
      }
      case column_kind::categorical: {  // the texts row by row: independent of level order
        const auto col = frame.categorical(c);
        for (std::size_t r = 0; r < col.size(); ++r) {
          const auto v = col.label(r);
          const std::uint64_t head[2] = {1, col.codes[r] < 0 ? ~std::uint64_t(0) : v.size()};
          h = detail::hash64(head, sizeof head, h);
          h = detail::hash64(v.data(), v.size(), h);
        }
        break;
      }
      case column_kind::datetime: {
        const auto col = frame.datetime(c);
        const std::uint64_t head = 2;
        h = detail::hash64(&head, sizeof head, h);
        h = detail::hash64(col.values.data(), col.values.size() * sizeof(std::int64_t), h);
        break;
      }
    }
  }
  return fmt::format("{:016x}", h);
}

MLOPS_NAMESPACE_END
