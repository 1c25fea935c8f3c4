// Runs request plugins (real .so files, real host Messages) on a request with
// headers and a :path of the test's choice, and reads back what they did:
// header changes, the body as the chain left it, the outcome.
#pragma once

#include "plugin_harness.hpp"

#include <strings.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace plugin_test {

struct RequestRun {
  bbr::ChainOutcome outcome;
  std::vector<bbr::HeaderMutation> mutations;
  std::string body;  // as the chain left it (serialised once)
  bool body_changed = false;
  std::string error;  // the failing plugin's error text

  std::optional<std::string> header(const std::string& key) const {
    for (const auto& m : mutations) {
      if (strcasecmp(m.key.c_str(), key.c_str()) == 0 && m.value) return *m.value;
    }
    return std::nullopt;
  }
  bool touched(const std::string& key) const {
    for (const auto& m : mutations) {
      if (strcasecmp(m.key.c_str(), key.c_str()) == 0) return true;
    }
    return false;
  }
  bool ok() const { return outcome.kind == bbr::ChainOutcome::Kind::kContinue; }
};

inline RequestRun run_on(const std::vector<std::shared_ptr<bbr::PluginInstance>>& instances,
                         std::string body, bbr::Headers extra_headers = {},
                         const std::string& path = "/v1/chat/completions") {
  bbr::Chain chain;
  for (const auto& instance : instances) chain.add_request(instance);
  bbr::RequestState state;
  bbr::Headers headers{{":method", "POST"}, {":path", path}, {"content-type", "application/json"}};
  for (auto& h : extra_headers) headers.push_back(std::move(h));
  bbr::Message msg(BBR_PHASE_REQUEST, std::move(headers), bbr::JsonBody(std::move(body)), state);
  msg.set_request_path(path);
  RequestRun run;
  run.outcome = chain.run(msg);
  run.mutations = msg.header_mutations();
  run.body_changed = msg.body().changed();
  run.body = msg.body().raw();
  run.error = run.outcome.error;
  return run;
}

inline RequestRun run_one(const std::string& type, const std::string& params, std::string body,
                          bbr::Headers extra_headers = {},
                          const std::string& path = "/v1/chat/completions") {
  return run_on({create(type, params)}, std::move(body), std::move(extra_headers), path);
}

// create()'s error text, or "(create succeeded)".
inline std::string create_error(const std::string& type, const std::string& params) {
  try {
    create(type, params);
  } catch (const bbr::CreateError& e) {
    return e.what();
  }
  return "(create succeeded)";
}

}  // namespace plugin_test
