// mlops/detail/buffer_cache.hpp - where DataFrame columns get their memory.
//
// A fresh large allocation is mapped page by page on first touch; on a virtual machine a
// page fault costs microseconds, so writing a fresh large frame can cost more than the
// arithmetic done on it (about 11 us a 4 KiB page here). Large blocks are advised as
// transparent huge pages (as numpy does for its arrays), rounded up to whole 2 MiB pages
// when that adds at most a third (a 200,000-row column of doubles: 1.6 MB -> 2 MiB, one
// fault instead of 391). On top of that, a process may opt in to a cache
// of freed blocks: columns of 256 KiB and more then reuse blocks freed earlier instead of
// faulting in fresh pages.
//
// The cache is off by default (limit 0): it keeps memory resident after the columns that
// used it are gone, which a long-running service or a device under a memory budget must
// choose. set_buffer_cache_limit(bytes) turns it on, keeping at most that many bytes on
// top of the live columns (recommended_buffer_cache_limit, 256 MiB, is what the mlops
// command and the benchmarks use); release_buffer_cache() empties it. Its benefit is
// largest for repeated work on large frames: cross-validation, grid search, partial_fit
// loops (benchmarks/RESULTS.md: 5-fold cross-validation of 2e5 x 32, 1.33 s -> 0.42 s).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Advises the 2 MiB-aligned part of [p, p + bytes) as transparent huge pages (Linux;
/// nothing elsewhere). Called on a large buffer before its first touch, it faults in 2 MiB
/// at a time instead of 4 KiB.
inline void advise_huge_pages(void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  const auto b = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t lo = (b + huge - 1) / huge * huge, hi = (b + bytes) / huge * huge;
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

class buffer_cache {
 public:
  static constexpr std::size_t min_cached = std::size_t{256} << 10;  // smaller blocks: plain operator new
  static constexpr std::size_t huge_page = std::size_t{2} << 20;
  static constexpr std::size_t header = 64;                          // keeps the data 64-byte aligned

  /// The process-wide cache. Never destroyed (columns in static objects may outlive
  /// every other static); what it holds is reachable, so leak checkers stay quiet.
  static buffer_cache& instance() {
    static buffer_cache* c = new buffer_cache;
    return *c;
  }

  void* allocate(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(m_);
      // Best fit among cached blocks that waste at most a quarter of the request.
      std::size_t best = free_.size();
      for (std::size_t i = 0; i < free_.size(); ++i)
        if (free_[i].capacity >= bytes && free_[i].capacity - bytes <= (std::max)(bytes / 4, std::size_t{64} << 10) &&
            (best == free_.size() || free_[i].capacity < free_[best].capacity))
          best = i;
      if (best != free_.size()) {
        void* base = free_[best].base;
        cached_ -= free_[best].capacity;
        free_[best] = free_.back();
        free_.pop_back();
        return static_cast<char*>(base) + header;
      }
      // A miss: cached blocks too small for this request are the likeliest dead weight
      // (the frames they held have shrunk); give back up to as many bytes of them as we
      // are about to map, smallest first.
      std::sort(free_.begin(), free_.end(), [](const block& a, const block& b) { return a.capacity < b.capacity; });
      std::size_t released = 0, i = 0;
      for (; i < free_.size() && released < bytes && free_[i].capacity < bytes; ++i) {
        released += free_[i].capacity;
        std::free(free_[i].base);
      }
      cached_ -= released;
      free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    std::size_t capacity = (bytes + 4095) / 4096 * 4096;
    // Huge pages for large blocks: rounded up to whole 2 MiB pages when that adds at most
    // a third of the block (one fault per 2 MiB instead of 512, and no 4 KiB tail; the
    // rounding is resident once touched), else advised on its whole 2 MiB pages only.
    const std::size_t whole = (capacity + header + huge_page - 1) / huge_page * huge_page;
    const bool round = (whole - capacity - header) * 3 <= capacity + header;
    if (round) capacity = whole - header;
    const std::size_t align = capacity + header >= huge_page ? huge_page : 64;
    const std::size_t total = (capacity + header + align - 1) / align * align;
    void* base = std::aligned_alloc(align, total);
    if (!base) return nullptr;
    if (align == huge_page) advise_huge_pages(base, capacity + header);
    *static_cast<std::size_t*>(base) = capacity;
    return static_cast<char*>(base) + header;
  }

  void deallocate(void* p) noexcept {
    if (!p) return;
    void* base = static_cast<char*>(p) - header;
    const std::size_t capacity = *static_cast<std::size_t*>(base);
    std::lock_guard<std::mutex> lock(m_);
    if (cached_ + capacity <= limit_) {
      free_.push_back({base, capacity});
      cached_ += capacity;
      return;
    }
    std::free(base);
  }

  void set_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(m_);
    limit_ = bytes;
    trim_locked();
  }
  std::size_t limit() const {
    std::lock_guard<std::mutex> lock(m_);
    return limit_;
  }
  std::size_t cached() const {
    std::lock_guard<std::mutex> lock(m_);
    return cached_;
  }
  void release() {
    std::lock_guard<std::mutex> lock(m_);
    const std::size_t keep = limit_;
    limit_ = 0;
    trim_locked();
    limit_ = keep;
  }

 private:
  struct block {
    void* base;
    std::size_t capacity;
  };
  void trim_locked() noexcept {
    while (cached_ > limit_ && !free_.empty()) {
      cached_ -= free_.back().capacity;
      std::free(free_.back().base);
      free_.pop_back();
    }
  }
  mutable std::mutex m_;
  std::vector<block> free_;
  std::size_t cached_ = 0;
  std::size_t limit_ = 0;  // off until the process opts in (set_buffer_cache_limit)
};

/// The allocator of DataFrame columns: small blocks from operator new, large ones through
/// buffer_cache.
template <class T>
struct column_allocator {
  using value_type = T;
  column_allocator() noexcept = default;
  template <class U>
  column_allocator(const column_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) fail();
    const std::size_t bytes = n * sizeof(T);
    if (bytes < buffer_cache::min_cached) return static_cast<T*>(::operator new(bytes));
    void* p = buffer_cache::instance().allocate(bytes);
    if (!p) fail();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < buffer_cache::min_cached) ::operator delete(p);
    else buffer_cache::instance().deallocate(p);
  }
  friend bool operator==(const column_allocator&, const column_allocator&) noexcept { return true; }
  friend bool operator!=(const column_allocator&, const column_allocator&) noexcept { return false; }

 private:
  [[noreturn]] static void fail() {
#if MLOPS_HAS_EXCEPTIONS
    throw std::bad_alloc();
#else
    std::abort();
#endif
  }
};

}  // namespace detail

/// The limit the mlops command and the benchmarks opt in to.
inline constexpr std::size_t recommended_buffer_cache_limit = std::size_t{256} << 20;
/// Bytes of freed column memory the process keeps for reuse (default 0: off; opt in with
/// e.g. recommended_buffer_cache_limit). Lowering it returns the excess to the system at once.
inline void set_buffer_cache_limit(std::size_t bytes) { detail::buffer_cache::instance().set_limit(bytes); }
inline std::size_t buffer_cache_limit() { return detail::buffer_cache::instance().limit(); }
/// Bytes currently cached (mapped but not in use).
inline std::size_t buffer_cache_bytes() { return detail::buffer_cache::instance().cached(); }
/// Returns every cached block to the system.
inline void release_buffer_cache() { detail::buffer_cache::instance().release(); }

MLOPS_NAMESPACE_END
