// Text form of a body value exactly as the reference Go BBR prints it with
// fmt.Sprintf("%v", v) after encoding/json decoded the body into map[string]any.
//
// Why: the reference turns a non-string `model` into a header with %v, so a
// drop-in must print 1 as "1", 1e6 as "1e+06", true as "true", null as "<nil>",
// [1,"a"] as "[1 a]" and {"b":1,"a":2} as "map[a:2 b:1]". Only SDK headers are
// used: values are read through the host's single parse of the body.
#pragma once

#include <bbr/plugin.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace bbr_plugins {

// Go's %v of a float64: strconv 'g' with the shortest round-trip digits, and
// exponent form when the decimal exponent is < -4 or >= 6 (Go fixes the
// precision at 6 for that decision when printing shortest).
inline std::string go_format_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char sci[64];
  auto sci_end = std::to_chars(sci, sci + sizeof(sci), value, std::chars_format::scientific).ptr;
  std::string_view sci_text(sci, static_cast<std::size_t>(sci_end - sci));
  auto e_pos = sci_text.find('e');
  int exponent = 0;
  std::from_chars(sci_text.data() + e_pos + 1 + (sci_text[e_pos + 1] == '+' ? 1 : 0),
                  sci_text.data() + sci_text.size(), exponent);
  if (exponent < -4 || exponent >= 6) {
    // to_chars already prints "d.ddde+XX" with at least two exponent digits, as Go does.
    return std::string(sci_text);
  }
  char fixed[512];
  auto fixed_end = std::to_chars(fixed, fixed + sizeof(fixed), value, std::chars_format::fixed).ptr;
  return std::string(fixed, static_cast<std::size_t>(fixed_end - fixed));
}

namespace detail {

// Deeper documents are printed as compact JSON instead: the reference would
// recurse without bound, we never risk the stack on client input.
constexpr int kMaxFormatDepth = 64;

inline bool go_format_at(const bbr::Message& msg, const std::string& pointer, int depth,
                         std::string& out) {
  bbr::JsonValue value;
  if (msg.json(pointer, value) != BBR_OK) return false;
  switch (value.type()) {
    case BBR_JSON_NULL:
      out += "<nil>";
      return true;
    case BBR_JSON_BOOL:
      out += value.raw.boolean ? "true" : "false";
      return true;
    case BBR_JSON_INTEGER:
    case BBR_JSON_NUMBER:
      // encoding/json decodes every number into float64.
      out += go_format_float(value.raw.number);
      return true;
    case BBR_JSON_STRING:
      out += value.string();
      return true;
    case BBR_JSON_ARRAY:
    case BBR_JSON_OBJECT:
      break;
  }
  if (depth >= kMaxFormatDepth) {
    auto text = msg.json_text(pointer);
    if (!text) return false;
    out += *text;
    return true;
  }
  const std::size_t count = value.raw.size;
  if (value.type() == BBR_JSON_ARRAY) {
    out += '[';
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) out += ' ';
      if (!go_format_at(msg, pointer + "/" + std::to_string(i), depth + 1, out)) return false;
    }
    out += ']';
    return true;
  }
  // Go prints map[string]any with its keys sorted.
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    bbr_buffer_t name{};
    if (msg.api()->json_member_name(msg.raw(), pointer.data(), pointer.size(), i, &name) != BBR_OK)
      return false;
    keys.emplace_back(bbr::view(name));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  out += "map[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ' ';
    out += keys[i];
    out += ':';
    if (!go_format_at(msg, bbr::pointer_join(pointer, keys[i]), depth + 1, out))
      return false;
  }
  out += ']';
  return true;
}

}  // namespace detail

// The %v text of the value at `pointer`, or nullopt when there is none (absent,
// or the body is not JSON). Status of the first lookup goes to `status_out`.
inline std::optional<std::string> go_format_value(const bbr::Message& msg,
                                                  const std::string& pointer,
                                                  bbr_status_t* status_out = nullptr) {
  bbr::JsonValue probe;
  bbr_status_t status = msg.json(pointer, probe);
  if (status_out != nullptr) *status_out = status;
  if (status != BBR_OK) return std::nullopt;
  if (probe.is_string()) return std::string(probe.string());
  std::string out;
  if (!detail::go_format_at(msg, pointer, 0, out)) return std::nullopt;
  return out;
}

// strings.TrimSpace for the ASCII white space a model name can carry.
inline std::string_view trim_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace bbr_plugins
