#include "body/json_pointer.hpp"

#include "body/go_json.hpp"

#include <bbr/pointer_token.hpp>

#include <vector>

namespace bbr {

bool valid_pointer(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() != '/' || !is_valid_utf8(text)) return false;
  for (std::size_t i = text.find('~'); i != std::string_view::npos; i = text.find('~', i + 1)) {
    if (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) return false;
  }
  return true;
}

void append_pointer_token(std::string& out, std::string_view token) {
  out.push_back('/');
  append_escaped_pointer_token(out, token);
}

void append_pointer_index(std::string& out, std::size_t index) {
  out.push_back('/');
  out += std::to_string(index);
}

bool array_index(std::string_view token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
    if (index > (std::size_t{1} << 40)) return false;
  }
  return true;
}

bool make_pointer(std::string_view text, Json::json_pointer& out) {
  if (!valid_pointer(text)) return false;
  try {
    out = Json::json_pointer(std::string(text));
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

Json* resolve(Json& root, const Json::json_pointer& ptr, JsonError& err) {
  Json* node = &root;
  // json_pointer exposes tokens only through to_string; walk a copy.
  std::vector<std::string> tokens;
  for (Json::json_pointer p = ptr; !p.empty(); p = p.parent_pointer()) tokens.push_back(p.back());
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    if (node->is_object()) {
      auto found = node->find(*it);
      if (found == node->end()) {
        err = JsonError::kNotFound;
        return nullptr;
      }
      node = &*found;
    } else if (node->is_array()) {
      std::size_t index = 0;
      if (!array_index(*it, index) || index >= node->size()) {
        err = JsonError::kNotFound;
        return nullptr;
      }
      node = &(*node)[index];
    } else {
      err = JsonError::kNotFound;
      return nullptr;
    }
  }
  err = JsonError::kNone;
  return node;
}

}  // namespace bbr
