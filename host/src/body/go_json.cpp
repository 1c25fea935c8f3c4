#include "body/go_json.hpp"

#include "body/json_text.hpp"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <vector>

namespace bbr {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i, uint32_t& code_point) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  uint32_t cp;
  if (c < 0x80) {
    code_point = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and out-of-range values are invalid, as in Go.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  code_point = cp;
  return n;
}

}  // namespace

namespace {

// Bytes append_go_string must look at: controls, '"', '\\', '<', '>', '&' and
// every non-ASCII byte (UTF-8 checks, U+2028/U+2029). Runs of other bytes
// are copied at once, which is most of any text.
constexpr auto kGoStringSpecial = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[static_cast<std::size_t>(c)] = true;
  for (int c = 0x80; c < 0x100; ++c) table[static_cast<std::size_t>(c)] = true;
  for (unsigned char c : std::string_view("\"\\<>&")) table[c] = true;
  return table;
}();

}  // namespace

void append_go_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t run = i;
    while (run < s.size() && !kGoStringSpecial[static_cast<unsigned char>(s[run])]) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    std::size_t n = utf8_sequence_length(s, i, cp);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

void append_go_float(std::string& out, double f) {
  char buf[64];
  double a = std::fabs(f);
  bool scientific = a != 0 && (a < 1e-6 || a >= 1e21);
  auto res = std::to_chars(buf, buf + sizeof buf, f,
                           scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  if (scientific && text.size() >= 4 && text[text.size() - 4] == 'e' &&
      text[text.size() - 3] == '-' && text[text.size() - 2] == '0') {
    // Go writes e-7, not e-07.
    out.append(text.substr(0, text.size() - 2));
    out.push_back(text.back());
    return;
  }
  out.append(text);
}

namespace {

// One encoder for both document types the body has (the mutable nlohmann
// document and simdjson's read-only DOM): each type says what a value is and
// walks its children; the encoder writes Go's bytes. Objects reach it with
// their members sorted by name, a duplicate name holding its last value, as
// Go writes a decoded map.
enum class GoKind { kNull, kTrue, kFalse, kInt64, kUint64, kDouble, kString, kArray, kObject };

GoKind kind_of(const nlohmann::json& v) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::boolean: return v.get<bool>() ? GoKind::kTrue : GoKind::kFalse;
    case T::number_integer: return GoKind::kInt64;
    case T::number_unsigned: return GoKind::kUint64;
    case T::number_float: return GoKind::kDouble;
    case T::string: return GoKind::kString;
    case T::array: return GoKind::kArray;
    case T::object: return GoKind::kObject;
    case T::null:
    case T::discarded:
    case T::binary: break;
  }
  return GoKind::kNull;
}
int64_t int64_of(const nlohmann::json& v) { return v.get<int64_t>(); }
uint64_t uint64_of(const nlohmann::json& v) { return v.get<uint64_t>(); }
double double_of(const nlohmann::json& v) { return v.get<double>(); }
std::string_view string_of(const nlohmann::json& v) { return v.get_ref<const std::string&>(); }
template <class F>
void for_each_element(const nlohmann::json& v, F&& f) {
  for (const auto& element : v) f(element);
}
template <class F>
void for_each_member_sorted(const nlohmann::json& v, F&& f) {
  for (const auto& [key, member] : v.items()) f(std::string_view(key), member);  // std::map
}

namespace dom = simdjson::dom;

GoKind kind_of(dom::element v) {
  switch (v.type()) {
    case dom::element_type::BOOL:
      return v.get_bool().value_unsafe() ? GoKind::kTrue : GoKind::kFalse;
    case dom::element_type::INT64: return GoKind::kInt64;
    case dom::element_type::UINT64: return GoKind::kUint64;
    case dom::element_type::DOUBLE: return GoKind::kDouble;
    case dom::element_type::STRING: return GoKind::kString;
    case dom::element_type::ARRAY: return GoKind::kArray;
    case dom::element_type::OBJECT: return GoKind::kObject;
    case dom::element_type::NULL_VALUE: break;
  }
  return GoKind::kNull;
}
int64_t int64_of(dom::element v) { return v.get_int64().value_unsafe(); }
uint64_t uint64_of(dom::element v) { return v.get_uint64().value_unsafe(); }
double double_of(dom::element v) { return v.get_double().value_unsafe(); }
std::string_view string_of(dom::element v) { return v.get_string().value_unsafe(); }
template <class F>
void for_each_element(dom::element v, F&& f) {
  dom::array array;
  if (v.get_array().get(array) != simdjson::SUCCESS) return;
  for (dom::element element : array) f(element);
}
template <class F>
void for_each_member_sorted(dom::element v, F&& f) {
  dom::object object;
  if (v.get_object().get(object) != simdjson::SUCCESS) return;
  std::vector<std::pair<std::string_view, dom::element>> members;
  for (dom::key_value_pair member : object) members.emplace_back(member.key, member.value);
  std::stable_sort(members.begin(), members.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
    f(members[i].first, members[i].second);
  }
}

