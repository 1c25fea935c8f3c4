// The memory the process may use, as its cgroup (container) or the machine
// says: the base of the default in-flight body budget (docs/operations.md).
#pragma once

#include <cstdint>
#include <string>

namespace bbr::cli {

struct MemoryLimit {
  std::uint64_t bytes = 0;  // 0: unknown
  std::string source;       // where it was read, for the start-up log
};

// cgroup v2 memory.max, else cgroup v1 memory.limit_in_bytes, else the
// machine's MemTotal. "max" and v1's huge "no limit" value count as no limit.
MemoryLimit process_memory_limit();

}  // namespace bbr::cli
