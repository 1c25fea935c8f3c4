// Body edits: a `model` rename on a 1 MiB chat request through the host path
// a request takes (the real model-rewrite plugin, dlopen'ed, run by
// Chain::run on a Message; its json_set_string is spliced into the bytes,
// docs/session.md "Body edits"), then the answer's bytes taken out as the
// session does. The body is validated before the timer runs (the scan every
// request pays, edited or not, BM_Body_Parse1MiBPrompt), so the figure is
// what the rename adds. `model` comes first: the whole rest of the body moves.
#include "bench_support.hpp"

#include "body/json_body.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

// `escaped_name`: one more top-level member, named with an escape, which
// makes every edit of the body one that cannot be spliced: the re-serialising
// path, measured the same way for comparison.
std::string chat_request_model_first(std::size_t total_bytes, bool escaped_name) {
  const std::string head =
      std::string(R"({"model":"llama-2-7b",)") + (escaped_name ? R"("\u0078":0,)" : "") +
      R"("messages":[{"role":"system","content":"You are terse."},)"
      R"({"role":"user","content":")";
  const std::string tail = R"("}],"max_tokens":256,"temperature":0.7,"stream":true})";
  std::string body = head;
  const std::string words = "the gateway routes each inference request to a pool of servers ";
  while (body.size() + words.size() + tail.size() <= total_bytes) body += words;
  body.append(total_bytes - body.size() - tail.size(), 'x');
  body += tail;
  return body;
}

void rename(benchmark::State& state, bool validated_before, bool escaped_name) {
  bbr::Chain chain;
  chain.add_request(bbr_bench::instance(
      "model-rewrite",
      R"({"rules":[{"match":{"prefix":"llama-2-"},"target":"meta-llama/Llama-3.1-8B-Instruct"}]})"));
  const std::string body = chat_request_model_first(bbr_bench::kOneMiB, escaped_name);
  const bbr::Headers headers = bbr_bench::request_header_list(body.size());
  for (auto _ : state) {
    state.PauseTiming();
    {
      // As the session holds a body: its bytes with the parser's padding.
      std::string bytes;
      bytes.reserve(body.size() + bbr::JsonBody::kParsePadding);
      bytes = body;
      bbr::RequestState request_state;
      bbr::Message msg(BBR_PHASE_REQUEST, headers, bbr::JsonBody(std::move(bytes)), request_state);
      if (validated_before && !msg.body().parse()) state.SkipWithError("body does not parse");
      state.ResumeTiming();
      auto outcome = chain.run(msg);
      std::string sent = msg.body().release();
      benchmark::DoNotOptimize(outcome);
      benchmark::DoNotOptimize(sent.data());
      state.PauseTiming();
      if (sent.find(R"("model":"meta-llama/Llama-3.1-8B-Instruct")") == std::string::npos ||
          sent.find("llama-2-7b") != std::string::npos) {
        state.SkipWithError("the rename did not happen");
        break;  // the timer stays paused: an error ends the run
      }
    }
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

// The rename alone: read `model` from the scan's index, splice the new name,
// set the routing and original-model headers, take the bytes out.
void BM_Edit_ModelRename1MiB(benchmark::State& state) { rename(state, true, false); }
BENCHMARK(BM_Edit_ModelRename1MiB)->Unit(benchmark::kMicrosecond);

// For scale: the same with the validating scan inside the timer.
void BM_Edit_ModelRename1MiB_WithScan(benchmark::State& state) { rename(state, false, false); }
BENCHMARK(BM_Edit_ModelRename1MiB_WithScan)->Unit(benchmark::kMicrosecond);

// The path edits took before they were spliced (now only for edits that
// cannot be): the mutable document built, edited and Go-encoded whole.
void BM_Edit_ModelRename1MiB_Reserialised(benchmark::State& state) { rename(state, true, true); }
BENCHMARK(BM_Edit_ModelRename1MiB_Reserialised)->Unit(benchmark::kMicrosecond);

}  // namespace
