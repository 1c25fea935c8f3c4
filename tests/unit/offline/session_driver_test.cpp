// The offline session driver: what it reports is what the real Session sends,
// read back from the ProcessingResponses, plus the plugins' logs and metrics.
#include "offline/session_driver.hpp"

#include "config/config.hpp"
#include "loader/plugin_library.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

using bbr::offline::DriveInput;
using bbr::offline::DriveResult;
using bbr::offline::SessionDriver;
using bbr::offline::StopResult;

namespace {

const bbr::PluginRegistry& registry() {
  static const bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;  // permissions are the loader tests' concern
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "test-plugins.so", options);
    return r;
  }();
  return reg;
}

std::string config_text(const std::string& plugins, const std::string& request,
                        const std::string& response = "[]") {
  return R"({"apiVersion": "inference.networking.x-k8s.io/v1alpha1",
             "kind": "BodyBasedRoutingConfig", "plugins": )" +
         plugins + R"(, "request": )" + request + R"(, "response": )" + response + "}";
}

SessionDriver driver(const std::string& plugins, const std::string& request,
                     const std::string& response = "[]") {
  return SessionDriver(bbr::parse_config(config_text(plugins, request, response), "test"),
                       registry());
}

DriveInput chat(const std::string& body) {
  DriveInput in;
  in.request.headers = {
      {":method", "POST"}, {":path", "/v1/chat/completions"}, {"content-type", "application/json"}};
  in.request.body_chunks = {body};
  return in;
}

bool has_set(const bbr::offline::DirectionResult& d, const std::string& key,
             const std::string& value) {
  return std::any_of(d.header_mutations.begin(), d.header_mutations.end(),
                     [&](const auto& m) { return m.key == key && m.value == value; });
}

const std::string kModelExtractor =
    R"([{"type": "body-field-to-header", "name": "extract",
         "parameters": {"fieldName": "model", "headerName": "X-Gateway-Model-Name"}}])";

}  // namespace

TEST_CASE("driver: buffered request gets the session's header mutation and clear_route_cache",
          "[offline]") {
  auto d = driver(kModelExtractor, R"([{"pluginRef": "extract"}])");
  DriveResult r = d.run(chat(R"({"model":"qwen","prompt":"hi"})"));
  CHECK(has_set(r.request, "X-Gateway-Model-Name", "qwen"));
  CHECK(r.request.clear_route_cache == true);
  CHECK(r.request.body == R"({"model":"qwen","prompt":"hi"})");
  CHECK_FALSE(r.request.body_changed);
  CHECK_FALSE(r.immediate);
  CHECK_FALSE(r.stopped);
  CHECK_FALSE(r.stream_error);
  // headers answer, then the body answer: as the server writes them
  REQUIRE(r.responses.size() == 2);
  CHECK(r.responses[0].has_request_headers());
  CHECK(r.responses[1].has_request_body());
}

TEST_CASE("driver: a client-sent routing header nothing set is removed, as serve does",
          "[offline]") {
  auto d = driver(kModelExtractor, R"([{"pluginRef": "extract"}])");
  DriveInput in = chat(R"({"prompt":"no model"})");
  in.request.headers.push_back({"x-gateway-base-model-name", "spoofed"});
  DriveResult r = d.run(in);
  CHECK(
      std::any_of(r.request.header_mutations.begin(), r.request.header_mutations.end(),
                  [](const auto& m) { return m.key == "x-gateway-base-model-name" && !m.value; }));
}

TEST_CASE(
    "driver: a rejection is the session's immediate response with the JSON content-type "
    "and names the plugin",
    "[offline]") {
  auto d = driver(R"([{"type": "test-rejecter", "name": "guard",
                       "parameters": {"status": 429, "body": "{\"error\":\"slow down\"}"}}])",
                  R"([{"pluginRef": "guard"}])");
  DriveInput in = chat(R"({"model":"m"})");
  in.response = bbr::offline::DirectionInput{{{":status", "200"}}, {R"({"choices":[]})"}};
  DriveResult r = d.run(in);
  REQUIRE(r.immediate);
  CHECK(r.immediate->status == 429);
  CHECK(r.immediate->body == R"({"error":"slow down"})");
  REQUIRE(r.immediate->headers.size() == 1);
  CHECK(r.immediate->headers[0].key == "content-type");
  CHECK(r.immediate->headers[0].value == "application/json");
  REQUIRE(r.stopped);
  CHECK(r.stopped->kind == StopResult::Kind::kRejected);
  CHECK(r.stopped->plugin == "guard");
  CHECK(r.stopped->phase == BBR_PHASE_REQUEST);
  // Envoy never reaches the upstream after an immediate response.
  CHECK_FALSE(r.response.sent);
}

TEST_CASE("driver: a failing plugin under FailClose gives the reference's answer and its text",
          "[offline]") {
  auto d = driver(R"([{"type": "test-failer", "name": "key-check",
                       "parameters": {"result": 403, "message": "no such key"}}])",
                  R"([{"pluginRef": "key-check"}])");
  DriveResult r = d.run(chat(R"({"model":"m"})"));
  REQUIRE(r.immediate);
  CHECK(r.immediate->status == 403);
  CHECK(r.immediate->body == "inference error: Forbidden - no such key");
  REQUIRE(r.stopped);
  CHECK(r.stopped->kind == StopResult::Kind::kFailed);
  CHECK(r.stopped->plugin == "key-check");
  CHECK(r.stopped->reason == "no such key");
  // The host's own error line is captured, not printed.
  CHECK(std::any_of(r.logs.begin(), r.logs.end(), [](const auto& l) {
    return l.instance.empty() && l.level == bbr::log::Level::kError &&
           l.text.find("key-check") != std::string::npos;
  }));
}

