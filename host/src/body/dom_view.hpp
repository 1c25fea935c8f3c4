// The read-only simdjson DOM of a body: lookups by JSON Pointer, values as a
// lookup returns them, member walks, and the mutable document built from it.
// Duplicate member names resolve as Go's decoder keeps them: the last value,
// at the position of the first.
#pragma once

#include "body/json_value.hpp"

#include <simdjson.h>

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace bbr {

// By value: simdjson_result::value_unsafe() hands out a reference into the
// temporary result, which a range-for would keep using after it died. Callers
// check the type first.
simdjson::dom::object as_object(simdjson::dom::element v);
simdjson::dom::array as_array(simdjson::dom::element v);

// The value at `pointer` (RFC 6901); kInvalidPointer, kNotFound.
JsonError dom_resolve(simdjson::dom::element root, std::string_view pointer,
                      simdjson::dom::element& out);

// The value as a lookup returns it (strings borrowed from the parser).
void dom_read(simdjson::dom::element v, JsonRead& out);

// Distinct member names in order of first appearance.
void dom_member_names(simdjson::dom::object object, std::vector<std::string_view>& names);

// Distinct members at their first position, each with its last value.
void dom_distinct_members(simdjson::dom::object object,
                          std::vector<std::pair<std::string_view, simdjson::dom::element>>& out);

// The mutable document from the DOM: no second lexing of the bytes (several
// times faster than nlohmann's parse).
Json to_mutable(simdjson::dom::element v);

}  // namespace bbr
