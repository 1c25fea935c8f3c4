// The SSE path's own cost: splitting the fixture stream, and one streamed SSE
// response through the session with an event-hook plugin (each event parsed
// as JSON, its model rewritten, re-encoded), next to the pass-through it
// replaces when no plugin has a streamed hook.
#include "bench_support.hpp"

#include "sse/sse.hpp"

#include <benchmark/benchmark.h>

namespace {

using bbr_bench::ProcessingRequest;

const std::string& sse_stream() {
  static const std::string s = bbr_bench::fixture("chat-completions.response.sse");
  return s;
}

// The fixture cut into `chunk`-byte body messages (the last ends the stream).
std::vector<ProcessingRequest> sse_messages(std::size_t chunk) {
  std::vector<ProcessingRequest> out;
  const std::string& s = sse_stream();
  for (std::size_t at = 0; at < s.size(); at += chunk) {
    ProcessingRequest r;
    r.mutable_response_body()->set_body(s.substr(at, chunk));
    r.mutable_response_body()->set_end_of_stream(at + chunk >= s.size());
    out.push_back(std::move(r));
  }
  return out;
}

void BM_Sse_SplitFixture(benchmark::State& state) {
  const std::string& s = sse_stream();
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  std::vector<bbr::sse::Event> events;
  for (auto _ : state) {
    bbr::sse::Splitter splitter;
    events.clear();
    for (std::size_t at = 0; at < s.size(); at += chunk) {
      splitter.feed(std::string_view(s).substr(at, chunk), events);
    }
    benchmark::DoNotOptimize(events.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
  state.counters["events"] = static_cast<double>(events.size());
}
BENCHMARK(BM_Sse_SplitFixture)->Arg(64)->Arg(4096);

const bbr::PluginTypeRef* stream_type(const std::string& name) {
  static bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "stream-test-plugins.so", options);
    return r;
  }();
  return reg.find(name);
}

// One streamed SSE response (14 events) through the session, in 256-byte
// chunks; with_plugin: an event-hook plugin rewrites each event's model.
void run_response(benchmark::State& state, bool with_plugin) {
  bbr::Chain chain;
  if (with_plugin) {
    const auto* type = stream_type("test-event-editor");
    if (type == nullptr) {
      state.SkipWithError("stream-test-plugins.so not found");
      return;
    }
    chain.add_response(std::make_shared<bbr::PluginInstance>(
        *type, "editor", R"({"setModel":"client-model"})", nullptr));
  }
  bbr::SessionOptions options;
  options.streaming = true;
  const ProcessingRequest headers = bbr_bench::headers_message(
      false, {{":status", "200"}, {"content-type", "text/event-stream"}}, false);
  const std::vector<ProcessingRequest> bodies = sse_messages(256);
  for (auto _ : state) {
    bbr::Session session(chain, options);
    benchmark::DoNotOptimize(session.on_request(headers));
    for (const auto& body : bodies) benchmark::DoNotOptimize(session.on_request(body));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * sse_stream().size()));
}

void BM_Sse_StreamedResponse_EventHook(benchmark::State& state) { run_response(state, true); }
void BM_Sse_StreamedResponse_PassThrough(benchmark::State& state) { run_response(state, false); }
BENCHMARK(BM_Sse_StreamedResponse_EventHook);
BENCHMARK(BM_Sse_StreamedResponse_PassThrough);

}  // namespace
