// The real bbr-host binary, run as a child process: what an operator types and
// sees, exit codes included.
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include <bbr/plugin.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const std::string kBinary = BBR_BINARY_DIR "/bin/bbr-host";
const std::string kAbiPlugins = BBR_BINARY_DIR "/tests/abi/plugins";
const std::string kInTreePlugins = BBR_PLUGIN_OUTPUT_DIR;

using bbr_test::Result;

Result run(std::vector<std::string> args) {
  args.insert(args.begin(), kBinary);
  return bbr_test::run_process(args);
}

using TempDir = bbr_test::TempDir;

std::string abi(const std::string& name) { return kAbiPlugins + "/" + name + ".so"; }

const char* kGoodConfig = R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
plugins:
  - type: body-field-to-header
    name: model-extractor
    parameters: {fieldName: model, headerName: X-Gateway-Model-Name}
  - type: base-model-to-header
    name: base-model
    parameters: {adaptersDir: ADAPTERS}
request: [{pluginRef: model-extractor}, {pluginRef: base-model}]
response: []
)";

std::string good_config(const TempDir& dir) {
  dir.write("adapters/llama.yaml",
            "baseModel: meta-llama/Llama-3.1-8B-Instruct\nadapters: [food-review-1]\n");
  std::string text = kGoodConfig;
  text.replace(text.find("ADAPTERS"), 8, (dir.path / "adapters").string());
  return dir.write("bbr.yaml", text);
}

}  // namespace

