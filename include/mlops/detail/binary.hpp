// mlops/detail/binary.hpp - little-endian byte writer and a bounds-checked reader.
// Every read checks the bytes that remain before touching memory, and every count is
// checked against what the remaining bytes could possibly hold, so a hostile file can
// never make the reader over-read or allocate more than the file justifies.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "mixed-endian platforms are not supported");

template <class U>
inline U to_little(U v) noexcept {
  if constexpr (std::endian::native == std::endian::big && sizeof(U) > 1) {
    U r{};
    auto* s = reinterpret_cast<unsigned char*>(&v);
    auto* d = reinterpret_cast<unsigned char*>(&r);
    for (std::size_t i = 0; i < sizeof(U); ++i) d[i] = s[sizeof(U) - 1 - i];
    return r;
  } else {
    return v;
  }
}

class byte_writer {
 public:
  template <class U>
    requires std::is_arithmetic_v<U>
  void put(U v) {
    if constexpr (std::is_floating_point_v<U>) {
      using bits_t = std::conditional_t<sizeof(U) == 4, std::uint32_t, std::uint64_t>;
      put(std::bit_cast<bits_t>(v));
    } else {
      const U le = to_little(v);
      buf_.append(reinterpret_cast<const char*>(&le), sizeof(U));
    }
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint64_t>(s.size()));
    buf_.append(s.data(), s.size());
  }
  template <class U>
  void put_array(std::span<const U> v) {
    put(static_cast<std::uint64_t>(v.size()));
    for (const U& x : v) put(x);
  }
  void put_raw(std::string_view s) { buf_.append(s); }
  std::string& buffer() noexcept { return buf_; }
  const std::string& buffer() const noexcept { return buf_; }

 private:
  std::string buf_;
};

class byte_reader {
 public:
  byte_reader(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  std::size_t position() const noexcept { return pos_; }
  bool at_end() const noexcept { return pos_ == bytes_.size(); }

  template <class U>
    requires std::is_arithmetic_v<U>
  U get() {
    if constexpr (std::is_floating_point_v<U>) {
      using bits_t = std::conditional_t<sizeof(U) == 4, std::uint32_t, std::uint64_t>;
      return std::bit_cast<U>(get<bits_t>());
    } else {
      need(sizeof(U));
      U v;
      std::memcpy(&v, bytes_.data() + pos_, sizeof(U));
      pos_ += sizeof(U);
      return to_little(v);
    }
  }
  /// A count of items of at least `min_item_bytes` each: rejected if the remaining
  /// bytes cannot hold that many (the overflow-safe allocation guard).
  std::size_t get_count(std::size_t min_item_bytes) {
    const auto n = get<std::uint64_t>();
    const std::size_t per = min_item_bytes == 0 ? 1 : min_item_bytes;
    if (n > remaining() / per) corrupt("declares " + std::to_string(n) + " items but only " +
                                       std::to_string(remaining()) + " bytes remain");
    return static_cast<std::size_t>(n);
  }
  std::string get_string() {
    const std::size_t n = get_count(1);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  template <class U>
  std::vector<U> get_array() {
    const std::size_t n = get_count(sizeof(U));
    std::vector<U> v(n);
    for (auto& x : v) x = get<U>();
    return v;
  }
  std::string_view get_raw(std::size_t n) {
    need(n);
    auto s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    MLOPS_THROW(format_error(errc::format_corrupt, std::string(what_) + " at byte " + std::to_string(pos_) + ": " +
                                                       why + "; the file is damaged or not an mlops file"));
  }

 private:
  void need(std::size_t n) const {
    if (n > remaining())
      MLOPS_THROW(format_error(errc::format_truncated, std::string(what_) + " at byte " + std::to_string(pos_) +
                                                           ": needs " + std::to_string(n) + " bytes, " +
                                                           std::to_string(remaining()) +
                                                           " remain; the file is truncated or damaged"));
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
  std::string_view what_;
};

}  // namespace detail
MLOPS_NAMESPACE_END
