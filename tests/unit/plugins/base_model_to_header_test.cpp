// base-model-to-header, loaded from its real .so through the SDK's test kit
// (the host's loader and session), reading a real directory of YAML/JSON files
// that the tests change while the plugin serves.
#include <bbr/testkit.hpp>

#include "request_harness.hpp"

using bbr::testkit::Plugin;
using plugin_test::eventually;
using plugin_test::TempDir;
using plugin_test::write_file;

namespace {

Plugin create(const std::string& type, const std::string& params) {
  return Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type, params,
                      type + "-under-test");
}

bbr::testkit::Result run_request(const bbr::testkit::Chain& chain, const std::string& body) {
  return chain.request({{":path", "/v1/chat/completions"}}, body);
}

constexpr const char* kHeader = "X-Gateway-Base-Model-Name";

std::string params_for(const TempDir& dir, int poll_ms = 50) {
  return R"({"adaptersDir":")" + dir.path().string() + R"(","pollIntervalMs":)" +
         std::to_string(poll_ms) + "}";
}

// The header the plugin sets for `model` (nullopt: no header at all).
std::optional<std::string> base_for(const Plugin& plugin, const std::string& model_json) {
  auto result = run_request(bbr::testkit::Chain({plugin}),
                            R"({"model":)" + model_json + R"(,"prompt":"hi"})");
  REQUIRE_FALSE(result.rejected());
  return result.header(kHeader);
}

// The plugin's own create() error (plugin_harness.hpp says why not the kit's).
std::string create_error(const std::string& params) {
  return plugin_test::own_create_error("base-model-to-header", params);
}

// What the plugin logged while created, one "LEVEL text" line each.
std::string create_log(const Plugin& plugin) {
  static const char* const kLevels[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
  std::string out;
  for (const auto& line : plugin.create_logs()) {
    out += kLevels[line.level];
    out += ' ';
    out += line.text;
    out += '\n';
  }
  return out;
}

void write_reference_files(const TempDir& dir) {
  // The shape of the reference's ConfigMap data: adapters as a YAML list in a string.
  write_file(dir.path() / "qwen.yaml",
             "baseModel: '  qwen  '\n"
             "adapters: \"\\n- sql-lora-sheddable\\n- foo\\n- 1\\n- \\n\"\n");
  // A plain list, in JSON.
  write_file(
      dir.path() / "llama.json",
      R"({"baseModel": "meta-llama/Llama-3.1-8B", "adapters": ["  tweet-summary  ", "chat-lora", 7]})");
}

}  // namespace

TEST_CASE("base-model-to-header maps adapters to their base model from YAML and JSON files") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("sql-lora-sheddable")") == "qwen");
  CHECK(base_for(plugin, R"("foo")") == "qwen");
  CHECK(base_for(plugin, R"("tweet-summary")") == "meta-llama/Llama-3.1-8B");
  CHECK(base_for(plugin, R"("chat-lora")") == "meta-llama/Llama-3.1-8B");
}

TEST_CASE("base-model-to-header maps a known base model to itself") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("qwen")") == "qwen");
  CHECK(base_for(plugin, R"("meta-llama/Llama-3.1-8B")") == "meta-llama/Llama-3.1-8B");
}

TEST_CASE("base-model-to-header trims white space around the requested model") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("  foo \t")") == "qwen");
  CHECK(base_for(plugin, R"(" qwen ")") == "qwen");
}

TEST_CASE("base-model-to-header prints a numeric model as %v before the lookup") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, "1") == "qwen");
  CHECK(base_for(plugin, "7") == "meta-llama/Llama-3.1-8B");
}

TEST_CASE("base-model-to-header sets an empty header for an unknown or empty model") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("no-such-model")") == "");
  CHECK(base_for(plugin, R"("")") == "");
}