TEST_CASE("the --version flag prints the host version and the plugin ABI", "[cli]") {
  auto r = run({"--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("bbr-host " BBR_HOST_VERSION) &&
                        Contains(fmt::format("plugin ABI {}.{}", BBR_ABI_MAJOR, BBR_ABI_MINOR)));
}

TEST_CASE("no subcommand and flags only means serve, as the reference binary", "[cli]") {
  // A flag only serve knows: the error comes from serve's validation, before
  // any port is bound.
  auto r = run({"--grpc-port", "0"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Contains("grpc-port"));
  CHECK_THAT(r.err, !Contains("A subcommand is required"));
}

TEST_CASE("plugins list shows the in-tree plugins with version, ABI and capabilities",
          "[cli][plugins]") {
  auto r = run({"plugins", "list"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("TYPE") && Contains("CAPABILITIES") && Contains("FILE"));
  CHECK_THAT(r.out, Contains("body-field-to-header") && Contains("base-model-to-header"));
  CHECK_THAT(r.out, Contains(fmt::format("{}.{}  request", BBR_ABI_MAJOR, BBR_ABI_MINOR)));
  CHECK_THAT(r.out, Contains(kInTreePlugins + "/body-field-to-header.so"));
}

TEST_CASE("plugins list names the streamed-response capabilities", "[cli][plugins]") {
  // guardrail declares the SSE event hook; a list that hid it would tell an
  // operator the plugin needs the whole response buffered.
  auto r = run({"plugins", "list", "--json"});
  REQUIRE(r.exit_code == 0);
  bool found = false;
  for (const auto& entry : nlohmann::json::parse(r.out)) {
    if (entry["type"] != "guardrail") continue;
    found = true;
    auto caps = entry["capabilities"].get<std::vector<std::string>>();
    CHECK(std::find(caps.begin(), caps.end(), "response-event") != caps.end());
    CHECK(std::find(caps.begin(), caps.end(), "request") != caps.end());
  }
  CHECK(found);
}

TEST_CASE("plugins list --json is an array with schemas and descriptions", "[cli][plugins]") {
  auto r = run({"plugins", "list", "--json"});
  REQUIRE(r.exit_code == 0);
  auto listed = nlohmann::json::parse(r.out);
  REQUIRE(listed.is_array());
  bool found = false;
  for (const auto& entry : listed) {
    CHECK(entry.contains("version"));
    CHECK(entry.contains("description"));
    CHECK(entry["abi"]["major"] == 1);
    if (entry["type"] == "body-field-to-header") {
      found = true;
      CHECK(entry["capabilities"].front() == "request");
      CHECK(entry["parameters"].is_object());
      CHECK(entry["file"] == kInTreePlugins + "/body-field-to-header.so");
    }
  }
  CHECK(found);
}

TEST_CASE("plugins list reports broken files on stderr and exits non-zero", "[cli][plugins]") {
  auto r = run({"plugins", "list", "--plugin-dir", kAbiPlugins});
  CHECK(r.exit_code != 0);
  // The good ones are still listed.
  CHECK_THAT(r.out, Contains("abi-test-good") && Contains("body-field-to-header"));
  CHECK_THAT(r.err, Contains(abi("abi_missing_entry") + ": missing entry symbol"));
  CHECK_THAT(r.err,
             Contains(abi("abi_major_2") + fmt::format(": built for ABI 2.{}", BBR_ABI_MINOR)));
  CHECK_THAT(r.err, Contains(abi("abi_not_a_shared_object") + ": not a loadable shared object"));
}

TEST_CASE("plugins validate passes a good plugin and runs both hooks", "[cli][plugins]") {
  auto r = run({"plugins", "validate", abi("abi_good")});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(abi("abi_good") + ": OK") && Contains("request: continued") &&
                        Contains("response: continued"));
}

TEST_CASE("plugins validate survives a plugin that segfaults and goes on to the next file",
          "[cli][plugins]") {
  auto r = run({"plugins", "validate", abi("abi_segfaults"), abi("abi_good")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains(abi("abi_segfaults") + ": FAILED: crashed with signal 11") &&
                        Contains("during process_request of type 'abi-test-segfaults'"));
  CHECK_THAT(r.out, Contains(abi("abi_good") + ": OK"));
}

TEST_CASE("plugins validate gives up on a plugin that hangs after --timeout seconds",
          "[cli][plugins]") {
  auto r = run({"plugins", "validate", "--timeout", "1", abi("abi_hangs")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains(abi("abi_hangs") + ": FAILED: timed out after 1 s during "
                                                "process_request of type 'abi-test-hangs'"));
}

TEST_CASE("plugins validate reports plugins built for another ABI", "[cli][plugins]") {
  auto r = run({"plugins", "validate", abi("abi_entry_v2_only"), abi("abi_major_2")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains(abi("abi_entry_v2_only") +
                             ": FAILED: missing entry symbol "
                             "bbr_plugin_entry_v1: it exports bbr_plugin_entry_v2 instead: "
                             "built for ABI 2, this host speaks ABI 1"));
  CHECK_THAT(r.out, Contains(abi("abi_major_2") +
                             fmt::format(": FAILED: built for ABI 2.{}", BBR_ABI_MINOR)));
}

TEST_CASE("plugins validate reports create() errors and failing or throwing hooks",
          "[cli][plugins]") {
  auto r = run({"plugins", "validate", abi("abi_create_throws"), abi("abi_request_throws"),
                abi("abi_fail_forbidden")});
  CHECK(r.exit_code == 1);
  // Worded as config check words it; the instance is named after its type, as the test kit does.
  CHECK_THAT(r.out, Contains("type abi-test-create-throws: create failed: instance "
                             "'abi-test-create-throws': fieldName is required"));
  CHECK_THAT(r.out, Contains("process_request on the sample request failed with 500: "
                             "tokenizer table missing"));
  CHECK_THAT(r.out, Contains("failed with 403: api key not allowed to use this model"));
}

TEST_CASE("plugins validate gives --parameters to create() and runs on --body", "[cli][plugins]") {
  TempDir dir;
  std::string body = dir.write("body.json", R"({"model":"m"})");
  std::string plugin = kInTreePlugins + "/body-field-to-header.so";
  auto with = run({"plugins", "validate", plugin, "--body", body, "--parameters",
                   R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})"});
  INFO(with.err);
  CHECK(with.exit_code == 0);
  CHECK_THAT(with.out, Contains(plugin + ": OK"));
}

TEST_CASE("plugins validate without --parameters reports a type whose schema requires some as "
          "loaded with create() skipped, and exits 0",
          "[cli][plugins]") {
  std::string plugin = kInTreePlugins + "/body-field-to-header.so";
  auto r = run({"plugins", "validate", plugin});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(plugin + ": OK") &&
                        Contains("body-field-to-header") &&
                        Contains("loaded; create() skipped: its schema requires parameters") &&
                        Contains("fieldName") && Contains("pass --parameters to run it"));
  CHECK_THAT(r.out, !Contains("create failed") && !Contains("request: continued"));
}

TEST_CASE("plugins validate checks --parameters against the type's declared schema before "
          "create()",
          "[cli][plugins]") {
  std::string plugin = kInTreePlugins + "/body-field-to-header.so";
  auto r = run({"plugins", "validate", plugin, "--parameters",
                R"({"fieldName":"model","headerName":""})"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains(plugin + ": FAILED: type 'body-field-to-header': --parameters "
                                      "break its schema: parameters.headerName"));
  // The schema refused them: create() never ran, so its own error is not what is shown.
  CHECK_THAT(r.out, !Contains("create failed"));
  auto missing = run({"plugins", "validate", plugin, "--parameters", R"({"fieldName":"model"})"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.out, Contains("--parameters break its schema: parameters") &&
                              Contains("headerName"));
}

TEST_CASE("plugins validate --body and --response-body take inline JSON or a file, and say so",
          "[cli][plugins]") {
  auto help = run({"plugins", "validate", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("inline JSON when it starts with '{'") && Contains("@PATH"));
  TempDir dir;
  std::string response = dir.write("response.json", R"({"choices":[]})");
  auto r = run({"plugins", "validate", abi("abi_good"), "--body", R"({"model":"m"})",
                "--response-body", "@" + response});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("request: continued") && Contains("response: continued"));
  auto missing = run({"plugins", "validate", abi("abi_good"), "--body", "no-such-file"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("--body no-such-file: cannot read"));
}

TEST_CASE("plugins validate runs the hooks through the session: a rejection is reported, a body "
          "the host refuses is named as such",
          "[cli][plugins]") {
  auto rejected = run({"plugins", "validate", abi("abi_rejects")});
  CHECK(rejected.exit_code == 0);
  CHECK_THAT(rejected.out, Contains("request: rejected with 403"));
  TempDir dir;
  std::string body = dir.write("body.txt", "not json");
  auto refused = run({"plugins", "validate", abi("abi_good"), "--body", body});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Contains("the host answered 400 before any plugin ran"));
}

TEST_CASE("plugins validate: a failing response hook fails the file", "[cli][plugins]") {
  auto r = run({"plugins", "validate",
                std::string(BBR_CLI_TEST_PLUGIN_DIR) + "/cli_test_plugins.so"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains("process_response on the sample response failed with 503: "
                             "upstream answer refused"));
}

TEST_CASE("plugins validate passes a plugin built for a newer ABI minor with a warning",
          "[cli][plugins]") {
  auto r = run({"plugins", "validate", abi("abi_newer_minor")});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(abi("abi_newer_minor") + ": OK") &&
                        Contains(fmt::format("warning: built for ABI {}.{}", BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR + 1)));
}

TEST_CASE("config check accepts a good config and names its chains", "[cli][config]") {
  TempDir dir;
  std::string config = good_config(dir);
  auto r = run({"config", "check", config});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(config + ": OK (request: model-extractor, base-model; response: -)"));
}

// docs/configuration.md, "Plugin directories": the built-in directory is always
// searched, first; pluginDirs and --plugin-dir only add to it; the first file
// declaring a type wins.
TEST_CASE("config check and chain run with pluginDirs set still find the built-in plugins, and "
          "they win a type declared twice",
          "[cli][config][plugin-dirs]") {
  TempDir dir;
  fs::create_directories(dir.path / "extra");
  fs::permissions(dir.path / "extra", fs::perms(0755));
  for (const std::string& file :
       {kAbiPlugins + "/abi_good.so", kInTreePlugins + "/body-field-to-header.so"}) {
    fs::path copy = dir.path / "extra" / fs::path(file).filename();
    fs::copy_file(file, copy);
    fs::permissions(copy, fs::perms(0755));
  }
  std::string config = dir.write("dirs.yaml", fmt::format(R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
pluginDirs: [{}]
plugins:
  - type: body-field-to-header
    name: model-extractor
    parameters: {{fieldName: model, headerName: X-Gateway-Model-Name}}
  - type: abi-test-good
    name: marker
request: [{{pluginRef: model-extractor}}, {{pluginRef: marker}}]
)",
                                                          (dir.path / "extra").string()));
  auto r = run({"config", "check", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains(config + ": OK (request: model-extractor, marker; response: -)"));
  // The copy in pluginDirs is the second declaration: refused, naming the built-in file.
  CHECK_THAT(r.err, Contains((dir.path / "extra" / "body-field-to-header.so").string() +
                             ": plugin type 'body-field-to-header' is already declared by " +
                             (fs::canonical(kInTreePlugins) / "body-field-to-header.so").string()));
  // chain run reads the same directories the same way (the offline session
  // driver builds its chain from them): the built-in type and the pluginDirs one run.
  auto chain = run({"chain", "run", "--config", config, "--body", R"({"model":"m"})"});
  INFO(chain.err);
  REQUIRE(chain.exit_code == 0);
  auto headers = nlohmann::json::parse(chain.out)["request"]["headers"];
  CHECK(std::find(headers.begin(), headers.end(),
                  nlohmann::json({{"key", "X-Gateway-Model-Name"}, {"value", "m"}})) !=
        headers.end());
  CHECK(std::find(headers.begin(), headers.end(),
                  nlohmann::json({{"key", "x-abi-test"}, {"value", "ok"}})) != headers.end());
}

TEST_CASE("config check lists every problem with its path and exits non-zero", "[cli][config]") {
  TempDir dir;
  std::string config = dir.write("bad.yaml", R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
plugins:
  - type: body-field-to-header
    name: model-extractor
    parameters: {headerName: X-Model}
  - type: no-such-type
    name: mystery
request: [{pluginRef: model-extractor}, {pluginRef: mystery}]
)");
  auto r = run({"config", "check", config});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains(config + ": plugins[0].parameters.fieldName"));
  CHECK_THAT(r.err, Contains(config + ": plugins[1]") && Contains("no-such-type"));
  CHECK_THAT(r.out, !Contains("OK"));
}

TEST_CASE("config check refuses a header name no request could ever set, naming its path",
          "[cli][config]") {
  TempDir dir;
  std::string config = dir.write("bad-header.yaml", R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
plugins:
  - type: body-field-to-header
    name: model-extractor
    parameters: {fieldName: model, headerName: "X Bad"}
)");
  auto r = run({"config", "check", config});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains(config + R"(: plugins[0].parameters.headerName: "X Bad" is not a valid HTTP header name)"));
  CHECK_THAT(r.out, !Contains("OK"));
}

TEST_CASE("config check reports YAML syntax errors with their line", "[cli][config]") {
  TempDir dir;
  std::string config = dir.write("broken.yaml", "plugins: [\n");
  auto r = run({"config", "check", config});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains(config + ": line"));
}

TEST_CASE("chain run maps a LoRA adapter to its base model through a config file", "[cli][chain]") {
  TempDir dir;
  std::string config = good_config(dir);
  std::string body = dir.write("body.json", R"({"model":"food-review-1"})");
  auto r = run({"chain", "run", "--config", config, "--body", body});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["mode"] == "buffered");
  // The header mutation as the session sends it: sets sorted by key.
  CHECK(out["request"]["headers"] == nlohmann::json::parse(R"([
    {"key": "X-Gateway-Base-Model-Name", "value": "meta-llama/Llama-3.1-8B-Instruct"},
    {"key": "X-Gateway-Model-Name", "value": "food-review-1"}])"));
  CHECK(out["request"]["body"] == R"({"model":"food-review-1"})");
  CHECK(out["request"]["bodyChanged"] == false);
  CHECK(out["request"]["clearRouteCache"] == true);
  CHECK(out["response"].is_null());
  CHECK(out["immediateResponse"].is_null());
  CHECK(out["stoppedBy"].is_null());
  CHECK(out["streamError"].is_null());
  CHECK(out["dynamicMetadata"] == nlohmann::json::object());
}

TEST_CASE("chain run shows request-side redaction: the body sent on, the affinity header, the "
          "counters",
          "[cli][chain]") {
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"Mail jane@example.com please"}],"n":1})";
  for (const char* mode : {"buffered", "streaming"}) {
    std::vector<std::string> args{"chain", "run", "--body", body, "--plugin",
                                  R"(guardrail:pii:{"requestDetectors":[{"detector":"email"}]})",
                                  "--plugin", "affinity:affinity"};
    if (std::string(mode) == "streaming") args.push_back("--streaming");
    auto r = run(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto out = nlohmann::json::parse(r.out);
    CHECK(out["mode"] == mode);
    CHECK(out["request"]["bodyChanged"] == true);
    auto sent = nlohmann::json::parse(out["request"]["body"].get<std::string>());
    CHECK(sent["messages"][0]["content"] == "Mail [REDACTED_EMAIL] please");
    CHECK(sent["n"] == 1);
    bool keyed = false;
    for (const auto& h : out["request"]["headers"]) {
      keyed = keyed || (h["key"] == "X-Gateway-Affinity-Key" && h["value"].get<std::string>().size() == 16);
    }
    CHECK(keyed);
    bool counted = false;
    for (const auto& m : out["metrics"]) {
      counted = counted || (m["name"] == "bbr_guardrail_redactions_total" &&
                            m["labels"]["detector"] == "email" && m["delta"] == 1);
    }
    CHECK(counted);
  }
}

