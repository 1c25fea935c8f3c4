// Session against arbitrary message sequences, with real plugins.
//
// Input is text, one message per line, so seeds are readable:
//   line 1: options, space separated: "streamed", "limit=<bytes>",
//           "chunk=<bytes>", "resp" (a chain with response plugins too)
//   then:   <kind>[!][+<req mode>,<resp mode>] <payload>
//     kind: qh qb qt (request headers/body/trailers), ph pb pt (response)
//     '!' sets end_of_stream; '+R,S' attaches protocol_config with the
//     BodySendMode numbers R and S.
//     headers/trailers payload: k=v pairs joined by '&' (a key starting with
//     '~' puts the value in `value` instead of `raw_value`);
//     body payload: the bytes, with \n and \\ unescaped.
// Checks: no crash, every answer names its phase, an error end carries its
// message, streamed chunks respect the chunk size; the stream stops at the
// first finish, as the reactor does.
#include "fuzz_targets.hpp"

#include "chain/chain.hpp"
#include "loader/plugin_library.hpp"
#include "session/session.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace bbr_fuzz {
namespace {

using envoy::service::ext_proc::v3::ProcessingRequest;
using envoy::service::ext_proc::v3::ProcessingResponse;

void check(bool condition, const char* what) {
  if (!condition) invariant_failed("session", what);
}

struct Chains {
  bbr::PluginRegistry registry;
  std::filesystem::path adapters_dir;
  bbr::Chain request_only;   // the reference default chain
  bbr::Chain with_response;  // plus response-phase test plugins

