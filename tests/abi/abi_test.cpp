// The ABI boundary under abuse: every broken plugin in tests/abi/plugins is
// refused with a message naming the file and the reason, and plugins that fail,
// throw or reject at run time turn into the chain outcomes the server answers.
#include "support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path abi_plugin(const std::string& name) {
  return fs::path(BBR_ABI_PLUGIN_DIR) / (name + ".so");
}

// The LoadError text for loading `file`, or "" when it loaded.
std::string load_error(const fs::path& file, bbr::LoadOptions options = {}) {
  try {
    bbr::PluginLibrary::open(file, options);
  } catch (const bbr::LoadError& e) {
    return e.what();
  }
  return "";
}

bbr::PluginTypeRef only_type(const std::string& name) {
  auto library = bbr::PluginLibrary::open(abi_plugin(name), {});
  REQUIRE(library->types().size() == 1);
  return {library, library->types().front()};
}

using TempDir = bbr_test::TempDir;

fs::path copy_of_good_plugin(const TempDir& dir) {
  fs::path copy = dir.path / "abi_good_copy.so";
  fs::copy_file(abi_plugin("abi_good"), copy, fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms(0755));
  return copy;
}

struct ChainRun {
  bbr::RequestState state;
  bbr::Message msg{BBR_PHASE_REQUEST, bbr::Headers{{"content-type", "application/json"}},
                   bbr::JsonBody(R"({"model":"food-review-1","messages":[]})"), state};
};

}  // namespace

TEST_CASE("a well-formed plugin loads and exposes its type", "[loader]") {
  auto library = bbr::PluginLibrary::open(abi_plugin("abi_good"), {});
  CHECK(library->abi_major() == BBR_ABI_MAJOR);
  CHECK(library->abi_minor() == BBR_ABI_MINOR);
  REQUIRE(library->types().size() == 1);
  CHECK(std::string(library->types()[0]->name) == "abi-test-good");
  CHECK(library->path() == abi_plugin("abi_good"));
}

TEST_CASE("a missing file is refused naming the file", "[loader]") {
  auto file = abi_plugin("abi_does_not_exist");
  CHECK_THAT(load_error(file), Contains(file.string()) && Contains("no such file"));
}

TEST_CASE("a text file named .so is refused with dlopen's explanation", "[loader]") {
  auto file = abi_plugin("abi_not_a_shared_object");
  std::string error = load_error(file);
  CHECK_THAT(error, Contains(file.string()) && Contains("not a loadable shared object"));
  // dlerror's own text (e.g. "invalid ELF header") comes along.
  CHECK_THAT(error, Contains("ELF") || Contains("too short"));
}

TEST_CASE("a library without bbr_plugin_entry_v1 is refused as not a plugin", "[loader]") {
  auto file = abi_plugin("abi_missing_entry");
  CHECK_THAT(load_error(file), Contains(file.string()) &&
                                   Contains("missing entry symbol bbr_plugin_entry_v1") &&
                                   Contains("not a bbr-host plugin"));
}

TEST_CASE("a library exporting only bbr_plugin_entry_v2 is refused as built for ABI 2",
          "[loader]") {
  auto file = abi_plugin("abi_entry_v2_only");
  CHECK_THAT(load_error(file), Contains(file.string()) &&
                                   Contains("missing entry symbol bbr_plugin_entry_v1") &&
                                   Contains("built for ABI 2, this host speaks ABI 1"));
}

TEST_CASE("a descriptor declaring abi_major 2 is refused", "[loader]") {
  auto file = abi_plugin("abi_major_2");
  CHECK_THAT(load_error(file),
             Contains(file.string()) &&
                 Contains(fmt::format("built for ABI 2.{}, this host speaks ABI 1", BBR_ABI_MINOR)));
}

TEST_CASE("an entry returning NULL is refused as the plugin's own refusal", "[loader]") {
  auto file = abi_plugin("abi_entry_returns_null");
  CHECK_THAT(load_error(file),
             Contains(file.string()) && Contains("bbr_plugin_entry_v1 returned NULL"));
}

