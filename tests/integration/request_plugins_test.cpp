// The request-side plugins (model-selector, model-rewrite, header-to-body,
// body-fields-to-headers) through the real server, in buffered and streaming
// mode; their documented configs through `config check`; the .so files
// through `plugins list` and `plugins validate`.
#include "extproc_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace bbr::test;
using Catch::Matchers::Contains;

namespace {

std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(BBR_SOURCE_DIR) + "/" + relative, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What Envoy would apply: every header set on the request, and the body sent on.
struct RequestOutcome {
  std::map<std::string, std::string> headers;
  std::string body;
  bool immediate = false;
  int status = 0;
};

RequestOutcome request_outcome(const Exchange& exchange) {
  RequestOutcome out;
  for (const auto& r : exchange.responses) {
    const envoy::service::ext_proc::v3::CommonResponse* common = nullptr;
    if (r.has_request_headers()) common = &r.request_headers().response();
    if (r.has_request_body()) common = &r.request_body().response();
    if (r.has_immediate_response()) {
      out.immediate = true;
      out.status = r.immediate_response().status().code();
    }
    if (common == nullptr) continue;
    for (const auto& h : common->header_mutation().set_headers())
      out.headers[h.header().key()] = h.header().raw_value();
    if (common->body_mutation().has_streamed_response())
      out.body += common->body_mutation().streamed_response().body();
    else if (!common->body_mutation().body().empty())
      out.body = common->body_mutation().body();
  }
  return out;
}

// A server running the chain of the config file `config`.
ServerOptions config_server(const std::string& config, bool streaming) {
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {"--config", config};
  return options;
}

ServerOptions example_server(bool streaming) {
  return config_server(std::string(BBR_SOURCE_DIR) + "/examples/config/request-plugins.yaml",
                       streaming);
}

// Buffered: the body in one message, as Envoy sends it; streaming: in two
// chunks split inside the prompt.
std::vector<ProcessingRequest> chat_request(const std::string& body, const Headers& extra,
                                            bool streaming) {
  Headers headers{
      {":method", "POST"}, {":path", "/v1/chat/completions"}, {"content-type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  if (!streaming) return {request_headers(headers, false), request_body(body, true)};
  const std::size_t half = body.size() / 2;
  return {request_headers(headers, false), request_body(body.substr(0, half), false),
          request_body(body.substr(half), true)};
}

// `plugins validate` of each in-tree type with its parameters, on `body`.
void validate_each(const std::vector<std::pair<std::string, std::string>>& plugins,
                   const std::filesystem::path& body) {
  for (const auto& [type, parameters] : plugins) {
    const std::string so = std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so";
    const CommandResult r = run_bbr_host(
        {"plugins", "validate", so, "--body", body.string(), "--parameters", parameters});
    INFO(type << "\n" << r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Contains(so + ": OK"));
  }
}

}  // namespace

TEST_CASE(
    "the request plugins chained in examples/config rewrite, split and route a request, "
    "buffered and streaming",
    "[request-plugins]") {
  const std::string body =
      R"({"model":"auto","messages":[{"role":"user","content":"Please prove this theorem"}]})";
  for (bool streaming : {false, true}) {
    INFO((streaming ? "streaming" : "buffered"));
    ServerProcess server(example_server(streaming));
    std::string first_model;
    for (int i = 0; i < 3; ++i) {
      const Exchange exchange =
          run(server.channel(),
              chat_request(body, {{"x-request-id", "req-17"}, {"x-tenant", "acme"}}, streaming));
      REQUIRE(exchange.status.ok());
      RequestOutcome out = request_outcome(exchange);
      INFO(server.output());
      REQUIRE_FALSE(out.immediate);
      const auto sent = nlohmann::json::parse(out.body);
      const std::string model = sent.at("model");
      // The selector chose "reasoner"; the canary split made it one of two, the
      // same one for the same request id every time.
      CHECK((model == "deepseek-r1" || model == "deepseek-r1-distill"));
      if (i == 0) first_model = model;
      CHECK(model == first_model);
      CHECK(sent.at("metadata").at("tenant") == "acme");
      CHECK(sent.at("messages").at(0).at("content") == "Please prove this theorem");
      CHECK(out.headers["X-Gateway-Model-Name"] == model);
      CHECK(out.headers["X-Original-Model"] == "reasoner");
      CHECK(out.headers["X-Model-Selection"] == "rule=math; prompt_chars=25; prompt_tokens~=7");
      CHECK(out.headers["X-Tenant"] == "acme");
      CHECK(out.headers["Content-Length"] == std::to_string(out.body.size()));
    }
    // No tenant header: the default goes into the body and on to the header.
    RequestOutcome plain = request_outcome(
        run(server.channel(),
            chat_request(R"({"model":"llama-3-8b","messages":[{"role":"user","content":"hi"}]})",
                         {}, streaming)));
    CHECK(plain.headers["X-Gateway-Model-Name"] == "llama-3-8b");
    CHECK(plain.headers.count("X-Original-Model") == 0);
    CHECK(plain.headers.count("X-Model-Selection") == 0);
    CHECK(plain.headers["X-Tenant"] == "public");
  }
}

TEST_CASE(
    "header-to-body with json: true answers 400 through the server for a header that is not JSON",
    "[request-plugins]") {
  TempDir dir;
  const auto config = dir.write("bbr.yaml",
                                "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                                "kind: BodyBasedRoutingConfig\n"
                                "plugins:\n"
                                "  - {type: header-to-body, name: budget, parameters: "
                                "{header: x-budget, pointer: /max_tokens, json: true}}\n");
  for (bool streaming : {false, true}) {
    INFO((streaming ? "streaming" : "buffered"));
    ServerProcess server(config_server(config.string(), streaming));
    const RequestOutcome out =
        request_outcome(run(server.channel(), chat_request(R"({"model":"m","messages":[]})",
                                                           {{"x-budget", "{nope"}}, streaming)));
    CHECK(out.immediate);
    CHECK(out.status == 400);
    const RequestOutcome good =
        request_outcome(run(server.channel(), chat_request(R"({"model":"m","messages":[]})",
                                                           {{"x-budget", "64"}}, streaming)));
    CHECK_FALSE(good.immediate);
    CHECK(nlohmann::json::parse(good.body).at("max_tokens") == 64);
  }
}

TEST_CASE(
    "a model-rewrite rename through the server changes the model's bytes and no other, "
    "buffered and streaming",
    "[request-plugins][splice]") {
  // The edit is spliced (docs/session.md, "Body edits"): the client's spacing,
  // escapes, number spellings and member order go upstream as sent.
  TempDir dir;
  const auto config = dir.write("bbr.yaml",
                                "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                                "kind: BodyBasedRoutingConfig\n"
                                "plugins:\n"
                                "  - {type: model-rewrite, name: rewrite, parameters: "
                                "{rules: [{match: {prefix: llama-2-}, target: llama-3.1-8b}]}}\n");
  const std::string head =
      "{\n  \"stream\" : false,\n  \"messages\": [ {\"role\":\"user\", "
      "\"content\":\"caf\\u00e9 \\/ <ok> & \\\"q\\\"\"} ],\n  \"model\":\"";
  const std::string tail = "\",  \"temperature\": 1.0, \"top_p\": 1E+0, \"seed\": -0 }";
  for (bool streaming : {false, true}) {
    INFO((streaming ? "streaming" : "buffered"));
    ServerProcess server(config_server(config.string(), streaming));
    RequestOutcome out = request_outcome(
        run(server.channel(), chat_request(head + "llama-2-7b" + tail, {}, streaming)));
    INFO(server.output());
    REQUIRE_FALSE(out.immediate);
    CHECK(out.body == head + "llama-3.1-8b" + tail);
    CHECK(out.headers["Content-Length"] == std::to_string(out.body.size()));
    CHECK(out.headers["X-Gateway-Model-Name"] == "llama-3.1-8b");
  }
}

TEST_CASE(
    "every config example in docs/plugins.md and examples/config/request-plugins.yaml "
    "passes config check",
    "[request-plugins][docs]") {
  TempDir dir;
  const std::string doc = source_file("docs/plugins.md");
  int checked = 0;
  for (std::size_t at = doc.find("```yaml\n"); at != std::string::npos;
       at = doc.find("```yaml\n", at)) {
    at += 8;
    const std::size_t end = doc.find("```", at);
    REQUIRE(end != std::string::npos);
    const std::string yaml = doc.substr(at, end - at);
    at = end + 3;
    if (yaml.find("kind: BodyBasedRoutingConfig") == std::string::npos) continue;
    const auto file = dir.write("example-" + std::to_string(checked++) + ".yaml", yaml);
    const CommandResult r = run_bbr_host({"config", "check", file.string()});
    INFO(yaml << r.output);
    CHECK(r.exit_code == 0);
  }
  CHECK(checked >= 4);
  const std::string example = std::string(BBR_SOURCE_DIR) + "/examples/config/request-plugins.yaml";
  const CommandResult r = run_bbr_host({"config", "check", example});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("request: select, rewrite, tenant-into-body, route-fields"));
}

TEST_CASE(
    "the request plugins are listed and pass plugins validate with their documented parameters",
    "[request-plugins][cli]") {
  const CommandResult list = run_bbr_host({"plugins", "list"});
  INFO(list.output);
  CHECK(list.exit_code == 0);
  for (const char* type :
       {"model-rewrite", "model-selector", "body-fields-to-headers", "header-to-body"})
    CHECK_THAT(list.output, Contains(type));

  TempDir dir;
  const auto body = dir.write(
      "body.json",
      R"({"model":"auto","messages":[{"role":"user","content":"prove it"}],"metadata":{}})");
  const std::vector<std::pair<std::string, std::string>> plugins{
      {"model-rewrite", R"({"rules":[{"match":{"exact":"auto"},"target":"m2"}]})"},
      {"model-selector",
       R"({"virtualModel":"auto","defaultModel":"d","rules":[{"model":"r","when":{"keywords":"prove"}}]})"},
      {"body-fields-to-headers", R"({"fields":[{"pointer":"/model","header":"X-M"}]})"},
      {"header-to-body", R"({"header":"x-t","pointer":"/metadata/t","default":"p"})"}};
  validate_each(plugins, body);
}

TEST_CASE(
    "config check reports what only the request plugins can check (a bad regex, an empty "
    "range), each with its path",
    "[request-plugins][cli]") {
  TempDir dir;
  const auto config =
      dir.write("bad.yaml",
                "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                "kind: BodyBasedRoutingConfig\n"
                "plugins:\n"
                "  - type: model-rewrite\n"
                "    name: rw\n"
                "    parameters:\n"
                "      rules:\n"
                "        - {match: {exact: a}, target: b}\n"
                "        - {match: {regex: '(a'}, target: b}\n"
                "  - type: model-selector\n"
                "    name: sel\n"
                "    parameters: {virtualModel: auto, defaultModel: d, rules: [{model: x, when: "
                "{minPromptChars: 9, maxPromptChars: 3}}]}\n");
  const CommandResult r = run_bbr_host({"config", "check", config.string()});
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Contains("plugins[0] (type model-rewrite): create failed: "
                                "rules[1].match.regex: invalid regex \"(a\""));
  CHECK_THAT(r.output, Contains("plugins[1] (type model-selector): create failed: "
                                "rules[0].when.minPromptChars: greater than maxPromptChars"));
}

