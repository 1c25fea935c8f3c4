// Counts of expensive work, read by the count-based guards (tests/unit/guards)
// so that a change which adds work fails deterministically, on any machine.
// Relaxed atomics: one uncontended increment where the work happens.
#pragma once

#include <atomic>
#include <cstdint>

namespace bbr::work_counters {

// Read-only DOMs built over a body (simdjson's second stage over all of it).
inline std::atomic<std::uint64_t> dom_builds{0};

inline void count_dom_build() { dom_builds.fetch_add(1, std::memory_order_relaxed); }

// Values Envoy sent (attributes, metadata) turned into JSON text: only those a
// plugin reads (chain/message.hpp, EnvoyValue).
inline std::atomic<std::uint64_t> envoy_value_conversions{0};

inline void count_envoy_value_conversion() {
  envoy_value_conversions.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace bbr::work_counters
