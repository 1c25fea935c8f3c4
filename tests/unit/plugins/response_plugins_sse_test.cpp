// The response-side plugins on streamed SSE responses, through the SDK's test
// kit (the real Session, fed as Envoy does): edge cases the server test does
// not cover, without starting a server.
#include <bbr/testkit.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace {

// One instance of `type`, in the request and the response chain.
bbr::testkit::Plugin plugin_for(const std::string& type, const std::string& parameters = "{}") {
  return bbr::testkit::Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type,
                                    parameters, "p");
}

// A streamed (FULL_DUPLEX_STREAMED) exchange: the request, then an SSE
// response delivered in pieces of `chunk` bytes; the response's result.
bbr::testkit::Result streamed(const bbr::testkit::Plugin& plugin, const std::string& path,
                              const std::string& request, const std::string& sse,
                              std::size_t chunk) {
  bbr::testkit::Exchange in;
  in.streaming = true;
  in.request_headers = {{":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  in.request_body = request;
  in.response_headers =
      bbr::testkit::Headers{{":status", "200"}, {"content-type", "text/event-stream"}};
  for (std::size_t at = 0; at < sse.size(); at += chunk)
    in.response_body.push_back(sse.substr(at, chunk));
  return plugin.exchange(in).response;
}

std::string event(const nlohmann::json& data) { return "data: " + data.dump() + "\n\n"; }

nlohmann::json chunk(const nlohmann::json& choices) {
  return {
      {"id", "c"}, {"object", "chat.completion.chunk"}, {"model", "served"}, {"choices", choices}};
}

std::vector<std::string> data_of(const std::string& sse) {
  std::vector<std::string> out;
  std::istringstream lines(sse);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  }
  return out;
}

}  // namespace

TEST_CASE("guardrail keeps one window per choice: interleaved choices do not mix their text") {
  auto d = plugin_for("guardrail", R"({"denyPatterns":["abcd"],"checkPrompt":false})");
  std::string sse;
  // Choice 0 writes "ab" then "cd" (a match); choice 1 writes "cd" between them
  // (no match for it: its own text is "xcd").
  sse += event(chunk({{{"index", 0}, {"delta", {{"content", "ab"}}}}}));
  sse += event(chunk({{{"index", 1}, {"delta", {{"content", "x"}}}}}));
  sse += event(chunk({{{"index", 1}, {"delta", {{"content", "cd"}}}}}));
  sse += event(chunk({{{"index", 0}, {"delta", {{"content", "cd"}}}}}));
  sse += "data: [DONE]\n\n";
  auto r = streamed(d, "/v1/chat/completions", R"({"model":"m","stream":true})", sse, 9);
  auto events = data_of(r.body());
  REQUIRE(events.size() == 5);
  CHECK(nlohmann::json::parse(events[2])["choices"][0]["delta"]["content"] == "cd");
  CHECK(nlohmann::json::parse(events[3])["choices"][0]["delta"]["content"] == "[REDACTED]");
}

TEST_CASE("guardrail redacts streamed completions text and Responses API text deltas") {
  auto d =
      plugin_for("guardrail", R"({"denyPatterns":["secret"],"checkPrompt":false,"redaction":"*"})");
  std::string completions = event(chunk({{{"index", 0}, {"text", "a sec"}}})) +
                            event(chunk({{{"index", 0}, {"text", "ret b"}}})) + "data: [DONE]\n\n";
  auto c = streamed(d, "/v1/completions", R"({"prompt":"p","stream":true})", completions, 4);
  auto ce = data_of(c.body());
  REQUIRE(ce.size() == 3);
  CHECK(nlohmann::json::parse(ce[1])["choices"][0]["text"] == "* b");

  std::string responses =
      "event: response.output_text.delta\n" +
      event({{"type", "response.output_text.delta"}, {"output_index", 0}, {"delta", "my secr"}}) +
      "event: response.output_text.delta\n" +
      event({{"type", "response.output_text.delta"}, {"output_index", 0}, {"delta", "et!"}});
  auto rr = streamed(d, "/v1/responses", R"({"input":"p","stream":true})", responses, 5);
  auto re = data_of(rr.body());
  REQUIRE(re.size() == 2);
  CHECK(nlohmann::json::parse(re[0])["delta"] == "my secr");
  CHECK(nlohmann::json::parse(re[1])["delta"] == "*!");
}

