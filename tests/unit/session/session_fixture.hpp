// Builds real chains (real .so plugins through the real loader) and drives a
// Session message by message, comparing answers as text protos.
#pragma once

#include "chain/chain.hpp"
#include "loader/plugin_library.hpp"
#include "session/session.hpp"

#include <google/protobuf/text_format.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace session_test {

using ProcessingRequest = envoy::service::ext_proc::v3::ProcessingRequest;
using ProcessingResponse = envoy::service::ext_proc::v3::ProcessingResponse;

struct PluginUse {
  std::string type;
  std::string name;
  std::string params;
  bool request = true;
  bool response = false;
};

// A temporary adapters directory holding one file: base qwen, adapters
// sql-lora-sheddable, foo, 1 (the reference's integration harness).
class AdaptersDir {
 public:
  AdaptersDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("bbr-session-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
    std::ofstream(path_ / "qwen.yaml") << "baseModel: qwen\nadapters:\n- sql-lora-sheddable\n- foo\n- \"1\"\n";
  }
  ~AdaptersDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

inline bbr::PluginRegistry& registry() {
  static bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;  // permissions are the loader tests' concern
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "test-plugins.so", options);
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "stream-test-plugins.so", options);
    return r;
  }();
  return reg;
}

inline std::unique_ptr<bbr::Chain> make_chain(const std::vector<PluginUse>& uses) {
  auto chain = std::make_unique<bbr::Chain>();
  for (const auto& use : uses) {
    const bbr::PluginTypeRef* type = registry().find(use.type);
    INFO("plugin type " << use.type << "; load errors: " << registry().errors().size());
    REQUIRE(type != nullptr);
    auto instance = std::make_shared<bbr::PluginInstance>(*type, use.name, use.params, nullptr);
    if (use.request) chain->add_request(instance);
    if (use.response) chain->add_response(instance);
  }
  return chain;
}

// The reference harness: model -> X-Gateway-Model-Name, then the base model.
inline std::unique_ptr<bbr::Chain> reference_chain(const AdaptersDir& dir) {
  return make_chain({{"body-field-to-header", "body-field-to-header",
                      R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})"},
                     {"base-model-to-header", "base-model-to-header",
                      R"({"adaptersDir":")" + dir.path() + R"("})"}});
}

inline ProcessingRequest parse_request(const std::string& text) {
  ProcessingRequest r;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &r));
  return r;
}

inline ProcessingRequest request_headers(bool end_of_stream) {
  ProcessingRequest r;
  auto* h = r.mutable_request_headers();
  auto* kv = h->mutable_headers()->add_headers();
  kv->set_key("hi");
  kv->set_value("mom");
  h->set_end_of_stream(end_of_stream);
  return r;
}

inline ProcessingRequest body_message(bool request, const std::string& bytes, bool end_of_stream) {
  ProcessingRequest r;
  auto* b = request ? r.mutable_request_body() : r.mutable_response_body();
  b->set_body(bytes);
  b->set_end_of_stream(end_of_stream);
  return r;
}

// Canonical text of a list of responses, one per line.
inline std::string text_of(const std::vector<ProcessingResponse>& responses) {
  std::string out;
  for (const auto& r : responses) out += r.ShortDebugString() + "\n";
  return out;
}

inline std::string text_of_expected(const std::vector<std::string>& texts) {
  std::vector<ProcessingResponse> parsed;
  for (const auto& t : texts) {
    ProcessingResponse r;
    INFO("expected text proto: " << t);
    REQUIRE(google::protobuf::TextFormat::ParseFromString(t, &r));
    parsed.push_back(r);
  }
  return text_of(parsed);
}

// Feeds all requests, concatenating the answers.
struct Run {
  std::vector<ProcessingResponse> responses;
  bool finished = false;
  bool error = false;
  std::string error_message;
};

inline Run feed(bbr::Session& session, const std::vector<ProcessingRequest>& requests) {
  Run run;
  for (const auto& req : requests) {
    auto step = session.on_request(req);
    for (auto& r : step.take_all()) run.responses.push_back(std::move(r));
    if (step.finish) {
      run.finished = true;
      run.error = step.error != bbr::Session::StreamError::kNone;
      run.error_message = step.error_message;
      break;
    }
  }
  return run;
}

}  // namespace session_test
