// usage-metrics for Envoy's global rate limiter, through the real server in
// both modes: the tenant header the request-side descriptor reads, the token
// counts as the dynamic metadata a stream-done descriptor charges (JSON and
// SSE responses), and include_usage on demand (the upstream is asked for
// usage, the stream is counted, the client's stream lacks the usage event it
// did not ask for).
#include "extproc_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

using namespace bbr::test;

namespace {

const char* kQuotaConfig = R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
plugins:
  - type: usage-metrics
    name: usage
    parameters:
      metadata: {}
      tenant: {header: x-tenant-id, bodyField: user, descriptorHeader: x-ratelimit-tenant}
      includeUsage: {exceptModels: ["legacy-*"]}
request: [{pluginRef: usage}]
response: [{pluginRef: usage}]
)";

ServerOptions quota_server(const TempDir& dir, bool streaming) {
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {"--config", dir.write("quota.yaml", kQuotaConfig).string()};
  return options;
}

Headers request_headers_with(const Headers& extra) {
  Headers headers{
      {":method", "POST"}, {":path", "/v1/chat/completions"}, {"content-type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return headers;
}

std::string event(const nlohmann::json& data) { return "data: " + data.dump() + "\n\n"; }

// A chat stream from "served-model": two content events, the finish event,
// the usage-only event (choices empty), [DONE].
std::string chat_stream() {
  auto chunk = [](nlohmann::json choices) {
    return nlohmann::json{{"id", "c1"},
                          {"object", "chat.completion.chunk"},
                          {"model", "served-model"},
                          {"choices", std::move(choices)}};
  };
  std::string out;
  for (const char* piece : {"Hello", " there"})
    out += event(chunk({{{"index", 0}, {"delta", {{"content", piece}}}}}));
  out += event(
      chunk({{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", "stop"}}}));
  nlohmann::json usage = chunk(nlohmann::json::array());
  usage["usage"] = {{"prompt_tokens", 11},
                    {"completion_tokens", 5},
                    {"total_tokens", 16},
                    {"completion_tokens_details", {{"reasoning_tokens", 2}}}};
  out += event(usage);
  return out + "data: [DONE]\n\n";
}

// One exchange: the request (headers + body), then the response, its body in
// pieces of `chunk` bytes (streamed mode; buffered mode gets it whole).
Exchange exchange(const ServerProcess& server, const Headers& extra, const std::string& request,
                  const std::string& content_type, const std::string& response, bool streaming) {
  std::vector<ProcessingRequest> requests{
      bbr::test::request_headers(request_headers_with(extra), false), request_body(request, true),
      response_headers({{":status", "200"}, {"content-type", content_type}}, false)};
  const std::size_t chunk = streaming ? 7 : response.size();
  for (std::size_t offset = 0; offset < response.size(); offset += chunk)
    requests.push_back(
        response_body(response.substr(offset, chunk), offset + chunk >= response.size()));
  return run(server.channel(), requests);
}

nlohmann::json metadata_of(const Answered& a) { return nlohmann::json::parse(a.metadata_json); }

// The dynamic metadata Envoy's rate limiter reads, under Envoy AI Gateway's
// namespace and key names: every count, the model, the tenant when known.
nlohmann::json charged(int input, int output, int total, int cached, int reasoning,
                       const std::string& tenant) {
  nlohmann::json space = {
      {"llm_input_token", input},         {"llm_output_token", output},
      {"llm_total_token", total},         {"llm_cached_input_token", cached},
      {"llm_reasoning_token", reasoning}, {"model_name_override", "served-model"}};
  if (!tenant.empty()) space["tenant"] = tenant;
  return {{"io.envoy.ai_gateway", space}};
}

}  // namespace

TEST_CASE(
    "usage-metrics sets the tenant descriptor header and writes the counts Envoy's rate limiter "
    "charges, for a JSON response, in both modes",
    "[usage-quota]") {
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    TempDir dir;
    ServerProcess server(quota_server(dir, streaming));
    const std::string request =
        R"({"model":"client-model","user":"acme","messages":[{"role":"user","content":"hi"}]})";
    const std::string response =
        R"({"id":"c1","object":"chat.completion","model":"served-model","choices":[],)"
        R"("usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,)"
        R"("prompt_tokens_details":{"cached_tokens":2}}})";
    const Exchange x = exchange(server, {}, request, "application/json", response, streaming);
    REQUIRE(x.status.ok());
    // The request: the tenant from the body's `user`, for the descriptor.
    const Answered up = answered(x, true);
    CHECK(up.set.at("x-ratelimit-tenant") == "acme");
    // The response: every count (0 for one not reported), the model, the tenant.
    const Answered down = answered(x, false);
    CHECK(metadata_of(down) == charged(3, 4, 7, 2, 0, "acme"));
  }
}

TEST_CASE(
    "usage-metrics writes the counts of an SSE response as metadata, the tenant header winning "
    "over the body, and a stream that asked for usage keeps its usage event, in both modes",
    "[usage-quota][sse]") {
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    TempDir dir;
    ServerProcess server(quota_server(dir, streaming));
    const std::string request =
        R"({"model":"client-model","user":"acme","stream":true,)"
        R"("stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})";
    const std::string sse = chat_stream();
    const Exchange x =
        exchange(server, {{"x-tenant-id", "team-a"}}, request, "text/event-stream", sse, streaming);
    REQUIRE(x.status.ok());
    const Answered up = answered(x, true);
    CHECK(up.set.at("x-ratelimit-tenant") == "team-a");
    // The client asked for usage: the request goes on as it came.
    CHECK(up.body.value_or(request) == request);
    const Answered down = answered(x, false);
    CHECK(down.body.value_or(sse) == sse);
    CHECK(metadata_of(down) == charged(11, 5, 16, 0, 2, "team-a"));
  }
}

