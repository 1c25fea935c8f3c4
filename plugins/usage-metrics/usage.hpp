// usage-metrics' logic without a host: reading OpenAI token usage from a
// response (Chat/Completions names and Responses API names), parameters.
#pragma once

#include "common/header_name.hpp"
#include "common/parameters.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace usage_metrics {

using bbr_plugins::ParameterError;

struct Usage {
  std::optional<int64_t> prompt;
  std::optional<int64_t> completion;
  std::optional<int64_t> total;
  std::optional<int64_t> cached;     // prompt_tokens_details.cached_tokens
  std::optional<int64_t> reasoning;  // completion_tokens_details.reasoning_tokens
  bool any() const { return prompt || completion || total || cached || reasoning; }
};

// Reads the usage object of a response body or SSE event through `integer`,
// a callable (std::string pointer) -> std::optional<int64_t>. Looks at
// /usage (Chat Completions, Completions, Responses) and /response/usage (the
// Responses API's streamed response.completed event). Negative values are
// ignored (a counter never goes down).
template <class IntegerAt>
std::optional<Usage> read_usage(IntegerAt&& integer) {
  for (const char* base : {"/usage", "/response/usage"}) {
    const std::string b = base;
    auto first = [&](std::initializer_list<const char*> names) -> std::optional<int64_t> {
      for (const char* name : names) {
        auto value = integer(b + name);
        if (value && *value >= 0) return value;
      }
      return std::nullopt;
    };
    Usage usage;
    usage.prompt = first({"/prompt_tokens", "/input_tokens"});
    usage.completion = first({"/completion_tokens", "/output_tokens"});
    usage.total = first({"/total_tokens"});
    usage.cached =
        first({"/prompt_tokens_details/cached_tokens", "/input_tokens_details/cached_tokens"});
    usage.reasoning = first(
        {"/completion_tokens_details/reasoning_tokens", "/output_tokens_details/reasoning_tokens"});
    if (!usage.any()) continue;
    if (!usage.total && usage.prompt && usage.completion)
      usage.total = *usage.prompt + *usage.completion;
    return usage;
  }
  return std::nullopt;
}

enum class ModelFrom { kResponse, kRequest };

struct Config {
  bool headers = true;
  std::string header_prefix = "x-usage-";
  ModelFrom model_from = ModelFrom::kResponse;
  std::vector<double> buckets;  // empty: the host's default latency buckets
};

// The response header names for each usage field, prefix + name.
inline std::string header_name(const Config& config, std::string_view field) {
  std::string name = config.header_prefix;
  name += field;
  return name;
}

inline constexpr const char* kHeaderFields[] = {
    "prompt-tokens", "completion-tokens", "total-tokens", "cached-tokens", "reasoning-tokens"};

// Reads the parameters, checked against the schema (usage_metrics.cpp) by the
// host before create(): types, the modelFrom choices, a non-empty prefix and
// list, unknown names. What is checked here is what a schema cannot say: the
// buckets ascend, and the prefix makes header names the plugin may set.
inline Config parse_config(std::string_view json_text) {
  const bbr_plugins::Parameters parameters(json_text);  // JSON syntax and object-ness, worded
  const nlohmann::json& object = parameters.object();
  Config config;
  try {
    config.headers = object.value("headers", config.headers);
    config.header_prefix = object.value("headerPrefix", config.header_prefix);
    if (object.value("modelFrom", std::string("response")) == "request") {
      config.model_from = ModelFrom::kRequest;
    }
    if (const auto buckets = object.find("buckets"); buckets != object.end() && !buckets->is_null()) {
      config.buckets = buckets->get<std::vector<double>>();
    }
  } catch (const nlohmann::json::exception& e) {
    // Only when created without the host's schema check.
    throw ParameterError(std::string("parameters: do not match the schema: ") + e.what());
  }
  for (std::size_t i = 1; i < config.buckets.size(); ++i) {
    if (config.buckets[i] <= config.buckets[i - 1])
      throw ParameterError("buckets[" + std::to_string(i) +
                           "]: must be greater than the one before");
  }
  if (config.headers) {
    for (const char* field : kHeaderFields) {
      std::string problem = bbr_plugins::header_name_problem(header_name(config, field));
      if (!problem.empty()) throw ParameterError("headerPrefix: " + problem);
    }
  }
  return config;
}

}  // namespace usage_metrics
