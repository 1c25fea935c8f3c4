#include "cli/header_arg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace bbr::cli {

Headers parse_header_args(const char* flag_name, const std::vector<std::string>& values) {
  Headers headers;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string& flag = values[i];
    // A leading ':' belongs to the name of a pseudo-header (":path:/v1/x").
    std::size_t colon = flag.find(':', flag.size() > 0 && flag[0] == ':' ? 1 : 0);
    if (colon == std::string::npos || colon == 0) {
      throw HeaderArgError(fmt::format("{} #{} \"{}\": expected NAME:VALUE", flag_name, i + 1, flag));
    }
    std::string key = flag.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = flag.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (!is_valid_header_name(key)) {
      throw HeaderArgError(fmt::format("{} #{} \"{}\": invalid header name", flag_name, i + 1, flag));
    }
    headers.push_back({std::move(key), std::move(value)});
  }
  return headers;
}

Headers with_default_headers(Headers given, const Headers& defaults) {
  Headers out;
  for (const auto& d : defaults) {
    const bool present =
        std::any_of(given.begin(), given.end(), [&](const Header& h) { return h.key == d.key; });
    if (!present) out.push_back(d);
  }
  out.insert(out.end(), std::make_move_iterator(given.begin()),
             std::make_move_iterator(given.end()));
  return out;
}

const Headers& default_request_headers() {
  static const Headers headers = {{":method", "POST"},
                                  {":path", "/v1/chat/completions"},
                                  {":scheme", "http"},
                                  {":authority", "localhost"},
                                  {"content-type", "application/json"}};
  return headers;
}

const Headers& default_response_headers() {
  static const Headers headers = {{":status", "200"}, {"content-type", "application/json"}};
  return headers;
}

}  // namespace bbr::cli