namespace {

// affinity and the guardrail's request redaction, chained as in docs/plugins.md.
const char* kAffinityAndRedaction =
    "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
    "kind: BodyBasedRoutingConfig\n"
    "plugins:\n"
    "  - {type: guardrail, name: pii, parameters: {requestDetectors: "
    "[{detector: email}, {detector: card}, {detector: api-key}]}}\n"
    "  - {type: affinity, name: affinity}\n"
    "request: [{pluginRef: pii}, {pluginRef: affinity}]\n";

}  // namespace

TEST_CASE(
    "through the server, buffered and streaming: the affinity header is the same for two turns "
    "of one conversation, and the email in the prompt is masked in the body sent upstream",
    "[request-plugins][affinity][redaction]") {
  TempDir dir;
  const auto config = dir.write("bbr.yaml", kAffinityAndRedaction);
  const std::string turn_one =
      R"({"model":"m","messages":[{"role":"system","content":"You are a support agent."},)"
      R"({"role":"user","content":"My email is jane.doe@example.com, card 4111 1111 1111 1111."}]})";
  const std::string turn_two =
      R"({"model":"m","messages":[{"role":"system","content":"You are a support agent."},)"
      R"({"role":"user","content":"My email is jane.doe@example.com, card 4111 1111 1111 1111."},)"
      R"({"role":"assistant","content":"Thanks, noted."},)"
      R"({"role":"user","content":"When does my order ship?"}]})";
  const std::string other =
      R"({"model":"m","messages":[{"role":"system","content":"You are a support agent."},)"
      R"({"role":"user","content":"A different question"}]})";
  for (bool streaming : {false, true}) {
    INFO((streaming ? "streaming" : "buffered"));
    ServerProcess server(config_server(config.string(), streaming));
    auto send = [&](const std::string& body) {
      return request_outcome(run(server.channel(), chat_request(body, {}, streaming)));
    };
    RequestOutcome one = send(turn_one);
    RequestOutcome two = send(turn_two);
    RequestOutcome three = send(other);
    INFO(server.output());
    REQUIRE_FALSE(one.immediate);
    REQUIRE_FALSE(two.immediate);
    const std::string key = one.headers["X-Gateway-Affinity-Key"];
    CHECK(key.size() == 16);
    CHECK(two.headers["X-Gateway-Affinity-Key"] == key);
    CHECK(three.headers["X-Gateway-Affinity-Key"] != key);
    // The redaction came first in the chain, so the key is the masked
    // prompt's: the same for both turns all the same.
    for (const RequestOutcome* out : {&one, &two}) {
      const auto sent = nlohmann::json::parse(out->body);
      CHECK(sent.at("messages").at(1).at("content") ==
            "My email is [REDACTED_EMAIL], card [REDACTED_CARD].");
      CHECK(sent.at("messages").at(0).at("content") == "You are a support agent.");
      CHECK(sent.at("model") == "m");
      CHECK(out->headers.at("Content-Length") == std::to_string(out->body.size()));
    }
    CHECK(nlohmann::json::parse(two.body).at("messages").at(3).at("content") ==
          "When does my order ship?");
    const std::string metrics = http_get(server.metrics_port(), "/metrics");
    INFO(metrics);
    CHECK_THAT(metrics, Contains("bbr_guardrail_redactions_total{detector=\"email\","
                                 "plugin_name=\"pii\"} 2"));
    CHECK_THAT(metrics, Contains("bbr_affinity_keys_total{plugin_name=\"affinity\","
                                 "source=\"prompt\"} 3"));
  }
}

TEST_CASE("affinity and guardrail redaction are listed and pass plugins validate",
          "[request-plugins][affinity][redaction][cli]") {
  const CommandResult list = run_bbr_host({"plugins", "list"});
  INFO(list.output);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.output, Contains("affinity"));
  TempDir dir;
  const auto body = dir.write(
      "body.json",
      R"({"model":"m","user":"u-1","messages":[{"role":"user","content":"mail a@b.io"}]})");
  const std::vector<std::pair<std::string, std::string>> plugins{
      {"affinity",
       R"({"sources":["prompt_cache_key","user","prompt"],"prompt":{"characters":2048}})"},
      {"guardrail",
       R"({"requestDetectors":[{"detector":"email"},)"
       R"({"name":"employee-id","pattern":"EMP-\\d{6}"}]})"}};
  validate_each(plugins, body);
}
