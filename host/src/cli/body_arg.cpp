#include "cli/body_arg.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bbr::cli {

std::string read_body_arg(const std::string& flag, const std::string& value) {
  const std::size_t first = value.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (value[first] == '{' || value[first] == '[')) return value;
  const std::string path = !value.empty() && value.front() == '@' ? value.substr(1) : value;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw BodyArgError(
        fmt::format("{} {}: cannot read: {} (a body given inline must start with "
                    "'{{' or '[')",
                    flag, path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_body(const std::string& body, std::size_t piece_bytes) {
  if (piece_bytes == 0 || body.size() <= piece_bytes) return {body};
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < body.size(); at += piece_bytes) {
    pieces.push_back(body.substr(at, piece_bytes));
  }
  return pieces;
}

}  // namespace bbr::cli
