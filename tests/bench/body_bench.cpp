// JsonBody: the once-per-message parse, a pointer lookup on a parsed body, and
// the Go-compatible re-encoding that follows an edit.
#include "bench_support.hpp"

#include "body/go_json.hpp"
#include "body/json_body.hpp"

#include <benchmark/benchmark.h>

namespace {

using bbr_bench::fixture;
using bbr_bench::request_fixture_names;

// Arg: index into request_fixture_names().
void BM_Body_ParseFixture(benchmark::State& state) {
  const std::string& name = request_fixture_names().at(static_cast<std::size_t>(state.range(0)));
  const std::string bytes = fixture(name);
  state.SetLabel(name);
  for (auto _ : state) {
    bbr::JsonBody body(bytes);
    bool ok = body.parse();
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("fixture does not parse");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_Body_ParseFixture)->DenseRange(0, 7);

void BM_Body_Parse1MiBPrompt(benchmark::State& state) {
  const std::string bytes = bbr_bench::large_prompt_body(bbr_bench::kOneMiB);
  for (auto _ : state) {
    bbr::JsonBody body(bytes);
    bool ok = body.parse();
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("1 MiB body does not parse");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_Body_Parse1MiBPrompt)->Unit(benchmark::kMicrosecond);

// The invalid-body path: Go's error text is computed for the 400 answer.
void BM_Body_ParseInvalid1MiB(benchmark::State& state) {
  std::string bytes = bbr_bench::large_prompt_body(bbr_bench::kOneMiB);
  bytes.back() = ',';  // truncated object
  for (auto _ : state) {
    bbr::JsonBody body(bytes);
    bool ok = body.parse();
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_Body_ParseInvalid1MiB)->Unit(benchmark::kMicrosecond);

// find("/model") on an already parsed body: what every plugin after the
// first pays.
void BM_Body_FindModel(benchmark::State& state) {
  bbr::JsonBody body(fixture("chat-completions.request.json"));
  if (!body.parse()) state.SkipWithError("fixture does not parse");
  for (auto _ : state) {
    bbr::JsonError err = bbr::JsonError::kNone;
    const bbr::Json* model = body.find("/model", err);
    benchmark::DoNotOptimize(model);
  }
}
BENCHMARK(BM_Body_FindModel);

void BM_Body_FindNested(benchmark::State& state) {
  bbr::JsonBody body(fixture("chat-completions-tools.request.json"));
  if (!body.parse()) state.SkipWithError("fixture does not parse");
  for (auto _ : state) {
    bbr::JsonError err = bbr::JsonError::kNone;
    const bbr::Json* tenant = body.find("/metadata/tenant", err);
    benchmark::DoNotOptimize(tenant);
  }
}
BENCHMARK(BM_Body_FindNested);

// set("/model") then raw(): a splice of the value (docs/session.md, "Body edits").
void BM_Body_SetModel_Chat(benchmark::State& state) {
  bbr::JsonBody body(fixture("chat-completions.request.json"));
  if (!body.parse()) state.SkipWithError("fixture does not parse");
  std::size_t bytes = 0;
  for (auto _ : state) {
    body.set("/model", R"("qwen")");
    bytes += body.raw().size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Body_SetModel_Chat);

void BM_Body_SetModel_1MiB(benchmark::State& state) {
  bbr::JsonBody body(bbr_bench::large_prompt_body(bbr_bench::kOneMiB));
  if (!body.parse()) state.SkipWithError("1 MiB body does not parse");
  std::size_t bytes = 0;
  for (auto _ : state) {
    body.set("/model", R"("qwen")");
    bytes += body.raw().size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Body_SetModel_1MiB)->Unit(benchmark::kMicrosecond);

// Go's syntax check alone (used for error texts), on a valid 1 MiB body.
void BM_Body_GoDecodeCheck1MiB(benchmark::State& state) {
  const std::string bytes = bbr_bench::large_prompt_body(bbr_bench::kOneMiB);
  for (auto _ : state) {
    std::string err = bbr::go_json_decode_error(bytes);
    benchmark::DoNotOptimize(err);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_Body_GoDecodeCheck1MiB)->Unit(benchmark::kMicrosecond);

}  // namespace
