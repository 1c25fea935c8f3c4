// Shared pieces of the micro-benchmarks: fixture bodies, the real plugin
// registry (in-tree plugins + test plugins, loaded through the real loader)
// and the reference default chain over a temporary adapters directory.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"
#include "session/session.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace bbr_bench {

using ProcessingRequest = envoy::service::ext_proc::v3::ProcessingRequest;

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string fixture(const std::string& name) {
  return read_file(std::filesystem::path(BBR_FIXTURES_DIR) / name);
}

// The request fixtures benchmarked for parsing (tests/fixtures).
inline const std::vector<std::string>& request_fixture_names() {
  static const std::vector<std::string> names = {
      "chat-completions.request.json",      "chat-completions-stream.request.json",
      "chat-completions-tools.request.json", "chat-completions-multimodal.request.json",
      "completions.request.json",           "embeddings.request.json",
      "responses.request.json",             "chat-completions.response.json"};
  return names;
}

// A completions request whose prompt makes the body exactly `total_bytes` long:
// the shape of a long-context request (one big string, a few small fields).
inline std::string large_prompt_body(std::size_t total_bytes) {
  const std::string head = R"({"model":"food-review-1","max_tokens":100,"prompt":")";
  const std::string tail = R"(","temperature":0.7})";
  static const std::string sentence =
      "The ramen in Kyoto was rich, the broth \\\"tonkotsu\\\" deep and slow-cooked. ";
  std::string body = head;
  while (body.size() + sentence.size() + tail.size() <= total_bytes) body += sentence;
  body.append(total_bytes - body.size() - tail.size(), 'x');
  body += tail;
  return body;
}

constexpr std::size_t kOneMiB = 1024 * 1024;

inline bbr::PluginRegistry& registry() {
  static bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;  // build trees are often group-writable
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    r.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "test-plugins.so", options);
    for (const auto& e : r.errors()) std::cerr << "plugin load error: " << e << "\n";
    return r;
  }();
  return reg;
}

inline std::shared_ptr<bbr::PluginInstance> instance(const std::string& type,
                                                     const std::string& params) {
  const bbr::PluginTypeRef* ref = registry().find(type);
  if (ref == nullptr) throw std::runtime_error("plugin type not found: " + type);
  return std::make_shared<bbr::PluginInstance>(*ref, type, params, nullptr);
}

// A temporary adapters directory with the reference harness's mapping
// (base qwen; adapters sql-lora-sheddable, foo, "1").
class AdaptersDir {
 public:
  AdaptersDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("bbr-bench-adapters-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
    std::ofstream(path_ / "qwen.yaml")
        << "baseModel: qwen\nadapters:\n- sql-lora-sheddable\n- foo\n- \"1\"\n";
  }
  ~AdaptersDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The reference default chain: body-field-to-header(model -> X-Gateway-Model-Name)
// then base-model-to-header. Built once per process.
inline const bbr::Chain& reference_chain() {
  static AdaptersDir dir;
  static bbr::Chain chain = [] {
    bbr::Chain c;
    c.add_request(instance("body-field-to-header",
                           R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})"));
    c.add_request(instance("base-model-to-header", R"({"adaptersDir":")" + dir.path() + R"("})"));
    return c;
  }();
  return chain;
}

// What Envoy sends as request headers for an OpenAI-style POST.
inline bbr::Headers request_header_list(std::size_t content_length) {
  return {{":method", "POST"},
          {":path", "/v1/chat/completions"},
          {":authority", "gateway.example"},
          {":scheme", "http"},
          {"content-type", "application/json"},
          {"content-length", std::to_string(content_length)},
          {"user-agent", "bench/1.0"},
          {"x-request-id", "7f1c2a0e-2d4b-4c55-9a8e-2f6c1a3b4d5e"}};
}

inline ProcessingRequest headers_message(bool request, const bbr::Headers& headers,
                                         bool end_of_stream) {
  ProcessingRequest r;
  auto* h = request ? r.mutable_request_headers() : r.mutable_response_headers();
  for (const auto& header : headers) {
    auto* kv = h->mutable_headers()->add_headers();
    kv->set_key(header.key);
    kv->set_raw_value(header.value);
  }
  h->set_end_of_stream(end_of_stream);
  return r;
}

inline ProcessingRequest body_message(bool request, std::string bytes, bool end_of_stream) {
  ProcessingRequest r;
  auto* b = request ? r.mutable_request_body() : r.mutable_response_body();
  b->set_body(std::move(bytes));
  b->set_end_of_stream(end_of_stream);
  return r;
}

// The body as Envoy sends it: one message when buffered, `chunk` sized
// messages (eos on the last) when streamed.
inline std::vector<ProcessingRequest> body_messages(bool request, const std::string& body,
                                                    std::size_t chunk) {
  std::vector<ProcessingRequest> out;
  for (std::size_t at = 0; at < body.size(); at += chunk) {
    out.push_back(body_message(request, body.substr(at, chunk), at + chunk >= body.size()));
  }
  if (out.empty()) out.push_back(body_message(request, "", true));
  return out;
}

}  // namespace bbr_bench