TEST_CASE("bad descriptors are refused naming the broken field", "[loader]") {
  struct Case {
    const char* file;
    const char* reason;
  };
  const Case cases[] = {
      {"abi_library_struct_size_zero", "library struct_size is 0"},
      {"abi_type_struct_size_zero", "types[0].struct_size is 0"},
      {"abi_null_create", "type 'abi-test-descriptor' (types[0]): create is NULL"},
      {"abi_null_destroy", "type 'abi-test-descriptor' (types[0]): destroy is NULL"},
      {"abi_null_name", "types[0].name is NULL"},
      {"abi_bad_type_name", "type 'Bad Name!' (types[0]): name must match [a-z0-9][a-z0-9._-]*"},
      {"abi_request_cap_without_hook",
       "declares the request capability but process_request is NULL"},
      {"abi_zero_types", "declares no plugin types"},
      {"abi_duplicate_type_names", "type 'abi-test-descriptor' is declared twice"},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    auto file = abi_plugin(c.file);
    CHECK_THAT(load_error(file),
               Contains(file.string()) && Contains("bad descriptor") && Contains(c.reason));
  }
}

TEST_CASE("two files declaring the same plugin type: the second is refused naming both",
          "[loader]") {
  bbr::PluginRegistry registry;
  CHECK(registry.add_file(abi_plugin("abi_duplicate_a"), {}));
  CHECK_FALSE(registry.add_file(abi_plugin("abi_duplicate_b"), {}));
  REQUIRE(registry.errors().size() == 1);
  CHECK_THAT(registry.errors()[0],
             Contains(abi_plugin("abi_duplicate_a").string()) &&
                 Contains(abi_plugin("abi_duplicate_b").string()) &&
                 Contains("plugin type 'abi-test-duplicate' is already declared"));
  REQUIRE(registry.find("abi-test-duplicate") != nullptr);
  CHECK(registry.find("abi-test-duplicate")->library->path() == abi_plugin("abi_duplicate_a"));
}

TEST_CASE("scanning a directory loads the good files and records every broken one", "[loader]") {
  bbr::PluginRegistry registry;
  registry.scan_directory(BBR_ABI_PLUGIN_DIR, {});
  for (const char* type :
       {"abi-test-good", "abi-test-create-fails", "abi-test-create-throws",
        "abi-test-fail-forbidden", "abi-test-request-throws", "abi-test-segfaults",
        "abi-test-rejects", "abi-test-hangs", "abi-test-duplicate", "abi-test-newer-minor",
        "abi-test-frozen-1-0"}) {
    INFO(type);
    CHECK(registry.find(type) != nullptr);
  }
  // 14 broken files plus the second declaration of abi-test-duplicate.
  CHECK(registry.errors().size() == 15);
  auto names = registry.type_names();
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("the same file reached twice is loaded once, without a duplicate error", "[loader]") {
  bbr::PluginRegistry registry;
  CHECK(registry.add_file(abi_plugin("abi_good"), {}));
  CHECK(registry.add_file(fs::path(BBR_ABI_PLUGIN_DIR) / "." / "abi_good.so", {}));
  CHECK(registry.errors().empty());
  CHECK(registry.types().size() == 1);
}

TEST_CASE("scanning a missing directory is recorded as an error", "[loader]") {
  bbr::PluginRegistry registry;
  registry.scan_directory(fs::path(BBR_ABI_PLUGIN_DIR) / "nope", {});
  REQUIRE(registry.errors().size() == 1);
  CHECK_THAT(registry.errors()[0], Contains("nope") && Contains("cannot read plugin directory"));
}

TEST_CASE("a plugin file writable by its group is refused unless allowed",
          "[loader][permissions]") {
  TempDir dir;
  fs::path copy = copy_of_good_plugin(dir);
  REQUIRE(load_error(copy).empty());
  fs::permissions(copy, fs::perms::group_write, fs::perm_options::add);
  CHECK_THAT(load_error(copy), Contains(copy.string()) && Contains("insecure permissions") &&
                                   Contains("writable by group") && Contains("mode 0775"));
  bbr::LoadOptions allow;
  allow.allow_insecure_permissions = true;
  CHECK(load_error(copy, allow).empty());
}

TEST_CASE("a plugin in a directory writable by others is refused naming the directory",
          "[loader][permissions]") {
  TempDir dir;
  fs::path copy = copy_of_good_plugin(dir);
  fs::permissions(dir.path, fs::perms::others_write, fs::perm_options::add);
  CHECK_THAT(load_error(copy), Contains("plugin directory " + dir.path.string()) &&
                                   Contains("writable by others") && Contains("mode 0757"));
  bbr::LoadOptions allow;
  allow.allow_insecure_permissions = true;
  CHECK(load_error(copy, allow).empty());
}

TEST_CASE("a plugin owned by another user is refused unless allowed", "[loader][permissions]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot give a file to another user, skipping");
    return;
  }
  TempDir dir;
  fs::path copy = copy_of_good_plugin(dir);
  REQUIRE(::chown(copy.c_str(), 65534, 65534) == 0);
  CHECK_THAT(load_error(copy), Contains(copy.string()) && Contains("owned by uid 65534"));
  bbr::LoadOptions allow;
  allow.allow_insecure_permissions = true;
  CHECK(load_error(copy, allow).empty());
}

