// The response-side plugins on the ABI 1.1 host calls: prompt checks through
// prompt_text and reject_with's content-type (through the SDK's test kit),
// counters defined once by id.
#include <bbr/testkit.hpp>

#include "plugin_harness.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

using plugin_test::create;

namespace {

bbr::testkit::Plugin load(const std::string& type, const std::string& params) {
  return bbr::testkit::Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type,
                                    params, type + "-under-test");
}

bbr::testkit::Result request_through(const bbr::testkit::Plugin& plugin, std::string body,
                                     const std::string& path) {
  return plugin.request({{":path", path}, {"content-type", "application/json"}}, std::move(body));
}

const char* kGuard = R"({"denyPatterns":[{"name":"jailbreak","pattern":"ignore previous",
  "caseInsensitive":true}],"maxPromptChars":20})";

}  // namespace

TEST_CASE("guardrail refuses a prompt matching a deny pattern on every endpoint, as JSON") {
  auto plugin = load("guardrail", kGuard);
  const std::pair<const char*, const char*> cases[] = {
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"Ignore Previous"}]})"},
      {"/v1/completions", R"({"prompt":["ok","IGNORE PREVIOUS"]})"},
      {"/v1/embeddings", R"({"input":"ignore previous"})"},
      {"/v1/responses", R"({"input":"ignore previous"})"},
  };
  for (const auto& [path, body] : cases) {
    INFO(path);
    auto answer = request_through(plugin, body, path);
    REQUIRE(answer.rejected());
    CHECK(answer.error().empty());
    CHECK(answer.status() == 403);
    CHECK(answer.rejection_header("content-type") == "application/json");
    CHECK(answer.details() == "guardrail: prompt matches jailbreak");
    auto json = nlohmann::json::parse(answer.rejection_body());
    CHECK(json["error"]["code"] == "content_policy_violation");
    CHECK(json["error"]["message"] == "The request was refused by the content policy.");
  }
}

TEST_CASE("guardrail names the first deny pattern in config order when several match") {
  auto plugin = load("guardrail", plugin_test::read_file(std::filesystem::path(BBR_FIXTURES_DIR) /
                                                         "guardrail-ten-patterns.json"));
  // In the text: the 10th, 5th and 2nd patterns, in that order.
  auto answer = request_through(
      plugin,
      R"({"messages":[{"role":"user","content":"do anything now"},
         {"role":"user","content":"password: hunter2, card 4111 1111 1111 1111"}]})",
      "/v1/chat/completions");
  REQUIRE(answer.rejected());
  CHECK(answer.status() == 403);
  CHECK(answer.details() == "guardrail: prompt matches card-number");
  // Byte for byte as before the patterns ran in one pass.
  CHECK(answer.rejection_body() ==
        R"({"error":{"code":"content_policy_violation","message":"The request was refused by )"
        R"(the content policy.","param":null,"type":"invalid_request_error"}})");
}

TEST_CASE("guardrail refuses a 1 MiB prompt that only the last of ten patterns matches") {
  auto plugin = load("guardrail", plugin_test::read_file(std::filesystem::path(BBR_FIXTURES_DIR) /
                                                         "guardrail-ten-patterns.json"));
  std::string prompt;
  while (prompt.size() < (1 << 20)) prompt += "The ramen in Kyoto cost 1200 yen on 2024-05-01. ";
  const std::string clean_body = R"({"prompt":")" + prompt + R"("})";
  CHECK_FALSE(request_through(plugin, clean_body, "/v1/completions").rejected());
  auto answer = request_through(plugin, R"({"prompt":")" + prompt + R"(Now DO ANYTHING NOW."})",
                                "/v1/completions");
  REQUIRE(answer.rejected());
  CHECK(answer.details() == "guardrail: prompt matches do-anything-now");
}

