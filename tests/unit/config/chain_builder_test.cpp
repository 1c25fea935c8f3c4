// build_chain against real plugin .so files: the in-tree plugins and the
// ABI test plugins (a request+response plugin and one whose create() fails).
#include "config/chain_builder.hpp"

#include "config/config.hpp"
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using bbr::build_chain;
using bbr::ChainConfig;
using bbr::ConfigError;
using bbr::parse_config;

namespace {

const std::filesystem::path kAbiPluginDir = std::filesystem::path(BBR_BINARY_DIR) / "tests/abi/plugins";

// The in-tree plugins plus the two ABI test plugins these tests need.
const bbr::PluginRegistry& registry() {
  static const bbr::PluginRegistry loaded = [] {
    bbr::LoadOptions options;
    // Permissions are the loader's tests' business; a group-writable build tree must not matter here.
    options.allow_insecure_permissions = true;
    bbr::PluginRegistry r;
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    r.add_file(kAbiPluginDir / "abi_good.so", options);
    r.add_file(kAbiPluginDir / "abi_create_fails.so", options);
    return r;
  }();
  REQUIRE(loaded.errors().empty());  // build the plugin targets (and abi_plugins) first
  REQUIRE(loaded.find("body-field-to-header") != nullptr);
  REQUIRE(loaded.find("base-model-to-header") != nullptr);
  REQUIRE(loaded.find("abi-test-good") != nullptr);
  REQUIRE(loaded.find("abi-test-create-fails") != nullptr);
  return loaded;
}

ChainConfig config_from(const std::string& body) {
  return parse_config("apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: BodyBasedRoutingConfig\n" + body,
                      "test.yaml");
}

std::vector<std::string> build_problems(const ChainConfig& config) {
  try {
    build_chain(config, registry(), nullptr);
  } catch (const ConfigError& error) {
    return error.problems();
  }
  return {};
}

std::vector<std::string> names(const std::vector<std::shared_ptr<bbr::PluginInstance>>& instances) {
  std::vector<std::string> out;
  for (const auto& instance : instances) out.push_back(instance->name());
  return out;
}

std::string available_types() {
  auto types = registry().type_names();
  std::string text;
  for (const auto& type : types) text += (text.empty() ? "" : ", ") + type;
  return text;
}

}  // namespace

TEST_CASE("the default chain builds from the in-tree plugins, even without an adapters directory") {
  bbr::Chain chain = build_chain(bbr::default_config(), registry(), nullptr);
  CHECK(names(chain.request_plugins()) == std::vector<std::string>{"body-field-to-header", "base-model-to-header"});
  CHECK(chain.request_plugins()[0]->type_name() == "body-field-to-header");
  CHECK(chain.response_plugins().empty());
}

TEST_CASE("a configuration file's request and response lists decide the chains and their order") {
  auto chain = build_chain(config_from(R"(
plugins:
  - {type: abi-test-good, name: marker}
  - type: body-field-to-header
    name: model-extractor
    parameters: {fieldName: model, headerName: X-Gateway-Model-Name}
request: [{pluginRef: model-extractor}, {pluginRef: marker}]
response: [{pluginRef: marker}]
)"),
                           registry(), nullptr);
  CHECK(names(chain.request_plugins()) == std::vector<std::string>{"model-extractor", "marker"});
  CHECK(names(chain.response_plugins()) == std::vector<std::string>{"marker"});
  // One instance serves both chains.
  CHECK(chain.request_plugins()[1].get() == chain.response_plugins()[0].get());
}

TEST_CASE("without a request list each plugin that can serve requests runs, in plugin order") {
  auto chain = build_chain(config_from(R"(
plugins:
  - {type: abi-test-good, name: marker}
  - {type: body-field-to-header, name: m, parameters: {fieldName: model, headerName: x-m}}
)"),
                           registry(), nullptr);
  CHECK(names(chain.request_plugins()) == std::vector<std::string>{"marker", "m"});
  CHECK(chain.response_plugins().empty());
}

