// JSON text a plugin hands over (a value to set, dynamic metadata): parsed
// into the mutable document's type with its nesting bounded first.
#pragma once

#include "body/json_value.hpp"

#include <cstddef>
#include <string_view>

namespace bbr {

// The index just past the JSON string literal whose opening quote is at
// `open` (text.size() when it does not end): a backslash escapes the byte
// after it. Byte scans of JSON text use it to pass over strings.
std::size_t skip_json_string(std::string_view text, std::size_t open);

// Nesting depth of `text` outside strings is at most `max_depth`. A cheap byte
// scan that keeps hostile nesting away from the recursive parts of the JSON
// library (parse, copy, dump); brackets inside strings do not count.
bool nesting_within_limit(std::string_view text, int max_depth);

// `text` parsed into `out`: false (out unspecified) when it is not one JSON
// value or nests deeper than `max_depth`.
bool parse_json_text(std::string_view text, int max_depth, Json& out);

}  // namespace bbr
