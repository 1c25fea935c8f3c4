// The plugins that read prompts, models, generated text and usage, on the
// OpenAI Responses API and Anthropic Messages formats: the request, JSON
// response and SSE stream fixtures of tests/fixtures (written from the public
// API references), through the SDK's test kit with the real .so files.
#include <bbr/testkit.hpp>

#include "plugin_harness.hpp"
#include "request_harness.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <tuple>
#include <vector>

namespace {

using nlohmann::json;

std::string fixture(const std::string& name) {
  return plugin_test::read_file(std::string(BBR_FIXTURES_DIR) + "/" + name);
}

bbr::testkit::Plugin load(const std::string& type, const std::string& parameters = "{}") {
  return bbr::testkit::Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type,
                                    parameters, "p");
}

// The request, then the response: a JSON body whole, or an SSE body in
// pieces of `chunk` bytes (streamed, as --streaming delivers it).
bbr::testkit::ExchangeResult exchange(std::vector<bbr::testkit::Plugin> plugins,
                                      const std::string& path, const std::string& request,
                                      const std::string& response, bool sse,
                                      std::size_t chunk = 0) {
  bbr::testkit::Exchange in;
  in.streaming = sse;
  in.request_headers = {{":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  in.request_body = request;
  in.response_headers = bbr::testkit::Headers{
      {":status", "200"}, {"content-type", sse ? "text/event-stream" : "application/json"}};
  if (!sse || chunk == 0) {
    in.response_body = {response};
  } else {
    for (std::size_t at = 0; at < response.size(); at += chunk)
      in.response_body.push_back(response.substr(at, chunk));
  }
  return bbr::testkit::Chain(std::move(plugins)).exchange(in);
}

// The data of each forwarded event, parsed.
std::vector<json> event_data(const bbr::testkit::Result& result) {
  std::vector<json> out;
  for (const auto& e : result.events()) out.push_back(json::parse(e.data));
  return out;
}

// The request fixture with "stream": true.
std::string streamed_request(const std::string& name) {
  json body = json::parse(fixture(name));
  body["stream"] = true;
  return body.dump();
}

}  // namespace

// ---- prompt text -------------------------------------------------------------

TEST_CASE("guardrail and model-selector read an Anthropic request's system and message text",
          "[formats]") {
  // The deny pattern is in the system blocks: refused as from any endpoint.
  auto guard =
      plugin_test::run_on({load("guardrail", R"({"denyPatterns":["platform engineers"]})")},
                          fixture("messages.request.json"), {}, "/v1/messages");
  CHECK(guard.rejected);
  CHECK(guard.status == 403);
  // The last user message's text block (the image block has none).
  auto select = plugin_test::run_on(
      {load("model-selector", R"({"virtualModel":"auto","defaultModel":"small",
          "explainHeader":"x-why","rules":[{"name":"headers","model":"big",
          "when":{"keywords":"what do the headers carry"}}]})")},
      [] {
        json body = json::parse(fixture("messages.request.json"));
        body["model"] = "auto";
        return body.dump();
      }(),
      {}, "/v1/messages");
  REQUIRE(select.ok());
  CHECK(json::parse(select.body)["model"] == "big");
  // Every piece: system, then each message (one piece per message, "\n" between).
  const std::string prompt =
      "You are a terse assistant for platform engineers.\nWhy route on the request body?\n"
      "Because the body names the model.\nAnd what do the headers carry?";
  CHECK(select.header("x-why") ==
        "rule=headers; prompt_chars=" + std::to_string(prompt.size()) +
            "; prompt_tokens~=" + std::to_string((prompt.size() + 3) / 4));
}

TEST_CASE("model-rewrite rewrites the model of Responses API and Anthropic requests", "[formats]") {
  const char* rules = R"({"rules":[
      {"match":{"exact":"claude-sonnet-4-5"},"target":"claude-sonnet-4-5-20250929"},
      {"match":{"exact":"gpt-oss-20b"},"target":"openai/gpt-oss-20b"}],
      "originalModelHeader":"x-original-model"})";
  for (auto [file, path, target] :
       {std::tuple{"messages.request.json", "/v1/messages", "claude-sonnet-4-5-20250929"},
        std::tuple{"responses.request.json", "/v1/responses", "openai/gpt-oss-20b"}}) {
    INFO(file);
    auto run = plugin_test::run_on({load("model-rewrite", rules)}, fixture(file), {}, path);
    REQUIRE(run.ok());
    CHECK(json::parse(run.body)["model"] == target);
    CHECK(run.header("X-Gateway-Model-Name") == target);
    CHECK(run.header("x-original-model") == json::parse(fixture(file))["model"].get<std::string>());
  }
}

