// Process-wide logging with the reference's verbosity scale (-v / --v=N).
//
// Lines go to stderr as: <RFC3339 UTC time> <LEVEL> <message>. ERROR and WARN
// always print; INFO prints at v>=1 (the reference's DEFAULT), DEBUG at v>=3
// (the reference chart runs with --v=3), TRACE at v>=4.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace bbr::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

void set_verbosity(int v);
int verbosity();
bool enabled(Level level);
// "ERROR", "WARN", "INFO", "DEBUG", "TRACE".
const char* level_name(Level level);
// One log line as written: who wrote it and what. `instance` and `type` name
// the plugin instance that logged through the host's log call; both are empty
// for the host's own lines. The views are valid during the call only.
struct Record {
  Level level = Level::kInfo;
  std::string_view instance;
  std::string_view type;
  std::string_view text;
};

// Writes a record: to the thread's capture sink when one is set, else to
// stderr, where a plugin's line reads "plugin NAME (TYPE): text".
void write(const Record& record);
// A host line: write({level, "", "", text}).
void write(Level level, std::string_view text);

// Receives the records written on one thread (see ThreadCapture). Tools that
// run a chain offline (the session driver, `chain run`) use it to show what
// the plugins logged, attributed and in order, instead of mixing it into stderr.
class Sink {
 public:
  virtual ~Sink() = default;
  // One record as written: a plugin's has its instance and type, a host
  // line has both empty. Nothing is formatted for a sink.
  virtual void record(const Record& record) = 0;
};

// While alive, every record written on the constructing thread at `up_to` or
// more severe goes to `sink` (whatever the verbosity: a test asks for DEBUG
// lines without making the whole process verbose) and not to stderr. Lines
// from other threads (a plugin's own workers) still go to stderr. Nests: the
// previous capture comes back on destruction. Not movable.
class ThreadCapture {
 public:
  ThreadCapture(Sink& sink, Level up_to);
  ~ThreadCapture();
  ThreadCapture(const ThreadCapture&) = delete;
  ThreadCapture& operator=(const ThreadCapture&) = delete;

 private:
  Sink* previous_sink_;
  Level previous_level_;
};

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kTrace)) write(Level::kTrace, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace bbr::log
