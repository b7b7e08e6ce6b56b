// mlops/detail/memory.hpp - the machine's physical memory, so an allocation that cannot
// fit is refused up front with a typed error instead of a bare std::bad_alloc (or the
// OOM killer) after minutes of work.
#pragma once

#include <cstdint>

#include <unistd.h>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Physical memory in bytes; 0 when the system does not say.
inline std::uint64_t physical_memory_bytes() noexcept {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
#endif
  return 0;
}

/// Whether `bytes` (saturating) can be held in physical memory, where it is known.
inline bool fits_in_memory(std::uint64_t bytes) noexcept {
  const std::uint64_t phys = physical_memory_bytes();
  return phys == 0 || bytes <= phys;
}

/// a * b * c without overflow (saturating at the largest value).
constexpr std::uint64_t saturating_product(std::uint64_t a, std::uint64_t b, std::uint64_t c = 1) noexcept {
  constexpr std::uint64_t top = ~std::uint64_t{0};
  if (a != 0 && b > top / a) return top;
  const std::uint64_t ab = a * b;
  if (ab != 0 && c > top / ab) return top;
  return ab * c;
}

}  // namespace detail
MLOPS_NAMESPACE_END
