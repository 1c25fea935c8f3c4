// usage-metrics' logic without a host: usage fields of every OpenAI response
// shape, and its parameters.
#include "usage-metrics/usage.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace {

std::optional<usage_metrics::Usage> usage_of(const std::string& body) {
  auto doc = nlohmann::json::parse(body);
  return usage_metrics::read_usage([&](const std::string& pointer) -> std::optional<int64_t> {
    nlohmann::json::json_pointer p(pointer);
    if (!doc.contains(p) || !doc[p].is_number_integer()) return std::nullopt;
    return doc[p].get<int64_t>();
  });
}

std::string config_error(const std::string& params) {
  try {
    usage_metrics::parse_config(params);
  } catch (const usage_metrics::ParameterError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("usage is read from chat completions with cached and reasoning details") {
  auto usage = usage_of(R"({"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,
      "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":7}}})");
  REQUIRE(usage);
  CHECK(usage->prompt == 10);
  CHECK(usage->completion == 20);
  CHECK(usage->total == 30);
  CHECK(usage->cached == 4);
  CHECK(usage->reasoning == 7);
}

TEST_CASE(
    "usage without details has no cached or reasoning counts, and total is derived when absent") {
  auto usage = usage_of(R"({"usage":{"prompt_tokens":3,"completion_tokens":5}})");
  REQUIRE(usage);
  CHECK(usage->total == 8);
  CHECK_FALSE(usage->cached);
  CHECK_FALSE(usage->reasoning);
}

TEST_CASE("usage is read from the Responses API names, also under response.usage") {
  auto usage = usage_of(R"({"type":"response.completed","response":{"usage":{"input_tokens":2,
      "output_tokens":9,"total_tokens":11,"input_tokens_details":{"cached_tokens":1},
      "output_tokens_details":{"reasoning_tokens":3}}}})");
  REQUIRE(usage);
  CHECK(usage->prompt == 2);
  CHECK(usage->completion == 9);
  CHECK(usage->total == 11);
  CHECK(usage->cached == 1);
  CHECK(usage->reasoning == 3);
}

TEST_CASE("Anthropic usage: tokens read from and written to the cache are prompt tokens") {
  auto usage = usage_of(R"({"type":"message","usage":{"input_tokens":21,
      "cache_creation_input_tokens":300,"cache_read_input_tokens":1200,"output_tokens":14}})");
  REQUIRE(usage);
  CHECK(usage->prompt == 1521);
  CHECK(usage->cached == 1200);
  CHECK(usage->completion == 14);
  CHECK(usage->total == 1535);
  CHECK_FALSE(usage->reasoning);
  // Without cache members, input_tokens alone (as the Responses API's).
  auto plain = usage_of(R"({"usage":{"input_tokens":5,"output_tokens":2}})");
  REQUIRE(plain);
  CHECK(plain->prompt == 5);
  CHECK_FALSE(plain->cached);
}

TEST_CASE(
    "Anthropic stream usage: message_start's usage under message, message_delta's count so far "
    "replaces it, total once both are in") {
  auto raw = [](const std::string& body) {
    auto doc = nlohmann::json::parse(body);
    return bbr_plugins::read_token_usage([&](const std::string& pointer) -> std::optional<int64_t> {
      nlohmann::json::json_pointer p(pointer);
      if (!doc.contains(p) || !doc[p].is_number_integer()) return std::nullopt;
      return doc[p].get<int64_t>();
    });
  };
  auto start = raw(R"({"type":"message_start","message":{"model":"m","usage":{"input_tokens":21,
      "cache_creation_input_tokens":0,"cache_read_input_tokens":1200,"output_tokens":1}}})");
  auto delta = raw(R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},
      "usage":{"output_tokens":14}})");
  REQUIRE(start);
  REQUIRE(delta);
  CHECK_FALSE(start->total);  // as reported: not derived before the stream is done
  CHECK_FALSE(delta->prompt);
  usage_metrics::Usage joined = *start;
  joined.update(*delta);
  const auto counted = joined.with_total();
  CHECK(counted.prompt == 1221);
  CHECK(counted.completion == 14);
  CHECK(counted.cached == 1200);
  CHECK(counted.total == 1235);
}

