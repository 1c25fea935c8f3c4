// Text helpers with no host in them: JSON Pointer checks, UTF-8 length and
// the token estimate (JSON text is built with plugin.hpp's bbr::Json and
// bbr::json_quote). request_text.hpp builds on them; rule logic that is
// tested without a host includes only this.
#pragma once

#include "common/parameters.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// ---- JSON Pointers -----------------------------------------------------------

// Why `pointer` is not an RFC 6901 JSON Pointer, or "" when it is.
inline std::string json_pointer_problem(std::string_view pointer) {
  if (pointer.empty()) return "";
  if (pointer.front() != '/') return "must be a JSON Pointer starting with '/' (e.g. /model)";
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' &&
        (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) {
      return "'~' must be followed by 0 or 1 (RFC 6901 escapes ~0 and ~1)";
    }
  }
  return "";
}

inline void require_json_pointer(const std::string& where, std::string_view pointer,
                                 bool allow_root) {
  std::string problem = json_pointer_problem(pointer);
  if (problem.empty() && pointer.empty() && !allow_root)
    problem = "must not be the whole body (\"\")";
  if (!problem.empty()) throw ParameterError(where + ": " + problem);
}

// The pointers of the ancestors of `pointer`, outermost first ("/a/b/c" ->
// "/a", "/a/b"); the root is left out.
inline std::vector<std::string> json_pointer_parents(std::string_view pointer) {
  std::vector<std::string> parents;
  for (std::size_t i = 1; i < pointer.size(); ++i) {
    if (pointer[i] == '/') parents.emplace_back(pointer.substr(0, i));
  }
  return parents;
}

inline bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Characters of UTF-8 text (code points; a stray continuation byte is not one).
inline std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

// The usual rough estimate for English text with OpenAI-style tokenisers:
// four characters a token, rounded up.
inline std::size_t estimated_tokens(std::size_t characters) { return (characters + 3) / 4; }

}  // namespace bbr_plugins
