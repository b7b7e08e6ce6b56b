// mlops/detail/change_waiter.hpp - waits until a watched directory changes (Linux
// inotify), another thread calls wake(), or a period passes, whichever comes first.
// Where inotify is unavailable (another system, or no inotify instance left) it waits
// for the period only, so callers that poll on return work either way.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#if defined(__linux__)
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>
#endif

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

class change_waiter {
 public:
  change_waiter() {
#if defined(__linux__)
    ifd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    efd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ifd_ < 0 || efd_ < 0) close_fds();
#endif
  }
  ~change_waiter() { close_fds(); }
  change_waiter(const change_waiter&) = delete;
  change_waiter& operator=(const change_waiter&) = delete;

  /// True when directory changes wake wait() (inotify is in use).
  bool notifying() const noexcept { return ifd_ >= 0; }

  /// Watches `dir` for files created, written, renamed into, deleted or touched in it
  /// (`contents`), or only for entries created, renamed or deleted (not `contents`: a
  /// parent whose files the caller itself opens for writing). Adding a directory twice
  /// is harmless; false when it cannot be watched (missing, no inotify).
  bool watch(const std::filesystem::path& dir, bool contents = true) noexcept {
#if defined(__linux__)
    if (ifd_ < 0) return false;
    const std::uint32_t mask = contents ? (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
                                        : (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
    return ::inotify_add_watch(ifd_, dir.c_str(), mask | IN_ONLYDIR) >= 0;
#else
    (void)dir;
    (void)contents;
    return false;
#endif
  }

  /// Blocks until a watched directory changes, wake() is called, or `period` passes.
  /// True when a change was seen (the pending notifications are consumed).
  bool wait(std::chrono::milliseconds period) {
#if defined(__linux__)
    if (ifd_ >= 0) {
      ::pollfd fds[2] = {{ifd_, POLLIN, 0}, {efd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(std::min<std::chrono::milliseconds::rep>(period.count(), 1 << 30)));
      if (n <= 0) return false;
      if (fds[1].revents & POLLIN) {
        std::uint64_t v = 0;
        (void)!::read(efd_, &v, sizeof v);
        return false;
      }
      bool changed = false;
      alignas(inotify_event) char buf[4096];
      while (::read(ifd_, buf, sizeof buf) > 0) changed = true;
      return changed;
    }
#endif
    std::unique_lock lock(m_);
    cv_.wait_for(lock, period, [this] { return woken_; });
    woken_ = false;
    return false;
  }

  /// Ends the current (or the next) wait() early. Thread-safe.
  void wake() noexcept {
#if defined(__linux__)
    if (efd_ >= 0) {
      const std::uint64_t one = 1;
      (void)!::write(efd_, &one, sizeof one);
      return;
    }
#endif
    {
      std::lock_guard lock(m_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  void close_fds() noexcept {
#if defined(__linux__)
    if (ifd_ >= 0) ::close(ifd_);
    if (efd_ >= 0) ::close(efd_);
#endif
    ifd_ = efd_ = -1;
  }

  int ifd_ = -1, efd_ = -1;
  std::mutex m_;
  std::condition_variable cv_;
  bool woken_ = false;
};

}  // namespace detail
MLOPS_NAMESPACE_END
