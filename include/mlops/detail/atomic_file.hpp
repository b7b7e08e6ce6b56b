// mlops/detail/atomic_file.hpp - crash-safe whole-file writes and bounded reads.
// Save = write a temporary file in the same directory, fsync it, rename it over the
// target, fsync the directory. A failure at any point leaves the previous file intact.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <filesystem>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlops/detail/buffer_cache.hpp"
#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

inline std::string errno_text(int e) { return std::string(std::strerror(e)); }

/// The file-system calls every durable write goes through (atomic_write_file, the
/// registry's appends, truncations and deletions). The default calls POSIX; tests install
/// a fault injector (set_file_ops) that simulates a crash at any call and what the disk
/// keeps of unsynced data. Not for concurrent replacement while writes are in flight.
struct file_ops {
  virtual ~file_ops() = default;
  virtual int make_temp(char* tmpl) { return ::mkstemp(tmpl); }
  virtual int open(const char* path, int flags, ::mode_t mode) { return ::open(path, flags, mode); }
  virtual ::ssize_t write(int fd, const void* data, std::size_t n) { return ::write(fd, data, n); }
  virtual int sync(int fd) { return ::fsync(fd); }
  virtual int close(int fd) { return ::close(fd); }
  virtual int rename(const char* from, const char* to) { return ::rename(from, to); }
  virtual int unlink(const char* path) { return ::unlink(path); }
  virtual int truncate(int fd, ::off_t size) { return ::ftruncate(fd, size); }
};
inline file_ops& posix_file_ops() noexcept {
  static file_ops posix;
  return posix;
}
inline file_ops*& file_ops_slot() noexcept {
  static file_ops* current = &posix_file_ops();
  return current;
}
inline file_ops& fs_ops() noexcept { return *file_ops_slot(); }
/// Installs `ops` (nullptr: back to POSIX); returns the previous layer.
inline file_ops* set_file_ops(file_ops* ops) noexcept {
  file_ops* old = file_ops_slot();
  file_ops_slot() = ops ? ops : &posix_file_ops();
  return old;
}
/// Writes every byte (short writes continued, EINTR retried); 0, or the errno of the failure.
MLOPS_FUNC int write_all(file_ops& ops, int fd, std::string_view bytes);
/// fsync of a directory (makes renames, creations and removals in it durable). A failure
/// is an io_error saying that `done` (what the caller changed: "'m.mlops' was written") is
/// in effect but may not survive a power loss; EINVAL (a file system that cannot sync
/// directories) is not a failure.
MLOPS_FUNC void sync_directory(const std::filesystem::path& dir, std::string_view done = "the change");

/// Writes `bytes` to `path` atomically. Throws io_error: before the rename, the old file is
/// untouched; after it (the directory's fsync failed), the message says the new file is in
/// place. Only a regular file (or nothing) is replaced: a symbolic link, FIFO, device,
/// socket or directory at `path` is refused, untouched. A temporary file of an earlier,
/// interrupted save of the same path (".NAME.tmp.XXXXXX", over a minute old) is removed.
MLOPS_FUNC void atomic_write_file(const std::filesystem::path& path, std::string_view bytes, unsigned mode = 0644);

/// Reads a whole file. Throws io_error naming the path when it cannot. With
/// follow_links = false a symbolic link is refused (ELOOP), not followed, and only a
/// regular file is read (never blocking on a FIFO); with follow_links = true a pipe or
/// character device (process substitution, /dev/stdin) is also read, to its end.
/// A file over `max_bytes` (by its size, or as read from a stream) is an io_error before
/// more than that is read; running out of memory while reading is one too.
MLOPS_FUNC std::string read_file(const std::filesystem::path& path, bool follow_links = true, std::uint64_t max_bytes = ~std::uint64_t{0});

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN

