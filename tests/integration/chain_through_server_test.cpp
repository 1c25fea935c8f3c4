// What plugins do reaches Envoy through the real server: rejects, failures,
// body and response edits, large and many-chunk bodies, real-shaped traffic.
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace bbr::test;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A server whose chain comes from a config file using the test-only plugins.
ServerOptions config_server(const TempDir& dir, const std::string& plugins_yaml,
                            const std::string& request, const std::string& response,
                            bool streaming) {
  const auto config = dir.write("bbr.yaml", "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                                            "kind: BodyBasedRoutingConfig\n"
                                            "plugins:\n" + plugins_yaml +
                                                "request: " + request + "\nresponse: " + response + "\n");
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {"--config", config.string(), "--plugin-dir", BBR_TEST_PLUGIN_DIR,
                        "--allow-insecure-plugin-permissions"};
  return options;
}

std::string streamed_bytes(const Exchange& exchange, bool request) {
  std::string out;
  for (const auto& r : exchange.responses) {
    const auto& body = request ? r.request_body() : r.response_body();
    if ((request ? r.has_request_body() : r.has_response_body()))
      out += body.response().body_mutation().streamed_response().body();
  }
  return out;
}

}  // namespace

TEST_CASE("streaming: a 1 MiB body sent in 16 KiB chunks comes back whole in 62000-byte chunks",
          "[chain][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string body = R"({"model":"foo","prompt":")" + std::string(1 << 20, 'x') + R"("})";
  std::vector<ProcessingRequest> requests{request_headers({{"content-type", "application/json"}}, false)};
  for (std::size_t offset = 0; offset < body.size(); offset += 16384) {
    requests.push_back(request_body(body.substr(offset, 16384), offset + 16384 >= body.size()));
  }
  const Exchange exchange = run(server.channel(), requests);
  REQUIRE(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 1 + (body.size() + 61999) / 62000);
  CHECK(canonical(exchange.responses[0]) ==
        canonical(response_with(Phase::kRequestHeaders,
                                {.set = {{"Content-Length", std::to_string(body.size())},
                                         {"X-Gateway-Base-Model-Name", "qwen"},
                                         {"X-Gateway-Model-Name", "foo"}},
                                 .header_mutation = true,
                                 .clear_route_cache = true})));
  for (std::size_t i = 1; i < exchange.responses.size(); ++i) {
    const auto& chunk = exchange.responses[i].request_body().response().body_mutation().streamed_response();
    CHECK(chunk.end_of_stream() == (i + 1 == exchange.responses.size()));
    if (i + 1 < exchange.responses.size()) CHECK(chunk.body().size() == 62000);
  }
  CHECK(streamed_bytes(exchange, true) == body);
}

TEST_CASE("real-shaped OpenAI and Anthropic requests route on their model in both modes", "[chain][fixtures]") {
  TempDir dir;
  for (bool streaming : {false, true}) {
    ServerProcess server(reference_harness(dir, streaming));
    for (const char* file : {"chat-completions.request.json", "chat-completions-tools.request.json",
                             "chat-completions-multimodal.request.json", "chat-completions-stream.request.json",
                             "completions.request.json", "embeddings.request.json",
                             "responses.request.json", "messages.request.json"}) {
      const std::string body = fixture(file);
      const std::string expected = nlohmann::json::parse(body).at("model").get<std::string>();
      INFO(file << (streaming ? " streaming" : " buffered") << " model " << expected);
      const Exchange exchange = run(server.channel(), {request_headers({}, false), request_body(body, true)});
      REQUIRE(exchange.status.ok());
      const auto& mutation = streaming
                                 ? exchange.responses.at(0).request_headers().response().header_mutation()
                                 : exchange.responses.at(1).request_body().response().header_mutation();
      std::string model_header;
      for (const auto& h : mutation.set_headers())
        if (h.header().key() == "X-Gateway-Model-Name") model_header = h.header().raw_value();
      CHECK(model_header == expected);
      if (streaming) CHECK(streamed_bytes(exchange, true) == body);
    }
  }
}

TEST_CASE("a rejecting plugin answers with its status and body and the stream ends OK",
          "[chain][errors]") {
  TempDir dir;
  for (bool streaming : {false, true}) {
    ServerProcess server(config_server(
        dir,
        "  - {type: test-rejecter, name: guard, parameters: {status: 429, body: '{\"error\":\"slow\"}'}}\n"
        "  - {type: test-header-setter, name: after}\n",
        "[{pluginRef: guard}, {pluginRef: after}]", "[]", streaming));
    const Exchange exchange =
        run(server.channel(), {request_headers({}, false), request_body(R"({"model":"m"})", true)});
    INFO((streaming ? "streaming" : "buffered"));
    CHECK(exchange.status.ok());
    REQUIRE(!exchange.responses.empty());
    const auto& ir = exchange.responses.back().immediate_response();
    CHECK(ir.status().code() == 429);
    CHECK(ir.body() == R"({"error":"slow"})");
  }
}

TEST_CASE("a typed plugin failure answers the mapped status with the reference's error text",
          "[chain][errors]") {
  TempDir dir;
  ServerProcess server(config_server(
      dir, "  - {type: test-failer, name: authz, parameters: {result: 401, message: no token}}\n",
      "[{pluginRef: authz}]", "[]", false));
  const Exchange exchange = run(server.channel(), {request_body(R"({"model":"m"})", true)});
  CHECK(exchange.status.ok());
  CHECK(canonical(exchange.responses) ==
        canonical(std::vector<ProcessingResponse>{
            immediate_response(401, "inference error: Unauthorized - no token")}));
  CHECK(server.output().find("plugin authz (test-failer) failed with 401: no token") !=
        std::string::npos);
}