TEST_CASE("base-model-to-header sets no header when the body has no model field") {
  TempDir dir;
  write_reference_files(dir);
  auto plugin = create("base-model-to-header", params_for(dir));
  auto result = run_request(bbr::testkit::Chain({plugin}), R"({"prompt":"hi"})");
  CHECK_FALSE(result.rejected());
  CHECK_FALSE(result.header(kHeader));
  CHECK_FALSE(result.header_removed(kHeader));
}

TEST_CASE("base-model-to-header follows the model header plugin in the default chain") {
  TempDir dir;
  write_file(dir.path() / "qwen3.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lora}\n"
             "data:\n  baseModel: Qwen/Qwen3-32B\n  adapters: |\n    - food-review-1\n");
  auto model = create("body-field-to-header",
                      R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
  auto base = create("base-model-to-header", params_for(dir));
  auto body = plugin_test::read_file(std::string(BBR_SOURCE_DIR) +
                                     "/tests/fixtures/chat-completions.request.json");
  auto result = run_request(bbr::testkit::Chain({model, base}), body);
  CHECK(result.header("X-Gateway-Model-Name") == "food-review-1");
  CHECK(result.header(kHeader) == "Qwen/Qwen3-32B");
}

TEST_CASE("base-model-to-header picks up added, changed and removed files without restart") {
  TempDir dir;
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("a1")") == "");

  write_file(dir.path() / "b.yaml", "baseModel: b\nadapters: [a1, a2]\n");
  CHECK(eventually([&] { return base_for(plugin, R"("a1")") == "b"; }));
  CHECK(base_for(plugin, R"("a2")") == "b");

  write_file(dir.path() / "b.yaml", "baseModel: b\nadapters: [a2, a3]\n");
  CHECK(eventually([&] { return base_for(plugin, R"("a3")") == "b"; }));
  CHECK(base_for(plugin, R"("a1")") == "");

  std::filesystem::remove(dir.path() / "b.yaml");
  CHECK(eventually([&] { return base_for(plugin, R"("a2")") == ""; }));
  CHECK(base_for(plugin, R"("b")") == "");
}

TEST_CASE("base-model-to-header notices a file rewritten in place by the periodic poll") {
  TempDir dir;
  // A long poll interval would make this wait; inotify sees the in-place write.
  auto plugin = create("base-model-to-header", params_for(dir, 100));
  {
    std::ofstream out(dir.path() / "c.json");
    out << R"({"baseModel":"c","adapters":["x"]})";
  }
  CHECK(eventually([&] { return base_for(plugin, R"("x")") == "c"; }));
}

TEST_CASE("base-model-to-header skips a malformed file, reports it, and serves the others") {
  TempDir dir;
  write_reference_files(dir);
  write_file(dir.path() / "broken.yaml", "baseModel: [unclosed\n");
  write_file(dir.path() / "nobase.json", R"({"adapters":["orphan"]})");
  auto plugin = create("base-model-to-header", params_for(dir));
  const std::string log = create_log(plugin);
  INFO(log);
  CHECK(log.find("ERROR") != std::string::npos);
  CHECK(log.find("broken.yaml") != std::string::npos);
  CHECK(log.find("nobase.json") != std::string::npos);
  CHECK(log.find("baseModel: required") != std::string::npos);
  CHECK(base_for(plugin, R"("foo")") == "qwen");
  CHECK(base_for(plugin, R"("tweet-summary")") == "meta-llama/Llama-3.1-8B");
  CHECK(base_for(plugin, R"("orphan")") == "");

  // Fixing the file later brings its adapters in.
  write_file(dir.path() / "nobase.json", R"({"baseModel":"fixed","adapters":["orphan"]})");
  CHECK(eventually([&] { return base_for(plugin, R"("orphan")") == "fixed"; }));
}

TEST_CASE("base-model-to-header keeps the first file's base model for a conflicting adapter") {
  TempDir dir;
  write_file(dir.path() / "a.yaml", "baseModel: first\nadapters: [shared, only-a]\n");
  write_file(dir.path() / "b.yaml", "baseModel: second\nadapters: [shared, only-b]\n");
  auto plugin = create("base-model-to-header", params_for(dir));
  const std::string log = create_log(plugin);
  INFO(log);
  CHECK(log.find("WARN") != std::string::npos);
  CHECK(log.find("'shared'") != std::string::npos);
  CHECK(base_for(plugin, R"("shared")") == "first");
  CHECK(base_for(plugin, R"("only-b")") == "second");
}

TEST_CASE("base-model-to-header ignores hidden files and other extensions") {
  TempDir dir;
  write_file(dir.path() / ".hidden.yaml", "baseModel: hidden\nadapters: [h]\n");
  write_file(dir.path() / "notes.txt", "baseModel: txt\nadapters: [t]\n");
  auto plugin = create("base-model-to-header", params_for(dir));
  CHECK(base_for(plugin, R"("h")") == "");
  CHECK(base_for(plugin, R"("t")") == "");
}

TEST_CASE("base-model-to-header refuses to create without a usable adaptersDir, naming it") {
  // The schema's words (every front end checks it before create()).
  CHECK_THAT(plugin_test::load_error("base-model-to-header", R"({"adaptersDir":""})"),
             Catch::Contains("adaptersDir: must be at least 1 character long"));
  TempDir dir;
  write_file(dir.path() / "a-file", "x");
  CHECK_THAT(create_error(R"({"adaptersDir":")" + (dir.path() / "a-file").string() + R"("})"),
             Catch::StartsWith("adaptersDir: '" + (dir.path() / "a-file").string() +
                               "' is not a directory"));
  CHECK_THAT(plugin_test::load_error("base-model-to-header", R"({"adaptersDir":")" +
                                                                  dir.path().string() +
                                                                  R"(","pollIntervalMs":0})"),
             Catch::Contains("pollIntervalMs: must be >= 10 (got 0)"));
  // 2.0 is an integer to JSON Schema, so the plugin reads it as one.
  CHECK(plugin_test::load_error("base-model-to-header", R"({"adaptersDir":")" +
                                                           dir.path().string() +
                                                           R"(","pollIntervalMs":20.0})") ==
        "(created)");
}

