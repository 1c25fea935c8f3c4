// The validating scan: decides, without building a DOM, whether Go's decoder
// would accept a body, and indexes its top-level members.
//
// Why: a full DOM parse copies and unescapes every string into the parser's
// string buffer and writes a tape, while the default chain reads one
// top-level string. The scan runs simdjson's stage 1 (its runtime-dispatched
// SIMD kernel: UTF-8 validity, string boundaries, control characters in
// strings, the structural characters) and then checks, over the structural
// indexes only, the rest of what Go's decoder checks: the grammar, Go's depth
// limit, every escape sequence (with SSE2, without copying), number and
// literal syntax, numbers within float64. It records the top-level members,
// so a lookup of a top-level scalar needs no DOM. Anything it does not
// accept goes to the DOM parse and then to the slow path, which decide; so a
// scan that refuses too much costs only time, and the fuzz target holds it to
// never accepting more than Go.
//
// simdjson 3.0.1 (Debian) exposes stage 1 as parser.implementation->stage1
// and its output as structural_indexes: internal API, pinned by the package.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "body/json_value.hpp"

namespace simdjson::dom {
class parser;
}

namespace bbr {

enum class ValueKind : char { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull };

struct RootMember {
  std::string_view key;  // content between the quotes, raw
  bool key_escaped = false;
  ValueKind kind = ValueKind::kNull;
  std::string_view value;  // scalars: the token (a string: content between the quotes)
  bool value_escaped = false;
  // Offsets in the body: the name's opening quote, and the value's first byte
  // and one past its last (a container: past its closing bracket). A splice
  // of a top-level member starts from these (json_splice.hpp).
  std::size_t key_at = 0;
  std::size_t value_at = 0;
  std::size_t value_end = 0;
};

struct ScanResult {
  ValueKind root = ValueKind::kNull;
  bool keys_escaped = false;  // some top-level name holds an escape: lookups use the DOM
  std::vector<RootMember> members;
};

// Validates `bytes` as Go's decoder would (see above), with `parser`'s stage
// 1. False: not proven valid (the caller tries the DOM parse next). `bytes`
// must be followed by JsonBody::kParsePadding readable bytes.
bool validating_scan(simdjson::dom::parser& parser, std::string_view bytes, ScanResult& out);

// A top-level scalar straight from the scan, when that needs no decoding;
// false: ask the DOM.
bool read_scanned(const RootMember& m, JsonRead& out);

}  // namespace bbr
