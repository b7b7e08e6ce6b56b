// mlops/detail/durable_file.hpp - files that survive crashes: reading without following
// links, appending a line durably, truncating, removing, and the advisory directory lock
// the registry serialises writers on. (Whole-file atomic writes: detail/atomic_file.hpp.)
#pragma once

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "mlops/config.hpp"
#include "mlops/detail/atomic_file.hpp"
#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// The file's bytes, or nullopt if it does not exist. Symbolic links are not followed
/// (a link is an error), nor is anything but a regular file read, nor one over `max_bytes`.
MLOPS_FUNC std::optional<std::string> read_file_if_exists(const std::filesystem::path& path, std::uint64_t max_bytes = ~std::uint64_t{0});

/// Appends one line and makes it durable (fsync; the directory too when the file is new).
MLOPS_FUNC void append_durable(const std::filesystem::path& path, std::string_view line);

MLOPS_FUNC void truncate_durable(const std::filesystem::path& path, std::uint64_t size);

/// Removes a file (missing is fine); the caller syncs the directory.
MLOPS_FUNC void remove_file(const std::filesystem::path& path);

/// Why writing through `fd` is refused, or empty: it must be a regular file with exactly
/// one name, since a hard link would carry the write to a file outside the registry
/// (O_NOFOLLOW stops only symbolic links). Callers close `fd` and throw registry_error.
MLOPS_FUNC std::string link_problem(int fd, const std::filesystem::path& path);

/// An advisory whole-registry lock: flock on the registry directory itself, exclusive
/// for writers, shared for readers; released when destroyed (and by the kernel if the
/// process dies). Not a lock file: a file can be deleted or replaced under its holder
/// (two writers would then lock different files), the directory cannot while the
/// registry is in it; and readers create and write nothing, so a read-only registry reads.
class registry_lock {
 public:
  registry_lock(const std::filesystem::path& root, bool exclusive) {
    fd_ = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
      const int e = errno;
      MLOPS_THROW(io_error(errc::io, fmt::format("cannot open the registry directory '{}' to lock it: {}", root.string(), errno_text(e))));
    }
    while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd_);
      fd_ = -1;
      MLOPS_THROW(io_error(errc::io, fmt::format("cannot lock the registry '{}': {}", root.string(), errno_text(e))));
    }
  }
  registry_lock(const registry_lock&) = delete;
  registry_lock& operator=(const registry_lock&) = delete;
  ~registry_lock() {
    if (fd_ < 0) return;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_ = -1;
};

}  // namespace detail
MLOPS_NAMESPACE_END

#if MLOPS_DEFINITIONS || defined(MLOPS_DEFINE_FRAME)
// ---- definitions: header-only mode, or the compiled library (config.hpp, MLOPS_FUNC) ----
MLOPS_NAMESPACE_BEGIN
namespace detail {

MLOPS_FUNC std::optional<std::string> read_file_if_exists(const std::filesystem::path& path, std::uint64_t max_bytes) {
  struct ::stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;
  return read_file(path, false, max_bytes);
}

MLOPS_FUNC std::string link_problem(int fd, const std::filesystem::path& path) {
  struct ::stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("cannot inspect '{}': {}", path.string(), errno_text(errno));
  if (!S_ISREG(st.st_mode)) return fmt::format("'{}' is not a regular file; nothing was changed", path.string());
  if (st.st_nlink != 1)
    return fmt::format("'{}' has {} hard links: writing to it would change a file outside the registry, so nothing was "
                       "changed; replace it by a copy of its own (cp --remove-destination)",
                       path.string(), st.st_nlink);
  return {};
}

MLOPS_FUNC void append_durable(const std::filesystem::path& path, std::string_view line) {
  auto& ops = fs_ops();
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  const int fd = ops.open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    MLOPS_THROW(io_error(errc::io, fmt::format("cannot open '{}' for appending: {}", path.string(), errno_text(e))));
  }
  if (auto why = link_problem(fd, path); !why.empty()) {
    ops.close(fd);
    MLOPS_THROW(registry_error(errc::registry_corrupt, std::move(why)));
  }
  if (const int e = write_all(ops, fd, line); e != 0) {
    ops.close(fd);
    MLOPS_THROW(io_error(errc::io, fmt::format("appending to '{}' failed: {}; the change was not recorded", path.string(), errno_text(e))));
  }
  if (ops.sync(fd) != 0) {  // never retried as if it had succeeded
    const int e = errno;
    ops.close(fd);
    MLOPS_THROW(io_error(errc::io, fmt::format("syncing '{}' failed: {}; the change may not be durable", path.string(), errno_text(e))));
  }
  ops.close(fd);
  if (!existed) sync_directory(path.parent_path(), fmt::format("'{}' was created and appended to", path.string()));
}

MLOPS_FUNC void truncate_durable(const std::filesystem::path& path, std::uint64_t size) {
  auto& ops = fs_ops();
  const int fd = ops.open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd >= 0) {
    if (auto why = link_problem(fd, path); !why.empty()) {
      ops.close(fd);
      MLOPS_THROW(registry_error(errc::registry_corrupt, std::move(why)));
    }
  }
  if (fd < 0 || ops.truncate(fd, static_cast<off_t>(size)) != 0 || ops.sync(fd) != 0) {
    const int e = errno;
    if (fd >= 0) ops.close(fd);
    MLOPS_THROW(io_error(errc::io, fmt::format("cannot cut the damaged tail of '{}': {}", path.string(), errno_text(e))));
  }
  ops.close(fd);
}

MLOPS_FUNC void remove_file(const std::filesystem::path& path) {
  if (fs_ops().unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int e = errno;
    MLOPS_THROW(io_error(errc::io, fmt::format("cannot remove '{}': {}", path.string(), errno_text(e))));
  }
}

}  // namespace detail
MLOPS_NAMESPACE_END
#endif  // MLOPS_DEFINITIONS || MLOPS_DEFINE_FRAME