TEST_CASE("chain run without --config or --plugin runs the reference's default chain",
          "[cli][chain]") {
  auto r = run({"chain", "run", "--body", R"({"model":"llama-3-8b"})"});
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  auto headers = out["request"]["headers"];
  CHECK(std::find(headers.begin(), headers.end(),
                  nlohmann::json({{"key", "X-Gateway-Model-Name"}, {"value", "llama-3-8b"}})) !=
        headers.end());
}

TEST_CASE("chain run --body takes inline JSON when it starts with '{', else a file ('@' too)",
          "[cli][chain]") {
  TempDir dir;
  std::string file = dir.write("body.json", R"({"model":"from-file"})");
  auto model_of = [](const Result& r) {
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto headers = nlohmann::json::parse(r.out)["request"]["headers"];
    for (const auto& h : headers) {
      if (h["key"] == "X-Gateway-Model-Name") return h["value"].get<std::string>();
    }
    return std::string();
  };
  CHECK(model_of(run({"chain", "run", "--body", R"(  {"model":"inline"})"})) == "inline");
  CHECK(model_of(run({"chain", "run", "--body", file})) == "from-file");
  CHECK(model_of(run({"chain", "run", "--body", "@" + file})) == "from-file");
  auto missing = run({"chain", "run", "--body", "model=x"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("--body model=x: cannot read") && Contains("inline"));
  auto help = run({"chain", "run", "--help"});
  CHECK_THAT(help.out, Contains("inline JSON when it starts with '{'") && Contains("@PATH"));
}

TEST_CASE("chain run answers an invalid JSON body with 400 as the server would", "[cli][chain]") {
  TempDir dir;
  std::string body = dir.write("body.json", "not json");
  auto r = run({"chain", "run", "--body", body});
  CHECK(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["immediateResponse"]["status"] == 400);
  CHECK_THAT(out["immediateResponse"]["body"].get<std::string>(),
             Contains("inference error: BadRequest - failed to parse request body: "));
  CHECK(out["stoppedBy"]["kind"] == "host");
  CHECK(out["stoppedBy"]["plugin"].is_null());
}

TEST_CASE("chain run prints a rejection (JSON content-type, as serve) and a plugin failure, and "
          "still exits 0",
          "[cli][chain]") {
  std::string body = R"({"model":"m"})";
  auto rejected = run({"chain", "run", "--body", body, "--plugin-dir", kAbiPlugins, "--plugin",
                       "abi-test-rejects:guard"});
  CHECK(rejected.exit_code == 0);
  auto out = nlohmann::json::parse(rejected.out);
  CHECK(out["immediateResponse"] == nlohmann::json({{"phase", "request"},
                                                    {"status", 403},
                                                    {"headers",
                                                     {{{"key", "content-type"},
                                                       {"value", "application/json"}}}},
                                                    {"body", R"({"error":"blocked by policy"})"},
                                                    {"details", ""}}));
  CHECK(out["request"]["clearRouteCache"].is_null());  // the empty headers answer has none
  CHECK(out["stoppedBy"] == nlohmann::json({{"kind", "rejected"},
                                            {"phase", "request"},
                                            {"plugin", "guard"},
                                            {"status", 403},
                                            {"reason", ""}}));

  auto failed = run({"chain", "run", "--body", body, "--plugin-dir", kAbiPlugins, "--plugin",
                     "abi-test-fail-forbidden:key-check"});
  CHECK(failed.exit_code == 0);
  out = nlohmann::json::parse(failed.out);
  CHECK(out["stoppedBy"] == nlohmann::json({{"kind", "failed"},
                                            {"phase", "request"},
                                            {"plugin", "key-check"},
                                            {"status", 403},
                                            {"reason", "api key not allowed to use this model"}}));
  // ... and what the server would answer for it, in the reference's words.
  CHECK(out["immediateResponse"]["status"] == 403);
  CHECK(out["immediateResponse"]["body"] ==
        "inference error: Forbidden - api key not allowed to use this model");
}

TEST_CASE("chain run --response-body runs the response chain after the request chain",
          "[cli][chain]") {
  TempDir dir;
  // pluginDirs in the config is scanned too.
  std::string config = dir.write("bbr.json", R"({
    "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
    "kind": "BodyBasedRoutingConfig",
    "pluginDirs": [")" + kAbiPlugins + R"("],
    "plugins": [{"type": "abi-test-good", "name": "marker"}],
    "request": [{"pluginRef": "marker"}],
    "response": [{"pluginRef": "marker"}]
  })");
  std::string response = dir.write("response.json", R"({"choices":[]})");
  auto r = run({"chain", "run", "--config", config, "--body", R"({"model":"m"})",
                "--response-body", response});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  auto marked = nlohmann::json::parse(R"([{"key":"x-abi-test","value":"ok"}])");
  CHECK(out["request"]["headers"] == marked);
  CHECK(out["response"]["headers"] == marked);
  CHECK(out["response"]["body"] == R"({"choices":[]})");
  CHECK(out["stoppedBy"].is_null());
}

