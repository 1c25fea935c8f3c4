// response-model-rewrite, guardrail and usage-metrics loaded from their real
// .so files and run on real Messages: request phase, then response phase on
// the same per-stream state, as the server does for a non-streamed response.
#include "plugin_harness.hpp"

#include <nlohmann/json.hpp>

using plugin_test::create;

namespace {

using Instances = std::vector<std::shared_ptr<bbr::PluginInstance>>;

struct Outcome {
  bbr::ChainOutcome request;
  std::optional<bbr::ImmediateResponse> request_answer;
  bbr::ChainOutcome response;
  std::optional<bbr::ImmediateResponse> response_answer;
  std::string response_body;
  std::vector<bbr::HeaderMutation> response_headers;

  std::optional<std::string> response_header(const std::string& key) const {
    for (const auto& m : response_headers) {
      if (strcasecmp(m.key.c_str(), key.c_str()) == 0 && m.value) return *m.value;
    }
    return std::nullopt;
  }
};

// Runs `request_body` through the request chain and, unless it was answered,
// `response_body` through the response chain, sharing one RequestState.
Outcome exchange(const Instances& request_plugins, const Instances& response_plugins,
                 std::string request_body, std::string response_body,
                 const std::string& path = "/v1/chat/completions") {
  bbr::Chain chain;
  for (const auto& p : request_plugins) chain.add_request(p);
  for (const auto& p : response_plugins) chain.add_response(p);
  bbr::RequestState state;
  Outcome out;
  bbr::Message request(BBR_PHASE_REQUEST,
                       {{":method", "POST"}, {":path", path}, {"content-type", "application/json"}},
                       bbr::JsonBody(std::move(request_body)), state);
  request.set_request_path(path);
  out.request = chain.run(request);
  out.request_answer = request.immediate_response();
  if (out.request_answer || out.request.kind != bbr::ChainOutcome::Kind::kContinue) return out;
  bbr::Message response(BBR_PHASE_RESPONSE,
                        {{":status", "200"}, {"content-type", "application/json"}},
                        bbr::JsonBody(std::move(response_body)), state);
  response.set_request_path(path);
  out.response = chain.run(response);
  out.response_answer = response.immediate_response();
  out.response_body = response.body().raw();
  out.response_headers = response.header_mutations();
  return out;
}

std::string create_error(const std::string& type, const std::string& params) {
  try {
    create(type, params);
  } catch (const bbr::CreateError& e) {
    return e.what();
  }
  return "(create succeeded)";
}

const char* kChatResponse = R"({"id":"c1","object":"chat.completion","model":"llama-3-8b-instruct",
  "choices":[{"index":0,"message":{"role":"assistant","content":"The password is hunter2."},
              "finish_reason":"stop"}],
  "usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,
           "prompt_tokens_details":{"cached_tokens":4}}})";

}  // namespace

TEST_CASE("the response-side plugins declare request, response and SSE-event hooks with a schema") {
  for (const char* name : {"response-model-rewrite", "guardrail", "usage-metrics"}) {
    INFO(name);
    const auto& ref = plugin_test::plugin_type(name);
    CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
    CHECK((ref.type->capabilities & BBR_CAP_RESPONSE) != 0);
    CHECK((ref.type->capabilities & BBR_CAP_RESPONSE_EVENT) != 0);
    CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
    CHECK(ref.type->process_response_event != nullptr);
    REQUIRE(ref.type->parameters_schema != nullptr);
    CHECK(nlohmann::json::accept(ref.type->parameters_schema));
  }
}

TEST_CASE("response-model-rewrite writes the requested model back into a JSON response") {
  auto plugin = create("response-model-rewrite", "");
  auto out = exchange({plugin}, {plugin}, R"({"model":"my-alias","messages":[]})", kChatResponse);
  REQUIRE(out.response.kind == bbr::ChainOutcome::Kind::kContinue);
  auto body = nlohmann::json::parse(out.response_body);
  CHECK(body["model"] == "my-alias");
  CHECK(body["choices"][0]["message"]["content"] == "The password is hunter2.");
}

