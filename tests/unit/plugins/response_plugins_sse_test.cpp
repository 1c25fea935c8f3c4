// The response-side plugins on streamed SSE responses, through the real
// Session (the offline driver feeds it as Envoy does): edge cases the server
// test does not cover, without starting a server.
#include "offline/session_driver.hpp"

#include "config/config.hpp"
#include "loader/plugin_library.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

using bbr::offline::DriveInput;
using bbr::offline::DriveResult;
using bbr::offline::SessionDriver;

namespace {

const bbr::PluginRegistry& registry() {
  static const bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    return r;
  }();
  return reg;
}

// One instance `p` of `type`, in both chains.
SessionDriver driver_for(const std::string& type, const std::string& parameters = "{}") {
  const std::string config =
      R"({"apiVersion":"inference.networking.x-k8s.io/v1alpha1","kind":"BodyBasedRoutingConfig",
          "plugins":[{"type":")" +
      type + R"(","name":"p","parameters":)" + parameters +
      R"(}],"request":[{"pluginRef":"p"}],"response":[{"pluginRef":"p"}]})";
  return SessionDriver(bbr::parse_config(config, "test"), registry());
}

DriveInput streamed(const std::string& path, const std::string& request, const std::string& sse,
                    std::size_t chunk) {
  DriveInput in;
  in.streaming = true;
  in.request.headers = {{":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  in.request.body_chunks = {request};
  in.response = bbr::offline::DirectionInput{};
  in.response->headers = {{":status", "200"}, {"content-type", "text/event-stream"}};
  for (std::size_t at = 0; at < sse.size(); at += chunk)
    in.response->body_chunks.push_back(sse.substr(at, chunk));
  return in;
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

double metric(const DriveResult& r, const std::string& name, const std::string& label_value) {
  double sum = 0;
  for (const auto& m : r.metrics) {
    if (m.name != name) continue;
    for (const auto& [k, v] : m.labels) {
      if (v == label_value) sum += m.histogram ? static_cast<double>(m.count) : m.delta;
    }
  }
  return sum;
}

}  // namespace

TEST_CASE("guardrail keeps one window per choice: interleaved choices do not mix their text") {
  auto d = driver_for("guardrail", R"({"denyPatterns":["abcd"],"checkPrompt":false})");
  std::string sse;
  // Choice 0 writes "ab" then "cd" (a match); choice 1 writes "cd" between them
  // (no match for it: its own text is "xcd").
  sse += event(chunk({{{"index", 0}, {"delta", {{"content", "ab"}}}}}));
  sse += event(chunk({{{"index", 1}, {"delta", {{"content", "x"}}}}}));
  sse += event(chunk({{{"index", 1}, {"delta", {{"content", "cd"}}}}}));
  sse += event(chunk({{{"index", 0}, {"delta", {{"content", "cd"}}}}}));
  sse += "data: [DONE]\n\n";
  auto r = d.run(streamed("/v1/chat/completions", R"({"model":"m","stream":true})", sse, 9));
  auto events = data_of(r.response.body);
  REQUIRE(events.size() == 5);
  CHECK(nlohmann::json::parse(events[2])["choices"][0]["delta"]["content"] == "cd");
  CHECK(nlohmann::json::parse(events[3])["choices"][0]["delta"]["content"] == "[REDACTED]");
}

TEST_CASE("guardrail redacts streamed completions text and Responses API text deltas") {
  auto d =
      driver_for("guardrail", R"({"denyPatterns":["secret"],"checkPrompt":false,"redaction":"*"})");
  std::string completions = event(chunk({{{"index", 0}, {"text", "a sec"}}})) +
                            event(chunk({{{"index", 0}, {"text", "ret b"}}})) + "data: [DONE]\n\n";
  auto c = d.run(streamed("/v1/completions", R"({"prompt":"p","stream":true})", completions, 4));
  auto ce = data_of(c.response.body);
  REQUIRE(ce.size() == 3);
  CHECK(nlohmann::json::parse(ce[1])["choices"][0]["text"] == "* b");

  std::string responses =
      "event: response.output_text.delta\n" +
      event({{"type", "response.output_text.delta"}, {"output_index", 0}, {"delta", "my secr"}}) +
      "event: response.output_text.delta\n" +
      event({{"type", "response.output_text.delta"}, {"output_index", 0}, {"delta", "et!"}});
  auto rr = d.run(streamed("/v1/responses", R"({"input":"p","stream":true})", responses, 5));
  auto re = data_of(rr.response.body);
  REQUIRE(re.size() == 2);
  CHECK(nlohmann::json::parse(re[0])["delta"] == "my secr");
  CHECK(nlohmann::json::parse(re[1])["delta"] == "*!");
}

TEST_CASE(
    "response-model-rewrite rewrites every event, Responses API events included, and not [DONE]") {
  auto d = driver_for("response-model-rewrite");
  std::string sse = event(chunk({{{"index", 0}, {"delta", {{"content", "hi"}}}}})) +
                    event({{"type", "response.completed"}, {"response", {{"model", "served"}}}}) +
                    "data: [DONE]\n\n";
  auto r = d.run(streamed("/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 3));
  auto events = data_of(r.response.body);
  REQUIRE(events.size() == 3);
  CHECK(nlohmann::json::parse(events[0])["model"] == "asked");
  CHECK(nlohmann::json::parse(events[1])["response"]["model"] == "asked");
  CHECK(events[2] == "[DONE]");
}

TEST_CASE("usage-metrics counts the last running usage once, also when the stream has no [DONE]") {
  auto d = driver_for("usage-metrics");
  // Continuous usage stats: every event carries the running total.
  std::string sse;
  for (int i = 1; i <= 3; ++i) {
    auto c = chunk({{{"index", 0}, {"delta", {{"content", "x"}}}}});
    c["usage"] = {{"prompt_tokens", 5}, {"completion_tokens", i}, {"total_tokens", 5 + i}};
    sse += event(c);
  }
  auto r = d.run(streamed("/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 11));
  CHECK(metric(r, "bbr_usage_prompt_tokens_total", "served") == 5);
  CHECK(metric(r, "bbr_usage_completion_tokens_total", "served") == 3);
  CHECK(metric(r, "bbr_usage_total_tokens_total", "served") == 8);
  CHECK(metric(r, "bbr_usage_responses_total", "served") == 1);
  CHECK(metric(r, "bbr_usage_time_to_first_event_seconds", "served") == 1);
  // No headers on a streamed response: they went out before the first event.
  for (const auto& h : r.response.header_mutations) CHECK(h.key.rfind("x-usage-", 0) != 0);
}

TEST_CASE(
    "usage-metrics on a stream without usage counts nothing but still times the first event") {
  auto d = driver_for("usage-metrics");
  std::string sse =
      event(chunk({{{"index", 0}, {"delta", {{"content", "x"}}}}})) + "data: [DONE]\n\n";
  auto r = d.run(streamed("/v1/chat/completions", R"({"model":"asked","stream":true})", sse, 1));
  CHECK(metric(r, "bbr_usage_responses_total", "served") == 0);
  CHECK(metric(r, "bbr_usage_time_to_first_event_seconds", "served") == 1);
}
