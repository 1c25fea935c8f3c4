// Helpers for the in-tree plugins' tests beside the SDK's test kit (which
// loads and runs the plugins): the loaded types' descriptors, files and temp
// dirs, and waiting on a watcher.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace plugin_test {

inline const bbr::PluginTypeRef& plugin_type(const std::string& name) {
  static bbr::PluginRegistry registry = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    // These tests pin plugin behaviour; the permission policy has its own tests.
    options.allow_insecure_permissions = true;
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    return r;
  }();
  const bbr::PluginTypeRef* ref = registry.find(name);
  if (ref == nullptr) {
    std::string errors;
    for (const auto& e : registry.errors()) errors += e + "\n";
    FAIL("plugin type '" << name << "' not found in " << BBR_PLUGIN_OUTPUT_DIR << "\n" << errors);
  }
  return *ref;
}

// A plugin instance from the real .so, for the tests that drive the chain
// directly (Message by Message) rather than through the test kit.
inline std::shared_ptr<bbr::PluginInstance> create(const std::string& type, const std::string& params,
                                                   bbr::Metrics* metrics = nullptr) {
  return std::make_shared<bbr::PluginInstance>(plugin_type(type), type + "-under-test", params,
                                               metrics);
}

// What the plugin's own create() says about `params` ("(create succeeded)"
// when it accepts them). Created directly, without the host's parameter check
// in front: serve, config check and the test kit refuse what a type's schema
// refuses before create() runs (tests/unit/sdk/parameter_parity_test.cpp), so
// these are the plugin's own words: the checks a schema cannot make. What the
// schema says is checked through the kit (request_harness.hpp's load_error).
inline std::string own_create_error(const std::string& type, const std::string& params) {
  try {
    create(type, params);
  } catch (const bbr::CreateError& e) {
    return e.what();
  }
  return "(create succeeded)";
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  // Write then rename, as a careful operator (or kubelet) does, so the watcher
  // never reads half a file.
  // Appended piece by piece: "." + std::string trips GCC 12's -Wrestrict false
  // positive at -O3.
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp";
  auto tmp = path.parent_path() / name;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bbr-plugins-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Waits (bounded) until `done` holds; the reload is asynchronous by design.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace plugin_test
