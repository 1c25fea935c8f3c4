// Configuration files: the accepted shape and every class of mistake, each
// reported with the path it concerns.
#include "config/config.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using bbr::ChainConfig;
using bbr::ConfigError;
using bbr::parse_config;

namespace {

const char* const kGoodYaml = R"(
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
pluginDirs: [/usr/lib/bbr-host/plugins, /opt/plugins]
plugins:
  - type: body-field-to-header
    name: model-extractor
    parameters: {fieldName: model, headerName: X-Gateway-Model-Name}
  - type: base-model-to-header
    name: base-model
    parameters:
      adaptersDir: /etc/bbr/adapters
request:  [{pluginRef: model-extractor}, {pluginRef: base-model}]
response: []
)";

// Every problem parse_config reports for `text` (none when it parses).
std::vector<std::string> problems_of(const std::string& text, const std::string& source = "test.yaml") {
  try {
    parse_config(text, source);
  } catch (const ConfigError& error) {
    return error.problems();
  }
  return {};
}

std::string with_header(const std::string& body) {
  return "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: BodyBasedRoutingConfig\n" + body;
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

std::string parameters_of(const std::string& parameters_yaml) {
  auto config = parse_config(with_header("plugins:\n  - type: t\n    name: n\n    parameters: " +
                                         parameters_yaml + "\n"),
                             "test.yaml");
  return config.plugins.at(0).parameters.dump();
}

struct TempFile {
  std::filesystem::path path;
  TempFile(const std::string& name, const std::string& content)
      : path(std::filesystem::temp_directory_path() /
             ("bbr-config-test-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("a complete YAML configuration parses into plugins and chains in order") {
  ChainConfig config = parse_config(kGoodYaml, "bbr.yaml");
  CHECK(config.source == "bbr.yaml");
  CHECK(config.plugin_dirs == std::vector<std::string>{"/usr/lib/bbr-host/plugins", "/opt/plugins"});
  REQUIRE(config.plugins.size() == 2);
  CHECK(config.plugins[0].type == "body-field-to-header");
  CHECK(config.plugins[0].name == "model-extractor");
  CHECK(config.plugins[0].parameters.dump() == R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
  CHECK(config.plugins[0].origin == "plugins[0]");
  CHECK(config.plugins[1].parameters.dump() == R"({"adaptersDir":"/etc/bbr/adapters"})");
  CHECK(config.plugins[1].origin == "plugins[1]");
  CHECK(config.request == std::vector<std::string>{"model-extractor", "base-model"});
  CHECK(config.response.empty());
  CHECK_FALSE(config.request_by_capability);
  CHECK_FALSE(config.response_by_capability);
}

TEST_CASE("the same configuration as a .json file parses to the same result") {
  const char* json_text = R"({
    "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
    "kind": "BodyBasedRoutingConfig",
    "plugins": [
      {"type": "body-field-to-header", "name": "model-extractor",
       "parameters": {"fieldName": "model", "headerName": "X-Gateway-Model-Name", "n": 3, "f": 1.5}},
      {"type": "base-model-to-header", "name": "base-model"}
    ],
    "request": [{"pluginRef": "model-extractor"}, {"pluginRef": "base-model"}],
    "response": [{"pluginRef": "model-extractor"}]
  })";
  ChainConfig config = parse_config(json_text, "bbr.json");
  REQUIRE(config.plugins.size() == 2);
  CHECK(config.plugins[0].parameters.dump() ==
        R"({"fieldName":"model","headerName":"X-Gateway-Model-Name","n":3,"f":1.5})");
  CHECK(config.plugins[1].parameters.is_null());
  CHECK(config.request == std::vector<std::string>{"model-extractor", "base-model"});
  CHECK(config.response == std::vector<std::string>{"model-extractor"});
}

TEST_CASE("JSON text is accepted as YAML when the source is not a .json file") {
  ChainConfig config = parse_config(
      R"({"apiVersion": "inference.networking.x-k8s.io/v1alpha1", "kind": "BodyBasedRoutingConfig",
          "plugins": [{"type": "t", "name": "a", "parameters": {"x": "1", "y": 1}}]})",
      "inline");
  REQUIRE(config.plugins.size() == 1);
  CHECK(config.plugins[0].parameters.dump() == R"({"x":"1","y":1})");
}

TEST_CASE("load_config_file reads YAML and JSON files from disk") {
  TempFile yaml("a.yaml", kGoodYaml);
  ChainConfig config = bbr::load_config_file(yaml.path);
  CHECK(config.source == yaml.path.string());
  CHECK(config.plugins.size() == 2);

  TempFile json("b.json", R"({"apiVersion": "inference.networking.x-k8s.io/v1alpha1",
    "kind": "BodyBasedRoutingConfig", "plugins": []})");
  CHECK(bbr::load_config_file(json.path).plugins.empty());
}

