// How --body and --response-body read their value, the same in every command:
// a value whose first non-blank character is '{' or '[' is the JSON body itself
// (inline); "@PATH" is the file PATH; anything else is a file path. A body that
// is not JSON (to see the 400) therefore comes from a file.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace bbr::cli {

// The rule above, for --help texts.
inline constexpr const char* kBodyArgRule =
    "inline JSON when it starts with '{' or '[', else a file path (\"@PATH\" also reads PATH)";

// A --body value that names a file that cannot be read; what() says which flag and why.
class BodyArgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The body `value` stands for; `flag` names the option in the error.
std::string read_body_arg(const std::string& flag, const std::string& value);

// `body` as the messages that carry it: pieces of `piece_bytes` (the last
// may be shorter); 0, or a body no longer than that (an empty one too), is
// one piece.
std::vector<std::string> split_body(const std::string& body, std::size_t piece_bytes);

}  // namespace bbr::cli