TEST_CASE("create() failing surfaces the plugin's error text", "[chain]") {
  auto type = only_type("abi_create_fails");
  CHECK_THROWS_WITH(
      bbr::PluginInstance(type, "strict", R"({"threshold":"high"})", nullptr),
      Contains(R"(parameter 'threshold' must be a number, got {"threshold":"high"})"));
}

TEST_CASE("a C++ constructor that throws becomes create()'s error text", "[chain]") {
  auto type = only_type("abi_create_throws");
  CHECK_THROWS_AS(bbr::PluginInstance(type, "extractor", "", nullptr), bbr::CreateError);
  CHECK_THROWS_WITH(bbr::PluginInstance(type, "extractor", "", nullptr),
                    Contains("instance 'extractor': fieldName is required"));
}

TEST_CASE("BBR_FAIL_FORBIDDEN with set_error fails the chain with 403 and the text", "[chain]") {
  bbr::Chain chain;
  chain.add_request(
      std::make_shared<bbr::PluginInstance>(only_type("abi_good"), "first", "", nullptr));
  chain.add_request(std::make_shared<bbr::PluginInstance>(only_type("abi_fail_forbidden"),
                                                          "key-check", "", nullptr));
  ChainRun run;
  auto outcome = chain.run(run.msg);
  CHECK(outcome.kind == bbr::ChainOutcome::Kind::kFailed);
  CHECK(outcome.http_status == 403);
  CHECK(outcome.plugin == "key-check");
  CHECK(outcome.error == "api key not allowed to use this model");
}

TEST_CASE("a C++ on_request that throws fails the chain with 500 and what()", "[chain]") {
  bbr::Chain chain;
  chain.add_request(std::make_shared<bbr::PluginInstance>(only_type("abi_request_throws"),
                                                          "tokenizer", "", nullptr));
  ChainRun run;
  auto outcome = chain.run(run.msg);
  CHECK(outcome.kind == bbr::ChainOutcome::Kind::kFailed);
  CHECK(outcome.http_status == 500);
  CHECK(outcome.plugin == "tokenizer");
  CHECK(outcome.error == "tokenizer table missing");
}

TEST_CASE("reject() stops the chain with the plugin's status and body", "[chain]") {
  bbr::Chain chain;
  chain.add_request(
      std::make_shared<bbr::PluginInstance>(only_type("abi_rejects"), "guard", "", nullptr));
  chain.add_request(
      std::make_shared<bbr::PluginInstance>(only_type("abi_good"), "after", "", nullptr));
  ChainRun run;
  auto outcome = chain.run(run.msg);
  CHECK(outcome.kind == bbr::ChainOutcome::Kind::kRejected);
  CHECK(outcome.http_status == 403);
  CHECK(outcome.plugin == "guard");
  REQUIRE(run.msg.immediate_response().has_value());
  CHECK(run.msg.immediate_response()->http_status == 403);
  CHECK(run.msg.immediate_response()->body == R"({"error":"blocked by policy"})");
  // The plugin after the guard never ran.
  CHECK(run.msg.header_mutations().empty());
}

TEST_CASE("an instance keeps its library loaded after the registry is gone", "[chain]") {
  std::shared_ptr<bbr::PluginInstance> instance;
  {
    bbr::PluginRegistry registry;
    REQUIRE(registry.add_file(abi_plugin("abi_good"), {}));
    instance = std::make_shared<bbr::PluginInstance>(*registry.find("abi-test-good"), "marker", "",
                                                     nullptr);
  }
  bbr::Chain chain;
  chain.add_request(instance);
  ChainRun run;
  CHECK(chain.run(run.msg).kind == bbr::ChainOutcome::Kind::kContinue);
  REQUIRE(run.msg.header_mutations().size() == 1);
  CHECK(run.msg.header_mutations()[0].key == "x-abi-test");
  CHECK(run.msg.header_mutations()[0].value == "ok");
}

