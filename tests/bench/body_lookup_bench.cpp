// The parse-once body path at request sizes: `model` extraction with
// full validation, as the default chain does it (JsonBody: validate, then look
// up), next to the floor (one memchr pass over the bytes, for a byte that is
// absent) and a full simdjson DOM parse of the same bytes, in the same run.
// Bodies are generated OpenAI chat requests of 1 KiB, 148 KiB, 512 KiB and
// 1 MiB, with `model` as the first and as the last member.
//
//   bbr_bench --benchmark_filter=ChatBody --benchmark_repetitions=5
//             --benchmark_report_aggregates_only=true
#include "body/json_body.hpp"
#include "body/string_scan.hpp"

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstring>
#include <string>

namespace {

constexpr int64_t kSizes[] = {1024, 148 * 1024, 512 * 1024, 1024 * 1024};

// A multi-turn chat request of exactly `total` bytes: a system prompt, then
// user/assistant turns whose text carries the escapes real bodies carry
// (quotes, newlines, \u escapes, non-ASCII UTF-8), then the usual options.
std::string chat_body(std::size_t total, bool model_last) {
  static const std::string turn_text =
      "Summarise the review: \\\"The ramen in Kyoto was rich\\\", the broth deep and "
      "slow-cooked.\\nCaf\xC3\xA9 au lait \\u00e9t\xC3\xA9 \xE2\x80\x94 tonkotsu, shoyu, miso. ";
  const std::string model = R"("model":"food-review-1")";
  const std::string tail_options = R"("temperature":0.7,"max_tokens":256,"stream":true)";
  std::string body = "{";
  if (!model_last) {
    body += model;
    body += ',';
  }
  body += R"("messages":[{"role":"system","content":"You are a helpful assistant."})";
  // Built by appending: GCC 12 at -O3 reports false -Wrestrict on chains of +.
  std::string tail = "],";
  tail += tail_options;
  if (model_last) {
    tail += ',';
    tail += model;
  }
  tail += '}';
  const std::string open_user = R"(,{"role":"user","content":")";
  const std::string open_assistant = R"(,{"role":"assistant","content":")";
  const std::string close = R"("})";
  bool user = true;
  while (body.size() + open_user.size() + turn_text.size() + close.size() + tail.size() <= total) {
    body += user ? open_user : open_assistant;
    // Turns of a few KiB, never splitting an escape or a UTF-8 sequence.
    for (int i = 0; i < 24 && body.size() + turn_text.size() + close.size() + tail.size() <= total;
         ++i) {
      body += turn_text;
    }
    body += close;
    user = !user;
  }
  // Pad the last message's text with spaces to the exact size.
  if (body.size() + tail.size() < total) {
    std::size_t pad = total - body.size() - tail.size();
    if (pad >= open_user.size() + close.size()) {
      body += open_user;
      body.append(pad - open_user.size() - close.size(), ' ');
      body += close;
    } else {
      body.insert(body.size() - 1, std::string(pad, ' '));  // white space before the last '}'
    }
  }
  body += tail;
  return body;
}

// Room for simdjson to read past the end, as a session's joined body has.
std::string padded(std::size_t size, bool model_last) {
  std::string bytes = chat_body(size, model_last);
  bytes.reserve(bytes.size() + bbr::JsonBody::kParsePadding);
  return bytes;
}