TEST_CASE("load_config_file names a missing file") {
  try {
    bbr::load_config_file("/nonexistent/bbr.yaml");
    FAIL("expected ConfigError");
  } catch (const ConfigError& error) {
    REQUIRE(error.problems().size() == 1);
    CHECK(error.problems()[0] == "/nonexistent/bbr.yaml: cannot open: No such file or directory");
  }
}

TEST_CASE("without request every plugin that can serve requests runs in order, without response none") {
  ChainConfig config = parse_config(with_header(R"(
plugins:
  - {type: t1, name: a}
  - {type: t2, name: b}
)"),
                                    "x.yaml");
  CHECK(config.request == std::vector<std::string>{"a", "b"});
  CHECK(config.request_by_capability);
  CHECK(config.response.empty());
  CHECK_FALSE(config.response_by_capability);
}

TEST_CASE("YAML scalars keep their types in parameters and quoted scalars stay strings") {
  CHECK(parameters_of("{s: text, i: 42, neg: -7, f: 2.5, t: true, F: false, z: null, tilde: ~}") ==
        R"({"s":"text","i":42,"neg":-7,"f":2.5,"t":true,"F":false,"z":null,"tilde":null})");
  CHECK(parameters_of(R"({q1: "42", q2: 'true', q3: "null", q4: !!str 7})") ==
        R"({"q1":"42","q2":"true","q3":"null","q4":"7"})");
  CHECK(parameters_of("{hex: 0x1F, oct: 0o17, yes: yes, exp: 1e3, big: 18446744073709551615}") ==
        R"({"hex":31,"oct":15,"yes":"yes","exp":1000.0,"big":18446744073709551615})");
  CHECK(parameters_of("{list: [1, a, {k: v}], nested: {deep: {deeper: [true]}}}") ==
        R"({"list":[1,"a",{"k":"v"}],"nested":{"deep":{"deeper":[true]}}})");
  CHECK(parameters_of("{}") == "{}");
}

TEST_CASE("an empty parameters entry means no parameters") {
  CHECK(parameters_of("") == "null");
  CHECK(parameters_of("null") == "null");
}

TEST_CASE("a wrong apiVersion and kind are reported with the expected values") {
  auto problems = problems_of("apiVersion: v2\nkind: Other\nplugins: []\n");
  CHECK(problems == std::vector<std::string>{
                        "apiVersion: must be inference.networking.x-k8s.io/v1alpha1 (got \"v2\")",
                        "kind: must be BodyBasedRoutingConfig (got \"Other\")"});
  auto missing = problems_of("plugins: []\n");
  CHECK(missing == std::vector<std::string>{
                       "apiVersion: required, must be inference.networking.x-k8s.io/v1alpha1",
                       "kind: required, must be BodyBasedRoutingConfig"});
}

