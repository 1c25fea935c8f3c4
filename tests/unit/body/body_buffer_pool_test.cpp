#include "body/body_buffer_pool.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using bbr::BodyBufferPool;

TEST_CASE("a large buffer given back is the one the next take gets", "[body_buffer_pool]") {
  BodyBufferPool::drain();
  std::string buffer(512 * 1024, 'x');
  const char* memory = buffer.data();
  const std::size_t capacity = buffer.capacity();
  BodyBufferPool::give_back(std::move(buffer));
  CHECK(BodyBufferPool::pooled_bytes() == capacity);

  std::string again = BodyBufferPool::take(100 * 1024);
  CHECK(again.data() == memory);  // the same pages: nothing fresh to fault in
  CHECK(again.empty());
  CHECK(again.capacity() == capacity);
  CHECK(BodyBufferPool::pooled_bytes() == 0);
}

TEST_CASE("a pooled buffer too small for the take is left in the pool", "[body_buffer_pool]") {
  BodyBufferPool::drain();
  BodyBufferPool::give_back(std::string(128 * 1024, 'x'));
  std::string out;
  CHECK_FALSE(BodyBufferPool::take_pooled(1024 * 1024, out));
  CHECK(out.capacity() < 1024 * 1024);
  CHECK(BodyBufferPool::pooled_bytes() >= 128 * 1024);
  BodyBufferPool::drain();
}

TEST_CASE("the pool keeps neither small nor huge buffers, and at most kSlots", "[body_buffer_pool]") {
  BodyBufferPool::drain();
  BodyBufferPool::give_back(std::string(1024, 'x'));  // malloc's bins serve these well
  BodyBufferPool::give_back(std::string(BodyBufferPool::kMaxPooledCapacity + 1, 'x'));
  CHECK(BodyBufferPool::pooled_bytes() == 0);

  std::size_t total = 0;
  for (std::size_t i = 0; i < BodyBufferPool::kSlots + 2; ++i) {
    std::string b(BodyBufferPool::kMinPooledCapacity, 'x');
    if (i < BodyBufferPool::kSlots) total += b.capacity();
    BodyBufferPool::give_back(std::move(b));
  }
  CHECK(BodyBufferPool::pooled_bytes() == total);  // the extra ones were freed
}

TEST_CASE("drain frees every pooled buffer", "[body_buffer_pool]") {
  BodyBufferPool::give_back(std::string(256 * 1024, 'x'));
  CHECK(BodyBufferPool::pooled_bytes() > 0);
  BodyBufferPool::drain();
  CHECK(BodyBufferPool::pooled_bytes() == 0);
  std::string fresh = BodyBufferPool::take(256 * 1024);  // none pooled: reserved anew
  CHECK(fresh.capacity() >= 256 * 1024);
}
