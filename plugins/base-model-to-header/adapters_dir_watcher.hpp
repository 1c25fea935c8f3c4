// A background thread that notices changes in a directory: inotify for
// promptness, plus a periodic poll because inotify misses some changes (files
// behind symlinks, network file systems) and may be unavailable.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

namespace bbr_plugins {

class AdaptersDirWatcher {
 public:
  // on_change(forced) runs on the watcher thread: forced = true after inotify
  // reported a change (settled for a moment, so a file being written is read
  // once it is complete), false on each poll tick (the callback decides whether
  // anything changed).
  AdaptersDirWatcher(std::filesystem::path dir, std::chrono::milliseconds poll_interval,
                     std::function<void(bool forced)> on_change);
  // Stops and joins the thread; returns within one settle step.
  ~AdaptersDirWatcher();
  AdaptersDirWatcher(const AdaptersDirWatcher&) = delete;
  AdaptersDirWatcher& operator=(const AdaptersDirWatcher&) = delete;

 private:
  void run();
  bool add_watch();
  // Reads all pending inotify events; false when the watch itself went away.
  bool drain_events();

  std::filesystem::path dir_;
  std::chrono::milliseconds poll_interval_;
  std::function<void(bool)> on_change_;
  int wake_fd_ = -1;     // eventfd written by the destructor
  int inotify_fd_ = -1;  // -1 when inotify is unavailable: poll only
  int watch_ = -1;       // -1 while the directory is not watched
  std::thread thread_;
};

}  // namespace bbr_plugins