TEST_CASE("plugin flags place each instance in every chain its type serves, as the reference does") {
  auto chain = build_chain(
      bbr::config_from_plugin_flags({R"(body-field-to-header:m:{"fieldName":"model","headerName":"x-m"})",
                                     "abi-test-good:marker", "abi-test-good:marker"}),
      registry(), nullptr);
  // Repeated flags make repeated instances, as in the reference.
  CHECK(names(chain.request_plugins()) == std::vector<std::string>{"m", "marker", "marker"});
  CHECK(names(chain.response_plugins()) == std::vector<std::string>{"marker", "marker"});
  CHECK(chain.request_plugins()[1].get() == chain.response_plugins()[0].get());
  CHECK(chain.request_plugins()[1].get() != chain.request_plugins()[2].get());
}

TEST_CASE("an unknown plugin type lists the available types") {
  auto problems = build_problems(config_from("plugins:\n  - {type: abi-test-good, name: a}\n  - {type: nope, name: b}\n"));
  CHECK(problems == std::vector<std::string>{"plugins[1].type: unknown plugin type \"nope\" (available: " +
                                             available_types() + ")"});
  CHECK(available_types().find("body-field-to-header") != std::string::npos);
}

TEST_CASE("parameters are checked against the plugin's schema, with their paths") {
  auto problems = build_problems(config_from(R"(
plugins:
  - {type: body-field-to-header, name: a, parameters: {fieldName: 5}}
  - {type: base-model-to-header, name: b, parameters: {adaptersDir: /tmp, pollIntervalMs: soon}}
  - {type: body-field-to-header, name: c}
)"));
  CHECK(problems == std::vector<std::string>{
                        "plugins[0].parameters.headerName: required",
                        "plugins[0].parameters.fieldName: must be a string (got an integer)",
                        "plugins[1].parameters.pollIntervalMs: must be an integer (got a string)",
                        "plugins[2].parameters.fieldName: required",
                        "plugins[2].parameters.headerName: required",
                    });
}

TEST_CASE("flag parameters that are not a JSON object are refused before create") {
  auto problems = build_problems(bbr::config_from_plugin_flags({"body-field-to-header:m:[1]"}));
  CHECK(problems == std::vector<std::string>{"--plugin #1 parameters: must be a JSON object (got an array)"});
}

TEST_CASE("a create() failure carries the plugin's own text") {
  auto problems = build_problems(
      config_from("plugins:\n  - {type: abi-test-create-fails, name: f, parameters: {threshold: high}}\n"));
  CHECK(problems == std::vector<std::string>{
                        "plugins[0] (type abi-test-create-fails): create failed: parameter 'threshold' must be a "
                        "number, got {\"threshold\":\"high\"}"});
}

TEST_CASE("a request-only plugin listed in the response chain is refused") {
  auto problems = build_problems(config_from(R"(
plugins:
  - {type: body-field-to-header, name: m, parameters: {fieldName: model, headerName: x-m}}
response: [{pluginRef: m}]
)"));
  CHECK(problems == std::vector<std::string>{
                        "response[0].pluginRef: plugin \"m\" (type body-field-to-header) cannot process responses "
                        "(it handles: request)"});
}

TEST_CASE("every build problem is reported at once") {
  auto problems = build_problems(config_from(R"(
plugins:
  - {type: nope, name: a}
  - {type: body-field-to-header, name: b}
  - {type: abi-test-create-fails, name: c}
  - {type: body-field-to-header, name: d, parameters: {fieldName: model, headerName: x}}
request: [{pluginRef: d}]
response: [{pluginRef: d}]
)"));
  CHECK(problems.size() == 5);
  CHECK(problems[0].rfind("plugins[0].type: unknown plugin type \"nope\"", 0) == 0);
  CHECK(problems[1] == "plugins[1].parameters.fieldName: required");
  CHECK(problems[2] == "plugins[1].parameters.headerName: required");
  CHECK(problems[3].rfind("plugins[2] (type abi-test-create-fails): create failed: ", 0) == 0);
  CHECK(problems[4].rfind("response[0].pluginRef: plugin \"d\"", 0) == 0);
}

TEST_CASE("hand-built configs are checked for duplicate names and references too") {
  ChainConfig config;
  config.plugins = {{"abi-test-good", "x", nullptr, "custom #1", {}},
                    {"abi-test-good", "x", nullptr, "custom #2", {}}};
  config.request = {"x", "y", "x"};
  auto problems = build_problems(config);
  CHECK(problems == std::vector<std::string>{
                        "custom #2 name: duplicate of custom #1 name \"x\"",
                        "request[1].pluginRef: unknown plugin \"y\" (defined: x, x)",
                        "request[2].pluginRef: \"x\" is already listed at request[0]; a plugin runs once per chain",
                    });
}

TEST_CASE("a create() failure about one parameter is reported at that parameter's path") {
  auto problems = build_problems(config_from(R"(
plugins:
  - {type: body-field-to-header, name: m, parameters: {fieldName: model, headerName: X Bad}}
  - {type: base-model-to-header, name: b, parameters: {adaptersDir: /nonexistent, headerName: x-envoy-upstream}}
  - {type: body-field-to-header, name: ok, parameters: {fieldName: model, headerName: x-ok}}
)"));
  CHECK(
      problems ==
      std::vector<std::string>{
          R"(plugins[0].parameters.headerName: "X Bad" is not a valid HTTP header name (instance m, type body-field-to-header))",
          R"(plugins[1].parameters.headerName: "x-envoy-upstream" is a header Envoy does not let an ext_proc server set (instance b, type base-model-to-header))",
      });
}

TEST_CASE("a bad header name in a plugin flag is reported at the flag's parameter") {
  auto problems = build_problems(bbr::config_from_plugin_flags(
      {R"(body-field-to-header:m:{"fieldName":"model","headerName":"a:b"})"}));
  CHECK(
      problems ==
      std::vector<std::string>{
          R"(--plugin #1 parameters.headerName: "a:b" is not a valid HTTP header name (instance m, type body-field-to-header))"});
}

TEST_CASE("each instance gets the failure policy and timeout its configuration names") {
  auto chain = build_chain(config_from(R"(
plugins:
  - {type: body-field-to-header, name: open, failurePolicy: FailOpen, timeout: 50ms,
     parameters: {fieldName: model, headerName: x-a}}
  - {type: body-field-to-header, name: closed, parameters: {fieldName: model, headerName: x-b}}
)"),
                           registry(), nullptr);
  REQUIRE(chain.request_plugins().size() == 2);
  CHECK(chain.request_plugins()[0]->policy().failure == bbr::FailurePolicy::kFailOpen);
  CHECK(chain.request_plugins()[0]->policy().timeout == std::chrono::milliseconds(50));
  CHECK(chain.request_plugins()[1]->policy().failure == bbr::FailurePolicy::kFailClose);
  CHECK(chain.request_plugins()[1]->policy().timeout.count() == 0);
}

TEST_CASE("a chain built with metrics resolves each instance's series once, before any request") {
  bbr::Metrics metrics;
  auto chain = build_chain(config_from(R"(
plugins:
  - {type: body-field-to-header, name: m, failurePolicy: FailOpen, timeout: 2s,
     parameters: {fieldName: model, headerName: x-m}}
)"),
                           registry(), &metrics);
  const std::string text = metrics.render_text();
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_duration_seconds_count{extension_point="request",plugin_name="m",plugin_type="body-field-to-header"} 0)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_failures_total{extension_point="request",plugin_name="m",plugin_type="body-field-to-header",policy="FailOpen"} 0)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_timeouts_total{extension_point="request",plugin_name="m",plugin_type="body-field-to-header"} 0)"));
}
