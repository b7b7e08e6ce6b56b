// mlops/io/container.hpp - the binary container of every mlops file.
// Byte layout (all integers little-endian; see docs/file-format.md):
//   header  (32 bytes): magic "\x89MLP\r\n\x1a\n" | u16 major | u16 minor | u8 scalar bytes (4|8)
//                       | u8[3] zero | u32 section count | u64 file length | u32 CRC-32C of bytes 0..27
//   section (20 + len): u32 tag | u32 flags (bit 0: required) | u64 len | u32 CRC-32C(payload) | payload
//   trailer (4 bytes):  u32 CRC-32C of every byte before it
// Loading validates everything (sizes with overflow-safe arithmetic, checksums, exact
// coverage of the file by the sections) before any object is built.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "mlops/detail/atomic_file.hpp"
#include "mlops/detail/binary.hpp"
#include "mlops/detail/crc32c.hpp"

MLOPS_NAMESPACE_BEGIN
namespace io {

inline constexpr std::array<unsigned char, 8> file_magic = {0x89, 'M', 'L', 'P', '\r', '\n', 0x1A, '\n'};
inline constexpr std::uint16_t format_major = 1;
inline constexpr std::uint16_t format_minor = 2;  // 1.1: optional drift profile DRFT; 1.2: typed inputs INPT, steps 4-7
inline constexpr std::size_t header_size = 32;
inline constexpr std::size_t section_header_size = 20;
inline constexpr std::uint32_t section_required = 1u;

constexpr std::uint32_t make_tag(const char (&s)[5]) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[3])) << 24;
}
MLOPS_FUNC std::string tag_name(std::uint32_t t);

struct section {
  std::uint32_t tag = 0;
  std::uint32_t flags = 0;
  std::string_view payload;
};

/// Assembles sections into one file image.
class container_writer {
 public:
  explicit container_writer(std::uint8_t scalar_bytes) : scalar_bytes_(scalar_bytes) {}
  void add(std::uint32_t tag, std::string payload, bool required = true) {
    sections_.push_back({tag, required ? section_required : 0u, std::move(payload)});
  }
  std::string bytes() const {
    detail::byte_writer w;
    w.put_raw(std::string_view(reinterpret_cast<const char*>(file_magic.data()), file_magic.size()));
    w.put(format_major);
    w.put(format_minor);
    w.put(scalar_bytes_);
    w.put(std::uint8_t{0});
    w.put(std::uint8_t{0});
    w.put(std::uint8_t{0});
    w.put(static_cast<std::uint32_t>(sections_.size()));
    std::uint64_t total = header_size + 4;
    for (const auto& s : sections_) total += section_header_size + s.payload.size();
    w.put(total);
    w.put(detail::crc32c(w.buffer().data(), w.buffer().size()));
    for (const auto& s : sections_) {
      w.put(s.tag);
      w.put(s.flags);
      w.put(static_cast<std::uint64_t>(s.payload.size()));
      w.put(detail::crc32c(s.payload.data(), s.payload.size()));
      w.put_raw(s.payload);
    }
    w.put(detail::crc32c(w.buffer().data(), w.buffer().size()));
    return std::move(w.buffer());
  }
  void write(const std::filesystem::path& path) const { detail::atomic_write_file(path, bytes()); }

 private:
  struct owned_section {
    std::uint32_t tag, flags;
    std::string payload;
  };
  std::uint8_t scalar_bytes_;
  std::vector<owned_section> sections_;
};

/// A validated file image: every section checked; payloads view into `bytes`.
struct container {
  std::uint16_t major = 0, minor = 0;
  std::uint8_t scalar_bytes = 0;
  std::vector<section> sections;

  /// The payload of a section; format_error if a required one is absent.
  std::string_view get(std::uint32_t tag, std::string_view source) const {
    for (const auto& s : sections)
      if (s.tag == tag) return s.payload;
    MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: section '{}' is missing; the file is incomplete", source, tag_name(tag))));
  }
  bool has(std::uint32_t tag) const noexcept {
    for (const auto& s : sections)
      if (s.tag == tag) return true;
    return false;
  }
};

/// The largest mlops file read (1 GiB): memory is never sized by a larger claim.
inline constexpr std::uint64_t max_file_bytes = std::uint64_t{1} << 30;

/// Reads an mlops file. Of a regular file the header is read first: a file whose size
/// differs from the length its header declares (truncated, or padded, e.g. by a sparse
/// hole) is refused without reading its body, and no file over max_file_bytes is read.
MLOPS_FUNC std::string read_container_file(const std::filesystem::path& path);