TEST_CASE("no usage: an event without usage, a null usage, negative counts") {
  CHECK_FALSE(usage_of(R"({"choices":[{"delta":{"content":"hi"}}]})"));
  CHECK_FALSE(usage_of(R"({"usage":null})"));
  CHECK_FALSE(usage_of(R"({"usage":{"prompt_tokens":-1}})"));
}

TEST_CASE("usage-metrics parameters: defaults and errors") {
  auto config = usage_metrics::parse_config("");
  CHECK(config.headers);
  CHECK(config.header_prefix == "x-usage-");
  CHECK(usage_metrics::header_name(config, "prompt-tokens") == "x-usage-prompt-tokens");
  CHECK(config_error(R"({"headerPrefix":"x usage-"})") ==
        "headerPrefix: \"x usage-prompt-tokens\" is not a valid HTTP header name");
  CHECK(config_error(R"({"headerPrefix":"x-envoy-"})") ==
        "headerPrefix: \"x-envoy-prompt-tokens\" is a header Envoy does not let an ext_proc server "
        "set");
  CHECK(config_error(R"({"headers":false,"headerPrefix":"x usage-"})") == "(accepted)");
  CHECK(config_error(R"({"buckets":[0.1,0.05]})") ==
        "buckets[1]: must be greater than the one before");
}

TEST_CASE("usage-metrics metadata, tenant and includeUsage parameters: defaults and errors") {
  auto config = usage_metrics::parse_config("");
  CHECK_FALSE(config.metadata.enabled);
  CHECK_FALSE(config.tenant.enabled());
  CHECK_FALSE(config.include_usage.enabled);
  // Envoy AI Gateway's namespace and key names unless told otherwise.
  config = usage_metrics::parse_config(R"({"metadata":{"totalKey":"tokens"},"includeUsage":{}})");
  CHECK(config.metadata.enabled);
  CHECK(config.metadata.ns == "io.envoy.ai_gateway");
  CHECK(config.metadata.count_keys[0] == "llm_input_token");
  CHECK(config.metadata.count_keys[1] == "llm_output_token");
  CHECK(config.metadata.count_keys[2] == "tokens");
  CHECK(config.metadata.count_keys[3] == "llm_cached_input_token");
  CHECK(config.include_usage.enabled);
  CHECK(config_error(R"({"tenant":{"header":"x-t","descriptorHeader":"x-envoy-t"}})") ==
        "tenant.descriptorHeader: \"x-envoy-t\" is a header Envoy does not let an ext_proc "
        "server set");
}

TEST_CASE("tenant values, model lists and the endpoints that take stream_options") {
  CHECK(usage_metrics::usable_tenant("acme") == "acme");
  CHECK(usage_metrics::usable_tenant("a\r\nx-evil: 1").empty());
  CHECK(usage_metrics::usable_tenant(std::string(300, 't')).size() == usage_metrics::kMaxTenant);
  usage_metrics::IncludeUsageConfig include;
  include.enabled = true;
  include.except_models = {"legacy-*", "exact"};
  CHECK(usage_metrics::adds_include_usage(include, "gpt-4o"));
  CHECK_FALSE(usage_metrics::adds_include_usage(include, "legacy-7b"));
  CHECK_FALSE(usage_metrics::adds_include_usage(include, "exact"));
  CHECK(usage_metrics::adds_include_usage(include, "exactly"));
  include.models = {"gpt-*"};
  CHECK(usage_metrics::adds_include_usage(include, "gpt-4o"));
  CHECK_FALSE(usage_metrics::adds_include_usage(include, "llama"));
  CHECK(usage_metrics::takes_stream_options("/v1/chat/completions"));
  CHECK(usage_metrics::takes_stream_options("/v1/completions?x=1"));
  CHECK_FALSE(usage_metrics::takes_stream_options("/v1/responses"));
  CHECK_FALSE(usage_metrics::takes_stream_options(""));
}
