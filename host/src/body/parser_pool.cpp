#include "body/parser_pool.hpp"

#include "body/go_json.hpp"

#include <algorithm>

namespace bbr {

ParserPool& ParserPool::instance() {
  static ParserPool* pool = new ParserPool;  // never destroyed: bodies may outlive statics
  return *pool;
}

std::unique_ptr<simdjson::dom::parser> ParserPool::acquire(std::size_t size) {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      auto parser = std::move(free_.back());
      free_.pop_back();
      return parser;
    }
  }
  auto parser = std::make_unique<simdjson::dom::parser>();
  // The depth is Go's: deeper input goes to the slow path, which names it.
  if (parser->allocate(std::max<std::size_t>(size, 4096), kGoMaxDepth) != simdjson::SUCCESS) {
    return nullptr;
  }
  return parser;
}

void ParserPool::give_back(std::unique_ptr<simdjson::dom::parser> parser) {
  if (!parser || parser->capacity() > kMaxPooledCapacity) return;
  std::lock_guard lock(mutex_);
  if (free_.size() < kMaxPooled) free_.push_back(std::move(parser));
}

}  // namespace bbr
