// How --header and --response-header read their values, the same in every
// command: NAME:VALUE (a leading ':' belongs to the name, ":path:/v1/x"), the
// name lower-cased, blanks before the value dropped.
#pragma once

#include "chain/message.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace bbr::cli {

// A value that is not NAME:VALUE or names no valid header; what() says which
// flag, which occurrence and why.
class HeaderArgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Headers parse_header_args(const char* flag_name, const std::vector<std::string>& values);

// What Envoy always sends and the flags did not: `defaults` in order, each
// only when no header of that name was given, then the given ones.
Headers with_default_headers(Headers given, const Headers& defaults);

// What Envoy sends with a request and with a response, as `chain run` and
// `plugins validate` fill them in.
const Headers& default_request_headers();
const Headers& default_response_headers();

}  // namespace bbr::cli
