// affinity's logic without a host: its parameters, and the key made from an
// identifier or from the start of the prompt. affinity.cpp only moves values
// between these and the message.
#pragma once

#include "common/header_name.hpp"
#include "common/parameters.hpp"
#include "common/stable_hash.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace affinity {

using bbr_plugins::ParameterError;
using bbr_plugins::ParameterObject;

// Where a key may come from; the names are the parameter's words and the
// metric's label values.
enum class Source { kPromptCacheKey, kUser, kSessionHeader, kPrompt };

inline const char* source_name(Source source) {
  switch (source) {
    case Source::kPromptCacheKey: return "prompt_cache_key";
    case Source::kUser: return "user";
    case Source::kSessionHeader: return "session_header";
    case Source::kPrompt: return "prompt";
  }
  return "?";
}

struct Config {
  std::string header = "X-Gateway-Affinity-Key";
  std::vector<Source> sources{Source::kPromptCacheKey, Source::kUser, Source::kSessionHeader,
                              Source::kPrompt};
  std::string session_header = "x-session-id";
  // The prompt source: the system prompt and the first `prompt_messages`
  // other messages, or (when set) the first `prompt_characters` characters.
  int64_t prompt_messages = 1;
  std::optional<int64_t> prompt_characters;
  bool hash_identifiers = true;
};

// The parameters reach create() checked against the schema (affinity.cpp):
// types, ranges, the source names, unknown names. What is read here is what
// a schema cannot say: the header is one the host lets a plugin set.
inline Config parse_config(std::string_view json_text) {
  const bbr_plugins::Parameters parsed(json_text);
  const ParameterObject parameters = parsed.root();
  Config config;
  config.header = parameters.string("header").value_or(config.header);
  bbr_plugins::require_settable_header_name("header", config.header);
  config.session_header = parameters.string("sessionHeader").value_or(config.session_header);
  if (const nlohmann::json* sources = parameters.array("sources")) {
    config.sources.clear();
    for (const auto& name : *sources) {
      const std::string word = name.is_string() ? name.get<std::string>() : "";
      if (word == "prompt_cache_key") config.sources.push_back(Source::kPromptCacheKey);
      else if (word == "user") config.sources.push_back(Source::kUser);
      else if (word == "session_header") config.sources.push_back(Source::kSessionHeader);
      else if (word == "prompt") config.sources.push_back(Source::kPrompt);
      else throw ParameterError("sources: unknown source " + name.dump());
    }
  }
  if (parameters.has("prompt")) {
    const ParameterObject prompt = parameters.object("prompt");
    config.prompt_messages = prompt.integer("messages").value_or(config.prompt_messages);
    config.prompt_characters = prompt.integer("characters");
  }
  config.hash_identifiers = parameters.boolean("hashIdentifiers", true);
  return config;
}

// The key of an identifier (prompt_cache_key, user, the session header).
inline std::string identifier_key(const Config& config, std::string_view value) {
  if (!config.hash_identifiers) return std::string(value);
  bbr_plugins::StableHash hash;
  hash.add(value);
  return hash.hex();
}

// One message of the prompt: its strings (a string content is one; parts
// are several), borrowed.
struct PromptUnit {
  bool system = false;
  std::vector<std::string_view> texts;
};

// Feeds the text to hash: units joined with "\n", the strings of one unit
// too (as the host's prompt text joins them), stopping after `limit` UTF-8
// characters when there is a limit.
class PromptFeed {
 public:
  explicit PromptFeed(std::optional<int64_t> limit) : limit_(limit) {}

  void unit(const PromptUnit& unit) {
    for (std::string_view text : unit.texts) piece(text);
  }
  bool full() const { return full_; }
  bool empty() const { return !started_; }
  const bbr_plugins::StableHash& hash() const { return hash_; }

 private:
  void piece(std::string_view text) {
    if (started_) take("\n");
    started_ = true;
    take(text);
  }
  void take(std::string_view text) {
    if (full_) return;
    if (!limit_) {
      hash_.add(text);
      return;
    }
    // A character ends where the next one begins: stop at the lead byte of
    // the (limit+1)-th character, so a character is never cut in two.
    std::size_t end = 0;
    for (; end < text.size(); ++end) {
      const bool lead = (static_cast<unsigned char>(text[end]) & 0xC0) != 0x80;
      if (!lead) continue;
      if (characters_ == *limit_) {
        full_ = true;
        break;
      }
      ++characters_;
    }
    hash_.add(text.substr(0, end));
  }

  std::optional<int64_t> limit_;
  int64_t characters_ = 0;
  bool started_ = false;
  bool full_ = false;
  bbr_plugins::StableHash hash_;
};

// The key of the prompt's start, system prompt first: every system (and
// developer) message in order, then the other messages in order; of those,
// the first `prompt_messages` other messages, or the first
// `prompt_characters` characters of the whole. nullopt when the prompt has
// text to hash (none at all, or no system prompt with `messages: 0`): a key
// shared by every such request would pile them onto one replica.
inline std::optional<std::string> prompt_key(const Config& config,
                                             const std::vector<PromptUnit>& units) {
  if (units.empty()) return std::nullopt;
  PromptFeed feed(config.prompt_characters);
  for (const auto& unit : units) {
    if (unit.system) feed.unit(unit);
  }
  int64_t others = 0;
  for (const auto& unit : units) {
    if (unit.system || feed.full()) continue;
    if (!config.prompt_characters && others == config.prompt_messages) break;
    feed.unit(unit);
    ++others;
  }
  if (feed.empty()) return std::nullopt;
  return feed.hash().hex();
}

}  // namespace affinity
