// Token usage as a response reports it, in every shape the plugins read
// (no host in here: the caller says how to read an integer at a pointer):
//
//   Chat Completions, Completions   usage.prompt_tokens, completion_tokens,
//                                   total_tokens, prompt_tokens_details.cached_tokens,
//                                   completion_tokens_details.reasoning_tokens
//   Responses API                   usage.input_tokens, output_tokens, total_tokens,
//                                   input_tokens_details.cached_tokens,
//                                   output_tokens_details.reasoning_tokens;
//                                   streamed: response.usage of response.completed
//   Anthropic Messages              usage.input_tokens, output_tokens,
//                                   cache_read_input_tokens, cache_creation_input_tokens;
//                                   streamed: message.usage of message_start, then
//                                   usage of message_delta (the counts so far)
//
// Anthropic's input_tokens leaves out the tokens read from and written to the
// prompt cache; OpenAI's prompt_tokens / input_tokens include the cached ones.
// So that one counter means one thing, prompt here is always every input token:
// Anthropic's input_tokens + cache_read_input_tokens + cache_creation_input_tokens,
// and cached is cache_read_input_tokens. The usage object's own members say
// which it is (only Anthropic's have the cache_*_input_tokens names).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

namespace bbr_plugins {

struct TokenUsage {
  std::optional<int64_t> prompt;      // every input token, cached ones included
  std::optional<int64_t> completion;  // output tokens
  std::optional<int64_t> total;
  std::optional<int64_t> cached;     // input tokens read from the provider's prompt cache
  std::optional<int64_t> reasoning;  // output tokens spent on reasoning

  bool any() const { return prompt || completion || total || cached || reasoning; }

  // The counts a later report gives replace these; the others stay. A stream
  // reports usage in pieces (Anthropic: input in message_start, output in
  // message_delta) or again and again (OpenAI's continuous usage), each time
  // as the count so far.
  void update(const TokenUsage& later) {
    auto take = [](std::optional<int64_t>& mine, const std::optional<int64_t>& theirs) {
      if (theirs) mine = theirs;
    };
    take(prompt, later.prompt);
    take(completion, later.completion);
    take(total, later.total);
    take(cached, later.cached);
    take(reasoning, later.reasoning);
  }

  // With total = prompt + completion when the response did not say it.
  TokenUsage with_total() const {
    TokenUsage out = *this;
    if (!out.total && out.prompt && out.completion) out.total = *out.prompt + *out.completion;
    return out;
  }
};

// The usage a response body or one SSE event's data reports, as reported
// (total only when given: see with_total), read through `integer`, a
// callable (const std::string& pointer) -> std::optional<int64_t>. Looks at
// /usage, /response/usage and /message/usage, the first that reports a
// count. Negative values are ignored (a counter never goes down). nullopt
// when none reports a count.
template <class IntegerAt>
std::optional<TokenUsage> read_token_usage(IntegerAt&& integer) {
  for (const char* base : {"/usage", "/response/usage", "/message/usage"}) {
    const std::string b = base;
    auto count = [&](const char* name) -> std::optional<int64_t> {
      auto value = integer(b + name);
      if (value && *value >= 0) return value;
      return std::nullopt;
    };
    auto first = [&](std::initializer_list<const char*> names) -> std::optional<int64_t> {
      for (const char* name : names) {
        if (auto value = count(name)) return value;
      }
      return std::nullopt;
    };
    TokenUsage usage;
    usage.prompt = first({"/prompt_tokens", "/input_tokens"});
    usage.completion = first({"/completion_tokens", "/output_tokens"});
    usage.total = first({"/total_tokens"});
    usage.cached =
        first({"/prompt_tokens_details/cached_tokens", "/input_tokens_details/cached_tokens"});
    usage.reasoning = first(
        {"/completion_tokens_details/reasoning_tokens", "/output_tokens_details/reasoning_tokens"});
    // Anthropic: the cache's tokens are input tokens too (see above).
    const auto cache_read = count("/cache_read_input_tokens");
    const auto cache_creation = count("/cache_creation_input_tokens");
    if (cache_read || cache_creation) {
      usage.prompt = usage.prompt.value_or(0) + cache_read.value_or(0) + cache_creation.value_or(0);
      if (cache_read) usage.cached = cache_read;
    }
    if (usage.any()) return usage;
  }
  return std::nullopt;
}

}  // namespace bbr_plugins
