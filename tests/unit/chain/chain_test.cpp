// Chain::run with real test plugins (tests/plugins) and real metrics: failure
// policies, time budgets, results outside bbr_result_t, and the metric series
// each instance resolves once when it joins a chain.
#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <strings.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using bbr::ChainOutcome;
using bbr::FailurePolicy;
using bbr::PluginPolicy;

namespace {

const bbr::PluginRegistry& registry() {
  static const bbr::PluginRegistry loaded = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;  // permissions are the loader tests' concern
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "test-plugins.so", options);
    return r;
  }();
  return loaded;
}

std::shared_ptr<bbr::PluginInstance> instance(const std::string& type, const std::string& name,
                                              const std::string& params = "",
                                              bbr::Metrics* metrics = nullptr,
                                              PluginPolicy policy = {}) {
  const bbr::PluginTypeRef* ref = registry().find(type);
  INFO("plugin type " << type << "; load errors: " << registry().errors().size());
  REQUIRE(ref != nullptr);
  return std::make_shared<bbr::PluginInstance>(*ref, name, params, metrics, policy);
}

PluginPolicy fail_open() {
  PluginPolicy policy;
  policy.failure = FailurePolicy::kFailOpen;
  return policy;
}

struct Run {
  bbr::RequestState state;
  bbr::Message msg{BBR_PHASE_REQUEST,
                   {{"content-type", "application/json"}},
                   bbr::JsonBody(R"({"model":"m"})"),
                   state};
  std::optional<std::string> mutation(const std::string& key) const {
    for (const auto& m : msg.header_mutations()) {
      if (strcasecmp(m.key.c_str(), key.c_str()) == 0 && m.value) return *m.value;
    }
    return std::nullopt;
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("a failure under the default FailClose stops the chain with the mapped status",
          "[chain][policy]") {
  bbr::Chain chain;
  chain.add_request(instance("test-failer", "authz", R"({"result":401,"message":"no token"})"));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})"));
  Run run;
  ChainOutcome outcome = chain.run(run.msg);
  CHECK(outcome.kind == ChainOutcome::Kind::kFailed);
  CHECK(outcome.http_status == 401);
  CHECK(outcome.plugin == "authz");
  CHECK(outcome.error == "no token");
  CHECK_FALSE(run.mutation("x-after"));
}

TEST_CASE("a failure under FailOpen is counted and the chain goes on as if it had continued",
          "[chain][policy]") {
  bbr::Metrics metrics;
  bbr::Chain chain;
  chain.add_request(instance("test-failer", "optional",
                             R"({"result":503,"message":"down","setHeader":"x-failed"})", &metrics,
                             fail_open()));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})", &metrics));
  Run run;
  ChainOutcome outcome = chain.run(run.msg);
  CHECK(outcome.kind == ChainOutcome::Kind::kContinue);
  CHECK(run.mutation("x-after") == "set");
  // What the failed call changed before failing stays.
  CHECK(run.mutation("x-failed") == "before-failing");
  CHECK(run.msg.error().empty());
  const std::string text = metrics.render_text();
  CHECK(has_line(
      text,
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="optional",plugin_type="test-failer",policy="FailOpen"} 1)"));
  CHECK(has_line(
      text,
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="after",plugin_type="test-header-setter",policy="FailClose"} 0)"));
}

TEST_CASE("a plugin that throws is a failure FailOpen passes over", "[chain][policy]") {
  bbr::Chain chain;
  chain.add_request(instance("test-failer", "thrower", R"({"throw":true})", nullptr, fail_open()));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})"));
  Run run;
  CHECK(chain.run(run.msg).kind == ChainOutcome::Kind::kContinue);
  CHECK(run.mutation("x-after") == "set");
}