namespace detail {
MLOPS_FUNC int write_all(file_ops& ops, int fd, std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ::ssize_t w = ops.write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  return 0;
}

MLOPS_FUNC void sync_directory(const std::filesystem::path& dir, std::string_view done) {
  auto& ops = fs_ops();
  const int dfd = ops.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int e = dfd < 0 ? errno : 0;
  if (dfd >= 0) {
    if (ops.sync(dfd) != 0) e = errno;
    ops.close(dfd);
  }
  if (e != 0 && e != EINVAL)
    MLOPS_THROW(io_error(errc::io, std::string(done) + ", but syncing the directory '" + dir.string() + "' failed: " + errno_text(e) +
                                       "; the change is in effect but may not survive a power loss"));
}

namespace detail_atomic {
/// What stands at `path` (lstat: a link is not followed): 0 nothing, else its st_mode.
inline ::mode_t kind_at(const std::filesystem::path& path) noexcept {
  struct ::stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}
inline const char* kind_name(::mode_t m) noexcept {
  return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISSOCK(m) ? "a socket"
       : S_ISDIR(m) ? "a directory" : "not a regular file";
}
/// Removes ".NAME.tmp.XXXXXX" siblings of `path` older than a minute: debris of an
/// interrupted save (a younger one may belong to a save in progress).
inline void remove_stale_temps(const std::filesystem::path& dir, const std::string& name) noexcept {
  std::error_code ec;
  const std::string prefix = "." + name + ".tmp.";
  const auto now = std::filesystem::file_time_type::clock::now();
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto f = it->path().filename().string();
    if (f.size() != prefix.size() + 6 || !f.starts_with(prefix) || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const auto t = std::filesystem::last_write_time(it->path(), ec);
    if (!ec && now - t > std::chrono::minutes(1)) std::filesystem::remove(it->path(), ec);
  }
}
}  // namespace detail_atomic

MLOPS_FUNC void atomic_write_file(const std::filesystem::path& path, std::string_view bytes, unsigned mode) {
  namespace fs = std::filesystem;
  auto& ops = fs_ops();
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const ::mode_t m = detail_atomic::kind_at(path); m != 0 && !S_ISREG(m))
    MLOPS_THROW(io_error(errc::io, "'" + path.string() + "' is " + detail_atomic::kind_name(m) +
                                       "; mlops replaces only regular files: remove it or write to another path"));
  detail_atomic::remove_stale_temps(dir, path.filename().string());
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ops.make_temp(tmpl.data());
  if (fd < 0) {
    const int e = errno;
    MLOPS_THROW(io_error(errc::io, "cannot create a temporary file in '" + dir.string() + "': " + errno_text(e) +
                                       "; check that the directory exists and is writable"));
  }
  auto fail = [&](const char* what, int e) {
    ops.close(fd);
    ops.unlink(tmpl.c_str());
    MLOPS_THROW(io_error(errc::io, std::string(what) + " '" + path.string() + "' failed: " + errno_text(e) +
                                       "; the previous file, if any, is unchanged"));
  };
  if (const int e = write_all(ops, fd, bytes); e != 0) {
    fail("writing", e);
    return;
  }
  ::fchmod(fd, static_cast<::mode_t>(mode));
  if (ops.sync(fd) != 0) {  // never retried: a failed fsync may have dropped data
    fail("syncing", errno);
    return;
  }
  if (ops.close(fd) != 0) {
    const int e = errno;
    ops.unlink(tmpl.c_str());
    MLOPS_THROW(io_error(errc::io, "closing '" + path.string() + "' failed: " + errno_text(e)));
  }
  if (ops.rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ops.unlink(tmpl.c_str());
    MLOPS_THROW(io_error(errc::io, "renaming onto '" + path.string() + "' failed: " + errno_text(e) +
                                       "; the previous file, if any, is unchanged"));
  }
  sync_directory(dir, "'" + path.string() + "' was written");  // make the rename itself durable
}

MLOPS_FUNC std::string read_file(const std::filesystem::path& path, bool follow_links, std::uint64_t max_bytes) {
  // Without following links (the registry's own files) the open never blocks: a FIFO
  // planted there is refused below instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (follow_links ? 0 : O_NOFOLLOW | O_NONBLOCK));
  if (fd < 0) {
    const int e = errno;
    MLOPS_THROW(io_error(errc::io, "cannot open '" + path.string() + "': " + errno_text(e) +
                                       (e == ELOOP && !follow_links ? " (symbolic links are not followed here)" : "")));
  }
  struct ::stat st {};
  const bool ok = ::fstat(fd, &st) == 0;
  // A pipe or a terminal (process substitution, /dev/stdin) is read to its end when
  // links are followed (a path the user gave); a regular file is read at its size.
  const bool stream = ok && follow_links && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode));
  if (!ok || (!S_ISREG(st.st_mode) && !stream)) {
    ::close(fd);
    MLOPS_THROW(io_error(errc::io, "'" + path.string() + "' is not a regular file"));
  }
  auto too_big = [&](std::uint64_t n) {
    ::close(fd);
    MLOPS_THROW(io_error(errc::io, "'" + path.string() + "' is " + (stream ? "over " : "") + std::to_string(n) + " bytes, over the " +
                                       std::to_string(max_bytes) + "-byte limit for this file; it is damaged or not what its name says"));
  };
  if (!stream && static_cast<std::uint64_t>(st.st_size) > max_bytes) too_big(static_cast<std::uint64_t>(st.st_size));
  std::string out;
  // Sizes the buffer; running out of memory is an io_error naming the file. A large
  // buffer is advised as huge pages before it is first touched (a page fault per 4 KiB
  // cost more than the read on a virtual machine: benchmarks/RESULTS.md).
  auto grow = [&](std::size_t n) {
#if MLOPS_HAS_EXCEPTIONS
    try {
      out.reserve(n);
      advise_huge_pages(out.data(), out.capacity());
      out.resize(n);
    } catch (const std::bad_alloc&) {
      ::close(fd);
      MLOPS_THROW(io_error(errc::io, "not enough memory to read '" + path.string() + "' (" + std::to_string(n) + " bytes)"));
    }
#else
    out.reserve(n);
    advise_huge_pages(out.data(), out.capacity());
    out.resize(n);
#endif
  };
  grow(stream ? std::size_t{1} << 16 : static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (!stream) break;
      if (got > max_bytes) too_big(got);
      grow(out.size() * 2);
    }
    const ::ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      MLOPS_THROW(io_error(errc::io, "reading '" + path.string() + "' failed: " + errno_text(e)));
    }
    if (r == 0) break;  // the end (or a regular file that shrank while reading)
    got += static_cast<std::size_t>(r);
  }
  if (got > max_bytes) too_big(got);
  out.resize(got);
  ::close(fd);
  return out;
}
}  // namespace detail

MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
