// The price of crossing the C ABI once, against the whole reference chain.
// The message is built outside the timed loop and reused: the header the
// plugins set is overwritten each time, so nothing accumulates.
#include "bench_support.hpp"

#include <benchmark/benchmark.h>

namespace {

bbr::Message make_message(bbr::RequestState& state, const std::string& body) {
  return bbr::Message(BBR_PHASE_REQUEST, bbr_bench::request_header_list(body.size()),
                      bbr::JsonBody(body), state);
}

// One call into test-header-setter (sets one header): the ABI round trip plus
// the smallest useful host callback.
void BM_Chain_OneAbiCall_HeaderSetter(benchmark::State& state) {
  auto plugin = bbr_bench::instance("test-header-setter", R"({"name":"x-bench","value":"1"})");
  bbr::RequestState request_state;
  bbr::Message msg = make_message(request_state, bbr_bench::fixture("chat-completions.request.json"));
  for (auto _ : state) {
    bbr_result_t result = plugin->process(msg);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_Chain_OneAbiCall_HeaderSetter);

// The same single plugin through Chain::run (the loop, outcome mapping).
void BM_Chain_RunOnePlugin(benchmark::State& state) {
  bbr::Chain chain;
  chain.add_request(bbr_bench::instance("test-header-setter", R"({"name":"x-bench","value":"1"})"));
  bbr::RequestState request_state;
  bbr::Message msg = make_message(request_state, bbr_bench::fixture("chat-completions.request.json"));
  for (auto _ : state) {
    auto outcome = chain.run(msg);
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_Chain_RunOnePlugin);

// The reference chain on an already parsed body (parse cached after the
// first iteration): the plugin work plus two ABI crossings and their callbacks.
void BM_Chain_ReferenceChain_ParsedBody(benchmark::State& state) {
  const bbr::Chain& chain = bbr_bench::reference_chain();
  bbr::RequestState request_state;
  bbr::Message msg = make_message(request_state, bbr_bench::fixture("chat-completions.request.json"));
  for (auto _ : state) {
    auto outcome = chain.run(msg);
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_Chain_ReferenceChain_ParsedBody);

// The reference chain on a fresh message each time: includes building the
// Message and the one JSON parse.
void BM_Chain_ReferenceChain_FreshMessage(benchmark::State& state) {
  const bbr::Chain& chain = bbr_bench::reference_chain();
  const std::string body = bbr_bench::fixture("chat-completions.request.json");
  for (auto _ : state) {
    bbr::RequestState request_state;
    bbr::Message msg = make_message(request_state, body);
    auto outcome = chain.run(msg);
    benchmark::DoNotOptimize(outcome);
  }
}
BENCHMARK(BM_Chain_ReferenceChain_FreshMessage);

// Baseline for the line above: building the Message alone.
void BM_Chain_MessageConstructionOnly(benchmark::State& state) {
  const std::string body = bbr_bench::fixture("chat-completions.request.json");
  for (auto _ : state) {
    bbr::RequestState request_state;
    bbr::Message msg = make_message(request_state, body);
    benchmark::DoNotOptimize(msg);
  }
}
BENCHMARK(BM_Chain_MessageConstructionOnly);

}  // namespace
