#include "log/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace bbr::log {
namespace {
std::atomic<int> g_verbosity{1};
std::mutex g_write_mutex;  // keeps concurrent lines whole
// The calling thread's capture (ThreadCapture); null: lines go to stderr.
thread_local Sink* t_sink = nullptr;
thread_local Level t_sink_level = Level::kError;

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::kError: return "ERROR";
    case Level::kWarn: return "WARN";
    case Level::kInfo: return "INFO";
    case Level::kDebug: return "DEBUG";
    case Level::kTrace: return "TRACE";
  }
  return "?";
}

void set_verbosity(int v) { g_verbosity.store(v, std::memory_order_relaxed); }
int verbosity() { return g_verbosity.load(std::memory_order_relaxed); }

bool enabled(Level level) {
  if (t_sink != nullptr) return level <= t_sink_level;
  switch (level) {
    case Level::kError:
    case Level::kWarn: return true;
    case Level::kInfo: return verbosity() >= 1;
    case Level::kDebug: return verbosity() >= 3;
    case Level::kTrace: return verbosity() >= 4;
  }
  return false;
}

void write(const Record& record) {
  if (t_sink != nullptr) {
    if (record.level <= t_sink_level) t_sink->record(record);
    return;
  }
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  const int text_length = static_cast<int>(record.text.size());
  std::lock_guard lock(g_write_mutex);
  if (record.instance.empty() && record.type.empty()) {
    std::fprintf(stderr, "%s.%03dZ %-5s %.*s\n", stamp, static_cast<int>(millis),
                 level_name(record.level), text_length, record.text.data());
  } else {
    std::fprintf(stderr, "%s.%03dZ %-5s plugin %.*s (%.*s): %.*s\n", stamp,
                 static_cast<int>(millis), level_name(record.level),
                 static_cast<int>(record.instance.size()), record.instance.data(),
                 static_cast<int>(record.type.size()), record.type.data(), text_length,
                 record.text.data());
  }
}

void write(Level level, std::string_view text) { write(Record{level, {}, {}, text}); }

ThreadCapture::ThreadCapture(Sink& sink, Level up_to)
    : previous_sink_(t_sink), previous_level_(t_sink_level) {
  t_sink = &sink;
  t_sink_level = up_to;
}

ThreadCapture::~ThreadCapture() {
  t_sink = previous_sink_;
  t_sink_level = previous_level_;
}

}  // namespace bbr::log
