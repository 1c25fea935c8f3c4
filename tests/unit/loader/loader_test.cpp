// The loader against the real in-tree plugins and real directories: where the
// binary looks for plugins, how directories combine, and the permission rules
// for paths reached through symlinks. (Broken plugins: tests/abi.)
#include "support/temp_dir.hpp"
#include <catch2/catch.hpp>

#include "loader/plugin_library.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kAbiPlugins = BBR_BINARY_DIR "/tests/abi/plugins";

using TempDir = bbr_test::TempDir;

}  // namespace

TEST_CASE("the default plugin directory is lib/bbr-host/plugins next to the binary's bin",
          "[loader]") {
  // Test binaries live in <build>/bin like bbr-host, so they share its default.
  CHECK(bbr::default_plugin_dir() == fs::canonical(BBR_PLUGIN_OUTPUT_DIR));
}

TEST_CASE("the in-tree plugins load from the default directory without errors", "[loader]") {
  bbr::PluginRegistry registry = bbr::scan_plugin_dirs({}, {});
  CHECK(registry.errors().empty());
  auto names = registry.type_names();
  CHECK(std::find(names.begin(), names.end(), "body-field-to-header") != names.end());
  CHECK(std::find(names.begin(), names.end(), "base-model-to-header") != names.end());
  const bbr::PluginTypeRef* ref = registry.find("body-field-to-header");
  REQUIRE(ref != nullptr);
  CHECK(ref->library->path().parent_path() == bbr::default_plugin_dir());
  CHECK((ref->type->capabilities & BBR_CAP_REQUEST) != 0);
}

TEST_CASE("naming the default directory again does not load it twice", "[loader]") {
  bbr::PluginRegistry once = bbr::scan_plugin_dirs({}, {});
  bbr::PluginRegistry twice =
      bbr::scan_plugin_dirs({bbr::default_plugin_dir(), BBR_PLUGIN_OUTPUT_DIR "/."}, {});
  CHECK(twice.errors().empty());
  CHECK(twice.type_names() == once.type_names());
}

TEST_CASE("extra directories add their types after the default ones", "[loader]") {
  TempDir dir;
  fs::copy_file(kAbiPlugins / "abi_good.so", dir.path / "abi_good.so");
  fs::permissions(dir.path / "abi_good.so", fs::perms(0755));
  bbr::PluginRegistry registry = bbr::scan_plugin_dirs({dir.path}, {});
  CHECK(registry.errors().empty());
  CHECK(registry.find("abi-test-good") != nullptr);
  CHECK(registry.find("body-field-to-header") != nullptr);
}

TEST_CASE("only *.so files in a directory are loaded", "[loader]") {
  TempDir dir;
  fs::copy_file(kAbiPlugins / "abi_good.so", dir.path / "abi_good.so.disabled");
  { std::ofstream(dir.path / "README") << "not a plugin\n"; }
  bbr::PluginRegistry registry;
  registry.scan_directory(dir.path, {});
  CHECK(registry.errors().empty());
  CHECK(registry.types().empty());
}

TEST_CASE("a symlink in a directory writable by others is refused even if its target is safe",
          "[loader][permissions]") {
  TempDir safe;
  TempDir open;
  fs::copy_file(kAbiPlugins / "abi_good.so", safe.path / "abi_good.so");
  fs::permissions(safe.path / "abi_good.so", fs::perms(0755));
  fs::create_symlink(safe.path / "abi_good.so", open.path / "abi_good.so");
  fs::permissions(open.path, fs::perms(0777));
  bbr::PluginRegistry registry;
  CHECK_FALSE(registry.add_file(open.path / "abi_good.so", {}));
  REQUIRE(registry.errors().size() == 1);
  CHECK_THAT(registry.errors()[0], Contains("plugin directory " + open.path.string()) &&
                                       Contains("writable by group and others") &&
                                       Contains("mode 0777"));
  // Through the safe directory it loads.
  CHECK(registry.add_file(safe.path / "abi_good.so", {}));
}

TEST_CASE("allowing insecure permissions loads from a world-writable directory",
          "[loader][permissions]") {
  TempDir dir;
  fs::copy_file(kAbiPlugins / "abi_good.so", dir.path / "abi_good.so");
  fs::permissions(dir.path / "abi_good.so", fs::perms(0666));
  fs::permissions(dir.path, fs::perms(0777));
  bbr::LoadOptions strict;
  bbr::PluginRegistry refused = bbr::scan_plugin_dirs({dir.path}, strict);
  CHECK(refused.find("abi-test-good") == nullptr);
  REQUIRE(refused.errors().size() == 1);
  CHECK_THAT(refused.errors()[0], Contains("plugin file " + (dir.path / "abi_good.so").string()) &&
                                      Contains("mode 0666"));
  bbr::LoadOptions lax;
  lax.allow_insecure_permissions = true;
  bbr::PluginRegistry allowed = bbr::scan_plugin_dirs({dir.path}, lax);
  CHECK(allowed.errors().empty());
  CHECK(allowed.find("abi-test-good") != nullptr);
}