TEST_CASE("base-model-to-header starts without its directory and reads it once it appears") {
  TempDir parent;
  auto dir = parent.path() / "adapters";
  auto plugin = create("base-model-to-header",
                       R"({"adaptersDir":")" + dir.string() + R"(","pollIntervalMs":20})");
  CHECK(base_for(plugin, R"("late")") == "");
  std::filesystem::create_directory(dir);
  write_file(dir / "late.yaml", "baseModel: base\nadapters: [late]\n");
  CHECK(eventually([&] { return base_for(plugin, R"("late")") == "base"; }));
}

TEST_CASE("base-model-to-header stops its watcher promptly when destroyed") {
  TempDir dir;
  auto started = std::chrono::steady_clock::now();
  {
    // A poll interval of an hour: destroy must not wait for the next tick.
    auto plugin = create("base-model-to-header", params_for(dir, 3600000));
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}

TEST_CASE("base-model-to-header creates without parameters, as the reference chart names it") {
  // `--plugin base-model-to-header:base-model-mapper` carries no JSON: the
  // plugin reads /etc/bbr/adapters (absent here: every model maps to "").
  auto plugin = create("base-model-to-header", "");
  CHECK(base_for(plugin, R"("food-review-1")") == "");
}

TEST_CASE("base-model-to-header refuses at create a header name the host could never set") {
  TempDir dir;
  auto with_header = [&](const std::string& header) {
    return R"({"adaptersDir":")" + dir.path().string() + R"(","headerName":")" + header + R"("})";
  };
  CHECK(create_error(with_header("X Bad")) ==
        R"(headerName: "X Bad" is not a valid HTTP header name)");
  CHECK(create_error(with_header("x-envoy-route")) ==
        R"(headerName: "x-envoy-route" is a header Envoy does not let an ext_proc server set)");
  CHECK_NOTHROW(create("base-model-to-header", with_header("X-Base")));
}