/// Validates a file image. `known` lists the section tags this reader understands;
/// an unknown section is skipped if optional and an error if required.
MLOPS_FUNC container parse_container(std::string_view bytes, std::uint8_t expected_scalar_bytes, std::string_view source,
                                 std::span<const std::uint32_t> known);

}  // namespace io
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace io {
MLOPS_FUNC std::string tag_name(std::uint32_t t) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((t >> (8 * i)) & 0xFF);
    s[static_cast<std::size_t>(i)] = (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

MLOPS_FUNC std::string read_container_file(const std::filesystem::path& path) {
  struct ::stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) >= header_size + 4) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > max_file_bytes)
      MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: the file is {} bytes; an mlops file is at most {} bytes", path.string(),
                                                                 size, max_file_bytes)));
    std::array<char, header_size> h{};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const bool have = fd >= 0 && ::pread(fd, h.data(), h.size(), 0) == static_cast<::ssize_t>(h.size());
    if (fd >= 0) ::close(fd);
    std::uint64_t declared = 0;
    std::uint32_t crc = 0;
    std::memcpy(&declared, h.data() + 20, 8);
    std::memcpy(&crc, h.data() + 28, 4);
    declared = detail::to_little(declared);
    crc = detail::to_little(crc);
    // Only a sound header is trusted; anything else is left to parse_container's checks.
    if (have && std::memcmp(h.data(), file_magic.data(), file_magic.size()) == 0 && crc == detail::crc32c(h.data(), header_size - 4) &&
        declared != size)
      MLOPS_THROW(format_error(errc::format_truncated, fmt::format("{}: the header declares {} bytes but the file has {}; it is truncated or "
                                                                   "has trailing data", path.string(), declared, size)));
  }
  return detail::read_file(path, true, max_file_bytes);
}

MLOPS_FUNC container parse_container(std::string_view bytes, std::uint8_t expected_scalar_bytes, std::string_view source,
                                 std::span<const std::uint32_t> known) {
  auto fail = [&](errc code, const std::string& why) {
    MLOPS_THROW(format_error(code, fmt::format("{}: {}", source, why)));
  };
  if (bytes.size() < file_magic.size() || std::memcmp(bytes.data(), file_magic.data(), file_magic.size()) != 0)
    fail(errc::format_bad_magic, "not an mlops model file (bad magic bytes); pass a file written by mlops save");
  if (bytes.size() < header_size + 4)
    fail(errc::format_truncated, fmt::format("file is {} bytes, shorter than the {}-byte header and trailer; it is truncated",
                                             bytes.size(), header_size + 4));
  detail::byte_reader h(bytes.substr(0, header_size), source);
  (void)h.get_raw(file_magic.size());
  container c;
  c.major = h.get<std::uint16_t>();
  c.minor = h.get<std::uint16_t>();
  c.scalar_bytes = h.get<std::uint8_t>();
  for (int i = 0; i < 3; ++i) (void)h.get<std::uint8_t>();
  const auto count = h.get<std::uint32_t>();
  const auto declared = h.get<std::uint64_t>();
  const auto header_crc = h.get<std::uint32_t>();
  if (header_crc != detail::crc32c(bytes.data(), header_size - 4))
    fail(errc::format_checksum, "header checksum mismatch; the file is damaged");
  if (c.major != format_major)
    fail(errc::format_version, fmt::format("format version {}.{} is not supported by this mlops (reads {}.x); "
                                           "use a matching mlops version", c.major, c.minor, format_major));
  if (c.scalar_bytes != expected_scalar_bytes)
    fail(errc::format_scalar_type, fmt::format("the file holds a {} model but a {} one was requested; load it as {}",
                                               c.scalar_bytes == 4 ? "float" : c.scalar_bytes == 8 ? "double" : "unknown-scalar",
                                               expected_scalar_bytes == 4 ? "float" : "double",
                                               c.scalar_bytes == 4 ? "float" : "double"));
  if (declared != bytes.size())
    fail(errc::format_truncated, fmt::format("the header declares {} bytes but the file has {}; it is truncated or has trailing data",
                                             declared, bytes.size()));
  std::uint32_t trailer;
  std::memcpy(&trailer, bytes.data() + bytes.size() - 4, 4);
  trailer = detail::to_little(trailer);
  if (trailer != detail::crc32c(bytes.data(), bytes.size() - 4))
    fail(errc::format_checksum, "file checksum mismatch; the file is damaged");
  const std::string_view body = bytes.substr(header_size, bytes.size() - header_size - 4);
  if (count > body.size() / section_header_size)
    fail(errc::format_corrupt, fmt::format("declares {} sections, more than {} bytes can hold", count, body.size()));
  detail::byte_reader r(body, source);
  for (std::uint32_t i = 0; i < count; ++i) {
    section s;
    s.tag = r.get<std::uint32_t>();
    s.flags = r.get<std::uint32_t>();
    const auto len = r.get<std::uint64_t>();
    const auto crc = r.get<std::uint32_t>();
    if (len > r.remaining())
      fail(errc::format_truncated, fmt::format("section '{}' declares {} bytes but {} remain", tag_name(s.tag), len, r.remaining()));
    s.payload = r.get_raw(static_cast<std::size_t>(len));
    if (crc != detail::crc32c(s.payload.data(), s.payload.size()))
      fail(errc::format_checksum, fmt::format("section '{}' checksum mismatch; the file is damaged", tag_name(s.tag)));
    for (const auto& prev : c.sections)
      if (prev.tag == s.tag) fail(errc::format_corrupt, fmt::format("section '{}' appears twice", tag_name(s.tag)));
    bool is_known = false;
    for (auto k : known) is_known |= (k == s.tag);
    if (!is_known) {
      if (s.flags & section_required)
        fail(errc::format_version, fmt::format("required section '{}' is unknown to this mlops; use a newer mlops", tag_name(s.tag)));
      continue;  // optional section from a newer minor version
    }
    c.sections.push_back(s);
  }
  if (!r.at_end()) fail(errc::format_corrupt, fmt::format("{} bytes after the last section are not covered by any section", r.remaining()));
  return c;
}
}  // namespace io

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
