// One whole ext_proc request through Session, message by message, with the
// reference default chain: what the server does per stream minus gRPC.
// Streamed bodies arrive in 64 KiB messages (as Envoy forwards them);
// buffered bodies in one.
#include "bench_support.hpp"

#include <benchmark/benchmark.h>

namespace {

using bbr_bench::ProcessingRequest;

constexpr std::size_t kStreamedChunk = 64 * 1024;

// The sizes: the chat fixture (~1 KiB), then 148 KiB, 512 KiB, 1 MiB.
enum BodyKind { kChatFixture = 0, k148KiB = 1, k512KiB = 2, kOneMiBPrompt = 3 };
constexpr std::size_t kBodyBytes[] = {0, 148 * 1024, 512 * 1024, bbr_bench::kOneMiB};
const char* const kBodyNames[] = {"chat", "148KiB", "512KiB", "1MiB"};

std::string request_body_of(int64_t kind) {
  return kind == kChatFixture ? bbr_bench::fixture("chat-completions.request.json")
                              : bbr_bench::large_prompt_body(kBodyBytes[kind]);
}

std::vector<ProcessingRequest> request_path(const std::string& body, bool streaming) {
  std::vector<ProcessingRequest> messages;
  messages.push_back(
      bbr_bench::headers_message(true, bbr_bench::request_header_list(body.size()), false));
  auto bodies = bbr_bench::body_messages(true, body, streaming ? kStreamedChunk : body.size());
  for (auto& m : bodies) messages.push_back(std::move(m));
  return messages;
}

std::vector<ProcessingRequest> response_path(const std::string& body, bool streaming) {
  std::vector<ProcessingRequest> messages;
  messages.push_back(bbr_bench::headers_message(
      false, {{":status", "200"}, {"content-type", "application/json"}}, false));
  auto bodies = bbr_bench::body_messages(false, body, streaming ? kStreamedChunk : body.size());
  for (auto& m : bodies) messages.push_back(std::move(m));
  return messages;
}

// Feeds every message to a fresh Session; fails the benchmark on an error end.
void run_session(benchmark::State& state, const std::vector<ProcessingRequest>& messages,
                 const bbr::SessionOptions& options) {
  const bbr::Chain& chain = bbr_bench::reference_chain();
  std::size_t responses = 0;
  bbr::Session::ProcessingResponse out;  // reused, as the server reuses its own
  for (auto _ : state) {
    bbr::Session session(chain, options);
    for (const auto& m : messages) {
      auto step = session.on_request(m);
      while (step.next(out)) ++responses;
      if (step.finish) {
        state.SkipWithError(("session ended early: " + step.error_message).c_str());
        break;
      }
    }
  }
  state.counters["responses_per_stream"] =
      static_cast<double>(responses) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}

// Args: {body kind, streaming}.
void BM_Session_RequestPath(benchmark::State& state) {
  const std::string body = request_body_of(state.range(0));
  const bool streaming = state.range(1) != 0;
  state.SetLabel(std::string(kBodyNames[state.range(0)]) + (streaming ? "/streamed" : "/buffered"));
  bbr::SessionOptions options;
  options.streaming = streaming;
  run_session(state, request_path(body, streaming), options);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Session_RequestPath)
    ->ArgsProduct({{kChatFixture, k148KiB, k512KiB, kOneMiBPrompt}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// Request then response, no response plugins: the response passes through
// (buffered: answered without parsing; streamed: re-chunked).
void BM_Session_RequestAndResponsePassThrough(benchmark::State& state) {
  const std::string request = request_body_of(state.range(0));
  const std::string response = state.range(0) == kChatFixture
                                   ? bbr_bench::fixture("chat-completions.response.json")
                                   : bbr_bench::large_prompt_body(kBodyBytes[state.range(0)]);
  const bool streaming = state.range(1) != 0;
  state.SetLabel(std::string(kBodyNames[state.range(0)]) + (streaming ? "/streamed" : "/buffered"));
  auto messages = request_path(request, streaming);
  for (auto& m : response_path(response, streaming)) messages.push_back(std::move(m));
  bbr::SessionOptions options;
  options.streaming = streaming;
  run_session(state, messages, options);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (request.size() + response.size())));
}
BENCHMARK(BM_Session_RequestAndResponsePassThrough)
    ->ArgsProduct({{kChatFixture, kOneMiBPrompt}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