TEST_CASE("a plugin built for a newer ABI minor loads with a warning naming the file",
          "[loader]") {
  auto library = bbr::PluginLibrary::open(abi_plugin("abi_newer_minor"), {});
  CHECK(library->abi_minor() == BBR_ABI_MINOR + 1);
  CHECK_THAT(library->warning(),
             Contains(abi_plugin("abi_newer_minor").string()) &&
                 Contains(fmt::format("built for ABI {}.{}", BBR_ABI_MAJOR, BBR_ABI_MINOR + 1)) &&
                 Contains(fmt::format("this host's ABI {}.{}", BBR_ABI_MAJOR, BBR_ABI_MINOR)));
  // Built for this very minor: no warning.
  CHECK(bbr::PluginLibrary::open(abi_plugin("abi_good"), {})->warning().empty());
}

TEST_CASE("a plugin built against the frozen ABI 1.0 header loads and runs in a chain",
          "[loader][chain][frozen]") {
  auto library = bbr::PluginLibrary::open(abi_plugin("abi_frozen_1_0"), {});
  CHECK(library->abi_major() == 1);
  CHECK(library->abi_minor() == 0);
  CHECK(library->warning().empty());
  REQUIRE(library->types().size() == 1);
  bbr::PluginTypeRef type{library, library->types().front()};
  bbr::Chain chain;
  chain.add_request(
      std::make_shared<bbr::PluginInstance>(type, "frozen", R"({"suffix":"-v1"})", nullptr));
  ChainRun run;
  auto outcome = chain.run(run.msg);
  INFO(outcome.error);
  REQUIRE(outcome.kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK(run.msg.header("x-frozen-model") == "food-review-1");
  CHECK(run.msg.header("x-frozen-param") == "-v1");
  CHECK(run.msg.header("x-frozen-edit") == "[1,true]");
  CHECK(run.msg.header("x-frozen-state") == "42");
  CHECK(run.msg.header("x-frozen-host-abi") ==
        fmt::format("{}.{}", BBR_ABI_MAJOR, BBR_ABI_MINOR));
}

namespace {

// A Message as the session makes it for a request to `path` (ABI 1.1 fields).
struct Request11 {
  bbr::RequestState state;
  bbr::EnvoyContext context;
  bbr::Message msg;
  Request11(std::string path, std::string body)
      : msg(BBR_PHASE_REQUEST, bbr::Headers{{"content-type", "application/json"}},
            bbr::JsonBody(std::move(body)), state) {
    msg.set_request_path(std::move(path));
    context.attributes["request.id"] = "\"req-1\"";
    context.metadata["abi11.in"]["tenant"] = "\"team-a\"";
    msg.set_envoy_context(&context);
  }
};

}  // namespace

TEST_CASE("the ABI 1.1 test plugin refuses a 1.0 host from its entry", "[loader][minor_version]") {
  void* handle = dlopen(abi_plugin("abi_1_1").c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(handle != nullptr);
  auto entry = reinterpret_cast<bbr_plugin_entry_fn>(dlsym(handle, BBR_PLUGIN_ENTRY_SYMBOL));
  REQUIRE(entry != nullptr);
  bbr_host_info_t old_host{sizeof(bbr_host_info_t), 1, 0, "1.0-host"};
  CHECK(entry(&old_host) == nullptr);
  bbr_host_info_t this_host{sizeof(bbr_host_info_t), BBR_ABI_MAJOR, BBR_ABI_MINOR, "now"};
  CHECK(entry(&this_host) != nullptr);
  dlclose(handle);
  // Through the loader (this host is 1.1) it loads, without a warning.
  auto library = bbr::PluginLibrary::open(abi_plugin("abi_1_1"), {});
  CHECK(library->abi_minor() == 1);
  CHECK(library->warning().empty());
}

TEST_CASE("the ABI 1.1 test plugin uses every 1.1 call in a chain", "[loader][chain][minor_version]") {
  bbr::Metrics metrics;
  auto type = only_type("abi_1_1");
  bbr::Chain chain;
  chain.add_request(std::make_shared<bbr::PluginInstance>(
      type, "abi11", R"({"headers":{"x-abi11-param":"p1","x-abi11-other":"p2"}})", &metrics));
  Request11 run("/v1/chat/completions",
                R"({"model":"m1","messages":[{"role":"user","content":"hello"},)"
                R"({"role":"user","content":[{"type":"text","text":"world"}]}]})");
  auto outcome = chain.run(run.msg);
  INFO(outcome.error);
  REQUIRE(outcome.kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK(run.msg.header("x-abi11-param") == "p1");  // parameter_for_each, views kept
  CHECK(run.msg.header("x-abi11-other") == "p2");
  CHECK(run.msg.header("x-abi11-path") == "/v1/chat/completions");
  CHECK(run.msg.header("x-abi11-unit") == "0");
  CHECK(run.msg.header("x-abi11-messages") == "2");
  CHECK(run.msg.header("x-abi11-message-members") == "4");
  CHECK(run.msg.header("x-abi11-prompt-length") == "11");  // "hello\nworld"
  CHECK(run.msg.header("x-abi11-request-id") == "\"req-1\"");
  CHECK(run.msg.header("x-abi11-tenant") == "\"team-a\"");
  bbr::JsonRead v;
  REQUIRE(run.msg.body().get("/abi11/s", v) == bbr::JsonError::kNone);
  CHECK(v.string == "say \"hi\"");
  REQUIRE(run.msg.body().get("/abi11/i", v) == bbr::JsonError::kNone);
  CHECK(v.integer == -7);
  REQUIRE(run.msg.body().get("/abi11/b", v) == bbr::JsonError::kNone);
  CHECK(v.boolean);
  REQUIRE(run.msg.dynamic_metadata().size() == 1);
  CHECK(run.msg.dynamic_metadata()[0].ns == "bbr.abi11");
  CHECK(run.msg.dynamic_metadata()[0].json_value == "\"m1\"");
  CHECK(run.msg.route_cache() == BBR_ROUTE_CACHE_KEEP);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Contains(R"(abi11_requests_total{plugin_name="abi11",route="/v1/chat/completions"} 1)"));
  CHECK_THAT(text, Contains(R"(abi11_prompt_chars_bucket{plugin_name="abi11",le="100"} 1)"));

  Request11 reject("/v1/completions", R"({"model":"m","prompt":"x","abi11_reject":true})");
  outcome = chain.run(reject.msg);
  REQUIRE(outcome.kind == bbr::ChainOutcome::Kind::kRejected);
  const auto& answer = *reject.msg.immediate_response();
  CHECK(answer.http_status == 429);
  CHECK(answer.details == "abi11_rate_limited");
  REQUIRE(answer.headers.size() == 2);
  CHECK(answer.headers[0].key == "retry-after");
}

TEST_CASE("the ABI 1.1 test plugin's event hook drops and adds SSE events", "[loader][minor_version]") {
  auto type = only_type("abi_1_1");
  REQUIRE(type.type->process_response_event != nullptr);
  // The hook called as the streamed-response session calls it, on an instance
  // created here (PluginInstance calls the whole-body hooks only).
  bbr::PluginCounters counters(nullptr, "events");
  bbr_plugin_context context;
  context.type_name = "abi-test-1-1";
  context.instance_name = "events";
  context.metrics = &counters;
  char error[256] = {0};
  bbr_create_args_t args{};
  args.struct_size = sizeof(args);
  args.api = bbr::host_api();
  args.context = &context;
  args.instance_name = {"events", 6};
  args.error = error;
  args.error_capacity = sizeof(error);
  void* instance = nullptr;
  REQUIRE(type.type->create(&args, &instance) == 0);
  for (std::string data : {"drop", "{\"x\":1}"}) {
    bbr::RequestState state;
    bbr::Message msg(BBR_PHASE_RESPONSE, {}, bbr::JsonBody(data), state);
    bbr::BodyPosition p;
    p.unit = BBR_BODY_SSE_EVENT;
    msg.set_position(p);
    CHECK(type.type->process_response_event(instance, bbr::to_handle(&msg)) == BBR_CONTINUE);
    if (data == "drop") {
      CHECK(msg.event_dropped());
      CHECK(msg.added_events().empty());
    } else {
      CHECK_FALSE(msg.event_dropped());
      REQUIRE(msg.added_events().size() == 1);
      CHECK(msg.added_events()[0].event_name == "abi11");
      CHECK(msg.added_events()[0].data == "seen");
    }
  }
  type.type->destroy(instance);
}
