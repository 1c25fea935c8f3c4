#include "body/body_buffer_pool.hpp"

#include <array>
#include <cstdint>
#include <utility>

namespace bbr {
namespace {

// One slot: the buffer, and who may touch it. A thread that fails to claim a
// slot moves on to the next; nothing waits.
enum : std::uint8_t { kEmpty, kBusy, kFull };

struct alignas(64) Slot {  // one cache line each: threads claiming different slots do not contend
  std::atomic<std::uint8_t> state{kEmpty};
  std::string buffer;
};

std::array<Slot, BodyBufferPool::kSlots>& slots() {
  static auto* all = new std::array<Slot, BodyBufferPool::kSlots>;  // never destroyed: buffers may be given back during exit
  return *all;
}

bool claim(Slot& slot, std::uint8_t from) {
  std::uint8_t expected = from;
  return slot.state.load(std::memory_order_relaxed) == from &&
         slot.state.compare_exchange_strong(expected, kBusy, std::memory_order_acquire);
}

}  // namespace

bool BodyBufferPool::take_pooled(std::size_t capacity, std::string& out) {
  for (Slot& slot : slots()) {
    if (!claim(slot, kFull)) continue;
    if (slot.buffer.capacity() < capacity) {
      slot.state.store(kFull, std::memory_order_release);
      continue;
    }
    out.swap(slot.buffer);
    out.clear();
    std::string().swap(slot.buffer);  // what `out` held is freed, not pooled: it was smaller
    slot.state.store(kEmpty, std::memory_order_release);
    return true;
  }
  return false;
}

std::string BodyBufferPool::take(std::size_t capacity) {
  std::string out;
  if (!take_pooled(capacity, out)) out.reserve(capacity);
  return out;
}

void BodyBufferPool::give_back(std::string&& buffer) {
  const std::size_t capacity = buffer.capacity();
  if (capacity < kMinPooledCapacity || capacity > kMaxPooledCapacity) return;
  for (Slot& slot : slots()) {
    if (!claim(slot, kEmpty)) continue;
    slot.buffer.swap(buffer);
    slot.state.store(kFull, std::memory_order_release);
    return;
  }
}

void BodyBufferPool::drain() {
  for (Slot& slot : slots()) {
    if (!claim(slot, kFull)) continue;
    std::string().swap(slot.buffer);
    slot.state.store(kEmpty, std::memory_order_release);
  }
}

std::size_t BodyBufferPool::pooled_bytes() {
  std::size_t bytes = 0;
  for (Slot& slot : slots()) {
    if (!claim(slot, kFull)) continue;
    bytes += slot.buffer.capacity();
    slot.state.store(kFull, std::memory_order_release);
  }
  return bytes;
}

}  // namespace bbr
