// The request-side plugins (model-selector, model-rewrite, header-to-body,
// body-fields-to-headers) through the real server, in buffered and streaming
// mode; their documented configs through `config check`; the .so files
// through `plugins list` and `plugins validate`.
#include "extproc_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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
  for (const auto& [type, parameters] : plugins) {
    const std::string so = std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so";
    const CommandResult r = run_bbr_host(
        {"plugins", "validate", so, "--body", body.string(), "--parameters", parameters});
    INFO(type << "\n" << r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Contains(so + ": OK"));
  }
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