TEST_CASE(
    "include_usage on demand: the upstream is asked for usage, the stream is counted and "
    "charged, the client's stream has no usage event, a spoofed tenant header goes, in both "
    "modes",
    "[usage-quota][sse][include-usage]") {
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    TempDir dir;
    ServerProcess server(quota_server(dir, streaming));
    const std::string request =
        R"({"model":"client-model","stream":true,"messages":[{"role":"user","content":"hi"}]})";
    const Exchange x = exchange(server, {{"x-ratelimit-tenant", "someone-else"}}, request,
                                "text/event-stream", chat_stream(), streaming);
    REQUIRE(x.status.ok());
    const Answered up = answered(x, true);
    // No tenant: the client's own descriptor header is removed, not trusted.
    CHECK(up.set.count("x-ratelimit-tenant") == 0);
    CHECK(std::find(up.removed.begin(), up.removed.end(), "x-ratelimit-tenant") !=
          up.removed.end());
    REQUIRE(up.body.has_value());
    CHECK(nlohmann::json::parse(*up.body)["stream_options"] ==
          nlohmann::json::parse(R"({"include_usage":true})"));

    const Answered down = answered(x, false);
    REQUIRE(down.body.has_value());
    const auto events = sse_data(*down.body);
    REQUIRE(events.size() == 4);  // two pieces, the finish event, [DONE]
    for (std::size_t i = 0; i + 1 < events.size(); ++i)
      CHECK_FALSE(nlohmann::json::parse(events[i]).contains("usage"));
    CHECK(events.back() == "[DONE]");
    CHECK(metadata_of(down) == charged(11, 5, 16, 0, 2, ""));
    const std::string metrics = http_get(server.metrics_port(), "/metrics");
    INFO(metrics);
    const std::vector<std::string> labels = {"model=\"served-model\"", "plugin_name=\"usage\""};
    CHECK(metric_value(metrics, "bbr_usage_total_tokens_total", labels) == 16.0);
    CHECK(metric_value(metrics, "bbr_usage_responses_total", labels) == 1.0);
  }
}

TEST_CASE(
    "include_usage on demand leaves a model on the except list and a request that is not a "
    "stream as they came, in both modes",
    "[usage-quota][include-usage]") {
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    TempDir dir;
    ServerProcess server(quota_server(dir, streaming));
    for (const std::string request :
         {R"({"model":"legacy-7b","stream":true,"messages":[{"role":"user","content":"hi"}]})",
          R"({"model":"client-model","messages":[{"role":"user","content":"hi"}]})"}) {
      INFO(request);
      const Exchange x =
          run(server.channel(), {bbr::test::request_headers(request_headers_with({}), false),
                                 request_body(request, true)});
      REQUIRE(x.status.ok());
      CHECK(answered(x, true).body.value_or(request) == request);
    }
  }
}

TEST_CASE(
    "usage-metrics with quotas and include_usage is listed, validates, and its config passes "
    "config check, and a descriptor header Envoy refuses is reported with its path",
    "[usage-quota][cli]") {
  const CommandResult list = run_bbr_host({"plugins", "list"});
  INFO(list.output);
  CHECK(list.exit_code == 0);
  CHECK(list.output.find("usage-metrics") != std::string::npos);

  TempDir dir;
  const auto body = dir.write(
      "body.json",
      R"({"model":"m","user":"acme","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  const std::string so = std::string(BBR_PLUGIN_OUTPUT_DIR) + "/usage-metrics.so";
  const CommandResult validate = run_bbr_host(
      {"plugins", "validate", so, "--body", body.string(), "--parameters",
       R"({"metadata":{},"tenant":{"bodyField":"user","descriptorHeader":"x-ratelimit-tenant"},"includeUsage":{"exceptModels":["legacy-*"]}})"});
  INFO(validate.output);
  CHECK(validate.exit_code == 0);
  CHECK(validate.output.find(so + ": OK") != std::string::npos);

  const CommandResult check =
      run_bbr_host({"config", "check", dir.write("quota.yaml", kQuotaConfig).string()});
  INFO(check.output);
  CHECK(check.exit_code == 0);

  std::string bad = kQuotaConfig;
  bad.replace(bad.find("x-ratelimit-tenant"), 18, "x-envoy-tenant");
  const CommandResult refused =
      run_bbr_host({"config", "check", dir.write("bad.yaml", bad).string()});
  INFO(refused.output);
  CHECK(refused.exit_code != 0);
  CHECK(refused.output.find("tenant.descriptorHeader: \"x-envoy-tenant\" is a header Envoy does "
                            "not let an ext_proc server set") != std::string::npos);
  // The schema: a tenant needs a header or a body field.
  std::string no_source = kQuotaConfig;
  no_source.replace(no_source.find("header: x-tenant-id, bodyField: user, "), 38, "");
  const CommandResult schema =
      run_bbr_host({"config", "check", dir.write("schema.yaml", no_source).string()});
  INFO(schema.output);
  CHECK(schema.exit_code != 0);
  CHECK(schema.output.find("plugins[0].parameters.tenant") != std::string::npos);
}
