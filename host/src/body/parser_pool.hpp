// simdjson parsers, reused across bodies. A parser owns large buffers (tape,
// strings, structural indexes) whose first touch costs page faults: reusing
// them is most of the speed. A body takes one for as long as its parse serves
// lookups, then gives it back. Bounded in count and in size, so a burst of
// huge bodies does not stay resident after it passed.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace bbr {

class ParserPool {
 public:
  static ParserPool& instance();

  // A parser with room for `size` bytes of JSON; nullptr when it cannot be
  // allocated.
  std::unique_ptr<simdjson::dom::parser> acquire(std::size_t size);
  void give_back(std::unique_ptr<simdjson::dom::parser> parser);

 private:
  // A parser's buffers are sized by the largest body it parsed, but only the
  // parts a parse wrote are resident: the scan writes 4 bytes per structural
  // character, a DOM about 8 bytes per value plus the strings. A few parsers
  // (about one per thread running chains) up to 2 MiB of JSON are kept; a
  // larger body's parser is freed after it, so a burst does not stay resident.
  static constexpr std::size_t kMaxPooled = 4;
  static constexpr std::size_t kMaxPooledCapacity = 2 * 1024 * 1024;  // bytes of JSON
  std::mutex mutex_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> free_;
};

}  // namespace bbr
