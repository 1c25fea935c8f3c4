#include "body/json_text.hpp"

namespace bbr {

std::size_t skip_json_string(std::string_view text, std::size_t open) {
  for (std::size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
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
