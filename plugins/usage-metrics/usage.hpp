// usage-metrics' logic without a host: the usage of a response (read by
// plugins/common/token_usage.hpp, every API's shape), parameters.
#pragma once

#include "common/header_name.hpp"
#include "common/parameters.hpp"
#include "common/token_usage.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace usage_metrics {

using bbr_plugins::ParameterError;

// The counts of one response (plugins/common/token_usage.hpp reads every
// API's shape).
using Usage = bbr_plugins::TokenUsage;

// The usage of a whole response body (or one SSE event's data) through
// `integer`, a callable (std::string pointer) -> std::optional<int64_t>, with
// total = prompt + completion when the response does not say it.
template <class IntegerAt>
std::optional<Usage> read_usage(IntegerAt&& integer) {
  auto usage = bbr_plugins::read_token_usage(integer);
  if (!usage) return std::nullopt;
  return usage->with_total();
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