TEST_CASE("a reject() stands under FailOpen: it is an answer, not a failure", "[chain][policy]") {
  bbr::Metrics metrics;
  bbr::Chain chain;
  chain.add_request(instance("test-rejecter", "guard", R"({"status":403})", &metrics, fail_open()));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})"));
  Run run;
  ChainOutcome outcome = chain.run(run.msg);
  CHECK(outcome.kind == ChainOutcome::Kind::kRejected);
  CHECK(outcome.http_status == 403);
  CHECK_FALSE(run.mutation("x-after"));
  CHECK(has_line(
      metrics.render_text(),
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="guard",plugin_type="test-rejecter",policy="FailOpen"} 0)"));
}

TEST_CASE("a result outside bbr_result_t is a typed 500 naming the plugin and the value",
          "[chain][result]") {
  const int32_t value = GENERATE(418, 7, -1, 1000000);
  bbr::Metrics metrics;
  bbr::Chain chain;
  chain.add_request(
      instance("test-raw-result", "odd", fmt::format(R"({{"result":{}}})", value), &metrics));
  Run run;
  ChainOutcome outcome = chain.run(run.msg);
  CHECK(outcome.kind == ChainOutcome::Kind::kFailed);
  CHECK(outcome.http_status == 500);
  CHECK(outcome.plugin == "odd");
  CHECK(outcome.error == fmt::format("plugin odd returned unknown result {}", value));
  auto answer = bbr::reference_failure_response(outcome);
  REQUIRE(answer);
  CHECK(answer->http_status == 500);
  CHECK(answer->body ==
        fmt::format("inference error: Internal - plugin odd returned unknown result {}", value));
  CHECK(has_line(
      metrics.render_text(),
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="odd",plugin_type="test-raw-result",policy="FailClose"} 1)"));
}

TEST_CASE("a documented result from the raw C-style plugin keeps its mapping", "[chain][result]") {
  bbr::Chain chain;
  chain.add_request(instance("test-raw-result", "typed", R"({"result":429})"));
  Run run;
  ChainOutcome outcome = chain.run(run.msg);
  CHECK(outcome.kind == ChainOutcome::Kind::kFailed);
  CHECK(outcome.http_status == 429);
}

TEST_CASE("an unknown result under FailOpen is passed over like any failure",
          "[chain][result][policy]") {
  bbr::Chain chain;
  chain.add_request(instance("test-raw-result", "odd", R"({"result":418})", nullptr, fail_open()));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})"));
  Run run;
  CHECK(chain.run(run.msg).kind == ChainOutcome::Kind::kContinue);
  CHECK(run.mutation("x-after") == "set");
}

TEST_CASE("PluginInstance::process answers a value outside bbr_result_t as BBR_FAIL_INTERNAL",
          "[chain][result]") {
  auto odd = instance("test-raw-result", "odd", R"({"result":418})");
  auto typed = instance("test-raw-result", "typed", R"({"result":404})");
  auto fine = instance("test-raw-result", "fine", R"({"result":0})");
  Run run;
  CHECK(odd->call(run.msg) == 418);
  CHECK(odd->process(run.msg) == BBR_FAIL_INTERNAL);
  CHECK(typed->process(run.msg) == BBR_FAIL_NOT_FOUND);
  CHECK(fine->process(run.msg) == BBR_CONTINUE);
}

TEST_CASE("a call over its timeout is counted and its result still counts", "[chain][timeout]") {
  bbr::Metrics metrics;
  PluginPolicy policy;
  policy.timeout = 1ms;
  bbr::Chain chain;
  // Sleeps 20 ms: certainly over a 1 ms budget, whatever the machine's load.
  chain.add_request(instance("test-sleeper", "slow", R"({"sleepMs":20})", &metrics, policy));
  chain.add_request(instance("test-header-setter", "after", R"({"name":"x-after"})", &metrics));
  Run run;
  CHECK(chain.run(run.msg).kind == ChainOutcome::Kind::kContinue);
  CHECK(run.mutation("x-after") == "set");
  const std::string text = metrics.render_text();
  CHECK(has_line(
      text,
      R"(bbr_plugin_timeouts_total{extension_point="request",plugin_name="slow",plugin_type="test-sleeper"} 1)"));
  // No timeout configured: no timeout series.
  CHECK_THAT(text,
             !Catch::Contains(
                 R"(bbr_plugin_timeouts_total{extension_point="request",plugin_name="after")"));
  // Over time is not a failure.
  CHECK(has_line(
      text,
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="slow",plugin_type="test-sleeper",policy="FailClose"} 0)"));
}