// ---- the model back to the client's name ----------------------------------------

TEST_CASE(
    "response-model-rewrite writes the client's model into response.model of Responses API "
    "events and message.model of Anthropic's message_start",
    "[formats]") {
  SECTION("a Responses API stream") {
    auto r = exchange({load("response-model-rewrite")}, "/v1/responses",
                      streamed_request("responses.request.json"), fixture("responses.response.sse"),
                      true, 13);
    const auto events = event_data(r.response);
    REQUIRE(events.size() == 12);
    int rewritten = 0;
    for (const auto& e : events) {
      if (!e.contains("response")) continue;
      CHECK(e["response"]["model"] == "gpt-oss-20b");
      ++rewritten;
    }
    CHECK(rewritten == 3);  // created, in_progress, completed
    // No model is added where there was none.
    CHECK_FALSE(events[4].contains("model"));
  }
  SECTION("an Anthropic stream") {
    auto r = exchange({load("response-model-rewrite")}, "/v1/messages",
                      streamed_request("messages.request.json"), fixture("messages.response.sse"),
                      true, 7);
    const auto events = event_data(r.response);
    REQUIRE(events.size() == 9);
    CHECK(events[0]["message"]["model"] == "claude-sonnet-4-5");
    for (std::size_t i = 1; i < events.size(); ++i) CHECK_FALSE(events[i].contains("model"));
  }
  SECTION("JSON responses of both") {
    for (auto [request, response, path, model] :
         {std::tuple{"responses.request.json", "responses.response.json", "/v1/responses",
                     "gpt-oss-20b"},
          std::tuple{"messages.request.json", "messages.response.json", "/v1/messages",
                     "claude-sonnet-4-5"}}) {
      auto r = exchange({load("response-model-rewrite")}, path, fixture(request), fixture(response),
                        false);
      CHECK(json::parse(r.response.body())["model"] == model);
    }
  }
}

// ---- generated text --------------------------------------------------------------

TEST_CASE(
    "guardrail redacts a Responses API stream's deltas across events and the whole text its "
    "done and completed events repeat",
    "[formats]") {
  // "the route" arrives as " and the route" + ...: inside one delta; "names the
  // model" spans two deltas (" names the model," is one; keep a cross-event one
  // too: "body names").
  auto r = exchange({load("guardrail", R"({"denyPatterns":["body names","the route"],
                                           "checkPrompt":false,"redaction":"#"})")},
                    "/v1/responses", streamed_request("responses.request.json"),
                    fixture("responses.response.sse"), true, 29);
  const auto events = event_data(r.response);
  REQUIRE(events.size() == 12);
  std::string deltas;
  for (const auto& e : events) {
    if (e["type"] == "response.output_text.delta") deltas += e["delta"].get<std::string>();
  }
  // "body" had gone out before " names" showed the match: only the rest is held.
  CHECK(deltas == "Because the body# the model, and # follows it.");
  const std::string whole = "Because the # the model, and # follows it.";
  CHECK(events[8]["text"] == whole);                                          // output_text.done
  CHECK(events[9]["part"]["text"] == whole);                                  // content_part.done
  CHECK(events[10]["item"]["content"][0]["text"] == whole);                   // output_item.done
  CHECK(events[11]["response"]["output"][0]["content"][0]["text"] == whole);  // completed
  CHECK(r.response.counter("bbr_guardrail_matches_total", "response_redacted") == 6);
}

TEST_CASE("guardrail redacts Anthropic text: a JSON message's blocks and a stream's deltas",
          "[formats]") {
  const char* params = R"({"denyPatterns":["the tenant and"],"checkPrompt":false})";
  auto whole = exchange({load("guardrail", params)}, "/v1/messages",
                        fixture("messages.request.json"), fixture("messages.response.json"), false);
  CHECK(json::parse(whole.response.body())["content"][0]["text"] ==
        "The route, [REDACTED] the model the router chose.");
  // "the tenant" ends one delta, " and" starts the next.
  auto streamed = exchange({load("guardrail", params)}, "/v1/messages",
                           streamed_request("messages.request.json"),
                           fixture("messages.response.sse"), true, 5);
  const auto events = event_data(streamed.response);
  REQUIRE(events.size() == 9);
  std::string text;
  for (const auto& e : events) {
    if (e["type"] == "content_block_delta") text += e["delta"]["text"].get<std::string>();
  }
  CHECK(text == "The route, the tenant[REDACTED] the model the router chose.");
}

