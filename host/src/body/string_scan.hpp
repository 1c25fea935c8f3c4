// The validating scan's string check: one string token checked and its
// content found, 64 bytes a step. It comes in builds for several instruction
// sets (SSE2 on every x86-64 and plain C elsewhere, AVX2, AVX-512BW), the
// best the CPU has picked at run time, as simdjson picks its kernels. All give
// the same answers (the unit tests run every build the CPU has).
#pragma once

#include <cstddef>
#include <string_view>

namespace bbr {

inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A string token: `data[begin]` is its opening quote and `end` the end of its
// span (the next structural index, trailing white space included). Sets
// `content` (between the quotes, raw) and `escaped` (it holds a backslash);
// false when the span is not exactly one valid string. Reads up to 64 bytes
// past `end`: the body carries JsonBody::kParsePadding readable bytes.
using ScanStringFn = bool (*)(const char* data, std::size_t begin, std::size_t end,
                              std::string_view& content, bool& escaped);

// The build to use: chosen once per body (not per string: keys are short).
ScanStringFn pick_scan_string();

// Test hooks. Levels: 0 portable, 1 AVX2, 2 AVX-512; -1 restores the default.
int string_scan_levels();  // how many builds this CPU can run
void set_string_scan_level_for_testing(int level);

}  // namespace bbr