void set_label(benchmark::State& state, std::size_t size, const char* where) {
  std::string label = std::to_string(size / 1024);
  label += " KiB";
  label += where;
  state.SetLabel(label);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Args: body size, model position (0 first, 1 last).
void BM_ChatBody_ModelLookupValidated(benchmark::State& state) {
  const bool last = state.range(1) != 0;
  std::string bytes = padded(static_cast<std::size_t>(state.range(0)), last);
  const std::size_t size = bytes.size();
  for (auto _ : state) {
    // The bytes move in and out: no copy, as the session hands its joined body over.
    bbr::JsonBody body(std::move(bytes));
    bbr::JsonRead model;
    if (!body.map_decode_error().empty() || body.get("/model", model) != bbr::JsonError::kNone ||
        model.string != "food-review-1") {
      state.SkipWithError("model not found");
      break;
    }
    benchmark::DoNotOptimize(model.string.data());
    bytes = body.release();
  }
  set_label(state, size, last ? ", model last" : ", model first");
}

// Arg: body size. The edit path: validate, build the mutable document (from
// the DOM), set `model`, re-encode Go-style once.
void BM_ChatBody_FirstEditAndReencode(benchmark::State& state) {
  std::string bytes = padded(static_cast<std::size_t>(state.range(0)), true);
  const std::string original = bytes;
  const std::size_t size = bytes.size();
  for (auto _ : state) {
    bbr::JsonBody body(std::move(bytes));
    if (body.set("/model", R"("qwen")") != bbr::JsonError::kNone) {
      state.SkipWithError("set failed");
      break;
    }
    benchmark::DoNotOptimize(body.raw().data());
    state.PauseTiming();
    bytes = original;
    bytes.reserve(bytes.size() + bbr::JsonBody::kParsePadding);
    state.ResumeTiming();
  }
  set_label(state, size, "");
}

// Args: body size, build of the scan's string check (0 portable SSE2, 1 AVX2,
// 2 AVX-512; a build the CPU lacks runs the best it has). Model last.
void BM_ChatBody_ModelLookupByScanBuild(benchmark::State& state) {
  bbr::set_string_scan_level_for_testing(static_cast<int>(state.range(1)));
  std::string bytes = padded(static_cast<std::size_t>(state.range(0)), true);
  const std::size_t size = bytes.size();
  for (auto _ : state) {
    bbr::JsonBody body(std::move(bytes));
    bbr::JsonRead model;
    if (!body.map_decode_error().empty() || body.get("/model", model) != bbr::JsonError::kNone) {
      state.SkipWithError("model not found");
      break;
    }
    benchmark::DoNotOptimize(model.string.data());
    bytes = body.release();
  }
  bbr::set_string_scan_level_for_testing(-1);
  set_label(state, size,
            state.range(1) == 0   ? ", SSE2"
            : state.range(1) == 1 ? ", AVX2"
                                  : ", AVX-512");
}

// Arg: body size.
void BM_ChatBody_SimdjsonDomParse(benchmark::State& state) {
  const std::string bytes = padded(static_cast<std::size_t>(state.range(0)), true);
  simdjson::dom::parser parser;  // reused, as JsonBody reuses its pooled parsers
  for (auto _ : state) {
    auto root = parser.parse(bytes.data(), bytes.size(), /*realloc_if_needed=*/false);
    if (root.error() != simdjson::SUCCESS) {
      state.SkipWithError("DOM parse failed");
      break;
    }
    benchmark::DoNotOptimize(root.value_unsafe());
  }
  set_label(state, bytes.size(), "");
}

// Arg: body size. The floor: one pass over the bytes for a byte that is not there.
void BM_ChatBody_MemchrFloor(benchmark::State& state) {
  const std::string bytes = chat_body(static_cast<std::size_t>(state.range(0)), true);
  for (auto _ : state) {
    const void* hit = std::memchr(bytes.data(), '\x01', bytes.size());
    benchmark::DoNotOptimize(hit);
  }
  set_label(state, bytes.size(), "");
}

void size_args(benchmark::internal::Benchmark* b) {
  for (int64_t size : kSizes) b->Args({size});
}
void size_and_position_args(benchmark::internal::Benchmark* b) {
  for (int64_t size : kSizes) {
    b->Args({size, 0});
    b->Args({size, 1});
  }
}

BENCHMARK(BM_ChatBody_MemchrFloor)->Apply(size_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChatBody_SimdjsonDomParse)->Apply(size_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChatBody_ModelLookupValidated)
    ->Apply(size_and_position_args)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChatBody_FirstEditAndReencode)
    ->Arg(148 * 1024)
    ->Arg(1024 * 1024)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ChatBody_ModelLookupByScanBuild)
    ->ArgsProduct({{1024, 1024 * 1024}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
