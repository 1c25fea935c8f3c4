// The log module: a sink receives each line as a record (level, plugin
// instance, type, text), so nothing downstream parses a formatted line back;
// stderr keeps the line format operators and scripts read.
#include "log/log.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Kept {
  bbr::log::Level level;
  std::string instance, type, text;
};

class RecordSink : public bbr::log::Sink {
 public:
  void record(const bbr::log::Record& r) override {
    kept.push_back({r.level, std::string(r.instance), std::string(r.type), std::string(r.text)});
  }
  std::vector<Kept> kept;
};

// What the process writes to stderr while `write` runs.
template <class F>
std::string stderr_of(F write) {
  bbr_test::TempDir dir;
  const std::string path = (dir.path / "stderr").string();
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(file >= 0);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  write();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("log: a sink receives a plugin's record as written, attributed, nothing parsed",
          "[log]") {
  RecordSink sink;
  {
    bbr::log::ThreadCapture capture(sink, bbr::log::Level::kDebug);
    // Text that looks like another plugin's prefix stays text.
    bbr::log::write(bbr::log::Record{bbr::log::Level::kWarn, "authz", "test-failer",
                                     "plugin other (x): not mine"});
    bbr::log::write(bbr::log::Level::kError, "the host's own line");
    bbr::log::write(bbr::log::Record{bbr::log::Level::kTrace, "authz", "test-failer", "dropped"});
  }
  REQUIRE(sink.kept.size() == 2);
  CHECK(sink.kept[0].level == bbr::log::Level::kWarn);
  CHECK(sink.kept[0].instance == "authz");
  CHECK(sink.kept[0].type == "test-failer");
  CHECK(sink.kept[0].text == "plugin other (x): not mine");
  CHECK(sink.kept[1].level == bbr::log::Level::kError);
  CHECK(sink.kept[1].instance.empty());
  CHECK(sink.kept[1].type.empty());
  CHECK(sink.kept[1].text == "the host's own line");
}

TEST_CASE("log: stderr lines keep their format: time, level, then plugin NAME (TYPE): text",
          "[log]") {
  const std::string out = stderr_of([] {
    bbr::log::write(bbr::log::Record{bbr::log::Level::kWarn, "authz", "test-failer", "no token"});
    bbr::log::write(bbr::log::Level::kError, "host text");
  });
  const std::regex expected(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  plugin authz \(test-failer\): no token
\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR host text
)");
  INFO(out);
  CHECK(std::regex_match(out, expected));
}
