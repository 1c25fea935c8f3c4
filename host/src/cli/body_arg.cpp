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

}  // namespace bbr::cli