TEST_CASE("chain run: a failing response plugin gives the immediate response serve gives, and "
          "the output carries the plugin's log lines and counter changes",
          "[cli][chain]") {
  auto r = run({"chain", "run", "--plugin-dir", BBR_CLI_TEST_PLUGIN_DIR, "--plugin",
                "cli-test-response-failer:upstream-check", "--body", R"({"model":"m"})",
                "--response-body", R"({"choices":[]})"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["immediateResponse"]["phase"] == "response");
  CHECK(out["immediateResponse"]["status"] == 503);
  CHECK(out["immediateResponse"]["body"] ==
        "inference error: ServiceUnavailable - upstream answer refused");
  CHECK(out["stoppedBy"] == nlohmann::json({{"kind", "failed"},
                                            {"phase", "response"},
                                            {"plugin", "upstream-check"},
                                            {"status", 503},
                                            {"reason", "upstream answer refused"}}));
  auto logs = out["logs"];
  CHECK(std::find(logs.begin(), logs.end(),
                  nlohmann::json({{"stage", "exchange"},
                                  {"plugin", "upstream-check"},
                                  {"type", "cli-test-response-failer"},
                                  {"level", "info"},
                                  {"text", "request seen"}})) != logs.end());
  auto metrics = out["metrics"];
  CHECK(std::find(metrics.begin(), metrics.end(),
                  nlohmann::json({{"name", "cli_test_requests_total"},
                                  {"labels", {{"plugin_name", "upstream-check"}}},
                                  {"type", "counter"},
                                  {"delta", 1.0}})) != metrics.end());
  // The lines are in the output, not on stderr.
  CHECK_THAT(r.err, !Contains("request seen"));
}

TEST_CASE("chain run shows the answer outcomes as serve sends them: dynamic metadata, route "
          "cache kept, metrics defined at create, reject_with headers and details",
          "[cli][chain]") {
  auto r = run({"chain", "run", "--plugin-dir", kAbiPlugins, "--plugin", "abi-test-1-1:a11",
                "--body", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["dynamicMetadata"] == nlohmann::json({{"bbr.abi11", {{"model", "m"}}}}));
  CHECK(out["request"]["clearRouteCache"] == false);
  auto metrics = out["metrics"];
  CHECK(std::any_of(metrics.begin(), metrics.end(), [](const nlohmann::json& m) {
    return m["name"] == "abi11_prompt_chars" && m["type"] == "histogram" && m["count"] == 1;
  }));
  CHECK(std::find(metrics.begin(), metrics.end(),
                  nlohmann::json({{"name", "abi11_requests_total"},
                                  {"labels", {{"plugin_name", "a11"},
                                              {"route", "/v1/chat/completions"}}},
                                  {"type", "counter"},
                                  {"delta", 1.0}})) != metrics.end());

  auto rejected = run({"chain", "run", "--plugin-dir", kAbiPlugins, "--plugin",
                       "abi-test-1-1:a11", "--body", R"({"model":"m","abi11_reject":true})"});
  REQUIRE(rejected.exit_code == 0);
  CHECK(nlohmann::json::parse(rejected.out)["immediateResponse"] ==
        nlohmann::json({{"phase", "request"},
                        {"status", 429},
                        {"headers",
                         {{{"key", "retry-after"}, {"value", "30"}},
                          {{"key", "content-type"}, {"value", "text/plain"}}}},
                        {"body", "slow down"},
                        {"details", "abi11_rate_limited"}}));
}

TEST_CASE("chain run --streaming answers with streamed chunks, as serve --streaming",
          "[cli][chain]") {
  auto r = run({"chain", "run", "--streaming", "--body", R"({"model":"m"})", "--response-body",
                R"({"choices":[]})", "--response-header", "content-type: text/event-stream"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = nlohmann::json::parse(r.out);
  CHECK(out["mode"] == "streaming");
  REQUIRE(out["request"]["chunks"].size() == 1);
  CHECK(out["request"]["chunks"][0] ==
        nlohmann::json({{"body", R"({"model":"m"})"}, {"endOfStream", true}}));
  CHECK(out["response"]["chunks"][0]["body"] == R"({"choices":[]})");
}

TEST_CASE("chain run refuses a --header without a colon", "[cli][chain]") {
  std::string body = R"({"model":"m"})";
  auto ok = run({"chain", "run", "--body", body, "--header", "X-Tenant: acme"});
  CHECK(ok.exit_code == 0);
  auto bad = run({"chain", "run", "--body", body, "--header", "X-Tenant"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("--header #1 \"X-Tenant\": expected NAME:VALUE"));
}

TEST_CASE("chain run with an unknown plugin type fails with the reason and no output",
          "[cli][chain]") {
  auto r = run({"chain", "run", "--body", R"({"model":"m"})", "--plugin", "no-such-type:x"});
  CHECK(r.exit_code != 0);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Contains("no-such-type"));
}

TEST_CASE("plugins validate runs chunk and event hooks and fails a plugin whose event hook fails, "
          "naming the hook",
          "[cli][plugins]") {
  const std::string plugin = std::string(BBR_CLI_TEST_PLUGIN_DIR) + "/cli_test_stream_hooks.so";
  auto r = run({"plugins", "validate", plugin});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Contains(plugin + ": FAILED: type 'cli-test-event-failer': "
                                      "process_response_event on the sample SSE response failed") &&
                        Contains("event refused"));

  // A chunk hook alone passes, and the OK line says which hooks ran.
  auto good = run({"plugins", "validate", abi("abi_good"), abi("abi_1_1")});
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);
  CHECK_THAT(good.out, Contains("hooks ran: process_request, process_response)") &&
                           Contains("hooks ran: process_request, process_response_event)"));
}

TEST_CASE("plugins validate --response-header makes the response an event stream the event hooks "
          "run on",
          "[cli][plugins]") {
  TempDir dir;
  // Two events and the end of the stream: three calls.
  const std::string sse = dir.write("stream.sse", "data: {\"n\":1}\n\ndata: [DONE]\n\n");
  auto r = run({"plugins", "validate", abi("abi_1_1"), "--response-header",
                "content-type:text/event-stream", "--response-body", "@" + sse});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("response events: 3 calls"));
  auto bad = run({"plugins", "validate", abi("abi_1_1"), "--response-header", "no colon"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("--response-header #1 \"no colon\": expected NAME:VALUE"));
}

TEST_CASE("chain run --response-chunk-bytes sends the response in pieces, as an upstream streams it",
          "[cli][chain]") {
  const std::string body = R"({"choices":[{"text":"abcdefghijklmnopqrstuvwxyz"}]})";
  auto chunk_calls = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"chain", "run", "--plugin-dir", BBR_CLI_TEST_PLUGIN_DIR,
                                     "--plugin", "cli-test-chunk-counter:c", "--body",
                                     R"({"model":"m"})", "--response-body", body, "--streaming"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto out = nlohmann::json::parse(r.out);
    std::string joined;
    for (const auto& c : out["response"]["chunks"]) joined += c["body"].get<std::string>();
    CHECK(joined == body);  // the client gets the body as sent, whatever the pieces
    for (const auto& m : out["metrics"]) {
      if (m["name"] == "cli_test_chunks_total") return m["delta"].get<double>();
    }
    return 0.0;
  };
  const double whole = chunk_calls({});
  const double pieces = chunk_calls({"--response-chunk-bytes", "10"});
  CHECK(whole >= 1);
  // 50 bytes in pieces of 10: at least one call per piece (five) instead of one.
  CHECK(pieces >= whole + 4);
}