TEST_CASE("a plugin result outside bbr_result_t answers 500 naming the plugin and the value",
          "[chain][errors]") {
  TempDir dir;
  ServerProcess server(config_server(
      dir, "  - {type: test-failer, name: odd, parameters: {result: 7, message: strange}}\n",
      "[{pluginRef: odd}]", "[]", false));
  const Exchange exchange = run(server.channel(), {request_body(R"({"model":"m"})", true)});
  CHECK(exchange.status.ok());
  CHECK(canonical(exchange.responses) ==
        canonical(std::vector<ProcessingResponse>{immediate_response(
            500, "inference error: Internal - plugin odd returned unknown result 7")}));
  CHECK(server.output().find("plugin odd (test-failer) returned unknown result 7 (its error text: strange)") !=
        std::string::npos);
}

TEST_CASE("request and response body edits reach Envoy Go-encoded with Content-Length",
          "[chain][mutation]") {
  TempDir dir;
  const std::string plugins =
      "  - {type: test-body-mutator, name: inject}\n"
      "  - {type: test-body-mutator, name: guardrail, parameters: {field: guardrail, value: applied}}\n";
  const std::string response_body_text = R"({"choices":[{"text":"Hello!"}]})";
  SECTION("buffered") {
    ServerProcess server(config_server(dir, plugins, "[{pluginRef: inject}]", "[{pluginRef: guardrail}]", false));
    const Exchange exchange =
        run(server.channel(), {request_body(R"({"prompt":"hello"})", true),
                               response_headers({{"content-type", "application/json"}}, false, true),
                               response_body(response_body_text, true)});
    CHECK(canonical(exchange.responses) ==
          canonical(std::vector<ProcessingResponse>{
              response_with(Phase::kRequestBody,
                            {.set = {{"Content-Length", "42"}}, .header_mutation = true,
                             .clear_route_cache = true,
                             .body = R"({"injected":"test-value","prompt":"hello"})"}),
              empty_response(Phase::kResponseHeaders),
              response_with(Phase::kResponseBody,
                            {.set = {{"Content-Length", "53"}}, .header_mutation = true,
                             .clear_route_cache = true,
                             .body = R"({"choices":[{"text":"Hello!"}],"guardrail":"applied"})"})}));
  }
  SECTION("streaming") {
    ServerProcess server(config_server(dir, plugins, "[{pluginRef: inject}]", "[{pluginRef: guardrail}]", true));
    const Exchange exchange =
        run(server.channel(), {request_headers({}, false), request_body(R"({"prompt":"hello"})", true),
                               response_headers({}, false), response_body(response_body_text, true)});
    CHECK(canonical(exchange.responses) ==
          canonical(std::vector<ProcessingResponse>{
              response_with(Phase::kRequestHeaders, {.set = {{"Content-Length", "42"}},
                                                     .header_mutation = true, .clear_route_cache = true}),
              response_with(Phase::kRequestBody,
                            {.streamed = std::pair{std::string(R"({"injected":"test-value","prompt":"hello"})"), true}}),
              response_with(Phase::kResponseHeaders, {.set = {{"Content-Length", "53"}},
                                                      .header_mutation = true, .clear_route_cache = true}),
              response_with(Phase::kResponseBody,
                            {.streamed = std::pair{std::string(R"({"choices":[{"text":"Hello!"}],"guardrail":"applied"})"), true}})}));
  }
}

TEST_CASE("a streamed SSE response passes a JSON response plugin untouched", "[chain][response]") {
  TempDir dir;
  ServerProcess server(config_server(
      dir, "  - {type: test-body-mutator, name: guardrail}\n", "[]", "[{pluginRef: guardrail}]", true));
  const std::string sse = fixture("chat-completions.response.sse");
  std::vector<ProcessingRequest> requests{response_headers({{"content-type", "text/event-stream"}}, false)};
  for (std::size_t offset = 0; offset < sse.size(); offset += 300) {
    requests.push_back(response_body(sse.substr(offset, 300), offset + 300 >= sse.size()));
  }
  const Exchange exchange = run(server.channel(), requests);
  CHECK(exchange.status.ok());
  REQUIRE(!exchange.responses.empty());
  CHECK(canonical(exchange.responses[0]) == canonical(empty_response(Phase::kResponseHeaders)));
  CHECK(streamed_bytes(exchange, false) == sse);
}

TEST_CASE("protocol_config FULL_DUPLEX_STREAMED makes a buffered-flag server stream",
          "[chain][modes]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  auto headers = request_headers({}, false);
  headers.mutable_protocol_config()->set_request_body_mode(
      envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::FULL_DUPLEX_STREAMED);
  const std::string body = llm_body("test", "foo");
  const Exchange exchange = run(server.channel(), {headers, request_body(body, true)});
  CHECK(canonical(exchange.responses) ==
        canonical(std::vector<ProcessingResponse>{
            response_with(Phase::kRequestHeaders,
                          {.set = {{"Content-Length", "64"}, {"X-Gateway-Base-Model-Name", "qwen"},
                                   {"X-Gateway-Model-Name", "foo"}},
                           .header_mutation = true, .clear_route_cache = true}),
            response_with(Phase::kRequestBody, {.streamed = std::pair{body, true}})}));
}
