// The fuzz targets as plain functions, so the same sources serve libFuzzer
// (libfuzzer_entry.cpp, clang) and the corpus replay test (any compiler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace bbr_fuzz {

int session_one_input(const uint8_t* data, std::size_t size);
int json_body_one_input(const uint8_t* data, std::size_t size);
int config_one_input(const uint8_t* data, std::size_t size);

// An invariant the code under test broke: say which, then abort so libFuzzer
// (or the replay test) records the input.
[[noreturn]] inline void invariant_failed(const char* target, const char* what) {
  std::fprintf(stderr, "fuzz_%s: invariant broken: %s\n", target, what);
  std::abort();
}

}  // namespace bbr_fuzz