template <class Value>
void encode(std::string& out, const Value& value) {
  switch (kind_of(value)) {
    case GoKind::kNull: out += "null"; break;
    case GoKind::kTrue: out += "true"; break;
    case GoKind::kFalse: out += "false"; break;
    case GoKind::kInt64: out += std::to_string(int64_of(value)); break;
    case GoKind::kUint64: out += std::to_string(uint64_of(value)); break;
    case GoKind::kDouble: append_go_float(out, double_of(value)); break;
    case GoKind::kString: append_go_string(out, string_of(value)); break;
    case GoKind::kArray: {
      out.push_back('[');
      bool first = true;
      for_each_element(value, [&](const auto& element) {
        if (!first) out.push_back(',');
        first = false;
        encode(out, element);
      });
      out.push_back(']');
      break;
    }
    case GoKind::kObject: {
      out.push_back('{');
      bool first = true;
      for_each_member_sorted(value, [&](std::string_view key, const auto& member) {
        if (!first) out.push_back(',');
        first = false;
        append_go_string(out, key);
        out.push_back(':');
        encode(out, member);
      });
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

void append_go_json(std::string& out, const nlohmann::json& value) { encode(out, value); }
void append_go_json(std::string& out, simdjson::dom::element value) { encode(out, value); }

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    std::size_t n = utf8_sequence_length(text, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string go_number_range_error(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      i = skip_json_string(text, i) - 1;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    std::size_t end = i;
    while (end < text.size() && std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos)
      ++end;
    std::string literal(text.substr(i, end - i));
    errno = 0;
    double value = std::strtod(literal.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(value)) {
      return "json: cannot unmarshal number " + literal + " into Go value of type float64";
    }
    i = end - 1;
  }
  return {};
}

std::string to_go_json(const nlohmann::json& value) {
  std::string out;
  append_go_json(out, value);
  return out;
}

// A syntax check that walks the input the way Go's encoding/json scanner does,
// so the error text names the same character and context.
namespace {

class GoScanner {
 public:
  explicit GoScanner(std::string_view text) : s_(text) {}

  // syntax_only: stop after the syntax check (no top-level type error).
  std::string check(bool syntax_only = false) {
    skip_space();
    if (at_end()) return "unexpected end of JSON input";
    char top = s_[pos_];
    std::string err = value();
    if (!err.empty()) return err;
    skip_space();
    if (!at_end()) return invalid(s_[pos_], "after top-level value");
    if (syntax_only) return {};
    switch (top) {
      case '{':
      case 'n': return {};
      case '[': return type_error("array");
      case '"': return type_error("string");
      case 't':
      case 'f': return type_error("bool");
      default: return type_error("number");
    }
  }

 private:
  static std::string type_error(const char* kind) {
    return std::string("json: cannot unmarshal ") + kind +
           " into Go value of type map[string]interface {}";
  }

  static std::string quote_char(char ch) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\'') return "'\\''";
    if (c == '"') return "'\"'";
    switch (c) {
      case '\n': return "'\\n'";
      case '\r': return "'\\r'";
      case '\t': return "'\\t'";
      case '\b': return "'\\b'";
      case '\f': return "'\\f'";
      case '\a': return "'\\a'";
      case '\v': return "'\\v'";
      case '\\': return "'\\\\'";
    }
    if (c < 0x20 || c == 0x7F) {
      return std::string("'\\x") + kHex[c >> 4] + kHex[c & 0xF] + "'";
    }
    if (c >= 0x80) {
      // Go quotes the byte as the code point U+00XX.
      std::string out = "'";
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      return out + "'";
    }
    return std::string("'") + ch + "'";
  }

  static std::string invalid(char c, const char* context) {
    return "invalid character " + quote_char(c) + " " + context;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  void skip_space() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  // Iterative over containers (explicit stack), so hostile nesting cannot
  // overflow the call stack.
  std::string value() {
    enum Frame : char { kObject, kArray };
    std::vector<Frame> stack;
    for (;;) {
      // Expect the beginning of a value.
      skip_space();
      if (at_end()) return "unexpected end of JSON input";
      char c = s_[pos_];
      if (c == '{' || c == '[') {
        if (static_cast<int>(stack.size()) + 1 > kGoMaxDepth) return "exceeded max depth";
        ++pos_;
        skip_space();
        if (at_end()) return "unexpected end of JSON input";
        if (c == '{') {
          stack.push_back(kObject);
          if (s_[pos_] == '}') {
            ++pos_;
            stack.pop_back();
          } else {
            std::string err = object_key(s_[pos_]);
            if (!err.empty()) return err;
            continue;
          }
        } else {
          stack.push_back(kArray);
          if (s_[pos_] == ']') {
            ++pos_;
            stack.pop_back();
          } else {
            continue;
          }
        }
      } else {
        std::string err = scalar();
        if (!err.empty()) return err;
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (stack.empty()) return {};
        skip_space();
        if (at_end()) return "unexpected end of JSON input";
        char d = s_[pos_];
        if (stack.back() == kObject) {
          if (d == ',') {
            ++pos_;
            skip_space();
            if (at_end()) return "unexpected end of JSON input";
            std::string err = object_key(s_[pos_]);
            if (!err.empty()) return err;
            break;
          }
          if (d == '}') {
            ++pos_;
            stack.pop_back();
            continue;
          }
          return invalid(d, "after object key:value pair");
        }
        if (d == ',') {
          ++pos_;
          break;
        }
        if (d == ']') {
          ++pos_;
          stack.pop_back();
          continue;
        }
        return invalid(d, "after array element");
      }
    }
  }

  // At the first character of an object key: the key string, then ':'.
  std::string object_key(char c) {
    if (c != '"') return invalid(c, "looking for beginning of object key string");
    std::string err = string_literal();
    if (!err.empty()) return err;
    skip_space();
    if (at_end()) return "unexpected end of JSON input";
    if (s_[pos_] != ':') return invalid(s_[pos_], "after object key");
    ++pos_;
    return {};
  }

  std::string scalar() {
    char c = s_[pos_];
    if (c == '"') return string_literal();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return invalid(c, "looking for beginning of value");
  }

  std::string literal(std::string_view word) {
    ++pos_;
    for (std::size_t k = 1; k < word.size(); ++k, ++pos_) {
      if (at_end()) return "unexpected end of JSON input";
      if (s_[pos_] != word[k]) {
        std::string context = "in literal " + std::string(word) + " (expecting " +
                              quote_char(word[k]) + ")";
        return invalid(s_[pos_], context.c_str());
      }
    }
    return {};
  }

  std::string string_literal() {
    ++pos_;  // opening quote
    while (!at_end()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return {};
      }
      if (c < 0x20) return invalid(s_[pos_], "in string literal");
      if (c == '\\') {
        ++pos_;
        if (at_end()) break;
        char e = s_[pos_];
        if (e == 'u') {
          ++pos_;
          for (int k = 0; k < 4; ++k, ++pos_) {
            if (at_end()) return "unexpected end of JSON input";
            if (!std::isxdigit(static_cast<unsigned char>(s_[pos_])))
              return invalid(s_[pos_], "in \\u hexadecimal character escape");
          }
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
            e != 't') {
          return invalid(e, "in string escape code");
        }
      }
      ++pos_;
    }
    return "unexpected end of JSON input";
  }

  std::string number() {
    auto digit = [&] { return !at_end() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
    if (s_[pos_] == '-') {
      ++pos_;
      if (at_end()) return "unexpected end of JSON input";
      if (!digit()) return invalid(s_[pos_], "in numeric literal");
    }
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (digit()) ++pos_;
    }
    if (!at_end() && s_[pos_] == '.') {
      ++pos_;
      if (at_end()) return "unexpected end of JSON input";
      if (!digit()) return invalid(s_[pos_], "after decimal point in numeric literal");
      while (digit()) ++pos_;
    }
    if (!at_end() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!at_end() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (at_end()) return "unexpected end of JSON input";
      if (!digit()) return invalid(s_[pos_], "in exponent of numeric literal");
      while (digit()) ++pos_;
    }
    return {};
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string go_json_decode_error(std::string_view text) { return GoScanner(text).check(); }

std::string go_json_syntax_error(std::string_view text) {
  return GoScanner(text).check(/*syntax_only=*/true);
}

}  // namespace bbr
