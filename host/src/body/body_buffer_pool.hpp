// Large body buffers, reused across streams. A fresh 1 MiB buffer comes from
// mmap and is given back with munmap when freed: every request then touches
// (page-faults in) a new megabyte. Keeping a few of them alive makes a steady
// stream of large requests reuse the same, already resident pages.
//
// Why shared slots and not one pool per thread: a streamed body is released
// by whichever thread drops the last reference to its chunks (gRPC may finish
// a write elsewhere), so a per-thread pool would strand buffers on threads
// that never take one. The slots are claimed with one atomic exchange each:
// no lock, no allocation, on the hot path.
//
// Bounded in count and size; emptied when the server is idle (serve's idle
// trim) and not refilled while the in-flight budget is tight (the caller
// says so), so pooled memory never stands in the way of live bodies.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

namespace bbr {

class BodyBufferPool {
 public:
  // Below this, malloc serves a buffer from its own bins without fresh pages.
  static constexpr std::size_t kMinPooledCapacity = 64 * 1024;
  // Above this, a buffer is freed after use: a burst of huge bodies does not
  // stay resident.
  static constexpr std::size_t kMaxPooledCapacity = 8 * 1024 * 1024;
  static constexpr std::size_t kSlots = 4;

  // An empty buffer with capacity for at least `capacity` bytes, pooled when
  // one fits; otherwise freshly reserved.
  static std::string take(std::size_t capacity);
  // A pooled buffer with room for `capacity` bytes swapped into `out` (its
  // old bytes are dropped); false, and `out` untouched, when none fits.
  static bool take_pooled(std::size_t capacity, std::string& out);
  // Keeps `buffer`'s memory for a later take when its size is worth keeping
  // and a slot is free; otherwise it is freed with `buffer`.
  static void give_back(std::string&& buffer);
  // Frees every pooled buffer (idle, or memory is tight).
  static void drain();
  // Bytes held by the pool now (capacity of the pooled buffers).
  static std::size_t pooled_bytes();
};

}  // namespace bbr