TEST_CASE("guardrail with responseAction error stops an Anthropic stream at the matching delta",
          "[formats]") {
  auto r = exchange(
      {load("guardrail",
            R"({"denyPatterns":["router"],"checkPrompt":false,"responseAction":"error"})")},
      "/v1/messages", streamed_request("messages.request.json"), fixture("messages.response.sse"),
      true, 64);
  const auto events = r.response.events();
  // message_start, content_block_start, ping, two deltas, then the error and [DONE].
  REQUIRE(events.size() == 7);
  CHECK(json::parse(events[5].data)["error"]["code"] == "content_policy_violation");
  CHECK(events[6].data == "[DONE]");
}

// ---- usage -----------------------------------------------------------------------

TEST_CASE("usage-metrics counts a Responses API response, JSON and streamed", "[formats]") {
  auto whole = exchange({load("usage-metrics")}, "/v1/responses", fixture("responses.request.json"),
                        fixture("responses.response.json"), false);
  CHECK(whole.response.header("x-usage-prompt-tokens") == "38");
  CHECK(whole.response.header("x-usage-completion-tokens") == "52");
  CHECK(whole.response.header("x-usage-total-tokens") == "90");
  CHECK(whole.response.header("x-usage-cached-tokens") == "16");
  CHECK(whole.response.header("x-usage-reasoning-tokens") == "39");
  CHECK(whole.response.counter("bbr_usage_total_tokens_total", "openai/gpt-oss-20b") == 90);

  auto streamed =
      exchange({load("usage-metrics")}, "/v1/responses", streamed_request("responses.request.json"),
               fixture("responses.response.sse"), true, 17);
  // Labelled with the model response.created named; counted once, at the end.
  CHECK(streamed.response.counter("bbr_usage_prompt_tokens_total", "openai/gpt-oss-20b") == 38);
  CHECK(streamed.response.counter("bbr_usage_completion_tokens_total") == 13);
  CHECK(streamed.response.counter("bbr_usage_total_tokens_total") == 51);
  CHECK(streamed.response.counter("bbr_usage_cached_tokens_total") == 16);
  CHECK(streamed.response.counter("bbr_usage_responses_total") == 1);
  CHECK(streamed.response.observations("bbr_usage_time_to_first_event_seconds",
                                       "openai/gpt-oss-20b") == 1);
}

TEST_CASE(
    "usage-metrics counts Anthropic usage: cache reads and writes are prompt tokens, a stream's "
    "usage is joined from message_start and message_delta",
    "[formats]") {
  auto whole = exchange({load("usage-metrics")}, "/v1/messages", fixture("messages.request.json"),
                        fixture("messages.response.json"), false);
  CHECK(whole.response.header("x-usage-prompt-tokens") == "1221");  // 21 + 1200 read + 0 written
  CHECK(whole.response.header("x-usage-completion-tokens") == "14");
  CHECK(whole.response.header("x-usage-total-tokens") == "1235");
  CHECK(whole.response.header("x-usage-cached-tokens") == "1200");
  CHECK_FALSE(whole.response.header("x-usage-reasoning-tokens"));

  for (std::size_t chunk : {std::size_t{1}, std::size_t{50}, std::size_t{0}}) {
    INFO("chunk " << chunk);
    auto streamed =
        exchange({load("usage-metrics")}, "/v1/messages", streamed_request("messages.request.json"),
                 fixture("messages.response.sse"), true, chunk);
    const std::string model = "claude-sonnet-4-5-20250929";  // message_start's
    CHECK(streamed.response.counter("bbr_usage_prompt_tokens_total", model) == 1221);
    // message_delta's count so far replaces message_start's 1.
    CHECK(streamed.response.counter("bbr_usage_completion_tokens_total", model) == 14);
    CHECK(streamed.response.counter("bbr_usage_total_tokens_total", model) == 1235);
    CHECK(streamed.response.counter("bbr_usage_cached_tokens_total", model) == 1200);
    CHECK(streamed.response.counter("bbr_usage_responses_total", model) == 1);
  }
}
