#include "cli/memory_limit.hpp"

#include <fstream>
#include <sstream>

namespace bbr::cli {

namespace {

// A cgroup limit file's value; 0 when absent or unlimited.
std::uint64_t read_limit_file(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  try {
    const std::uint64_t value = std::stoull(text);
    // cgroup v1 writes "no limit" as a page-rounded LLONG_MAX.
    return value >= (std::uint64_t{1} << 60) ? 0 : value;
  } catch (const std::exception&) {
    return 0;
  }
}

std::uint64_t mem_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

}  // namespace

MemoryLimit process_memory_limit() {
  if (auto v2 = read_limit_file("/sys/fs/cgroup/memory.max"); v2 != 0) {
    return {v2, "cgroup memory.max"};
  }
  if (auto v1 = read_limit_file("/sys/fs/cgroup/memory/memory.limit_in_bytes"); v1 != 0) {
    return {v1, "cgroup memory.limit_in_bytes"};
  }
  if (auto total = mem_total_bytes(); total != 0) return {total, "MemTotal"};
  return {};
}

}  // namespace bbr::cli
