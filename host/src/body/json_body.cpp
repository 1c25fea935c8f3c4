#include "body/json_body.hpp"

#include "body/go_json.hpp"

namespace bbr {
namespace {

constexpr int kMaxDepth = 10000;  // Go's encoding/json limit, so we accept what it accepts

// Nesting depth outside strings, stopping early past the limit. A cheap byte
// scan that keeps hostile nesting away from the recursive parts of the JSON
// library (copy, dump).
bool nesting_within_limit(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// Go decodes invalid UTF-8 inside strings as U+FFFD; nlohmann refuses it. Only
// called once a syntax check passed, so every invalid byte is inside a string.
std::string replace_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = n != 0 && i + n <= s.size();
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (valid && n > 1) {
      // Reject overlong forms and surrogates the way a validating decoder does.
      uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      valid = !((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    }
    if (valid) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool make_pointer(std::string_view text, Json::json_pointer& out) {
  // Keys are UTF-8 on the wire (Go re-encodes invalid bytes as U+FFFD): a
  // pointer that is not could name a key that can never be sent as named.
  if (!is_valid_utf8(text)) return false;
  try {
    out = Json::json_pointer(std::string(text));
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// Parses an array index token per RFC 6901 (no leading zeros, no sign).
bool array_index(const std::string& token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
    if (index > (std::size_t{1} << 40)) return false;
  }
  return true;
}

// Resolves a pointer without exceptions on the lookup path.
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

}  // namespace

const std::string& JsonBody::raw() {
  if (dirty_) {
    raw_ = to_go_json(doc_);
    dirty_ = false;
  }
  return raw_;
}

std::string JsonBody::release() {
  raw();  // serialise pending edits first
  std::string out = std::move(raw_);
  raw_.clear();
  doc_ = Json();
  state_ = ParseState::kNotParsed;
  return out;
}

void JsonBody::append(std::string_view chunk) {
  raw_.append(chunk);
  state_ = ParseState::kNotParsed;
}

bool JsonBody::parse() {
  if (state_ != ParseState::kNotParsed) return state_ == ParseState::kParsed;
  state_ = ParseState::kFailed;
  if (!nesting_within_limit(raw_)) {
    parse_error_ = "exceeded max depth";
    return false;
  }
  doc_ = Json::parse(raw_, nullptr, /*allow_exceptions=*/false);
  if (doc_.is_discarded()) {
    parse_error_ = go_json_decode_error(raw_);
    if (!parse_error_.empty()) return false;
    // Syntactically valid for Go: what is left is a number beyond float64
    // (Go refuses it too, in its own words) or invalid UTF-8 (Go decodes it).
    parse_error_ = go_number_range_error(raw_);
    if (!parse_error_.empty()) return false;
    doc_ = Json::parse(replace_invalid_utf8(raw_), nullptr, false);
    if (doc_.is_discarded()) {
      parse_error_ = "invalid JSON";
      return false;
    }
  }
  parse_error_.clear();
  state_ = ParseState::kParsed;
  return true;
}

std::string JsonBody::map_decode_error() {
  if (!parse()) return parse_error_;
  if (doc_.is_object() || doc_.is_null()) return {};
  return go_json_decode_error(raw_);  // only a non-object top level gets here: the type error
}

const Json* JsonBody::find(std::string_view pointer, JsonError& err) {
  if (!parse()) {
    err = JsonError::kNotJson;
    return nullptr;
  }
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) {
    err = JsonError::kInvalidPointer;
    return nullptr;
  }
  return resolve(doc_, ptr, err);
}

JsonError JsonBody::set(std::string_view pointer, std::string_view json_text) {
  if (!parse()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  if (!nesting_within_limit(json_text)) return JsonError::kInvalidValue;
  Json value = Json::parse(json_text, nullptr, false);
  if (value.is_discarded()) return JsonError::kInvalidValue;

  if (ptr.empty()) {
    doc_ = std::move(value);
  } else {
    JsonError err = JsonError::kNone;
    Json* parent = resolve(doc_, ptr.parent_pointer(), err);
    if (parent == nullptr) return err;
    const std::string& token = ptr.back();
    if (parent->is_object()) {
      (*parent)[token] = std::move(value);
    } else if (parent->is_array()) {
      std::size_t index = 0;
      if (token == "-") {
        parent->push_back(std::move(value));
      } else if (array_index(token, index) && index < parent->size()) {
        (*parent)[index] = std::move(value);
      } else if (array_index(token, index) && index == parent->size()) {
        parent->push_back(std::move(value));
      } else {
        return JsonError::kNotFound;
      }
    } else {
      return JsonError::kWrongType;
    }
  }
  dirty_ = true;
  changed_ = true;
  return JsonError::kNone;
}

JsonError JsonBody::remove(std::string_view pointer) {
  if (!parse()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  if (ptr.empty()) return JsonError::kInvalidPointer;  // the document itself cannot go
  JsonError err = JsonError::kNone;
  Json* parent = resolve(doc_, ptr.parent_pointer(), err);
  if (parent == nullptr) return err;
  const std::string& token = ptr.back();
  if (parent->is_object()) {
    if (parent->erase(token) == 0) return JsonError::kNotFound;
  } else if (parent->is_array()) {
    std::size_t index = 0;
    if (!array_index(token, index) || index >= parent->size()) return JsonError::kNotFound;
    parent->erase(index);
  } else {
    return JsonError::kNotFound;
  }
  dirty_ = true;
  changed_ = true;
  return JsonError::kNone;
}

void JsonBody::replace(std::string raw) {
  raw_ = std::move(raw);
  state_ = ParseState::kNotParsed;
  dirty_ = false;
  changed_ = true;
}

}  // namespace bbr
