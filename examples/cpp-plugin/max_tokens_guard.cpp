// max-tokens-guard: a guardrail. Refuses a request whose max_tokens (or
// max_completion_tokens) exceeds the `limit` parameter, answering 400 with an
// OpenAI-shaped error body, before the request reaches a model server.
//
// C++ over bbr/plugin.hpp, the SDK's header-only helpers; nothing else needed.
//
// Parameters: {"limit": 4096}   (required, a positive integer)
#include <bbr/plugin.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// Reads {"limit": <positive integer>} without a JSON library: the parameters
// are small and this example wants no dependency but the SDK.
int64_t read_limit(std::string_view parameters) {
  const std::string_view key = "\"limit\"";
  auto at = parameters.find(key);
  if (at == std::string_view::npos) throw std::invalid_argument("limit: required");
  auto pos = parameters.find_first_not_of(" \t\r\n:", at + key.size());
  if (pos == std::string_view::npos) throw std::invalid_argument("limit: required");
  std::string digits;
  while (pos < parameters.size() && (parameters[pos] == '-' || (parameters[pos] >= '0' && parameters[pos] <= '9')))
    digits += parameters[pos++];
  if (digits.empty() || (pos < parameters.size() && parameters[pos] == '.'))
    throw std::invalid_argument("limit: must be a positive integer");
  errno = 0;
  long long value = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno != 0 || value <= 0) throw std::invalid_argument("limit: must be a positive integer");
  return value;
}

std::string openai_error(const std::string& message, const char* param) {
  // The messages we build hold no characters that need JSON escaping.
  return std::string(R"({"error":{"message":")") + message +
         R"(","type":"invalid_request_error","param":")" + param +
         R"(","code":"max_tokens_exceeded"}})";
}

class MaxTokensGuard {
 public:
  explicit MaxTokensGuard(const bbr::CreateContext& ctx)
      : plugin_(ctx.plugin), limit_(read_limit(ctx.parameters_json)) {}

  bbr_result_t on_request(bbr::Message& msg) {
    for (const char* field : {"max_tokens", "max_completion_tokens"}) {
      bbr::JsonValue value;
      if (msg.json(std::string("/") + field, value) != BBR_OK) continue;
      if (value.type() != BBR_JSON_INTEGER && value.type() != BBR_JSON_NUMBER) continue;
      if (value.raw.number <= static_cast<double>(limit_)) continue;
      plugin_.count("max_tokens_guard_rejected_total", "field", field);
      std::string message = std::string(field) + " must be at most " + std::to_string(limit_);
      msg.reject(400, openai_error(message, field));
      return BBR_CONTINUE;  // reject() already ends the chain with the answer
    }
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  int64_t limit_;
};

constexpr const char* kSchema = R"({"type":"object","properties":{"limit":{"type":"integer","minimum":1}},"required":["limit"]})";

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<MaxTokensGuard>(
    "max-tokens-guard", "1.0.0",
    "Refuses requests whose max_tokens exceeds a limit with a 400 OpenAI-shaped error",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kSchema))