  Chains() {
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;
    registry.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    registry.add_file(std::filesystem::path(BBR_TEST_PLUGIN_DIR) / "test-plugins.so", options);
    adapters_dir = std::filesystem::temp_directory_path() /
                   ("bbr-fuzz-adapters-" + std::to_string(::getpid()));
    std::filesystem::create_directories(adapters_dir);
    std::ofstream(adapters_dir / "qwen.yaml")
        << "baseModel: qwen\nadapters:\n- sql-lora-sheddable\n- foo\n- \"1\"\n";
    auto model = make("body-field-to-header",
                      R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
    auto base = make("base-model-to-header",
                     R"({"adaptersDir":")" + adapters_dir.string() + R"("})");
    auto carrier = make("test-state-carrier", "");
    auto setter = make("test-header-setter", R"({"name":"x-fuzz","value":"1"})");
    auto mutator = make("test-body-mutator", R"({"field":"fuzzed","value":true})");
    for (auto* chain : {&request_only, &with_response}) {
      chain->add_request(model);
      chain->add_request(base);
    }
    with_response.add_request(carrier);
    with_response.add_response(carrier);
    with_response.add_response(setter);
    with_response.add_response(mutator);
  }
  ~Chains() { std::filesystem::remove_all(adapters_dir); }

  std::shared_ptr<bbr::PluginInstance> make(const std::string& type, const std::string& params) {
    const bbr::PluginTypeRef* ref = registry.find(type);
    if (ref == nullptr) invariant_failed("session", ("plugin type missing: " + type).c_str());
    return std::make_shared<bbr::PluginInstance>(*ref, type, params, nullptr);
  }
};

Chains& chains() {
  static Chains c;
  return c;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::size_t number_after(std::string_view token, std::string_view prefix, std::size_t cap) {
  std::size_t n = 0;
  for (char c : token.substr(prefix.size())) {
    if (c < '0' || c > '9') break;
    n = n * 10 + static_cast<std::size_t>(c - '0');
    if (n > cap) return cap;
  }
  return n;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 'n' || s[i + 1] == '\\')) {
      out += s[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

void fill_headers(envoy::config::core::v3::HeaderMap* map, std::string_view payload) {
  std::size_t start = 0;
  while (start < payload.size()) {
    std::size_t end = payload.find('&', start);
    if (end == std::string_view::npos) end = payload.size();
    std::string_view pair = payload.substr(start, end - start);
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto* header = map->add_headers();
    if (!key.empty() && key[0] == '~') {
      header->set_key(std::string(key.substr(1)));
      header->set_value(std::string(value));
    } else {
      header->set_key(std::string(key));
      header->set_raw_value(std::string(value));
    }
    start = end + 1;
  }
}

// One message line; false when the line names no message.
bool to_request(std::string_view line, ProcessingRequest& request) {
  std::size_t space = line.find(' ');
  std::string_view head = line.substr(0, space);
  std::string_view payload = space == std::string_view::npos ? "" : line.substr(space + 1);
  if (head.size() < 2) return false;
  const std::string_view kind = head.substr(0, 2);
  std::string_view flags = head.substr(2);
  const bool eos = !flags.empty() && flags[0] == '!';
  if (eos) flags.remove_prefix(1);
  if (!flags.empty() && flags[0] == '+') {
    std::size_t comma = flags.find(',');
    auto* config = request.mutable_protocol_config();
    using Mode = envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
    config->set_request_body_mode(static_cast<Mode::BodySendMode>(number_after(flags, "+", 9)));
    if (comma != std::string_view::npos) {
      config->set_response_body_mode(
          static_cast<Mode::BodySendMode>(number_after(flags.substr(comma), ",", 9)));
    }
  }
  if (kind == "qh" || kind == "ph") {
    auto* h = kind[0] == 'q' ? request.mutable_request_headers() : request.mutable_response_headers();
    fill_headers(h->mutable_headers(), payload);
    h->set_end_of_stream(eos);
  } else if (kind == "qb" || kind == "pb") {
    auto* b = kind[0] == 'q' ? request.mutable_request_body() : request.mutable_response_body();
    b->set_body(unescape(payload));
    b->set_end_of_stream(eos);
  } else if (kind == "qt" || kind == "pt") {
    auto* t = kind[0] == 'q' ? request.mutable_request_trailers() : request.mutable_response_trailers();
    fill_headers(t->mutable_trailers(), payload);
  } else {
    return false;
  }
  return true;
}

void check_response(const ProcessingResponse& response, std::size_t chunk) {
  check(response.response_case() != ProcessingResponse::RESPONSE_NOT_SET,
        "an answer without a phase");
  const envoy::service::ext_proc::v3::CommonResponse* common = nullptr;
  if (response.has_request_body()) common = &response.request_body().response();
  if (response.has_response_body()) common = &response.response_body().response();
  if (common != nullptr && common->body_mutation().has_streamed_response()) {
    check(common->body_mutation().streamed_response().body().size() <= chunk,
          "a streamed chunk larger than the chunk size");
  }
}

}  // namespace

int session_one_input(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto lines = lines_of(text);
  bbr::SessionOptions options;
  bool response_plugins = false;
  {
    std::string_view first = lines.front();
    std::size_t start = 0;
    while (start < first.size()) {
      std::size_t end = first.find(' ', start);
      if (end == std::string_view::npos) end = first.size();
      std::string_view token = first.substr(start, end - start);
      if (token == "streamed") options.streaming = true;
      if (token == "resp") response_plugins = true;
      if (token.substr(0, 6) == "limit=") options.max_body_bytes = number_after(token, "limit=", 1 << 24);
      if (token.substr(0, 6) == "chunk=") {
        options.stream_chunk_bytes = std::max<std::size_t>(1, number_after(token, "chunk=", 1 << 20));
      }
      start = end + 1;
    }
  }
  const bbr::Chain& chain = response_plugins ? chains().with_response : chains().request_only;
  bbr::Session session(chain, options);
  for (std::size_t i = 1; i < lines.size() && i <= 256; ++i) {
    ProcessingRequest request;
    if (!to_request(lines[i], request)) continue;
    bbr::Session::Step step = session.on_request(request);
    for (const auto& response : step.take_all()) check_response(response, options.stream_chunk_bytes);
    if (step.error != bbr::Session::StreamError::kNone) {
      check(step.finish, "an error end that does not finish");
      check(!step.error_message.empty(), "an error end without a message");
    }
    if (step.finish) break;
  }
  return 0;
}

}  // namespace bbr_fuzz
