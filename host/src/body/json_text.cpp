#include "body/json_text.hpp"

#include <cstring>

namespace bbr {

std::size_t skip_json_string(std::string_view text, std::size_t open) {
  // memchr to each quote, then the backslashes just before it: an odd run
  // escapes it. Long strings (a prompt) pass at memchr's speed.
  std::size_t from = open + 1;
  while (from < text.size()) {
    const void* found = std::memchr(text.data() + from, '"', text.size() - from);
    if (found == nullptr) break;
    const std::size_t quote = static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
    std::size_t backslashes = 0;
    while (quote - backslashes > open + 1 && text[quote - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    from = quote + 1;
  }
  return text.size();
}

bool nesting_within_limit(std::string_view s, int max_depth) {
  int depth = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      i = skip_json_string(s, i) - 1;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

bool parse_json_text(std::string_view text, int max_depth, Json& out) {
  if (!nesting_within_limit(text, max_depth)) return false;
  out = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !out.is_discarded();
}

}  // namespace bbr