TEST_CASE("a failing call over its timeout under FailClose still stops the chain",
          "[chain][timeout][policy]") {
  PluginPolicy policy;
  policy.timeout = 1ns;
  bbr::Chain chain;
  chain.add_request(instance("test-failer", "f", R"({"result":400})", nullptr, policy));
  Run run;
  CHECK(chain.run(run.msg).kind == ChainOutcome::Kind::kFailed);
}

TEST_CASE("every call's duration is observed in the series resolved when the chain was built",
          "[chain][metrics]") {
  bbr::Metrics metrics;
  bbr::Chain chain;
  auto both = instance("test-header-setter", "both", R"({"name":"x-both"})", &metrics);
  chain.add_request(both);
  chain.add_response(both);
  chain.add_request(instance("test-failer", "f", R"({"result":400})", &metrics));

  // Resolved at build time: the series exist, empty, before any call.
  std::string text = metrics.render_text();
  CHECK(has_line(
      text,
      R"(bbr_plugin_duration_seconds_count{extension_point="request",plugin_name="both",plugin_type="test-header-setter"} 0)"));
  CHECK(has_line(
      text,
      R"(bbr_plugin_duration_seconds_count{extension_point="response",plugin_name="both",plugin_type="test-header-setter"} 0)"));

  for (int i = 0; i < 3; ++i) {
    Run run;
    chain.run(run.msg);
  }
  bbr::RequestState state;
  bbr::Message response(BBR_PHASE_RESPONSE, {}, bbr::JsonBody("{}"), state);
  chain.run(response);

  text = metrics.render_text();
  CHECK(has_line(
      text,
      R"(bbr_plugin_duration_seconds_count{extension_point="request",plugin_name="both",plugin_type="test-header-setter"} 3)"));
  CHECK(has_line(
      text,
      R"(bbr_plugin_duration_seconds_count{extension_point="response",plugin_name="both",plugin_type="test-header-setter"} 1)"));
  // Failed calls are observed too, as in the reference.
  CHECK(has_line(
      text,
      R"(bbr_plugin_duration_seconds_count{extension_point="request",plugin_name="f",plugin_type="test-failer"} 3)"));
  CHECK(has_line(
      text,
      R"(bbr_plugin_failures_total{extension_point="request",plugin_name="f",plugin_type="test-failer",policy="FailClose"} 3)"));
}

TEST_CASE("a plugin's counter_add reaches the registry through the instance's cache",
          "[chain][metrics]") {
  bbr::Metrics metrics;
  bbr::Chain chain;
  chain.add_request(instance("test-counter", "counting",
                             R"({"name":"test_events_total","label":"kind","value":"seen"})",
                             &metrics));
  chain.add_request(
      instance("test-counter", "refused", R"({"name":"not a metric name"})", &metrics));
  for (int i = 0; i < 5; ++i) {
    Run run;
    CHECK(chain.run(run.msg).kind == ChainOutcome::Kind::kContinue);
  }
  const std::string text = metrics.render_text();
  CHECK(has_line(text, R"(test_events_total{kind="seen",plugin_name="counting"} 5)"));
  CHECK_THAT(text, !Catch::Contains("not a metric name"));
}

TEST_CASE("failure policies have the configuration's names", "[chain][policy]") {
  CHECK(std::string(bbr::failure_policy_name(FailurePolicy::kFailClose)) == "FailClose");
  CHECK(std::string(bbr::failure_policy_name(FailurePolicy::kFailOpen)) == "FailOpen");
  CHECK(PluginPolicy{}.failure == FailurePolicy::kFailClose);
  CHECK(PluginPolicy{}.timeout.count() == 0);
}
