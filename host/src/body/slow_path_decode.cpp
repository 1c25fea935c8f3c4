#include "body/slow_path_decode.hpp"

#include "body/go_json.hpp"

#include <cstdint>

namespace bbr {
namespace {

// Go decodes invalid UTF-8 inside strings as U+FFFD; nlohmann refuses it. Only
// called once a syntax check passed, so every invalid byte is inside a string.
std::string replace_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80             ? 1
                    : (c & 0xE0) == 0xC0 ? 2
                    : (c & 0xF0) == 0xE0 ? 3
                    : (c & 0xF8) == 0xF0 ? 4
                                         : 0;
    bool valid = n != 0 && i + n <= s.size();
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (valid && n > 1) {
      // Reject overlong forms and surrogates the way a validating decoder does.
      uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
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

// Go decodes a \u escape of a lone UTF-16 surrogate as U+FFFD; nlohmann
// refuses it. Only called once Go's syntax check passed, so every backslash
// starts a well-formed escape inside a string.
std::string replace_lone_surrogates(std::string_view s) {
  auto hex4 = [&](std::size_t at, uint32_t& cp) {
    if (at + 6 > s.size() || s[at] != '\\' || s[at + 1] != 'u') return false;
    cp = 0;
    for (std::size_t k = at + 2; k < at + 6; ++k) {
      char c = s[k];
      uint32_t digit = c >= '0' && c <= '9'   ? static_cast<uint32_t>(c - '0')
                       : c >= 'a' && c <= 'f' ? static_cast<uint32_t>(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? static_cast<uint32_t>(c - 'A' + 10)
                                              : 16;
      if (digit == 16) return false;
      cp = cp * 16 + digit;
    }
    return true;
  };
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i++]);
      continue;
    }
    uint32_t cp = 0;
    if (!hex4(i, cp) || cp < 0xD800 || cp > 0xDFFF) {
      out.append(s.substr(i, 2));  // any other escape, kept as written
      i += 2;
      continue;
    }
    uint32_t low = 0;
    if (cp <= 0xDBFF && hex4(i + 6, low) && low >= 0xDC00 && low <= 0xDFFF) {
      out.append(s.substr(i, 12));  // a proper pair
      i += 12;
      continue;
    }
    out += "\\ufffd";
    i += 6;
  }
  return out;
}

}  // namespace

std::string decode_like_go(std::string_view raw, Json& doc) {
  // Go's own checks first (its scanner also stops hostile nesting at Go's
  // depth, before nlohmann's recursive parts could see it): most bodies here
  // are invalid, and Go's syntax check (about 0.6 ms per MiB) names the error
  // without the nlohmann parse (about 9 ms per MiB). Syntax only: a top-level
  // string or array is still JSON; JsonBody::map_decode_error() adds the type
  // rule.
  std::string error = go_json_syntax_error(raw);
  if (!error.empty()) return error;
  // A number beyond float64: Go refuses it too, in its own words.
  error = go_number_range_error(raw);
  if (!error.empty()) return error;
  // Valid for Go; what made the fast paths refuse it is invalid UTF-8 or a
  // lone surrogate escape (Go decodes both as U+FFFD), or an integer beyond
  // 64 bits (a float64 for Go and for nlohmann).
  doc = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    doc = Json::parse(replace_lone_surrogates(replace_invalid_utf8(raw)), nullptr, false);
    if (doc.is_discarded()) return "invalid JSON";
  }
  return {};
}

}  // namespace bbr
