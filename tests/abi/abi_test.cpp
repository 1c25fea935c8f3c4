// The ABI boundary under abuse: every broken plugin in tests/abi/plugins is
// refused with a message naming the file and the reason, and plugins that fail,
// throw or reject at run time turn into the chain outcomes the server answers.
#include "support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"

#include <fmt/format.h>
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
             Contains(file.string()) && Contains("built for ABI 2.0, this host speaks ABI 1"));
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
