// usage-metrics' logic without a host: the usage of a response (read by
// plugins/common/token_usage.hpp, every API's shape), parameters, the tenant
// and include_usage rules.
#pragma once

#include "common/header_name.hpp"
#include "common/parameters.hpp"
#include "common/token_usage.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
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

// The counts as dynamic metadata for Envoy's global rate limiter: one key per
// count in one namespace. The defaults are Envoy AI Gateway's (its
// llmRequestCosts examples), so an Envoy config written for it charges ours.
struct MetadataConfig {
  bool enabled = false;  // the `metadata` parameter is there
  std::string ns = "io.envoy.ai_gateway";
  // prompt (input), completion (output), total, cached, reasoning: the order
  // of Usage's members and of kHeaderFields.
  std::string count_keys[5] = {"llm_input_token", "llm_output_token", "llm_total_token",
                               "llm_cached_input_token", "llm_reasoning_token"};
  std::string model_key = "model_name_override";
  std::string tenant_key = "tenant";
};

// Who is charged: the first of a request header and a request body member
// that is there (else `fallback`), copied into `descriptor_header` on the
// request for the rate limit filter's request_headers descriptor.
struct TenantConfig {
  std::string header;             // "" none
  std::string body_field;         // top-level member name ("user"); "" none
  std::string descriptor_header;  // "" none
  std::string fallback;           // "" none
  bool enabled() const { return !header.empty() || !body_field.empty(); }
};

// stream_options.include_usage added to streamed chat/completions requests
// that lack it, for the models listed (a name ending in '*' is a prefix;
// no list: every model) and not excepted.
struct IncludeUsageConfig {
  bool enabled = false;  // the `includeUsage` parameter is there
  std::vector<std::string> models;
  std::vector<std::string> except_models;
};

struct Config {
  bool headers = true;
  std::string header_prefix = "x-usage-";
  ModelFrom model_from = ModelFrom::kResponse;
  std::vector<double> buckets;  // empty: the host's default latency buckets
  MetadataConfig metadata;
  TenantConfig tenant;
  IncludeUsageConfig include_usage;
};

// A tenant value longer than this is cut: it becomes a header value and a
// rate limit descriptor, and a hostile one must not grow either without bound.
inline constexpr std::size_t kMaxTenant = 128;

// The tenant value to use, or "" when `value` cannot be one: empty, or holding
// a control character (a header value cannot carry CR/LF/NUL, and the rate
// limit service's keys should not carry the rest).
inline std::string usable_tenant(std::string_view value) {
  if (value.size() > kMaxTenant) {
    // Cut before a UTF-8 sequence the limit would split.
    std::size_t n = kMaxTenant;
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
    value = value.substr(0, n);
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return {};
  }
  return std::string(value);
}

// `model` matched by an entry of a model list: the same name, or a prefix
// when the entry ends in '*'.
inline bool model_listed(const std::vector<std::string>& list, std::string_view model) {
  for (const std::string& entry : list) {
    if (!entry.empty() && entry.back() == '*') {
      if (model.substr(0, entry.size() - 1) == std::string_view(entry).substr(0, entry.size() - 1))
        return true;
    } else if (model == entry) {
      return true;
    }
  }
  return false;
}

inline bool adds_include_usage(const IncludeUsageConfig& config, std::string_view model) {
  if (!config.enabled) return false;
  if (!config.models.empty() && !model_listed(config.models, model)) return false;
  return !model_listed(config.except_models, model);
}

// stream_options exists for these endpoints only (the Responses API and
// others report usage on their own, or refuse the field).
inline bool takes_stream_options(std::string_view path) {
  path = path.substr(0, path.find('?'));
  constexpr std::string_view kSuffix = "/completions";
  return path.size() >= kSuffix.size() && path.substr(path.size() - kSuffix.size()) == kSuffix;
}

// The response header names for each usage field, prefix + name.
inline std::string header_name(const Config& config, std::string_view field) {
  std::string name = config.header_prefix;
  name += field;
  return name;
}

inline constexpr const char* kHeaderFields[] = {
    "prompt-tokens", "completion-tokens", "total-tokens", "cached-tokens", "reasoning-tokens"};

// `metadata` and `tenant` (types and required members: the schema's).
inline void read_metadata_config(const nlohmann::json& object, MetadataConfig& out) {
  const auto it = object.find("metadata");
  if (it == object.end() || !it->is_object()) return;
  out.enabled = true;
  out.ns = it->value("namespace", out.ns);
  const char* names[] = {"inputKey", "outputKey", "totalKey", "cachedKey", "reasoningKey"};
  for (std::size_t i = 0; i < std::size(names); ++i)
    out.count_keys[i] = it->value(names[i], out.count_keys[i]);
  out.model_key = it->value("modelKey", out.model_key);
  out.tenant_key = it->value("tenantKey", out.tenant_key);
}

inline void read_tenant_config(const nlohmann::json& object, TenantConfig& out) {
  const auto it = object.find("tenant");
  if (it == object.end() || !it->is_object()) return;
  out.header = it->value("header", out.header);
  out.body_field = it->value("bodyField", out.body_field);
  out.descriptor_header = it->value("descriptorHeader", out.descriptor_header);
  out.fallback = usable_tenant(it->value("default", out.fallback));
}

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
    read_metadata_config(object, config.metadata);
    read_tenant_config(object, config.tenant);
    if (const auto it = object.find("includeUsage"); it != object.end() && it->is_object()) {
      config.include_usage.enabled = true;
      config.include_usage.models = it->value("models", std::vector<std::string>{});
      config.include_usage.except_models = it->value("exceptModels", std::vector<std::string>{});
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
  if (!config.tenant.descriptor_header.empty())
    bbr_plugins::require_settable_header_name("tenant.descriptorHeader",
                                              config.tenant.descriptor_header);
  if (config.headers) {
    for (const char* field : kHeaderFields) {
      std::string problem = bbr_plugins::header_name_problem(header_name(config, field));
      if (!problem.empty()) throw ParameterError("headerPrefix: " + problem);
    }
  }
  return config;
}

}  // namespace usage_metrics
