// Soak test: tens of thousands of ext_proc streams, hundreds
// at a time, against the real `bbr-host serve` binary on loopback, mixing what
// Envoy and hostile or broken clients send. Pins wire behaviour only:
//   * every valid stream gets ITS model in X-Gateway-Model-Name (buffered: on
//     the request_body answer; streaming: on the held request_headers answer,
//     and the body comes back unchanged);
//   * invalid JSON gets immediate_response 400, an over-limit body 413 (one
//     message or many chunks), a headers-only request an empty headers answer;
//   * clients that cancel mid-body or stall (then finish, or cancel) do not
//     disturb anyone else;
//   * an immediate_response 503 with retry-after is load shedding, counted
//     apart; with the server's default limits there must be none;
//   * the server stays up, and its RSS after the load returns to within 10%
//     (+ a small absolute slack) of its RSS after a warm-up with the same mix.
// Streams run on gRPC's callback API over several channels (one HTTP/2
// connection each), so the client needs no thread per stream.
//
// Usage: soak_test [--mode buffered|streaming|both] [--streams N]
//                  [--warmup N-per-round] [--concurrency N] [--stall-ms N] [--rounds N]
// Exit status 0 when every check held; it prints its figures either way.
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace bbr::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using envoy::service::ext_proc::v3::ExternalProcessor;

