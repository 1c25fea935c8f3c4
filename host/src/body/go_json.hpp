// Encoding JSON the way Go's encoding/json does for a decoded map[string]any,
// so a body the chain edited is byte-for-byte what the reference BBR would send:
// compact, object keys sorted, '<' '>' '&' U+2028 U+2029 escaped as \uXXXX,
// floats in Go's shortest form (1e+21, 1e-7). Integers are written exactly, where
// the reference would round them through float64 (a deliberate difference:
// never corrupt a value).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace simdjson::dom {
class element;
}

namespace bbr {

// Go's encoding/json nesting limit: deeper input is refused, so we refuse it.
constexpr int kGoMaxDepth = 10000;

// Go's encoding of a value of the mutable document, or of the simdjson DOM
// (the same bytes for the same value; one encoder writes both).
void append_go_json(std::string& out, const nlohmann::json& value);
void append_go_json(std::string& out, simdjson::dom::element value);
// The pieces: a string with Go's escapes, a float64 in Go's shortest form.
void append_go_string(std::string& out, std::string_view s);
void append_go_float(std::string& out, double f);
std::string to_go_json(const nlohmann::json& value);

// True when `text` is well-formed UTF-8 (no overlong forms or surrogates).
bool is_valid_utf8(std::string_view text);

// Go's error text for the first number literal in `text` (outside strings)
// that overflows a float64 ("json: cannot unmarshal number 1e999 into Go value
// of type float64"). Empty when there is none.
std::string go_number_range_error(std::string_view text);

// Go's encoding/json error text for input that does not decode into
// map[string]any ("unexpected end of JSON input", "invalid character 'x'
// looking for beginning of value", ...). Empty when `text` decodes.
std::string go_json_decode_error(std::string_view text);
// The same check without the top-level type rule: empty for any JSON text Go
// would decode into an `any`.
std::string go_json_syntax_error(std::string_view text);

}  // namespace bbr