TEST_CASE("all problems of a configuration are reported at once, each with its path") {
  auto problems = problems_of(with_header(R"(
plugin_dirs: [/x]
plugins:
  - type: body-field-to-header
    name: x
    paramters: {fieldName: model}
  - name: y
  - type: t
    name: x
  - type: t
    name: "bad name!"
  - type: t
    name: z
    parameters: [1, 2]
  - just-a-string
request: [{pluginRef: foo}, {pluginRef: x}, {pluginRef: x}, {ref: y}]
response: {pluginRef: x}
)"));
  CHECK(contains(problems, "plugin_dirs: unknown field (did you mean pluginDirs?)"));
  CHECK(contains(problems, "plugins[0].paramters: unknown field (did you mean parameters?)"));
  CHECK(contains(problems, "plugins[1].type: required"));
  CHECK(contains(problems, "plugins[2].name: duplicate of plugins[0].name \"x\""));
  CHECK(contains(problems,
                 "plugins[3].name: must contain only letters, digits, '.', '_' and '-' (got \"bad name!\")"));
  CHECK(contains(problems, "plugins[4].parameters: must be a mapping (got a list)"));
  CHECK(contains(problems, "plugins[5]: must be a mapping with type, name and parameters (got a string)"));
  CHECK(contains(problems, "request[0].pluginRef: unknown plugin \"foo\" (defined: x)"));
  CHECK(contains(problems,
                 "request[2].pluginRef: \"x\" is already listed at request[1]; a plugin runs once per chain"));
  CHECK(contains(problems, "request[3].ref: unknown field (allowed: pluginRef)"));
  CHECK(contains(problems, "request[3].pluginRef: required"));
  CHECK(contains(problems, "response: must be a list of {pluginRef: <name>} (got a mapping)"));
  CHECK(problems.size() == 12);
}

TEST_CASE("the defined plugins are listed when a reference is unknown") {
  auto problems = problems_of(with_header(R"(
plugins: [{type: t, name: a}, {type: t, name: b}]
response: [{pluginRef: c}]
)"));
  CHECK(problems == std::vector<std::string>{"response[0].pluginRef: unknown plugin \"c\" (defined: a, b)"});
}

TEST_CASE("wrong value types are named with what was found") {
  auto problems = problems_of(with_header(R"(
pluginDirs: /single/dir
plugins:
  - type: 7
    name: [a]
  - type: ""
    name: ok
)"));
  CHECK(problems == std::vector<std::string>{
                        "pluginDirs: must be a list of directories (got a string)",
                        "plugins[0].type: must be a string (got an integer)",
                        "plugins[0].name: must be a string (got a list)",
                        "plugins[1].type: must not be empty",
                    });
}

TEST_CASE("plugins is required and the document must be a mapping") {
  CHECK(problems_of(with_header("")) == std::vector<std::string>{"plugins: required (a list of plugin instances)"});
  CHECK(problems_of("") == std::vector<std::string>{
                               "(root): must be a mapping with apiVersion, kind and plugins (got an empty document)"});
  CHECK(problems_of("- a\n- b\n") ==
        std::vector<std::string>{"(root): must be a mapping with apiVersion, kind and plugins (got a list)"});
}

TEST_CASE("a YAML syntax error names its line and column") {
  auto problems = problems_of(with_header("plugins:\n  - type: t\n    name: [unclosed\n"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("line ", 0) == 0);
  CHECK(problems[0].find("YAML syntax error") != std::string::npos);

  auto bad_indent = problems_of("a: b\n c: d\n");
  REQUIRE(bad_indent.size() == 1);
  CHECK(bad_indent[0] == "line 2, column 3: YAML syntax error: illegal map value");
}

TEST_CASE("a JSON syntax error in a .json file names its exact line and column") {
  auto problems = problems_of("{\n  \"apiVersion\": \"x\",\n  \"kind\" \"y\"\n}", "bad.json");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("line 3, column 12: JSON syntax error: syntax error while parsing object separator", 0) == 0);
}

TEST_CASE("duplicate keys are refused in YAML and JSON") {
  CHECK(problems_of(with_header("plugins: []\nplugins: []\n")) ==
        std::vector<std::string>{"plugins: duplicate key"});
  auto json_problems = problems_of(R"({"apiVersion": "inference.networking.x-k8s.io/v1alpha1",
    "kind": "BodyBasedRoutingConfig", "plugins": [{"type": "t", "name": "a", "name": "b"}]})",
                                   "dup.json");
  CHECK(json_problems == std::vector<std::string>{"duplicate key \"name\" in a JSON object"});
}

TEST_CASE("more than one YAML document is refused") {
  auto problems = problems_of(std::string(kGoodYaml) + "---\n" + kGoodYaml);
  CHECK(problems == std::vector<std::string>{"holds 2 YAML documents; a configuration is exactly one"});
}

TEST_CASE("parameters that JSON cannot carry are refused with their path") {
  auto problems = problems_of(with_header("plugins:\n  - {type: t, name: a, parameters: {x: .inf}}\n"));
  CHECK(problems == std::vector<std::string>{
                        "plugins[0].parameters.x: .inf cannot be represented in JSON; quote it to pass a string"});
}

TEST_CASE("ConfigError::what holds every problem, one per line") {
  ConfigError error({"a: one", "b: two"});
  CHECK(std::string(error.what()) == "a: one\nb: two");
  CHECK(error.problems().size() == 2);
}

TEST_CASE("a key holding control characters is shown escaped, never cutting the message") {
  const std::string text = std::string("{\"apiVersion\":\"inference.networking.x-k8s.io/v1alpha1\","
                                       "\"kind\":\"BodyBasedRoutingConfig\",\"plugins\":[],") +
                           R"("\u0000bad\u0001":1})";
  try {
    parse_config(text, "test.json");
    FAIL("a NUL in a key must be refused as an unknown field");
  } catch (const ConfigError& error) {
    const std::string what = error.what();
    CHECK(what.find("\\x00bad\\x01") != std::string::npos);
    CHECK(what.find('\0') == std::string::npos);
    CHECK(error.problems().front().find("\\x00bad\\x01") != std::string::npos);
  }
}

TEST_CASE("YAML aliases that expand without bound are stopped with a problem, not memory") {
  // Each level doubles (tenfold here) the one before: 10^9 values if expanded.
  std::string yaml = with_header("plugins:\n  - type: t\n    name: n\n    parameters:\n");
  yaml += "      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "      a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  auto problems = problems_of(yaml);
  REQUIRE(!problems.empty());
  CHECK(problems.front().find("more than 100000 values") != std::string::npos);
}

TEST_CASE("failurePolicy is FailClose unless a plugin says FailOpen") {
  auto config = parse_config(with_header(R"(
plugins:
  - {type: t, name: a}
  - {type: t, name: b, failurePolicy: FailOpen}
  - {type: t, name: c, failurePolicy: FailClose}
)"),
                             "test.yaml");
  CHECK(config.plugins.at(0).policy.failure == bbr::FailurePolicy::kFailClose);
  CHECK(config.plugins.at(1).policy.failure == bbr::FailurePolicy::kFailOpen);
  CHECK(config.plugins.at(2).policy.failure == bbr::FailurePolicy::kFailClose);
}

TEST_CASE("an unknown failurePolicy is refused naming its path") {
  auto problems = problems_of(with_header(R"(
plugins:
  - {type: t, name: a}
  - {type: t, name: b, failurePolicy: Ignore}
  - {type: t, name: c, failurePolicy: failopen}
  - {type: t, name: d, failurePolicy: [FailOpen]}
  - {type: t, name: e, failurePolicy: }
  - {type: t, name: f, failurPolicy: FailOpen}
)"));
  CHECK(problems ==
        std::vector<std::string>{
            R"(plugins[1].failurePolicy: must be FailClose or FailOpen (got "Ignore"))",
            R"(plugins[2].failurePolicy: must be FailClose or FailOpen (got "failopen"))",
            "plugins[3].failurePolicy: must be FailClose or FailOpen (got a list)",
            "plugins[4].failurePolicy: must be FailClose or FailOpen (got null)",
            "plugins[5].failurPolicy: unknown field (did you mean failurePolicy?)",
        });
}

TEST_CASE("a plugin timeout is a Go duration string") {
  using namespace std::chrono_literals;
  auto timeout_of = [](const std::string& value) {
    auto config = parse_config(
        with_header("plugins:\n  - {type: t, name: a, timeout: \"" + value + "\"}\n"), "test.yaml");
    return config.plugins.at(0).policy.timeout;
  };
  CHECK(timeout_of("50ms") == 50ms);
  CHECK(timeout_of("2s") == 2s);
  CHECK(timeout_of("1.5s") == 1500ms);
  CHECK(timeout_of("1m30s") == 90s);
  CHECK(timeout_of("250us") == 250us);
  CHECK(timeout_of("250\u00b5s") == 250us);
  CHECK(timeout_of("100ns") == 100ns);
  CHECK(timeout_of("1h") == 1h);
  // Absent: no time budget.
  auto config = parse_config(with_header("plugins:\n  - {type: t, name: a}\n"), "test.yaml");
  CHECK(config.plugins.at(0).policy.timeout.count() == 0);
}

TEST_CASE("a timeout that is not a positive duration is refused naming its path") {
  auto problems = problems_of(with_header(R"(
plugins:
  - {type: t, name: a, timeout: 50}
  - {type: t, name: b, timeout: "50"}
  - {type: t, name: c, timeout: 5 sec}
  - {type: t, name: d, timeout: 0s}
  - {type: t, name: e, timeout: -1s}
  - {type: t, name: f, timeout: 2h}
  - {type: t, name: g, timeout: ""}
  - {type: t, name: h, timeout: ms}
)"));
  CHECK(
      problems ==
      std::vector<std::string>{
          R"(plugins[0].timeout: must be a duration such as "50ms" or "2s" (got an integer))",
          R"(plugins[1].timeout: "50" has no unit (write e.g. "50ms" or "2s"; units: ns, us, ms, s, m, h))",
          R"(plugins[2].timeout: "5 sec" has an unknown unit " sec" (units: ns, us, ms, s, m, h))",
          R"(plugins[3].timeout: "0s" must be more than zero (leave timeout out for no time budget))",
          R"(plugins[4].timeout: "-1s" is not a duration (write e.g. "50ms" or "2s"))",
          R"(plugins[5].timeout: "2h" is longer than the most allowed, 1h)",
          R"(plugins[6].timeout: must not be empty (write e.g. "50ms" or "2s"))",
          R"(plugins[7].timeout: "ms" is not a duration (write e.g. "50ms" or "2s"))",
      });
}
