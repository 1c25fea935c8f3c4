// Runs request plugins (real .so files) through the SDK's test kit - the
// host's loader and ext_proc session - on a request with headers and a :path
// of the test's choice, and reads back what the session would send to Envoy:
// header changes, the body as it leaves the host, the outcome.
#pragma once

#include <bbr/testkit.hpp>

#include "plugin_harness.hpp"

#include <strings.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plugin_test {

// The in-tree plugin `type` from its .so in the build's plugin directory.
inline bbr::testkit::Plugin load(const std::string& type, const std::string& params) {
  return bbr::testkit::Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/" + type + ".so", type,
                                    params, type + "-under-test");
}

// What the session answered for the request, read off the kit's Result.
struct RequestRun {
  // The headers set, in the order the host sends them, less Content-Length:
  // the session sets that itself whenever the body changed (below).
  bbr::testkit::Headers headers_set;
  std::optional<std::string> content_length;
  std::vector<std::string> headers_removed;
  std::string body;  // as it leaves the host (the original when unchanged)
  bool body_changed = false;
  bool rejected = false;   // an immediate answer instead of forwarding
  uint32_t status = 0;     // its HTTP status, 0 when forwarded
  std::string error;       // the failing plugin's error text
  std::string stopped_by;  // the instance that stopped the chain, "" when the host answered

  std::optional<std::string> header(const std::string& key) const {
    for (const auto& [name, value] : headers_set) {
      if (strcasecmp(name.c_str(), key.c_str()) == 0) return value;
    }
    return std::nullopt;
  }
  bool touched(const std::string& key) const {
    if (header(key)) return true;
    for (const auto& name : headers_removed) {
      if (strcasecmp(name.c_str(), key.c_str()) == 0) return true;
    }
    return false;
  }
  bool headers_untouched() const { return headers_set.empty() && headers_removed.empty(); }
  bool ok() const { return !rejected; }
  // A plugin failed (rather than rejected on purpose, or the host answering).
  bool failed() const { return rejected && !error.empty(); }
};

inline RequestRun run_on(std::vector<bbr::testkit::Plugin> plugins, std::string body,
                         bbr::testkit::Headers extra_headers = {},
                         const std::string& path = "/v1/chat/completions") {
  bbr::testkit::Chain chain(std::move(plugins));
  bbr::testkit::Headers headers{
      {":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  for (auto& h : extra_headers) headers.push_back(std::move(h));
  auto result = chain.request(headers, std::move(body));
  RequestRun run;
  for (const auto& [name, value] : result.headers_set()) {
    if (strcasecmp(name.c_str(), "content-length") == 0) {
      run.content_length = value;
    } else {
      run.headers_set.emplace_back(name, value);
    }
  }
  run.headers_removed = result.headers_removed();
  run.body = result.body();
  run.body_changed = result.body_changed();
  run.rejected = result.rejected();
  run.status = result.status();
  run.error = result.error();
  run.stopped_by = result.stopped_by();
  return run;
}

inline RequestRun run_one(const std::string& type, const std::string& params, std::string body,
                          bbr::testkit::Headers extra_headers = {},
                          const std::string& path = "/v1/chat/completions") {
  return run_on({load(type, params)}, std::move(body), std::move(extra_headers), path);
}

// The plugin's own create() error, or "(create succeeded)".
inline std::string create_error(const std::string& type, const std::string& params) {
  return own_create_error(type, params);
}

// What every front end (serve, config check, chain run, plugins validate, the
// kit) says about `params`: the host's check against the type's schema, then
// create(). "(created)" when both accept them.
inline std::string load_error(const std::string& type, const std::string& params) {
  try {
    load(type, params);
  } catch (const bbr::testkit::Error& e) {
    return e.what();
  }
  return "(created)";
}

}  // namespace plugin_test
