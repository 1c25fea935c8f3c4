// affinity: sets a routing header that stays the same for every request of
// one conversation (or for every request sharing one long system prompt), so
// a scheduler or Envoy's consistent hashing keeps them on one replica, where
// the prompt's prefix is already in the KV cache. The key is the first of
// `prompt_cache_key`, `user`, a session header, or a stable hash of the
// prompt's start that the request has. Built against the SDK headers only.
#include <bbr/plugin.hpp>

#include "affinity/affinity_key.hpp"
#include "common/prompt_strings.hpp"

#include <string>
#include <vector>

namespace {

constexpr const char* kParametersSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "header": {"type": "string", "minLength": 1,
               "description": "Request header set to the key (default X-Gateway-Affinity-Key)"},
    "sources": {"type": "array", "minItems": 1,
                "items": {"enum": ["prompt_cache_key", "user", "session_header", "prompt"]},
                "description": "Where the key comes from, the first present wins (default: all four in this order)"},
    "sessionHeader": {"type": "string", "minLength": 1,
                      "description": "The session_header source's request header (default x-session-id)"},
    "prompt": {"description": "The prompt source: the system prompt and the first N other messages (default {messages: 1}), or the first N characters, system prompt first",
               "oneOf": [
                 {"type": "object", "required": ["messages"], "additionalProperties": false,
                  "properties": {"messages": {"type": "integer", "minimum": 0, "maximum": 1000000}}},
                 {"type": "object", "required": ["characters"], "additionalProperties": false,
                  "properties": {"characters": {"type": "integer", "minimum": 1}}}]},
    "hashIdentifiers": {"type": "boolean",
                        "description": "Hash prompt_cache_key, user and the session header too (default true); false sets them as sent"}
  },
  "additionalProperties": false
})json";

constexpr std::string_view kKeysMetric = "bbr_affinity_keys_total";

class Affinity {
 public:
  explicit Affinity(const bbr::CreateContext& ctx)
      : config_(affinity::parse_config(ctx.parameters_json)) {
    keys_ = ctx.counter(kKeysMetric, "Requests given an affinity key, by the source it came from",
                        "source");
  }

  bbr_result_t on_request(bbr::Message& msg) {
    for (affinity::Source source : config_.sources) {
      std::optional<std::string> key = key_from(msg, source);
      if (!key) continue;
      const bbr_status_t set = msg.set_header(config_.header, *key);
      if (set == BBR_INVALID_ARGUMENT) {
        // Only an identifier sent as it is (hashIdentifiers: false) can hold
        // CR, LF or NUL: the client's doing.
        return msg.fail(BBR_FAIL_BAD_REQUEST, std::string("the ") + affinity::source_name(source) +
                                                  " cannot be a header value (it holds CR, LF or NUL)");
      }
      if (set != BBR_OK) {
        return msg.fail(BBR_FAIL_INTERNAL, "setting header '" + config_.header +
                                               "' failed (status " + std::to_string(set) + ")");
      }
      keys_.add_labelled(affinity::source_name(source));
      return BBR_CONTINUE;
    }
    keys_.add_labelled("none");
    return BBR_CONTINUE;
  }

 private:
  std::optional<std::string> key_from(const bbr::Message& msg, affinity::Source source) const {
    std::optional<std::string_view> identifier;
    switch (source) {
      case affinity::Source::kPromptCacheKey:
        identifier = msg.json_string("/prompt_cache_key");
        break;
      case affinity::Source::kUser:
        identifier = msg.json_string("/user");
        break;
      case affinity::Source::kSessionHeader:
        identifier = msg.header(config_.session_header);
        break;
      case affinity::Source::kPrompt:
        return prompt_key(msg);
    }
    if (!identifier || identifier->empty()) return std::nullopt;
    return affinity::identifier_key(config_, *identifier);
  }

  std::optional<std::string> prompt_key(const bbr::Message& msg) const {
    std::vector<affinity::PromptUnit> units;
    bbr_plugins::for_each_prompt_string(msg, [&](const bbr_plugins::PromptString& s) {
      if (units.size() <= s.unit) units.resize(s.unit + 1);
      units[s.unit].system = s.system;
      units[s.unit].texts.push_back(s.text);
    });
    return affinity::prompt_key(config_, units);
  }

  affinity::Config config_;
  bbr::Counter keys_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<Affinity>(
    "affinity", "1.0.0",
    "Sets a routing header from prompt_cache_key, user, a session header or a stable hash of the "
    "prompt's start, so one conversation stays on one replica (warm prefix cache)",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
