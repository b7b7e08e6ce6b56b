// mlops/detail/crc32c.hpp - CRC-32C (Castagnoli), the checksum of the file format.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::array<std::uint32_t, 256> make_crc32c_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
    t[i] = c;
  }
  return t;
}
inline constexpr std::array<std::uint32_t, 256> crc32c_table = make_crc32c_table();

/// CRC-32C of `bytes`, continuing from `crc` (0 to start). crc32c("123456789") == 0xE3069283.
inline std::uint32_t crc32c(std::span<const unsigned char> bytes, std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  for (const unsigned char b : bytes) crc = crc32c_table[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}
inline std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept {
  return crc32c(std::span<const unsigned char>(static_cast<const unsigned char*>(data), size), crc);
}

}  // namespace detail
MLOPS_NAMESPACE_END
