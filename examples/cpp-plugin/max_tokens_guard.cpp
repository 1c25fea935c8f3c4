// max-tokens-guard: a guardrail. Refuses a request whose max_tokens (or
// max_completion_tokens) exceeds the `limit` parameter, answering 400 with an
// OpenAI-shaped error body, before the request reaches a model server.
//
// C++ over bbr/plugin.hpp, the SDK's header-only helpers; nothing else needed.
// ABI 1.1: parameters read through the host (checked against the schema
// first), a counter defined at create, reject_with.
//
// Parameters: {"limit": 4096}   (required, a positive integer)
#include <bbr/plugin.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

std::string openai_error(const std::string& message, const char* param) {
  // The messages we build hold no characters that need JSON escaping.
  return std::string(R"({"error":{"message":")") + message +
         R"(","type":"invalid_request_error","param":")" + param +
         R"(","code":"max_tokens_exceeded"}})";
}

class MaxTokensGuard {
 public:
  // The host checked the parameters against kSchema below before create():
  // `limit` is there and a positive integer, so reading it cannot fail here.
  explicit MaxTokensGuard(const bbr::CreateContext& ctx)
      : limit_(ctx.plugin.parameter_integer("/limit").value_or(0)),
        // Defined once at create, counted by id on each refusal (no lookup
        // by name per request); the host adds the plugin_name label.
        refused_(ctx.counter("max_tokens_guard_rejected_total",
                             "Requests refused for asking too many tokens", "field")) {
    if (!refused_.ok()) throw std::runtime_error("cannot define max_tokens_guard_rejected_total");
  }

  bbr_result_t on_request(bbr::Message& msg) {
    for (const char* field : {"max_tokens", "max_completion_tokens"}) {
      std::optional<double> asked = msg.json_number(std::string("/") + field);
      if (!asked || *asked <= static_cast<double>(limit_)) continue;
      refused_.add_labelled(field);
      std::string message = std::string(field) + " must be at most " + std::to_string(limit_);
      // An OpenAI-shaped 400, typed as JSON, with details for Envoy's access log.
      msg.reject_with(400, openai_error(message, field), {{"content-type", "application/json"}},
                      "max_tokens_guard");
      return BBR_CONTINUE;  // reject_with() already ends the chain with the answer
    }
    return BBR_CONTINUE;
  }

 private:
  int64_t limit_;
  bbr::Counter refused_;
};

constexpr const char* kSchema = R"({"type":"object","properties":{"limit":{"type":"integer","minimum":1}},"required":["limit"]})";

}  // namespace

// ctx.counter and reject_with are ABI 1.1 calls: refuse a 1.0 host at load
// rather than fail at the first request.
BBR_EXPORT_PLUGINS_REQUIRING(1, bbr::plugin_type<MaxTokensGuard>(
    "max-tokens-guard", "1.1.0",
    "Refuses requests whose max_tokens exceeds a limit with a 400 OpenAI-shaped error",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kSchema))
