// JSON text a plugin hands over (a value to set, dynamic metadata): parsed
// into the mutable document's type with its nesting bounded first.
#pragma once

#include "body/json_value.hpp"

#include <string_view>

namespace bbr {

// Nesting depth of `text` outside strings is at most `max_depth`. A cheap byte
// scan that keeps hostile nesting away from the recursive parts of the JSON
// library (parse, copy, dump); brackets inside strings do not count.
bool nesting_within_limit(std::string_view text, int max_depth);

// `text` parsed into `out`: false (out unspecified) when it is not one JSON
// value or nests deeper than `max_depth`.
bool parse_json_text(std::string_view text, int max_depth, Json& out);

}  // namespace bbr
