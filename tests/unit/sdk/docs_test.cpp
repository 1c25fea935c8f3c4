// docs/plugin-testing.md quotes the test-kit example's test; the quotes must
// stay what the example says (the tutorial steps themselves are run by the
// tutorial test against the installed SDK).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The ```cpp blocks between two headings of a markdown text.
std::vector<std::string> cpp_blocks(const std::string& md, const std::string& from,
                                    const std::string& to) {
  std::vector<std::string> out;
  std::size_t begin = md.find(from), end = md.find(to);
  if (begin == std::string::npos || end == std::string::npos) return out;
  for (std::size_t at = md.find("```cpp\n", begin); at != std::string::npos && at < end;
       at = md.find("```cpp\n", at)) {
    std::size_t body = at + 7, close = md.find("```", body);
    out.push_back(md.substr(body, close - body));
    at = close + 3;
  }
  return out;
}

}  // namespace

TEST_CASE("plugin-testing.md quotes the test-kit example's test verbatim") {
  const std::string md = slurp(BBR_SOURCE_DIR "/docs/plugin-testing.md");
  const std::string example =
      slurp(BBR_SOURCE_DIR "/examples/testkit-example/model_allowlist_test.cpp");
  REQUIRE_FALSE(example.empty());
  auto blocks = cpp_blocks(md, "### What the test does", "## The API in short");
  REQUIRE(blocks.size() == 3);
  for (const auto& block : blocks) {
    std::istringstream lines(block);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find_first_not_of(' ') == std::string::npos) continue;
      INFO(line);
      CHECK(example.find(line) != std::string::npos);
    }
  }
}
