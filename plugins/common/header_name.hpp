// Checks a header name a plugin is configured to set, at create(): the host
// refuses such a set_header at request time (plugin.h), which would turn an
// operator's typo into an error on every request. Refusing it here makes
// `bbr-host config check` report it before anything is served.
#pragma once

#include "common/parameters.hpp"

#include <cctype>
#include <string>
#include <string_view>

namespace bbr_plugins {

// RFC 9110 token characters (tchar).
inline bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Why `name` cannot be a header this plugin sets, or "" when it can. The rules
// are the host's for set_header: an HTTP token (a pseudo-header may start with
// ':'), and not one Envoy refuses to let ext_proc change.
inline std::string header_name_problem(std::string_view name) {
  // Appended piece by piece: "\"" + std::string(name) trips GCC 12's -Wrestrict
  // false positive at -O3.
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted.push_back('"');
  quoted.append(name);
  quoted.push_back('"');
  if (name.empty()) return "must not be empty";
  std::string_view token = name.front() == ':' ? name.substr(1) : name;
  bool valid = !token.empty();
  for (char c : token) valid = valid && is_tchar(c);
  if (!valid) return quoted + " is not a valid HTTP header name";
  if ((name.size() >= 8 && equals_ignoring_case(name.substr(0, 8), "x-envoy-")) ||
      equals_ignoring_case(name, "host") || equals_ignoring_case(name, ":method") ||
      equals_ignoring_case(name, ":authority") || equals_ignoring_case(name, ":scheme")) {
    return quoted + " is a header Envoy does not let an ext_proc server set";
  }
  return "";
}

// Throws ParameterError "<parameter>: <problem>" (create()'s error, which the
// host reports at plugins[i].parameters.<parameter>) when `name` is refused.
inline void require_settable_header_name(const char* parameter, std::string_view name) {
  std::string problem = header_name_problem(name);
  if (!problem.empty()) throw ParameterError(std::string(parameter) + ": " + problem);
}

}  // namespace bbr_plugins