namespace {

// ---- settings -------------------------------------------------------------------

struct Settings {
  std::vector<bool> modes{false, true};  // streaming off, on
  int streams = 10000;      // measured streams per mode
  int warmup = 5000;        // warm-up streams per round (same mix), before the RSS baseline
  int warmup_rounds_max = 4;  // warm-up rounds at most (see soak_mode)
  int concurrency = 600;    // streams in flight at once
  int channels = 8;         // HTTP/2 connections
  int stall_ms = 2000;      // how long a stalling client waits mid-body
  int rounds = 2;           // the measured streams in this many runs, RSS after each
  std::size_t max_body = 64 * 1024;  // the server's --max-body-bytes
  // RSS after the load may exceed the warm baseline by 10% plus this much: the
  // allocator's arenas and gRPC's per-connection buffers move by a few pages
  // from one sample to the next even at rest.
  long rss_slack_kib = 4 * 1024;
};

// ---- the mix ----------------------------------------------------------------------

enum class Kind {
  kValid,             // small body, right header expected
  kValidLarge,        // ~40 KiB body under the limit (streaming: in chunks)
  kInvalidJson,       // 400
  kOversizedOne,      // one body message over --max-body-bytes: 413
  kOversizedChunks,   // many chunks adding up over the limit: 413 (streaming mode)
  kHeadersOnly,       // end_of_stream on the headers
  kCancelMidBody,     // headers + part of the body, then the client cancels
  kStallThenFinish,   // headers + part, waits seconds, then finishes: right header
  kStallThenCancel,   // headers + part, waits seconds, then cancels
  kCount
};
constexpr std::array<const char*, static_cast<int>(Kind::kCount)> kKindNames{
    "valid",          "valid-large",       "invalid-json",
    "oversized-one",  "oversized-chunks",  "headers-only",
    "cancel-mid-body", "stall-then-finish", "stall-then-cancel"};

const char* name(Kind kind) { return kKindNames[static_cast<int>(kind)]; }

// prefix + n, appended: GCC 12 at -O3 misreads `"literal" + std::to_string(n)`
// as an overlapping memcpy (-Werror=restrict, a known false positive).
std::string numbered(const char* prefix, long n) {
  std::string text = prefix;
  text += std::to_string(n);
  return text;
}

// Out of 100 streams. Buffered mode has no chunked body (Envoy sends one
// message; bbr-host answers every buffered message on the bytes so far), so
// its share goes to oversized-one.
Kind pick_kind(int i, bool streaming) {
  const int r = static_cast<int>((static_cast<unsigned>(i) * 2654435761u) % 100u);
  if (r < 54) return Kind::kValid;
  if (r < 60) return Kind::kValidLarge;
  if (r < 70) return Kind::kInvalidJson;
  if (r < 75) return Kind::kOversizedOne;
  if (r < 80) return streaming ? Kind::kOversizedChunks : Kind::kOversizedOne;
  if (r < 90) return Kind::kHeadersOnly;
  if (r < 96) return Kind::kCancelMidBody;
  if (r < 98) return Kind::kStallThenFinish;
  return Kind::kStallThenCancel;
}

struct Step {
  // kGate: wait until the run has opened its first `concurrency` streams, so
  // that many are provably open at the server at once.
  enum Op { kWrite, kPause, kCancel, kGate } op = kWrite;
  ProcessingRequest request;
  std::chrono::milliseconds pause{0};
};

struct Plan {
  Kind kind = Kind::kValid;
  bool streaming = false;
  std::string model;  // expected X-Gateway-Model-Name, for kinds that route
  std::string body;   // the whole valid body (streaming: expected back unchanged)
  std::vector<Step> steps;
};

Step write(ProcessingRequest request) { return Step{Step::kWrite, std::move(request), {}}; }
Step pause(std::chrono::milliseconds ms) { return Step{Step::kPause, {}, ms}; }
Step cancel() { return Step{Step::kCancel, {}, {}}; }
Step gate() { return Step{Step::kGate, {}, {}}; }

// Splits `body` into `parts` chunks, end_of_stream on the last only.
void add_chunks(Plan& plan, const std::string& body, int parts) {
  const std::size_t size = (body.size() + parts - 1) / parts;
  for (std::size_t offset = 0; offset < body.size(); offset += size) {
    const bool last = offset + size >= body.size();
    plan.steps.push_back(write(request_body(body.substr(offset, size), last)));
  }
}

Plan make_plan(int id, bool streaming, const Settings& settings) {
  Plan plan;
  plan.kind = pick_kind(id, streaming);
  plan.streaming = streaming;
  const Headers headers{{":method", "POST"},
                        {":path", "/v1/completions"},
                        {"content-type", "application/json"},
                        {"x-request-id", numbered("soak-", id)}};
  const bool headers_only = plan.kind == Kind::kHeadersOnly;
  plan.steps.push_back(write(request_headers(headers, /*end_of_stream=*/headers_only)));
  plan.steps.push_back(gate());
  plan.model = numbered("soak-model-", id);
  const auto over_limit = [&] {
    return R"({"model":"x","prompt":")" + std::string(settings.max_body + 32 * 1024, 'o') + R"("})";
  };

  switch (plan.kind) {
    case Kind::kValid:
      plan.body = llm_body(numbered("p", id), plan.model);
      if (streaming) {
        add_chunks(plan, plan.body, 1 + id % 3);
      } else {
        plan.steps.push_back(write(request_body(plan.body, true)));
      }
      break;
    case Kind::kValidLarge:
      plan.body = llm_body(std::string(40 * 1024, 'l'), plan.model);
      if (streaming) {
        add_chunks(plan, plan.body, 5);
      } else {
        plan.steps.push_back(write(request_body(plan.body, true)));
      }
      break;
    case Kind::kInvalidJson:
      plan.steps.push_back(write(request_body(R"({"model":")" + plan.model + R"(","prompt":)", true)));
      break;
    case Kind::kOversizedOne:
      plan.steps.push_back(write(request_body(over_limit(), true)));
      break;
    case Kind::kOversizedChunks:
      add_chunks(plan, over_limit(), 12);
      break;
    case Kind::kHeadersOnly:
      break;
    case Kind::kCancelMidBody:
      // Buffered mode has no "mid-body": Envoy sends the body as one message,
      // so the client goes away between headers and body.
      if (streaming) plan.steps.push_back(write(request_body(R"({"model":"half)", false)));
      plan.steps.push_back(cancel());
      break;
    case Kind::kStallThenFinish:
      plan.body = llm_body(numbered("stalled ", id), plan.model);
      if (streaming) {
        const std::size_t half = plan.body.size() / 2;
        plan.steps.push_back(write(request_body(plan.body.substr(0, half), false)));
        plan.steps.push_back(pause(std::chrono::milliseconds(settings.stall_ms)));
        plan.steps.push_back(write(request_body(plan.body.substr(half), true)));
      } else {
        plan.steps.push_back(pause(std::chrono::milliseconds(settings.stall_ms)));
        plan.steps.push_back(write(request_body(plan.body, true)));
      }
      break;
    case Kind::kStallThenCancel:
      if (streaming) plan.steps.push_back(write(request_body(R"({"model":"never-fin)", false)));
      plan.steps.push_back(pause(std::chrono::milliseconds(settings.stall_ms + 500)));
      plan.steps.push_back(cancel());
      break;
    case Kind::kCount:
      break;
  }
  return plan;
}

// ---- checking one stream's answer -----------------------------------------------------

enum class Verdict { kOk, kShed, kFailed };

struct Judgement {
  Verdict verdict = Verdict::kOk;
  std::string reason;  // for kFailed: a short category, the same for like failures
  std::string detail;  // for kFailed: what exactly came back
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string header_value(const envoy::config::core::v3::HeaderValue& header) {
  return header.raw_value().empty() ? header.value() : header.raw_value();
}

const char* status_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    default: return "other";
  }
}

bool is_shed(const ProcessingResponse& response) {
  if (!response.has_immediate_response()) return false;
  const auto& immediate = response.immediate_response();
  if (immediate.status().code() != 503) return false;
  for (const auto& option : immediate.headers().set_headers()) {
    if (lower(option.header().key()) == "retry-after") return true;
  }
  return false;
}

Judgement fail(std::string reason, const std::vector<ProcessingResponse>& responses,
               const grpc::Status& status) {
  return Judgement{Verdict::kFailed, std::move(reason),
                   std::string("status ") + status_name(status.error_code()) + " '" +
                       status.error_message() + "', responses:\n" + canonical(responses)};
}

Judgement judge(const Plan& plan, const std::vector<ProcessingResponse>& responses,
                const grpc::Status& status) {
  for (const auto& response : responses) {
    if (is_shed(response)) return Judgement{Verdict::kShed, {}, {}};
  }
  const ProcessingResponse* immediate = nullptr;
  for (const auto& response : responses) {
    if (response.has_immediate_response()) immediate = &response;
  }
  const auto expect_immediate = [&](int code) {
    if (!immediate) return fail(numbered("no immediate_response ", code), responses, status);
    if (immediate->immediate_response().status().code() != code) {
      std::string reason = numbered("immediate_response ", immediate->immediate_response().status().code());
      reason += numbered(" instead of ", code);
      return fail(reason, responses, status);
    }
    if (!status.ok()) return fail(std::string("gRPC status ") + status_name(status.error_code()), responses, status);
    return Judgement{};
  };

  switch (plan.kind) {
    case Kind::kValid:
    case Kind::kValidLarge:
    case Kind::kStallThenFinish: {
      if (!status.ok()) return fail(std::string("gRPC status ") + status_name(status.error_code()), responses, status);
      if (immediate) return fail("unexpected immediate_response", responses, status);
      // The routing header: on the body answer (buffered) or on the held
      // headers answer (streaming); its value this stream's model, never another's.
      int found = 0;
      for (const auto& response : responses) {
        const bool right_phase =
            plan.streaming ? response.has_request_headers() : response.has_request_body();
        if (!right_phase) continue;
        const auto& common = plan.streaming ? response.request_headers().response()
                                            : response.request_body().response();
        for (const auto& option : common.header_mutation().set_headers()) {
          if (lower(option.header().key()) != "x-gateway-model-name") continue;
          if (header_value(option.header()) != plan.model) {
            return fail("X-Gateway-Model-Name of another stream", responses, status);
          }
          ++found;
        }
      }
      if (found != 1) return fail("X-Gateway-Model-Name missing", responses, status);
      if (plan.streaming) {
        std::string echoed;
        bool ended = false;
        for (const auto& response : responses) {
          if (!response.has_request_body()) continue;
          const auto& streamed = response.request_body().response().body_mutation().streamed_response();
          echoed += streamed.body();
          ended = ended || streamed.end_of_stream();
        }
        if (echoed != plan.body || !ended) return fail("streamed body not returned intact", responses, status);
      }
      return Judgement{};
    }
    case Kind::kInvalidJson:
      return expect_immediate(400);
    case Kind::kOversizedOne:
    case Kind::kOversizedChunks:
      return expect_immediate(413);
    case Kind::kHeadersOnly:
      if (!status.ok()) return fail(std::string("gRPC status ") + status_name(status.error_code()), responses, status);
      if (immediate) return fail("unexpected immediate_response", responses, status);
      if (responses.empty() || !responses.front().has_request_headers()) {
        return fail("no request_headers answer", responses, status);
      }
      return Judgement{};
    case Kind::kCancelMidBody:
    case Kind::kStallThenCancel:
      if (immediate) return fail("unexpected immediate_response", responses, status);
      if (status.error_code() != grpc::StatusCode::CANCELLED) {
        return fail(std::string("gRPC status ") + status_name(status.error_code()) + " instead of CANCELLED",
                    responses, status);
      }
      return Judgement{};
    case Kind::kCount:
      break;
  }
  return fail("unknown kind", responses, status);
}

// ---- timers for stalling clients ---------------------------------------------------------

class Scheduler {
 public:
  Scheduler() : thread_([this] { loop(); }) {}
  ~Scheduler() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void after(std::chrono::milliseconds delay, std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace(Clock::now() + delay, std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      // Pending tasks run even when stopping: each holds a stream open.
      if (stop_ && tasks_.empty()) return;
      if (tasks_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const auto first = tasks_.begin();
      if (first->first > Clock::now()) {
        wake_.wait_until(lock, first->first);
        continue;
      }
      auto task = std::move(first->second);
      tasks_.erase(first);
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

// ---- the driver --------------------------------------------------------------------------

struct KindStats {
  long started = 0;
  long ok = 0;
  long shed = 0;
  long failed = 0;
};

struct RunStats {
  std::array<KindStats, static_cast<int>(Kind::kCount)> by_kind{};
  std::map<std::string, long> failures;  // "<kind>: <reason>" -> count
  std::vector<std::string> examples;     // the first few failures in full
  int peak_in_flight = 0;
  double seconds = 0;
  long total() const {
    long n = 0;
    for (const auto& k : by_kind) n += k.started;
    return n;
  }
  void add(const RunStats& part) {
    for (std::size_t k = 0; k < by_kind.size(); ++k) {
      by_kind[k].started += part.by_kind[k].started;
      by_kind[k].ok += part.by_kind[k].ok;
      by_kind[k].shed += part.by_kind[k].shed;
      by_kind[k].failed += part.by_kind[k].failed;
    }
    for (const auto& [reason, n] : part.failures) failures[reason] += n;
    for (const auto& example : part.examples) {
      if (examples.size() < 5) examples.push_back(example);
    }
    peak_in_flight = std::max(peak_in_flight, part.peak_in_flight);
    seconds += part.seconds;
  }
  long count(long KindStats::*field) const {
    long n = 0;
    for (const auto& k : by_kind) n += k.*field;
    return n;
  }
};

class Driver {
 public:
  Driver(const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
    for (const auto& channel : channels) stubs_.push_back(ExternalProcessor::NewStub(channel));
  }

  RunStats run(int first_id, int count, int concurrency, bool streaming, const Settings& settings);

  // Called by a stream once it is over.
  void finished(const Plan& plan, const std::vector<ProcessingResponse>& responses,
                const grpc::Status& status);
  Scheduler& scheduler() { return scheduler_; }
  // Runs `go` once the gate is open: at once if it is, else when it opens.
  void at_gate(std::function<void()> go);

 private:
  std::vector<std::unique_ptr<ExternalProcessor::Stub>> stubs_;
  Scheduler scheduler_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int in_flight_ = 0;
  bool gate_open_ = false;
  std::vector<std::function<void()>> at_gate_;
  RunStats stats_;
};

class SoakStream final : public grpc::ClientBidiReactor<ProcessingRequest, ProcessingResponse> {
 public:
  SoakStream(Driver& driver, ExternalProcessor::Stub& stub, Plan plan)
      : driver_(driver), plan_(std::move(plan)) {
    // A bound on every stream, so the run ends even if the server stops answering.
    context_.set_deadline(std::chrono::system_clock::now() + 60s);
    stub.async()->Process(&context_, this);
    StartRead(&incoming_);
    AddHold();  // the write flow runs from outside reactions (the scheduler); released once
    StartCall();
    next_step();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    responses_.push_back(incoming_);
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the server ended the stream (e.g. after an immediate_response)
      RemoveHold();
      return;
    }
    next_step();
  }

  void OnDone(const grpc::Status& status) override {
    // Gone before the driver counts it out, so the driver (and the channels)
    // can be destroyed as soon as the count reaches zero.
    Driver& driver = driver_;
    const Plan plan = std::move(plan_);
    const std::vector<ProcessingResponse> responses = std::move(responses_);
    const grpc::Status copy = status;
    delete this;
    driver.finished(plan, responses, copy);
  }

 private:
  void next_step() {
    if (step_ == plan_.steps.size()) {
      StartWritesDone();
      RemoveHold();
      return;
    }
    Step& step = plan_.steps[step_++];
    switch (step.op) {
      case Step::kWrite:
        StartWrite(&step.request);
        return;
      case Step::kPause:
        driver_.scheduler().after(step.pause, [this] { next_step(); });
        return;
      case Step::kCancel:
        context_.TryCancel();
        RemoveHold();
        return;
      case Step::kGate:
        driver_.at_gate([this] { next_step(); });
        return;
    }
  }

  Driver& driver_;
  Plan plan_;
  std::size_t step_ = 0;
  grpc::ClientContext context_;
  ProcessingResponse incoming_;
  std::vector<ProcessingResponse> responses_;
};

void Driver::finished(const Plan& plan, const std::vector<ProcessingResponse>& responses,
                      const grpc::Status& status) {
  const Judgement judgement = judge(plan, responses, status);
  std::lock_guard lock(mutex_);
  auto& kind = stats_.by_kind[static_cast<int>(plan.kind)];
  switch (judgement.verdict) {
    case Verdict::kOk: ++kind.ok; break;
    case Verdict::kShed: ++kind.shed; break;
    case Verdict::kFailed:
      ++kind.failed;
      ++stats_.failures[std::string(name(plan.kind)) + ": " + judgement.reason];
      if (stats_.examples.size() < 5) {
        stats_.examples.push_back(std::string(name(plan.kind)) + " (" +
                                  (plan.streaming ? "streaming" : "buffered") + "): " +
                                  judgement.reason + "\n" + judgement.detail);
      }
      break;
  }
  --in_flight_;
  changed_.notify_all();
}

void Driver::at_gate(std::function<void()> go) {
  {
    std::lock_guard lock(mutex_);
    if (!gate_open_) {
      at_gate_.push_back(std::move(go));
      return;
    }
  }
  go();
}

RunStats Driver::run(int first_id, int count, int concurrency, bool streaming,
                     const Settings& settings) {
  {
    std::lock_guard lock(mutex_);
    stats_ = RunStats{};
    gate_open_ = false;
  }
  const auto open_gate = [&] {
    std::vector<std::function<void()>> waiting;
    {
      std::lock_guard lock(mutex_);
      gate_open_ = true;
      waiting.swap(at_gate_);
    }
    for (auto& go : waiting) scheduler_.after(0ms, std::move(go));
  };
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    Plan plan = make_plan(first_id + i, streaming, settings);
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return in_flight_ < concurrency; });
      ++in_flight_;
      stats_.peak_in_flight = std::max(stats_.peak_in_flight, in_flight_);
      ++stats_.by_kind[static_cast<int>(plan.kind)].started;
    }
    new SoakStream(*this, *stubs_[static_cast<std::size_t>(i) % stubs_.size()], std::move(plan));
    if (i + 1 == std::min(count, concurrency)) open_gate();
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return in_flight_ == 0; });
  stats_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats_;
}

// ---- the server side -----------------------------------------------------------------------

long rss_kib(pid_t pid) {
  std::ifstream status(numbered("/proc/", pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// `samples` readings `gap` apart.
std::vector<long> sample_rss(pid_t pid, int samples, std::chrono::milliseconds gap) {
  std::vector<long> values;
  for (int i = 0; i < samples; ++i) {
    if (i > 0) std::this_thread::sleep_for(gap);
    values.push_back(rss_kib(pid));
  }
  return values;
}

void print_stats(const char* label, const RunStats& stats) {
  std::printf("  %s: %ld streams in %.1f s (%.0f streams/s), peak %d in flight\n", label,
              stats.total(), stats.seconds, stats.seconds > 0 ? stats.total() / stats.seconds : 0.0,
              stats.peak_in_flight);
  std::printf("    %-18s %8s %8s %6s %7s\n", "kind", "streams", "ok", "shed", "failed");
  for (int k = 0; k < static_cast<int>(Kind::kCount); ++k) {
    const auto& s = stats.by_kind[static_cast<std::size_t>(k)];
    if (s.started == 0) continue;
    std::printf("    %-18s %8ld %8ld %6ld %7ld\n", kKindNames[static_cast<std::size_t>(k)],
                s.started, s.ok, s.shed, s.failed);
  }
  for (const auto& [reason, n] : stats.failures) std::printf("    error %s: %ld\n", reason.c_str(), n);
  for (const auto& example : stats.examples) std::printf("    first failures:\n%s\n", example.c_str());
}

std::string join(const std::vector<long>& values) {
  std::string text;
  for (long v : values) {
    if (!text.empty()) text += ' ';
    text += std::to_string(v);
  }
  return text;
}

// One server run in one mode: warm-up, baseline, load, RSS check. True if every check held.
bool soak_mode(bool streaming, const Settings& settings) {
  const char* mode = streaming ? "streaming" : "buffered";
  TempDir dir;
  ServerOptions options = reference_harness(dir, streaming);
  // Quiet logs (the harness asks for debug) and a small body limit, so over-limit
  // bodies are cheap to send; everything else at the server's defaults.
  options.extra_args.push_back("--v=1");
  options.extra_args.push_back(numbered("--max-body-bytes=", static_cast<long>(settings.max_body)));
  ServerProcess server(options);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < settings.channels; ++i) channels.push_back(server.channel());
  Driver driver(channels);

  std::printf("soak %s: server pid %d, --max-body-bytes=%zu, %d channels, concurrency %d\n", mode,
              server.pid(), settings.max_body, settings.channels, settings.concurrency);
  // Warm-up with the same mix, in rounds, until the RSS after a round no longer
  // rises by more than 5% over the rounds before it (at least 2, at most
  // `warmup_rounds_max`): glibc keeps freed memory in its arenas, so RSS climbs
  // to a high-water mark that depends on how many large bodies happened to be
  // in flight at once. The baseline is that high-water mark at rest (the highest
  // of the round-end and at-rest readings); a leak grows beyond it with every
  // stream, a warm allocator does not.
  RunStats warm;
  std::vector<long> warm_rss;
  int id = 0;
  for (int round = 0; round < settings.warmup_rounds_max; ++round) {
    const RunStats part = driver.run(id, settings.warmup, settings.concurrency, streaming, settings);
    id += settings.warmup;
    warm.add(part);
    const long now = rss_kib(server.pid());
    const long before_round = warm_rss.empty() ? 0 : *std::max_element(warm_rss.begin(), warm_rss.end());
    warm_rss.push_back(now);
    if (round >= 1 && now <= before_round + before_round / 20) break;
  }
  print_stats("warm-up", warm);
  std::printf("  RSS (KiB) after each warm-up round: [%s]\n", join(warm_rss).c_str());

  std::this_thread::sleep_for(2s);
  const std::vector<long> before = sample_rss(server.pid(), 3, 500ms);
  const long baseline = std::max(*std::max_element(before.begin(), before.end()),
                                 *std::max_element(warm_rss.begin(), warm_rss.end()));
  const int threads_before = server.thread_count();

  // The load in rounds, RSS after each: a leak climbs round after round, a
  // warm allocator stays level.
  RunStats load;
  std::vector<long> rounds_rss;
  const int per_round = settings.streams / settings.rounds;
  for (int round = 0; round < settings.rounds; ++round) {
    const RunStats part =
        driver.run(id + round * per_round, per_round, settings.concurrency, streaming, settings);
    load.add(part);
    rounds_rss.push_back(rss_kib(server.pid()));
  }
  print_stats("load", load);
  std::printf("  RSS (KiB) after each load round: [%s]\n", join(rounds_rss).c_str());

  // After: the lowest of a few readings once the server had a few seconds
  // at rest (a reading may catch a transient buffer).
  std::this_thread::sleep_for(2s);
  const std::vector<long> after = sample_rss(server.pid(), 5, 1000ms);
  const long settled = *std::min_element(after.begin(), after.end());
  const long limit = baseline + baseline / 10 + settings.rss_slack_kib;
  std::printf("  server threads: %d at the baseline, %d after the load\n", threads_before,
              server.thread_count());
  std::printf("  RSS (KiB): baseline samples [%s] -> baseline %ld; after-load samples [%s] -> %ld; "
              "limit %ld (baseline + 10%% + %ld KiB): %s\n",
              join(before).c_str(), baseline, join(after).c_str(), settled, limit,
              settings.rss_slack_kib, settled <= limit ? "ok" : "EXCEEDED");

  bool ok = true;
  const auto check = [&](bool condition, const std::string& what) {
    if (!condition) {
      std::printf("  FAILED: %s\n", what.c_str());
      ok = false;
    }
  };
  check(warm.count(&KindStats::failed) == 0, "every warm-up stream answered right");
  check(load.count(&KindStats::failed) == 0, "every stream answered right");
  // The server runs with its default load-shedding limits: nothing may be shed.
  check(warm.count(&KindStats::shed) + load.count(&KindStats::shed) == 0, "no stream shed");
  check(load.peak_in_flight >= std::min(500, settings.concurrency),
        numbered("at least 500 streams in flight at once, peak ", load.peak_in_flight));
  check(settled <= limit, "RSS back within 10% of the baseline");
  check(server.running(), "the server is still running");
  check(check_health(server.health_port()).serving ==
            grpc::health::v1::HealthCheckResponse::SERVING,
        "health still SERVING");
  if (!ok) std::printf("  server output (tail):\n%s\n", [&] {
    const std::string out = server.output();
    return out.substr(out.size() > 4000 ? out.size() - 4000 : 0);
  }().c_str());
  std::fflush(stdout);
  return ok;
}

int parse_int(const char* text) { return std::atoi(text); }

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--mode") {
      const std::string m = value;
      settings.modes = m == "buffered" ? std::vector<bool>{false}
                       : m == "streaming" ? std::vector<bool>{true}
                                          : std::vector<bool>{false, true};
    } else if (flag == "--streams") {
      settings.streams = parse_int(value);
    } else if (flag == "--warmup") {
      settings.warmup = parse_int(value);
    } else if (flag == "--concurrency") {
      settings.concurrency = parse_int(value);
    } else if (flag == "--rounds") {
      settings.rounds = std::max(1, parse_int(value));
    } else if (flag == "--stall-ms") {
      settings.stall_ms = parse_int(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const auto start = Clock::now();
  bool ok = true;
  try {
    for (bool streaming : settings.modes) ok = soak_mode(streaming, settings) && ok;
  } catch (const std::exception& e) {
    std::printf("soak: %s\n", e.what());
    ok = false;
  }
  std::printf("soak: %s in %.1f s\n", ok ? "PASSED" : "FAILED",
              std::chrono::duration<double>(Clock::now() - start).count());
  return ok ? 0 : 1;
}
