// RFC 6901 JSON Pointers in the host: syntax, escaping a reference token (with
// the SDK's bbr/pointer_token.hpp, which plugins use too), walking the
// unescaped tokens, array indexes, and lookups in the mutable (nlohmann)
// document. The simdjson DOM's lookup is in dom_view.
#pragma once

#include "body/json_value.hpp"

#include <bbr/pointer_token.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace bbr {

// RFC 6901 syntax: empty, or '/'-separated tokens where '~' is only ever
// followed by '0' or '1'. Keys are UTF-8 on the wire (Go re-encodes invalid
// bytes as U+FFFD): a pointer that is not could name a key that can never be
// sent as named.
bool valid_pointer(std::string_view text);

// Appends "/" and one reference token, escaped (~ as ~0, / as ~1).
void append_pointer_token(std::string& out, std::string_view token);
// Appends "/" and an array index.
void append_pointer_index(std::string& out, std::size_t index);

// Parses an array index token per RFC 6901 (no leading zeros, no sign).
bool array_index(std::string_view token, std::size_t& index);

// Calls `on_token(token)` for each unescaped reference token of a valid
// pointer; stops at the first false (and returns false).
template <class F>
bool for_each_token(std::string_view pointer, F&& on_token) {
  std::string unescaped;
  std::size_t pos = 0;
  while (pos < pointer.size()) {
    std::size_t start = pos + 1;
    std::size_t end = pointer.find('/', start);
    if (end == std::string_view::npos) end = pointer.size();
    std::string_view token = pointer.substr(start, end - start);
    if (token.find('~') != std::string_view::npos) {
      unescaped.clear();
      append_unescaped_pointer_token(unescaped, token);
      token = unescaped;
    }
    if (!on_token(token)) return false;
    pos = end;
  }
  return true;
}

// A valid pointer in nlohmann's form; false when the text is not one.
bool make_pointer(std::string_view text, Json::json_pointer& out);

// Resolves a pointer in the mutable document without exceptions; nullptr with
// `err` set when there is nothing there.
Json* resolve(Json& root, const Json::json_pointer& ptr, JsonError& err);

}  // namespace bbr