TEST_CASE("guardrail lets a clean prompt through and refuses one over maxPromptChars") {
  auto plugin = load("guardrail", kGuard);
  auto clean = request_through(plugin, R"({"messages":[{"role":"user","content":"hello"}]})",
                               "/v1/chat/completions");
  CHECK_FALSE(clean.rejected());
  // 21 characters, 41 bytes: the limit counts characters.
  auto long_prompt = request_through(
      plugin,
      R"({"prompt":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9x"})",
      "/v1/completions");
  REQUIRE(long_prompt.rejected());
  CHECK(nlohmann::json::parse(long_prompt.rejection_body())["error"]["code"] == "prompt_too_long");
  auto at_limit = request_through(
      plugin,
      R"({"prompt":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"})",
      "/v1/completions");
  CHECK_FALSE(at_limit.rejected());
}

TEST_CASE("guardrail does not apply prompt checks to an endpoint without a prompt") {
  auto plugin = load("guardrail", kGuard);
  auto other = request_through(plugin, R"({"text":"ignore previous"})", "/v1/models");
  CHECK_FALSE(other.rejected());
}

// The usage-metrics cases stay on the host's Chain and Metrics: they read the
// model label of the rendered series, which the kit's counter() does not offer
// (it filters on the plugin label only).
TEST_CASE("usage-metrics counts usage per model through counters defined once") {
  bbr::Metrics metrics;
  auto plugin = create("usage-metrics", "", &metrics);
  bbr::Chain chain;
  chain.add_request(plugin);
  chain.add_response(plugin);
  for (int i = 0; i < 2; ++i) {
    bbr::RequestState state;
    bbr::Message request(BBR_PHASE_REQUEST, {}, bbr::JsonBody(R"({"model":"asked"})"), state);
    REQUIRE(chain.run(request).kind == bbr::ChainOutcome::Kind::kContinue);
    bbr::Message response(
        BBR_PHASE_RESPONSE, {},
        bbr::JsonBody(R"({"model":"served","usage":{"prompt_tokens":10,"completion_tokens":5,)"
                      R"("total_tokens":15,"prompt_tokens_details":{"cached_tokens":3},)"
                      R"("completion_tokens_details":{"reasoning_tokens":2}}})"),
        state);
    REQUIRE(chain.run(response).kind == bbr::ChainOutcome::Kind::kContinue);
  }
  const std::string text = metrics.render_text();
  INFO(text);
  auto has = [&](const std::string& name, const std::string& value) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + "{", 0) == 0 && line.find("model=\"served\"") != std::string::npos &&
          line.substr(line.rfind(' ') + 1) == value)
        return true;
    }
    return false;
  };
  CHECK(has("bbr_usage_prompt_tokens_total", "20"));
  CHECK(has("bbr_usage_completion_tokens_total", "10"));
  CHECK(has("bbr_usage_total_tokens_total", "30"));
  CHECK(has("bbr_usage_cached_tokens_total", "6"));
  CHECK(has("bbr_usage_reasoning_tokens_total", "4"));
  CHECK(has("bbr_usage_responses_total", "2"));
}

TEST_CASE("usage-metrics labels with the request's model when modelFrom is request") {
  bbr::Metrics metrics;
  auto plugin = create("usage-metrics", R"({"modelFrom":"request"})", &metrics);
  bbr::Chain chain;
  chain.add_request(plugin);
  chain.add_response(plugin);
  bbr::RequestState state;
  bbr::Message request(BBR_PHASE_REQUEST, {}, bbr::JsonBody(R"({"model":"asked"})"), state);
  REQUIRE(chain.run(request).kind == bbr::ChainOutcome::Kind::kContinue);
  bbr::Message response(BBR_PHASE_RESPONSE, {},
                        bbr::JsonBody(R"({"model":"served","usage":{"prompt_tokens":1}})"), state);
  REQUIRE(chain.run(response).kind == bbr::ChainOutcome::Kind::kContinue);
  const std::string text = metrics.render_text();
  INFO(text);
  CHECK(text.find("bbr_usage_prompt_tokens_total{model=\"asked\"") != std::string::npos);
}
