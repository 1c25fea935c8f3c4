// model-selector, loaded from its real .so and run through the SDK test kit; its
// rule logic (selection_rules.hpp) also on its own.
#include "request_harness.hpp"

#include "model-selector/selection_rules.hpp"

#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using plugin_test::create_error;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

std::string model_of(const std::string& body) { return nlohmann::json::parse(body).at("model"); }

const char* kSelector = R"({
  "virtualModel": "auto",
  "defaultModel": "small",
  "explainHeader": "X-Model-Selection",
  "rules": [
    {"name": "long-context", "model": "big-ctx", "when": {"minPromptTokens": 1000}},
    {"name": "code", "model": "coder", "when": {"keywords": ["def ", "#include", "stack trace"]}},
    {"name": "math", "model": "reasoner", "when": {"regex": "\\b(prove|integral|theorem)\\b"}},
    {"name": "agent", "model": "tool-user", "when": {"tools": true}},
    {"name": "embed", "model": "embedder", "when": {"endpoints": ["/v1/embeddings"]}},
    {"name": "streamed-chat", "model": "fast", "when": {"stream": true, "endpoints": "/v1/chat/completions"}}
  ]})";

std::string chat(const std::string& content, const std::string& extra = "") {
  return R"({"model":"auto",)" + extra + R"("messages":[{"role":"user","content":)" +
         nlohmann::json(content).dump() + "}]}";
}

plugin_test::RequestRun select(const std::string& body,
                               const std::string& path = "/v1/chat/completions") {
  auto run = run_one("model-selector", kSelector, body, {}, path);
  REQUIRE(run.ok());
  return run;
}

}  // namespace

TEST_CASE("model-selector declares a request, thread-safe type with a parameter schema",
          "[model-selector]") {
  const auto& ref = plugin_test::plugin_type("model-selector");
  CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
  REQUIRE(ref.type->parameters_schema != nullptr);
  CHECK(nlohmann::json::parse(ref.type->parameters_schema).at("required") ==
        nlohmann::json::array({"virtualModel", "defaultModel"}));
}

TEST_CASE("model-selector: a long prompt chooses the long-context model and says why",
          "[model-selector]") {
  auto run = select(chat(std::string(5000, 'x')));
  CHECK(model_of(run.body) == "big-ctx");
  CHECK(run.header("X-Gateway-Model-Name") == "big-ctx");
  CHECK(run.header("X-Model-Selection") ==
        "rule=long-context; prompt_chars=5000; prompt_tokens~=1250");
}

TEST_CASE("model-selector: prompt length counts characters, not bytes", "[model-selector]") {
  // 1000 "é" are 2000 bytes but 1000 characters: 250 tokens, short.
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "é";
  auto run = select(chat(text));
  CHECK(model_of(run.body) == "small");
  CHECK(run.header("X-Model-Selection") == "rule=default; prompt_chars=1000; prompt_tokens~=250");
}

TEST_CASE("model-selector: keywords match case-insensitively anywhere in the prompt",
          "[model-selector]") {
  CHECK(model_of(select(chat("here is my STACK TRACE, help")).body) == "coder");
  CHECK(model_of(select(chat("#include <stdio.h>")).body) == "coder");
  CHECK(model_of(select(chat("tell me a story")).body) == "small");
}

TEST_CASE("model-selector: regexes match anywhere in the prompt", "[model-selector]") {
  CHECK(model_of(select(chat("Please PROVE that 2+2=4")).body) == "reasoner");
  CHECK(model_of(select(chat("improve my essay")).body) == "small");
}

TEST_CASE("model-selector: the prompt of every message and of content parts is read",
          "[model-selector]") {
  const std::string body = R"({"model":"auto","messages":[
      {"role":"system","content":"You are helpful."},
      {"role":"user","content":[{"type":"text","text":"What is this"},
                                {"type":"image_url","image_url":{"url":"http://x"}},
                                {"type":"text","text":"theorem about?"}]}]})";
  CHECK(model_of(select(body).body) == "reasoner");
}

TEST_CASE("model-selector: tools, endpoint and stream rules", "[model-selector]") {
  CHECK(model_of(
            select(chat("hi", R"("tools":[{"type":"function","function":{"name":"f"}}],)")).body) ==
        "tool-user");
  CHECK(model_of(select(chat("hi", R"("tools":[],)")).body) == "small");
  CHECK(model_of(select(R"({"model":"auto","input":"embed me"})", "/v1/embeddings").body) ==
        "embedder");
  CHECK(model_of(select(chat("hi", R"("stream":true,)")).body) == "fast");
  CHECK(
      model_of(select(R"({"model":"auto","prompt":"hi","stream":true})", "/v1/completions").body) ==
      "small");
  // The query string is not part of the endpoint.
  CHECK(model_of(select(chat("hi", R"("stream":true,)"), "/v1/chat/completions?x=1").body) ==
        "fast");
}

TEST_CASE("model-selector: completions and responses prompts are read by endpoint",
          "[model-selector]") {
  CHECK(model_of(select(R"({"model":"auto","prompt":["a","prove it"]})", "/v1/completions").body) ==
        "reasoner");
  CHECK(model_of(select(R"({"model":"auto","instructions":"Prove","input":"x"})", "/v1/responses")
                     .body) == "reasoner");
  CHECK(model_of(select(R"({"model":"auto","input":[{"role":"user","content":[
      {"type":"input_text","text":"a stack trace"}]}]})",
                        "/v1/responses")
                     .body) == "coder");
}