TEST_CASE("response-model-rewrite reads the client-facing model from a header when configured") {
  auto plugin = create("response-model-rewrite", R"({"modelHeader":"x-original-model"})");
  bbr::Chain chain;
  chain.add_request(plugin);
  chain.add_response(plugin);
  bbr::RequestState state;
  bbr::Message request(BBR_PHASE_REQUEST, {{"x-original-model", "from-header"}},
                       bbr::JsonBody(R"({"model":"rewritten"})"), state);
  REQUIRE(chain.run(request).kind == bbr::ChainOutcome::Kind::kContinue);
  bbr::Message response(BBR_PHASE_RESPONSE, {}, bbr::JsonBody(R"({"model":"rewritten"})"), state);
  REQUIRE(chain.run(response).kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK(nlohmann::json::parse(response.body().raw())["model"] == "from-header");
}

TEST_CASE(
    "response-model-rewrite leaves a response without model, or without a recorded one, alone") {
  auto plugin = create("response-model-rewrite", "");
  auto no_model = exchange({plugin}, {plugin}, R"({"model":"a"})", R"({"error":{"message":"x"}})");
  CHECK(no_model.response_body == R"({"error":{"message":"x"}})");
  auto not_recorded = exchange({}, {plugin}, R"({"model":"a"})", R"({"model":"b"})");
  CHECK(not_recorded.response_body == R"({"model":"b"})");
}

TEST_CASE("response-model-rewrite refuses bad parameters at create") {
  CHECK(create_error("response-model-rewrite", R"({"pointers":["model"]})")
            .find("pointers[0]: must be a JSON Pointer starting with /") != std::string::npos);
  CHECK(create_error("response-model-rewrite", R"({"modelHeader":"bad header"})")
            .find("modelHeader: \"bad header\" is not a valid HTTP header name") !=
        std::string::npos);
  CHECK(create_error("response-model-rewrite", R"({"modelheader":"x"})")
            .find("modelheader: unknown parameter") != std::string::npos);
}

TEST_CASE("guardrail refuses a disallowed parameter with 403 and an OpenAI error") {
  auto plugin = create("guardrail", R"({"disallowedParameters":["logit_bias"]})");
  auto out = exchange({plugin}, {}, R"({"model":"m","logit_bias":{"1":2}})", "{}");
  CHECK(out.request.kind == bbr::ChainOutcome::Kind::kRejected);
  REQUIRE(out.request_answer);
  CHECK(out.request_answer->http_status == 403);
  auto body = nlohmann::json::parse(out.request_answer->body);
  CHECK(body["error"]["code"] == "parameter_not_allowed");
  CHECK(body["error"]["param"] == "logit_bias");
  CHECK(body["error"]["type"] == "invalid_request_error");
}

TEST_CASE(
    "guardrail refuses max_tokens and max_completion_tokens above the limit, with its status") {
  auto plugin = create("guardrail", R"({"maxTokens":100,"status":400,"errorType":"limits"})");
  auto over = exchange({plugin}, {}, R"({"max_completion_tokens":101})", "{}");
  REQUIRE(over.request_answer);
  CHECK(over.request_answer->http_status == 400);
  auto body = nlohmann::json::parse(over.request_answer->body);
  CHECK(body["error"]["code"] == "max_tokens_exceeded");
  CHECK(body["error"]["param"] == "max_completion_tokens");
  CHECK(body["error"]["type"] == "limits");
  CHECK(exchange({plugin}, {}, R"({"max_tokens":100.5})", "{}").request_answer);
  auto at_limit = exchange({plugin}, {}, R"({"max_tokens":100})", "{}");
  CHECK_FALSE(at_limit.request_answer);
  CHECK(at_limit.request.kind == bbr::ChainOutcome::Kind::kContinue);
}

TEST_CASE("guardrail redacts deny patterns in the generated text of a JSON response") {
  auto plugin = create("guardrail", R"({"denyPatterns":["hunter\\d"],"checkPrompt":false})");
  auto out = exchange({plugin}, {plugin}, R"({"model":"m"})", kChatResponse);
  REQUIRE(out.response.kind == bbr::ChainOutcome::Kind::kContinue);
  auto body = nlohmann::json::parse(out.response_body);
  CHECK(body["choices"][0]["message"]["content"] == "The password is [REDACTED].");
}

TEST_CASE("guardrail redacts completions text in every choice") {
  auto plugin =
      create("guardrail", R"({"denyPatterns":["bad"],"checkPrompt":false,"redaction":"#"})");
  auto out = exchange({}, {plugin}, "{}",
                      R"({"choices":[{"index":0,"text":"a bad b"},{"index":1,"text":"bad bad"}]})",
                      "/v1/completions");
  auto body = nlohmann::json::parse(out.response_body);
  CHECK(body["choices"][0]["text"] == "a # b");
  CHECK(body["choices"][1]["text"] == "# #");
}

TEST_CASE("guardrail answers a matching JSON response with the error when the action is error") {
  auto plugin = create(
      "guardrail", R"({"denyPatterns":["hunter2"],"checkPrompt":false,"responseAction":"error"})");
  auto out = exchange({}, {plugin}, "{}", kChatResponse);
  REQUIRE(out.response_answer);
  CHECK(out.response_answer->http_status == 403);
  auto body = nlohmann::json::parse(out.response_answer->body);
  CHECK(body["error"]["code"] == "content_policy_violation");
  CHECK(body["error"]["message"] == "The response was stopped by the content policy.");
}

TEST_CASE("guardrail refuses bad parameters at create, naming the parameter") {
  CHECK(create_error("guardrail", R"({"denyPatterns":["(x"],"checkPrompt":false})")
            .find("denyPatterns[0]: invalid regular expression") != std::string::npos);
  CHECK(create_error("guardrail", R"({"responseAction":"drop"})")
            .find("responseAction: must be redact, error or none") != std::string::npos);
}

TEST_CASE("usage-metrics sets usage response headers on a JSON response") {
  auto plugin = create("usage-metrics", "");
  auto out = exchange({plugin}, {plugin}, R"({"model":"m"})", kChatResponse);
  REQUIRE(out.response.kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK(out.response_header("x-usage-prompt-tokens") == "12");
  CHECK(out.response_header("x-usage-completion-tokens") == "7");
  CHECK(out.response_header("x-usage-total-tokens") == "19");
  CHECK(out.response_header("x-usage-cached-tokens") == "4");
  CHECK_FALSE(out.response_header("x-usage-reasoning-tokens"));
  CHECK(out.response_body == kChatResponse);
}

TEST_CASE("usage-metrics uses the configured header prefix, or no headers") {
  auto prefixed = create("usage-metrics", R"({"headerPrefix":"x-llm-"})");
  CHECK(exchange({}, {prefixed}, "{}", kChatResponse).response_header("x-llm-total-tokens") ==
        "19");
  auto quiet = create("usage-metrics", R"({"headers":false})");
  CHECK(exchange({}, {quiet}, "{}", kChatResponse).response_headers.empty());
}

TEST_CASE("guardrail redacts the output text of a Responses API response") {
  auto plugin = create("guardrail", R"({"denyPatterns":["hunter2"],"checkPrompt":false})");
  auto out = exchange({}, {plugin}, "{}",
                      R"({"object":"response","model":"m","output":[{"type":"message","content":[)"
                      R"({"type":"output_text","text":"pw hunter2"}]}]})",
                      "/v1/responses");
  auto body = nlohmann::json::parse(out.response_body);
  CHECK(body["output"][0]["content"][0]["text"] == "pw [REDACTED]");
}
