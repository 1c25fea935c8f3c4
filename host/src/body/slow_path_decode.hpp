// The Go-compatible decision for the bodies simdjson refuses: Go's own error
// text, or the document Go's decoder would build. Slow (Go's syntax check,
// then nlohmann's parse, repairing the input where Go is lenient), and only
// reached when the fast paths (validating_scan, dom_view) said no.
#pragma once

#include "body/json_value.hpp"

#include <string>
#include <string_view>

namespace bbr {

// Empty and `doc` set when Go decodes `raw` into an `any` (a top-level string
// or array included); else Go's error text ("invalid character ...",
// "json: cannot unmarshal number 1e999 ...").
std::string decode_like_go(std::string_view raw, Json& doc);

}  // namespace bbr
