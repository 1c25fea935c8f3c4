// response-model-rewrite, guardrail and usage-metrics loaded from their real
// .so files and run through the SDK's test kit: request phase, then response
// phase of one exchange, as the server does for a non-streamed response.
#include <bbr/testkit.hpp>

#include "plugin_harness.hpp"

#include <nlohmann/json.hpp>

#include <utility>

using bbr::testkit::Plugin;

namespace {

Plugin create(const std::string& type, const std::string& params) {
  return Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type, params,
                      type + "-under-test");
}

// `request_body` through the plugins' request phase and, unless that was
// answered, `response_body` (buffered JSON) through their response phase, as
// the session does for a non-streamed response.
bbr::testkit::ExchangeResult exchange(const std::vector<Plugin>& plugins, std::string request_body,
                                      std::string response_body,
                                      const std::string& path = "/v1/chat/completions",
                                      bbr::testkit::Headers extra_request_headers = {}) {
  bbr::testkit::Exchange in;
  in.request_headers = {{":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  for (auto& h : extra_request_headers) in.request_headers.push_back(std::move(h));
  in.request_body = std::move(request_body);
  in.response_headers =
      bbr::testkit::Headers{{":status", "200"}, {"content-type", "application/json"}};
  in.response_body = {std::move(response_body)};
  return bbr::testkit::Chain(plugins).exchange(in);
}

// The plugin's own create() error (plugin_harness.hpp says why not the kit's).
std::string create_error(const std::string& type, const std::string& params) {
  return plugin_test::own_create_error(type, params);
}

// What every front end says: the host's schema check, then create().
std::string load_error(const std::string& type, const std::string& params) {
  try {
    create(type, params);
  } catch (const bbr::testkit::Error& e) {
    return e.what();
  }
  return "(created)";
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
  auto out = exchange({plugin}, R"({"model":"my-alias","messages":[]})", kChatResponse);
  REQUIRE_FALSE(out.response.rejected());
  auto body = nlohmann::json::parse(out.response.body());
  CHECK(body["model"] == "my-alias");
  CHECK(body["choices"][0]["message"]["content"] == "The password is hunter2.");
}

TEST_CASE("response-model-rewrite reads the client-facing model from a header when configured") {
  auto plugin = create("response-model-rewrite", R"({"modelHeader":"x-original-model"})");
  auto out = exchange({plugin}, R"({"model":"rewritten"})", R"({"model":"rewritten"})",
                      "/v1/chat/completions", {{"x-original-model", "from-header"}});
  REQUIRE_FALSE(out.request.rejected());
  REQUIRE_FALSE(out.response.rejected());
  CHECK(nlohmann::json::parse(out.response.body())["model"] == "from-header");
}

TEST_CASE(
    "response-model-rewrite leaves a response without model, or without a recorded one, alone") {
  auto plugin = create("response-model-rewrite", "");
  auto no_model = exchange({plugin}, R"({"model":"a"})", R"({"error":{"message":"x"}})");
  CHECK(no_model.response.body() == R"({"error":{"message":"x"}})");
  // (A request without a model records none.)
  auto not_recorded = exchange({plugin}, R"({"messages":[]})", R"({"model":"b"})");
  CHECK(not_recorded.response.body() == R"({"model":"b"})");
}

TEST_CASE("response-model-rewrite refuses bad parameters at create") {
  CHECK(create_error("response-model-rewrite", R"({"pointers":["model"]})")
            .find("pointers[0]: must be a JSON Pointer starting with '/'") != std::string::npos);
  CHECK(create_error("response-model-rewrite", R"({"modelHeader":"bad header"})")
            .find("modelHeader: \"bad header\" is not a valid HTTP header name") !=
        std::string::npos);
  CHECK(load_error("response-model-rewrite", R"({"modelheader":"x"})")
            .find("modelheader: unknown field (did you mean modelHeader?)") != std::string::npos);
  CHECK(load_error("usage-metrics", R"({"bucket":[1]})")
            .find("bucket: unknown field (did you mean buckets?)") != std::string::npos);
  CHECK(load_error("usage-metrics", R"({"modelFrom":"both"})")
            .find("modelFrom: must be one of") != std::string::npos);
  CHECK(load_error("usage-metrics", R"({"buckets":[]})")
            .find("buckets: must have at least 1 item") != std::string::npos);
  CHECK(load_error("usage-metrics", R"({"buckets":[0.1,0.05]})")
            .find("buckets[1]: must be greater than the one before") != std::string::npos);
}

TEST_CASE("guardrail refuses a disallowed parameter with 403 and an OpenAI error") {
  auto plugin = create("guardrail", R"({"disallowedParameters":["logit_bias"]})");
  auto out = exchange({plugin}, R"({"model":"m","logit_bias":{"1":2}})", "{}");
  REQUIRE(out.request.rejected());
  CHECK(out.request.error().empty());
  CHECK(out.request.status() == 403);
  auto body = nlohmann::json::parse(out.request.rejection_body());
  CHECK(body["error"]["code"] == "parameter_not_allowed");
  CHECK(body["error"]["param"] == "logit_bias");
  CHECK(body["error"]["type"] == "invalid_request_error");
}

TEST_CASE(
    "guardrail refuses max_tokens and max_completion_tokens above the limit, with its status") {
  auto plugin = create("guardrail", R"({"maxTokens":100,"status":400,"errorType":"limits"})");
  auto over = exchange({plugin}, R"({"max_completion_tokens":101})", "{}");
  REQUIRE(over.request.rejected());
  CHECK(over.request.status() == 400);
  auto body = nlohmann::json::parse(over.request.rejection_body());
  CHECK(body["error"]["code"] == "max_tokens_exceeded");
  CHECK(body["error"]["param"] == "max_completion_tokens");
  CHECK(body["error"]["type"] == "limits");
  CHECK(exchange({plugin}, R"({"max_tokens":100.5})", "{}").request.rejected());
  auto at_limit = exchange({plugin}, R"({"max_tokens":100})", "{}");
  CHECK_FALSE(at_limit.request.rejected());
}

TEST_CASE("guardrail redacts deny patterns in the generated text of a JSON response") {
  auto plugin = create("guardrail", R"({"denyPatterns":["hunter\\d"],"checkPrompt":false})");
  auto out = exchange({plugin}, R"({"model":"m"})", kChatResponse);
  REQUIRE_FALSE(out.response.rejected());
  auto body = nlohmann::json::parse(out.response.body());
  CHECK(body["choices"][0]["message"]["content"] == "The password is [REDACTED].");
}

TEST_CASE("guardrail redacts completions text in every choice") {
  auto plugin =
      create("guardrail", R"({"denyPatterns":["bad"],"checkPrompt":false,"redaction":"#"})");
  auto out = exchange({plugin}, "{}",
                      R"({"choices":[{"index":0,"text":"a bad b"},{"index":1,"text":"bad bad"}]})",
                      "/v1/completions");
  auto body = nlohmann::json::parse(out.response.body());
  CHECK(body["choices"][0]["text"] == "a # b");
  CHECK(body["choices"][1]["text"] == "# #");
}

TEST_CASE("guardrail answers a matching JSON response with the error when the action is error") {
  auto plugin = create(
      "guardrail", R"({"denyPatterns":["hunter2"],"checkPrompt":false,"responseAction":"error"})");
  auto out = exchange({plugin}, "{}", kChatResponse);
  REQUIRE(out.response.rejected());
  CHECK(out.response.status() == 403);
  auto body = nlohmann::json::parse(out.response.rejection_body());
  CHECK(body["error"]["code"] == "content_policy_violation");
  CHECK(body["error"]["message"] == "The response was stopped by the content policy.");
}

TEST_CASE("guardrail refuses bad parameters at create, naming the parameter") {
  CHECK(create_error("guardrail", R"({"denyPatterns":["(x"],"checkPrompt":false})")
            .find("denyPatterns[0]: invalid regular expression") != std::string::npos);
  // The schema's words, on every front end (guardrail_rules_test has the
  // pattern checks a schema cannot make).
  const std::pair<const char*, const char*> schema_cases[] = {
      {R"({"responseAction":"drop"})", "responseAction: must be one of"},
      {R"({"denyPatterns":[{"name":"x"}]})", "denyPatterns[0].pattern: required"},
      {R"({"denyPatterns":[{"pattern":"x","flags":"i"}]})", "denyPatterns[0].flags: unknown field"},
      {R"({"denyPatterns":[42]})", "denyPatterns[0]: must be a string or an object (got"},
      {R"({"denyPatterns":[""]})", "denyPatterns[0]: must be at least 1 character long"},
      {R"({"denyPatterns":"x"})", "denyPatterns: must be an array (got"},
      {R"({"status":200})", "status: must be >= 400 (got 200)"},
      {R"({"maxTokens":0})", "maxTokens: must be >= 1 (got 0)"},
      {R"({"disallowedParameters":["a",""]})",
       "disallowedParameters[1]: must be at least 1 character long"},
      {R"({"denyPatern":[]})", "denyPatern: unknown field (did you mean denyPatterns?)"},
      {R"({"streamWindowBytes":70000})", "streamWindowBytes: must be <= 65536 (got 70000)"},
  };
  for (const auto& [params, message] : schema_cases) {
    INFO(params);
    CHECK_THAT(load_error("guardrail", params), Catch::Matchers::Contains(message));
  }
}

TEST_CASE("usage-metrics sets usage response headers on a JSON response") {
  auto plugin = create("usage-metrics", "");
  auto out = exchange({plugin}, R"({"model":"m"})", kChatResponse);
  REQUIRE_FALSE(out.response.rejected());
  CHECK(out.response.header("x-usage-prompt-tokens") == "12");
  CHECK(out.response.header("x-usage-completion-tokens") == "7");
  CHECK(out.response.header("x-usage-total-tokens") == "19");
  CHECK(out.response.header("x-usage-cached-tokens") == "4");
  CHECK_FALSE(out.response.header("x-usage-reasoning-tokens"));
  CHECK(out.response.body() == kChatResponse);
}

TEST_CASE("usage-metrics uses the configured header prefix, or no headers") {
  auto prefixed = create("usage-metrics", R"({"headerPrefix":"x-llm-"})");
  CHECK(exchange({prefixed}, "{}", kChatResponse).response.header("x-llm-total-tokens") == "19");
  auto quiet = create("usage-metrics", R"({"headers":false})");
  auto quiet_out = exchange({quiet}, "{}", kChatResponse);
  CHECK(quiet_out.response.headers_set().empty());
  CHECK(quiet_out.response.headers_removed().empty());
}

TEST_CASE("guardrail redacts the output text of a Responses API response") {
  auto plugin = create("guardrail", R"({"denyPatterns":["hunter2"],"checkPrompt":false})");
  auto out = exchange({plugin}, "{}",
                      R"({"object":"response","model":"m","output":[{"type":"message","content":[)"
                      R"({"type":"output_text","text":"pw hunter2"}]}]})",
                      "/v1/responses");
  auto body = nlohmann::json::parse(out.response.body());
  CHECK(body["output"][0]["content"][0]["text"] == "pw [REDACTED]");
}
