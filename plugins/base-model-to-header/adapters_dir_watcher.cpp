#include "base-model-to-header/adapters_dir_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

namespace bbr_plugins {

namespace {

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                IN_MOVE_SELF | IN_ONLYDIR;
// After an event, wait until the directory is quiet this long before reloading.
constexpr int kSettleMs = 30;
constexpr int kMaxSettleRounds = 20;

}  // namespace

AdaptersDirWatcher::AdaptersDirWatcher(std::filesystem::path dir,
                                       std::chrono::milliseconds poll_interval,
                                       std::function<void(bool)> on_change)
    : dir_(std::move(dir)), poll_interval_(poll_interval), on_change_(std::move(on_change)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ >= 0) add_watch();
  thread_ = std::thread([this] { run(); });
}

AdaptersDirWatcher::~AdaptersDirWatcher() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool AdaptersDirWatcher::add_watch() {
  watch_ = ::inotify_add_watch(inotify_fd_, dir_.c_str(), kWatchMask);
  return watch_ >= 0;
}

bool AdaptersDirWatcher::drain_events() {
  alignas(struct inotify_event) char buffer[4096];
  bool watch_alive = true;
  for (;;) {
    ssize_t n = ::read(inotify_fd_, buffer, sizeof(buffer));
    if (n <= 0) break;  // EAGAIN: nothing more pending
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
      if (event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) watch_alive = false;
      offset += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
    }
  }
  return watch_alive;
}

void AdaptersDirWatcher::run() {
  for (;;) {
    struct pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const nfds_t count = (inotify_fd_ >= 0 && watch_ >= 0) ? 2 : 1;
    int ready = ::poll(fds, count, static_cast<int>(poll_interval_.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;  // cannot wait any more; the last snapshot stays in use
    }
    if (fds[0].revents != 0) return;
    if (ready == 0) {
      // Poll tick: re-arm inotify if the directory came back, then compare.
      if (inotify_fd_ >= 0 && watch_ < 0) add_watch();
      on_change_(false);
      continue;
    }
    bool watch_alive = drain_events();
    for (int round = 0; round < kMaxSettleRounds; ++round) {
      struct pollfd settle[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
      int more = ::poll(settle, 2, kSettleMs);
      if (more > 0 && settle[0].revents != 0) return;
      if (more <= 0) break;
      watch_alive = drain_events() && watch_alive;
    }
    if (!watch_alive && watch_ >= 0) {
      ::inotify_rm_watch(inotify_fd_, watch_);
      watch_ = -1;
    }
    on_change_(true);
  }
}

}  // namespace bbr_plugins