TEST_CASE("model-selector: only the virtual model is touched", "[model-selector]") {
  auto run =
      run_one("model-selector", kSelector, chat(std::string(5000, 'x')).replace(10, 4, "gpt4"));
  REQUIRE(run.ok());
  CHECK_FALSE(run.body_changed);
  CHECK(run.headers_untouched());
  auto no_model = run_one("model-selector", kSelector, R"({"prompt":"x"})");
  CHECK(no_model.headers_untouched());
}

TEST_CASE("model-selector: with no rules it always picks the default; headers are configurable",
          "[model-selector]") {
  auto run = run_one("model-selector",
                     R"({"virtualModel":"smart","defaultModel":"m1","routingHeader":"X-Route"})",
                     R"({"model":"smart","messages":[]})");
  REQUIRE(run.ok());
  CHECK(model_of(run.body) == "m1");
  CHECK(run.header("X-Route") == "m1");
  CHECK_FALSE(run.touched("X-Gateway-Model-Name"));
  auto quiet = run_one("model-selector",
                       R"({"virtualModel":"smart","defaultModel":"m1","setRoutingHeader":false})",
                       R"({"model":"smart"})");
  CHECK(quiet.headers_untouched());
  CHECK(model_of(quiet.body) == "m1");
}

TEST_CASE("model-selector: all conditions of one rule must hold", "[model-selector]") {
  const char* params = R"({"virtualModel":"auto","defaultModel":"d","rules":[
      {"name":"short-code","model":"c","when":{"keywords":"code","maxPromptChars":20}}]})";
  CHECK(model_of(run_one("model-selector", params, chat("code please")).body) == "c");
  CHECK(model_of(run_one("model-selector", params, chat("code please, and a long text")).body) ==
        "d");
}

TEST_CASE("model-selector: a 1 MiB prompt of a regex-hostile shape is handled in linear time",
          "[model-selector]") {
  // (a+)+$ backtracks exponentially in std::regex; RE2 does not.
  const char* params = R"({"virtualModel":"auto","defaultModel":"d","rules":[
      {"model":"r","when":{"regex":"(a+)+$"}}]})";
  CHECK(model_of(run_one("model-selector", params, chat(std::string(1 << 20, 'a') + "!")).body) ==
        "d");
}

TEST_CASE("model-selector refuses bad parameters, saying what and where", "[model-selector]") {
  CHECK_THAT(load_error("model-selector", R"({"defaultModel":"d"})"),
             Contains("virtualModel: required"));
  CHECK_THAT(load_error("model-selector", R"({"virtualModel":"auto"})"),
             Contains("defaultModel: required"));
  CHECK_THAT(create_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x"},{"model":"y","when":{"regex":["ok","(bad"]}}]})"),
             Contains("rules[1].when.regex[1]: invalid regex"));
  CHECK_THAT(load_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x","when":{"minPromptTokns":3}}]})"),
             Contains("rules[0].when.minPromptTokns: unknown field (did you mean minPromptTokens?)"));
  CHECK_THAT(create_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x","when":{"minPromptChars":10,"maxPromptChars":5}}]})"),
             Contains("rules[0].when.minPromptChars: greater than maxPromptChars"));
  CHECK_THAT(load_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x","when":{"endpoints":["v1/chat"]}}]})"),
             Contains("rules[0].when.endpoints[0]: must match the pattern \"^/\""));
  CHECK_THAT(load_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x","when":{"keywords":[]}}]})"),
             Contains("rules[0].when.keywords: must have at least 1 item"));
  CHECK_THAT(load_error("model-selector", R"({"virtualModel":"a","defaultModel":"d","rules":[
      {"model":"x","when":{"regex":""}}]})"),
             Contains("rules[0].when.regex: must be at least 1 character long"));
  CHECK_THAT(load_error("model-selector",
                          R"({"virtualModel":"a","defaultModel":"d","rules":[{"when":{}}]})"),
             Contains("rules[0].model: required"));
  CHECK_THAT(create_error("model-selector",
                          R"({"virtualModel":"a","defaultModel":"d","explainHeader":"a b"})"),
             Contains("explainHeader: \"a b\" is not a valid HTTP header name"));
}

TEST_CASE("model-selector's rules evaluate facts without a host", "[model-selector]") {
  nlohmann::json params = nlohmann::json::parse(R"({"rules":[
      {"name":"big","model":"b","when":{"minPromptTokens":10,"stream":false}},
      {"name":"any","model":"a"}]})");
  auto rules = model_selector::parse_rules(bbr_plugins::ParameterObject(params, ""));
  model_selector::RequestFacts facts;
  facts.prompt_tokens = 10;
  CHECK(model_selector::select(rules, facts)->name == "big");
  facts.stream = true;
  CHECK(model_selector::select(rules, facts)->name == "any");
  CHECK(model_selector::explain(nullptr, facts) ==
        "rule=default; prompt_chars=0; prompt_tokens~=10");
  CHECK(bbr_plugins::estimated_tokens(0) == 0);
  CHECK(bbr_plugins::estimated_tokens(1) == 1);
  CHECK(bbr_plugins::estimated_tokens(8) == 2);
  CHECK(bbr_plugins::utf8_length("héllo") == 5);
}
