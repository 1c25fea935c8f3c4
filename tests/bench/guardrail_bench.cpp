// The guardrail's deny patterns over a 1 MiB prompt: the ten realistic
// patterns of tests/fixtures/guardrail-ten-patterns.json, all in one pass
// (the pattern set: Hyperscan when built in, what the plugin runs), the same
// set on RE2::Set alone (the engine without Hyperscan), and one pattern at a
// time (the plugin's fallback when the set cannot answer). The prompt
// matches none of them: the common case, and the one that reads every byte.
// Bytes processed are the prompt's, so the rate reads as MB/s of prompt.
// Then the request-side redaction (requestDetectors: the five built-in
// detectors) over the same prose with one email in the middle, next to the
// scan of that same prompt and to one splice of it (what editing one string
// of a 1 MiB body costs at the least: a copy with a piece replaced).
#include "bench_support.hpp"
#include "guardrail/guardrail_rules.hpp"

#include <benchmark/benchmark.h>

namespace {

// Prose with numbers, dates, punctuation and a little non-ASCII: digits keep
// the card and SSN patterns busy, as they would be on a real prompt.
std::string clean_prompt(std::size_t bytes) {
  static const char* const kSentences[] = {
      "The ramen in Kyoto was rich, the broth \"tonkotsu\" deep and slow-cooked. ",
      "We paid 1200 yen at 7:30 on 2024-05-01 and took the 8:15 train back. ",
      "Summarise the previous chapter in three bullet points, please. ",
      "Caf\xC3\xA9 au lait, cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e and a receipt for order #48213. ",
      "Explain why the function returns -1 when the input list is empty.\n",
  };
  std::string text;
  text.reserve(bytes + 128);
  for (std::size_t i = 0; text.size() < bytes; ++i) text += kSentences[i % std::size(kSentences)];
  text.resize(bytes);
  return text;
}

// The same with a date, a time and an amount in every sentence: digits keep
// the card-number pattern's bounded repeat (13 to 16 digits) alive.
std::string number_dense_prompt(std::size_t bytes) {
  std::string text;
  text.reserve(bytes + 128);
  for (unsigned i = 0; text.size() < bytes; ++i) {
    text += "On 2024-" + std::to_string(1 + i % 12) + "-" + std::to_string(1 + i % 28) +
            " at 10:" + std::to_string(10 + i % 50) + " we paid " + std::to_string(100 + i % 900) +
            ".50 for order " + std::to_string(40000 + i) + ". ";
  }
  text.resize(bytes);
  return text;
}

struct TenPatterns {
  guardrail::Config config =
      guardrail::parse_config(bbr_bench::fixture("guardrail-ten-patterns.json"));
  guardrail::PatternSet re2_only =
      guardrail::make_pattern_set(config.patterns, guardrail::PatternSet::Options{false});
  std::string prompt = clean_prompt(bbr_bench::kOneMiB);
  std::string numbers = number_dense_prompt(bbr_bench::kOneMiB);
};

const TenPatterns& ten_patterns() {
  static const TenPatterns fixture;
  return fixture;
}

using FirstMatch = const guardrail::Pattern* (*)(const guardrail::Config&, std::string_view);

void scan_prompt(benchmark::State& state, FirstMatch first_match) {
  const auto& f = ten_patterns();
  if (first_match(f.config, f.prompt) != nullptr) state.SkipWithError("the prompt matches");
  for (auto _ : state) {
    const auto* hit = first_match(f.config, f.prompt);
    benchmark::DoNotOptimize(hit);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.prompt.size()));
}

void BM_Guardrail_TenPatterns_1MiB_OnePass(benchmark::State& state) {
  if (!ten_patterns().config.pattern_set.built()) state.SkipWithError("no pattern set");
  state.SetLabel(std::to_string(ten_patterns().config.pattern_set.hyperscan_patterns()) +
                 " of 10 on Hyperscan");
  scan_prompt(state, &guardrail::first_match);
}
BENCHMARK(BM_Guardrail_TenPatterns_1MiB_OnePass);

