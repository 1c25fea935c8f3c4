// bbr/pointer_token.hpp: escaping one reference token of a JSON Pointer
// (RFC 6901), header-only. The SDK's plugin.hpp and the host both build
// pointers with these, so a member name reaches a plugin escaped exactly as
// the plugin escapes it back.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bbr {

// Appends `token` escaped: "~" as "~0", "/" as "~1".
inline void append_escaped_pointer_token(std::string& out, std::string_view token) {
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
}

// Appends `token` unescaped: "~0" as "~", "~1" as "/". A '~' not followed by
// 0 or 1 is kept as it is (a valid pointer has none).
inline void append_unescaped_pointer_token(std::string& out, std::string_view token) {
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
      out += token[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += token[i];
    }
  }
}

// One reference token escaped for a JSON Pointer: "a/b~c" -> "a~1b~0c".
inline std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  append_escaped_pointer_token(out, token);
  return out;
}

// The reverse: "a~1b~0c" -> "a/b~c".
inline std::string unescape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  append_unescaped_pointer_token(out, token);
  return out;
}

}  // namespace bbr