TEST_CASE(
    "response-model-rewrite rewrites every event, Responses API events included, and not [DONE]") {
  auto d = plugin_for("response-model-rewrite");
  std::string sse = event(chunk({{{"index", 0}, {"delta", {{"content", "hi"}}}}})) +
                    event({{"type", "response.completed"}, {"response", {{"model", "served"}}}}) +
                    "data: [DONE]\n\n";
  auto r = streamed(d, "/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 3);
  auto events = data_of(r.body());
  REQUIRE(events.size() == 3);
  CHECK(nlohmann::json::parse(events[0])["model"] == "asked");
  CHECK(nlohmann::json::parse(events[1])["response"]["model"] == "asked");
  CHECK(events[2] == "[DONE]");
}

TEST_CASE("usage-metrics counts the last running usage once, also when the stream has no [DONE]") {
  auto d = plugin_for("usage-metrics");
  // Continuous usage stats: every event carries the running total.
  std::string sse;
  for (int i = 1; i <= 3; ++i) {
    auto c = chunk({{{"index", 0}, {"delta", {{"content", "x"}}}}});
    c["usage"] = {{"prompt_tokens", 5}, {"completion_tokens", i}, {"total_tokens", 5 + i}};
    sse += event(c);
  }
  auto r = streamed(d, "/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 11);
  CHECK(r.counter("bbr_usage_prompt_tokens_total") == 5);
  CHECK(r.counter("bbr_usage_completion_tokens_total") == 3);
  CHECK(r.counter("bbr_usage_total_tokens_total") == 8);
  CHECK(r.counter("bbr_usage_responses_total") == 1);
  CHECK(r.observations("bbr_usage_time_to_first_event_seconds") == 1);
  // No headers on a streamed response: they went out before the first event.
  for (const auto& [name, value] : r.headers_set()) CHECK(name.rfind("x-usage-", 0) != 0);
}

TEST_CASE(
    "usage-metrics on a stream without usage counts nothing but still times the first event") {
  auto d = plugin_for("usage-metrics");
  std::string sse =
      event(chunk({{{"index", 0}, {"delta", {{"content", "x"}}}}})) + "data: [DONE]\n\n";
  auto r = streamed(d, "/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 1);
  CHECK(r.counter("bbr_usage_responses_total") == 0);
  CHECK(r.observations("bbr_usage_time_to_first_event_seconds") == 1);
}

TEST_CASE(
    "usage-metrics writes the usage of a stream without a DONE event as metadata under configured "
    "names at its end, and drops the usage event only it asked for") {
  auto d = plugin_for("usage-metrics",
                      R"({"metadata":{"namespace":"quota","totalKey":"tokens"},)"
                      R"("tenant":{"bodyField":"user"},"includeUsage":{}})");
  auto usage = chunk(nlohmann::json::array());
  usage["usage"] = {{"prompt_tokens", 4}, {"completion_tokens", 2}};
  const std::string sse = event(chunk({{{"index", 0}, {"delta", {{"content", "x"}}}}})) +
                          event(usage);
  auto r = streamed(d, "/v1/chat/completions", R"({"model":"asked","stream":true,"user":"u1"})",
                    sse, 1);
  CHECK(r.metadata("quota", "tokens") == "6");  // prompt + completion: no total reported
  CHECK(r.metadata("quota", "llm_input_token") == "4");
  CHECK(r.metadata("quota", "llm_cached_input_token") == "0");
  CHECK(r.metadata("quota", "tenant") == "\"u1\"");
  CHECK(r.counter("bbr_usage_total_tokens_total") == 6);
  auto events = data_of(r.body());
  REQUIRE(events.size() == 1);
  CHECK_FALSE(nlohmann::json::parse(events[0]).contains("usage"));
}