TEST_CASE("driver: a body that is not JSON is answered 400 by the host", "[offline]") {
  auto d = driver(kModelExtractor, R"([{"pluginRef": "extract"}])");
  DriveResult r = d.run(chat("not json"));
  REQUIRE(r.immediate);
  CHECK(r.immediate->status == 400);
  REQUIRE(r.stopped);
  CHECK(r.stopped->kind == StopResult::Kind::kHost);
  CHECK(r.stopped->plugin.empty());
}

TEST_CASE("driver: streamed mode answers headers with the mutation, then the body as chunks",
          "[offline]") {
  auto d = driver(R"([{"type": "test-body-mutator", "name": "mutate",
                       "parameters": {"field": "injected", "value": 1}}])",
                  R"([{"pluginRef": "mutate"}])");
  DriveInput in = chat("");
  in.streaming = true;
  in.request.body_chunks = {R"({"model":)", R"("m"})"};
  in.response = bbr::offline::DirectionInput{{{":status", "200"}}, {"data: a\n\n", "data: b\n\n"}};
  DriveResult r = d.run(in);
  CHECK(r.request.body_changed);
  CHECK(nlohmann::json::parse(r.request.body) == nlohmann::json({{"model", "m"}, {"injected", 1}}));
  CHECK(has_set(r.request, "Content-Length", std::to_string(r.request.body.size())));
  REQUIRE_FALSE(r.request.chunks.empty());
  CHECK(r.request.chunks.back().end_of_stream);
  // No response plugins: each response chunk goes through as it came.
  REQUIRE(r.response.chunks.size() == 2);
  CHECK(r.response.chunks[0].body == "data: a\n\n");
  CHECK_FALSE(r.response.chunks[0].end_of_stream);
  CHECK(r.response.chunks[1].body == "data: b\n\n");
  CHECK(r.response.chunks[1].end_of_stream);
  CHECK(r.response.body == "data: a\n\ndata: b\n\n");
  CHECK_FALSE(r.response.body_changed);
}

TEST_CASE("driver: counter changes are read from the metrics registry, per run", "[offline]") {
  auto d = driver(R"([{"type": "test-counter", "name": "count",
                       "parameters": {"name": "seen_total", "label": "kind", "value": "chat"}}])",
                  R"([{"pluginRef": "count"}])");
  for (int run = 0; run < 2; ++run) {
    DriveResult r = d.run(chat(R"({"model":"m"})"));
    auto it = std::find_if(r.metrics.begin(), r.metrics.end(),
                           [](const auto& m) { return m.name == "seen_total"; });
    REQUIRE(it != r.metrics.end());
    CHECK_FALSE(it->histogram);
    CHECK(it->delta == 1);  // this run's change, not the running total
    CHECK(it->labels == std::vector<std::pair<std::string, std::string>>{{"kind", "chat"},
                                                                         {"plugin_name", "count"}});
    CHECK(std::any_of(r.metrics.begin(), r.metrics.end(),
                      [](const auto& m) { return m.name == "bbr_success_total" && m.delta == 1; }));
    // The call's duration is observed once in the histogram.
    CHECK(std::any_of(r.metrics.begin(), r.metrics.end(), [](const auto& m) {
      return m.name == "bbr_plugin_duration_seconds" && m.histogram && m.count == 1;
    }));
  }
}

TEST_CASE("driver: a plugin's log lines are attributed to its instance, whatever the verbosity",
          "[offline]") {
  bbr_test::TempDir dir;
  // base-model-to-header warns from create() when its adapters folder is missing.
  std::string missing = (dir.path / "no-such-dir").string();
  SessionDriver d(bbr::parse_config(config_text(R"([{"type": "base-model-to-header", "name": "base",
                                       "parameters": {"adaptersDir": ")" +
                                                    missing + R"("}}])",
                                                R"([{"pluginRef": "base"}])"),
                                    "test"),
                  registry());
  auto it = std::find_if(d.create_logs().begin(), d.create_logs().end(),
                         [](const auto& l) { return l.instance == "base"; });
  REQUIRE(it != d.create_logs().end());
  CHECK(it->type == "base-model-to-header");
  CHECK(it->level == bbr::log::Level::kWarn);
  CHECK(it->text.rfind("plugin ", 0) != 0);  // the prefix is taken off
}

TEST_CASE(
    "driver: the messages sent are Envoy's: protocol_config and attributes on the first, "
    "body messages per chunk in streamed mode",
    "[offline]") {
  auto d = driver(kModelExtractor, R"([{"pluginRef": "extract"}])");
  DriveInput in = chat("");
  in.streaming = true;
  in.request.body_chunks = {R"({"model":)", R"("m"})"};
  in.attributes_json = R"({"envoy.filters.http.ext_proc": {"request.path": "/v1/chat"}})";
  DriveResult r = d.run(in);
  REQUIRE(r.requests.size() == 3);
  using envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
  CHECK(r.requests[0].protocol_config().request_body_mode() ==
        ProcessingMode::FULL_DUPLEX_STREAMED);
  CHECK(r.requests[0]
            .attributes()
            .at("envoy.filters.http.ext_proc")
            .fields()
            .at("request.path")
            .string_value() == "/v1/chat");
  CHECK_FALSE(r.requests[0].request_headers().end_of_stream());
  CHECK_FALSE(r.requests[1].request_body().end_of_stream());
  CHECK(r.requests[2].request_body().end_of_stream());
  CHECK_FALSE(r.requests[1].has_protocol_config());

  DriveInput bad = chat(R"({"model":"m"})");
  bad.attributes_json = "not json";
  CHECK_THROWS_AS(d.run(bad), std::invalid_argument);
}
