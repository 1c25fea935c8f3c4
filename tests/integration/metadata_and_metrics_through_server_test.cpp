// ABI 1.1 through the real server: what a plugin does with the 1.1 calls
// reaches Envoy (dynamic metadata, the route-cache choice, reject_with's
// headers and details), what Envoy sends reaches the plugin (attributes,
// metadata context), and metrics a plugin defined at create() are on /metrics.
// The plugin is tests/abi/plugins/abi_1_1.c.
#include "extproc_client.hpp"

#include <catch2/catch.hpp>

#include <google/protobuf/struct.pb.h>

#include <string>

using namespace bbr::test;

namespace {

ServerOptions abi11_server(const TempDir& dir, bool streaming) {
  const auto config = dir.write(
      "bbr.yaml",
      "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
      "kind: BodyBasedRoutingConfig\n"
      "plugins:\n"
      "  - {type: abi-test-1-1, name: abi11, parameters: {headers: {x-abi11-param: p1}}}\n"
      "request: [{pluginRef: abi11}]\n"
      "response: []\n");
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {"--config", config.string(), "--plugin-dir", BBR_ABI_PLUGIN_DIR,
                        "--allow-insecure-plugin-permissions"};
  return options;
}

// Request headers as Envoy sends them when its ext_proc config asks for
// attributes and forwards metadata namespaces.
ProcessingRequest headers_with_context(const std::string& path) {
  ProcessingRequest r =
      request_headers({{":path", path}, {"content-type", "application/json"}}, false);
  auto& attributes = (*r.mutable_attributes())["envoy.filters.http.ext_proc"];
  (*attributes.mutable_fields())["request.id"].set_string_value("req-42");
  auto& metadata = (*r.mutable_metadata_context()->mutable_filter_metadata())["abi11.in"];
  (*metadata.mutable_fields())["tenant"].set_string_value("team-a");
  return r;
}

std::string header_set(const envoy::service::ext_proc::v3::CommonResponse& common,
                       const std::string& key) {
  for (const auto& h : common.header_mutation().set_headers()) {
    if (h.header().key() == key) return h.header().raw_value();
  }
  return "<absent>";
}

}  // namespace

TEST_CASE("through the server: metadata, route cache, attributes, reject_with, metrics",
          "[chain][metadata][route_cache][metrics]") {
  TempDir dir;
  for (bool streaming : {false, true}) {
    INFO((streaming ? "streaming" : "buffered"));
    ServerProcess server(abi11_server(dir, streaming));
    const Exchange exchange = run(
        server.channel(),
        {headers_with_context("/v1/chat/completions"),
         request_body(R"({"model":"m1","messages":[{"role":"user","content":"hello"}]})", true)});
    REQUIRE(exchange.status.ok());
    // The answer carrying the chain's outcome: the body answer (buffered) or
    // the held headers answer (streamed).
    const ProcessingResponse* answer = nullptr;
    for (const auto& r : exchange.responses) {
      if (!streaming && r.has_request_body()) answer = &r;
      if (streaming && r.has_request_headers()) answer = &r;
    }
    REQUIRE(answer != nullptr);
    const auto& common =
        streaming ? answer->request_headers().response() : answer->request_body().response();
    CHECK(header_set(common, "x-abi11-param") == "p1");
    CHECK(header_set(common, "x-abi11-path") == "/v1/chat/completions");
    CHECK(header_set(common, "x-abi11-request-id") == "\"req-42\"");
    CHECK(header_set(common, "x-abi11-tenant") == "\"team-a\"");
    CHECK(header_set(common, "x-abi11-prompt-length") == "5");
    // The plugin chose KEEP although it changed headers.
    CHECK_FALSE(common.clear_route_cache());
    // dynamic_metadata["bbr.abi11"]["model"] = "m1"
    REQUIRE(answer->has_dynamic_metadata());
    const auto& spaces = answer->dynamic_metadata().fields();
    REQUIRE(spaces.count("bbr.abi11") == 1);
    const auto& keys = spaces.at("bbr.abi11").struct_value().fields();
    REQUIRE(keys.count("model") == 1);
    CHECK(keys.at("model").string_value() == "m1");

    // reject_with: status, the plugin's headers (its content-type replaces
    // the guess) and details.
    const Exchange rejected =
        run(server.channel(),
            {headers_with_context("/v1/completions"),
             request_body(R"({"model":"m","prompt":"x","abi11_reject":true})", true)});
    REQUIRE(rejected.status.ok());
    REQUIRE(!rejected.responses.empty());
    REQUIRE(rejected.responses.back().has_immediate_response());
    const auto& ir = rejected.responses.back().immediate_response();
    CHECK(ir.status().code() == 429);
    CHECK(ir.body() == "slow down");
    CHECK(ir.details() == "abi11_rate_limited");
    std::string retry_after, content_type;
    int content_types = 0;
    for (const auto& h : ir.headers().set_headers()) {
      if (h.header().key() == "retry-after") retry_after = h.header().raw_value();
      if (h.header().key() == "content-type") {
        content_type = h.header().raw_value();
        ++content_types;
      }
    }
    CHECK(retry_after == "30");
    CHECK(content_type == "text/plain");
    CHECK(content_types == 1);

    // Metrics defined at create(): a counter by route and a histogram.
    const std::string metrics = http_get(server.metrics_port(), "/metrics");
    CHECK(metrics.find(
              R"(abi11_requests_total{plugin_name="abi11",route="/v1/chat/completions"} 1)") !=
          std::string::npos);
    CHECK(metrics.find(R"(abi11_prompt_chars_count{plugin_name="abi11"} 2)") != std::string::npos);
    CHECK(metrics.find(R"(abi11_prompt_chars_bucket{plugin_name="abi11",le="10"} 2)") !=
          std::string::npos);
  }
}