// One engine's "which patterns match" over a text that none matches.
void scan_set(benchmark::State& state, const guardrail::PatternSet& set, const std::string& text) {
  std::vector<int> matched;
  if (!set.matching(text, matched) || !matched.empty()) state.SkipWithError("the text matches");
  for (auto _ : state) {
    bool known = set.matching(text, matched);
    benchmark::DoNotOptimize(known);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Guardrail_TenPatterns_1MiB_RE2Set(benchmark::State& state) {
  scan_set(state, ten_patterns().re2_only, ten_patterns().prompt);
}
BENCHMARK(BM_Guardrail_TenPatterns_1MiB_RE2Set);

void BM_Guardrail_TenPatterns_1MiB_NumberDense_OnePass(benchmark::State& state) {
  scan_set(state, ten_patterns().config.pattern_set, ten_patterns().numbers);
}
BENCHMARK(BM_Guardrail_TenPatterns_1MiB_NumberDense_OnePass);

void BM_Guardrail_TenPatterns_1MiB_NumberDense_RE2Set(benchmark::State& state) {
  scan_set(state, ten_patterns().re2_only, ten_patterns().numbers);
}
BENCHMARK(BM_Guardrail_TenPatterns_1MiB_NumberDense_RE2Set);

void BM_Guardrail_TenPatterns_1MiB_OneByOne(benchmark::State& state) {
  scan_prompt(state, &guardrail::first_match_one_by_one);
}
BENCHMARK(BM_Guardrail_TenPatterns_1MiB_OneByOne);

// The response side per SSE piece: a window's tail plus a short delta, the
// set's quick "no pattern here" in front of the per-pattern search.
void BM_Guardrail_TenPatterns_StreamPiece(benchmark::State& state) {
  const auto& f = ten_patterns();
  const std::string piece = " the broth was deep";
  guardrail::StreamWindow window(f.config.stream_window_bytes);
  window.scan(f.config, f.prompt.substr(0, 256));
  for (auto _ : state) {
    auto result = window.scan(f.config, piece);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_Guardrail_TenPatterns_StreamPiece);

// The same prose with one email address in the middle (inserted between two
// sentences, so no UTF-8 sequence is cut).
struct OneEmail {
  guardrail::Config detectors = guardrail::parse_config(
      R"({"requestDetectors":[{"detector":"api-key"},{"detector":"email"},{"detector":"iban"},)"
      R"({"detector":"card"},{"detector":"phone"}]})");
  std::string prompt = [] {
    std::string text = clean_prompt(bbr_bench::kOneMiB);
    const std::size_t at = text.find("please. ", text.size() / 2) + 8;
    text.insert(at, "Write to jane.doe@example.com about it. ");
    return text;
  }();
  std::size_t email_at = prompt.find("jane.doe@example.com");
};

const OneEmail& one_email() {
  static const OneEmail fixture;
  return fixture;
}

void BM_Guardrail_RequestRedaction_1MiB_OneEmail(benchmark::State& state) {
  const auto& f = one_email();
  const auto& d = f.detectors.request_detectors;
  if (d.find(f.prompt).size() != 1) state.SkipWithError("expected exactly one finding");
  for (auto _ : state) {
    std::string out = guardrail::redact_findings(f.prompt, d.find(f.prompt), d.detectors());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.prompt.size()));
}
BENCHMARK(BM_Guardrail_RequestRedaction_1MiB_OneEmail);

// The guardrail's own scan (the ten deny patterns, one pass) of that prompt.
void BM_Guardrail_Scan_1MiB_OneEmail(benchmark::State& state) {
  const auto& config = ten_patterns().config;
  const auto& f = one_email();
  if (guardrail::first_match(config, f.prompt) != nullptr) state.SkipWithError("the prompt matches");
  for (auto _ : state) {
    const auto* hit = guardrail::first_match(config, f.prompt);
    benchmark::DoNotOptimize(hit);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.prompt.size()));
}
BENCHMARK(BM_Guardrail_Scan_1MiB_OneEmail);

// One splice: the prompt copied with the email replaced by the placeholder.
void BM_Guardrail_Splice_1MiB(benchmark::State& state) {
  const auto& f = one_email();
  const std::string_view prompt = f.prompt;
  const std::size_t email = std::string_view("jane.doe@example.com").size();
  for (auto _ : state) {
    std::string out;
    out.reserve(prompt.size());
    out.append(prompt.substr(0, f.email_at));
    out.append("[REDACTED_EMAIL]");
    out.append(prompt.substr(f.email_at + email));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.prompt.size()));
}
BENCHMARK(BM_Guardrail_Splice_1MiB);

}  // namespace
