// mlops/detail/rng.hpp - our own RNG and distributions, identical on every platform.
// std:: distributions are implementation-defined; a seed here means the same split
// and the same model bits with every compiler and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <type_traits>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// SplitMix64: seeds the main generator from one 64-bit value.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// xoshiro256** 1.0 (Blackman & Vigna): fast, 256-bit state, good statistical quality.
class xoshiro256ss {
 public:
  using result_type = std::uint64_t;
  constexpr explicit xoshiro256ss(std::uint64_t seed = 0) noexcept { reseed(seed); }
  constexpr void reseed(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~std::uint64_t{0}; }
  constexpr result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform integer in [0, bound) without modulo bias (Lemire's multiply-shift with rejection).
  constexpr std::uint64_t bounded(std::uint64_t bound) noexcept {
    if (bound <= 1) return 0;
    __extension__ using u128 = unsigned __int128;  // GCC and Clang: no -Wpedantic warning
    u128 m = static_cast<u128>((*this)()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<u128>((*this)()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  /// Uniform double in [0, 1) with 53 random bits.
  constexpr double uniform01() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

/// Fisher-Yates shuffle driven by xoshiro256ss::bounded: same permutation everywhere.
/// On large contiguous ranges the swap partners are drawn 32 steps ahead (the same draws
/// in the same order) and their cache lines prefetched, so the random reads overlap
/// instead of waiting one by one; the permutation is unchanged.
template <class RandomIt>
constexpr void shuffle(RandomIt first, RandomIt last, xoshiro256ss& rng) noexcept {
  const auto n = static_cast<std::uint64_t>(last - first);
  std::uint64_t i = n;
  auto swap_last = [&](std::uint64_t j) {  // step i: swap positions i - 1 and j, then i - 1 is final
    const auto at = static_cast<std::ptrdiff_t>(i - 1), to = static_cast<std::ptrdiff_t>(j);
    auto tmp = first[at];
    first[at] = first[to];
    first[to] = tmp;
    --i;
  };
  if constexpr (std::contiguous_iterator<RandomIt>) {
    if (!std::is_constant_evaluated() && n > 65536) {
      constexpr std::uint64_t B = 32;
      std::uint64_t js[2][B];
      auto* base = std::to_address(first);
      auto draw = [&](std::uint64_t* out, std::uint64_t from) {  // partners of steps from, from-1, ... (from - B + 1)
        for (std::uint64_t k = 0; k < B; ++k) {
          out[k] = rng.bounded(from - k);
          __builtin_prefetch(base + out[k], 1);
        }
      };
      int cur = 0;
      draw(js[cur], i);
      while (i >= 2 * B + 1) {  // the next batch's steps stay above 1
        draw(js[cur ^ 1], i - B);
        for (std::uint64_t k = 0; k < B; ++k) swap_last(js[cur][k]);
        cur ^= 1;
      }
      for (std::uint64_t k = 0; k < B; ++k) swap_last(js[cur][k]);  // the batch already drawn
    }
  }
  while (i > 1) swap_last(rng.bounded(i));
}

/// Writes a uniformly random permutation of gen(0), ..., gen(n - 1) to first[0 .. n): the
/// inside-out Fisher-Yates (step i: j = bounded(i + 1), first[i] = first[j], first[j] =
/// gen(i)), so filling and shuffling are one pass instead of two. Same draws, same
/// result everywhere; on large ranges the partners are drawn 32 steps ahead and their
/// cache lines prefetched, as in shuffle (the result is unchanged).
template <class T, class Gen>
void shuffled_fill(T* first, std::uint64_t n, Gen&& gen, xoshiro256ss& rng) noexcept {
  std::uint64_t i = 0;
  auto step = [&](std::uint64_t j) {
    if (j != i) first[i] = first[j];
    first[j] = gen(i);
    ++i;
  };
  if (n > 65536) {
    constexpr std::uint64_t B = 32;
    std::uint64_t js[2][B];
    auto draw = [&](std::uint64_t* out, std::uint64_t from) {  // partners of steps from .. from + B - 1
      for (std::uint64_t k = 0; k < B; ++k) {
        out[k] = rng.bounded(from + k + 1);
        __builtin_prefetch(first + out[k], 1);
      }
    };
    int cur = 0;
    draw(js[cur], 0);
    while (i + 2 * B <= n) {  // js[cur] holds the partners of steps i .. i + B - 1
      draw(js[cur ^ 1], i + B);
      for (std::uint64_t k = 0; k < B; ++k) step(js[cur][k]);
      cur ^= 1;
    }
    for (std::uint64_t k = 0; k < B; ++k) step(js[cur][k]);
  }
  while (i < n) step(rng.bounded(i + 1));
}

}  // namespace detail
MLOPS_NAMESPACE_END
