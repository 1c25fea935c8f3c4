// model-selector's rules, apart from the ABI: parsed from the parameters and
// evaluated on facts about one request, so they can be tested without a host.
#pragma once

#include "common/parameters.hpp"
#include "common/regex.hpp"
#include "common/json_text.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace model_selector {

using bbr_plugins::ParameterError;
using bbr_plugins::ParameterObject;

// What the rules look at in one request.
struct RequestFacts {
  std::string_view prompt;  // the prompt text ("" when the endpoint has none)
  std::size_t prompt_chars = 0;
  std::size_t prompt_tokens = 0;  // estimated: characters / 4, rounded up
  std::string_view path;          // :path without the query
  bool stream = false;            // body "stream": true
  bool tools = false;             // a non-empty "tools" (or "functions") list
};

// All conditions of a rule must hold; a condition left out always holds.
struct Rule {
  std::string name;
  std::string model;
  std::optional<uint64_t> min_chars, max_chars, min_tokens, max_tokens;
  std::shared_ptr<const RE2> keywords;              // any keyword, as a substring
  std::vector<std::shared_ptr<const RE2>> regexes;  // any regex, unanchored
  std::vector<std::string> endpoints;               // any, exact path
  std::optional<bool> stream;
  std::optional<bool> tools;

  bool reads_prompt() const {
    return min_chars || max_chars || min_tokens || max_tokens || keywords || !regexes.empty();
  }

  bool holds(const RequestFacts& facts) const {
    if (min_chars && facts.prompt_chars < *min_chars) return false;
    if (max_chars && facts.prompt_chars > *max_chars) return false;
    if (min_tokens && facts.prompt_tokens < *min_tokens) return false;
    if (max_tokens && facts.prompt_tokens > *max_tokens) return false;
    if (stream && facts.stream != *stream) return false;
    if (tools && facts.tools != *tools) return false;
    if (!endpoints.empty()) {
      bool any = false;
      for (const auto& endpoint : endpoints) any = any || facts.path == endpoint;
      if (!any) return false;
    }
    if (keywords && !bbr_plugins::regex_search(*keywords, facts.prompt)) return false;
    if (!regexes.empty()) {
      bool any = false;
      for (const auto& re : regexes) any = any || bbr_plugins::regex_search(*re, facts.prompt);
      if (!any) return false;
    }
    return true;
  }
};

inline std::vector<Rule> parse_rules(const ParameterObject& parameters) {
  std::vector<Rule> rules;
  const nlohmann::json* list = parameters.array("rules");
  if (list == nullptr) return rules;
  for (std::size_t i = 0; i < list->size(); ++i) {
    ParameterObject object((*list)[i], parameters.element_path("rules", i));
    Rule rule;
    rule.name = object.string("name").value_or(object.path());
    rule.model = object.required_string("model");
    if (object.has("when")) {
      ParameterObject when = object.object("when");
      auto bound = [&](const char* name) -> std::optional<uint64_t> {
        auto value = when.integer(name);  // the schema bounds it to [0, 2^40]
        if (!value) return std::nullopt;
        return static_cast<uint64_t>(*value);
      };
      rule.min_chars = bound("minPromptChars");
      rule.max_chars = bound("maxPromptChars");
      rule.min_tokens = bound("minPromptTokens");
      rule.max_tokens = bound("maxPromptTokens");
      if (rule.min_chars && rule.max_chars && *rule.min_chars > *rule.max_chars)
        throw ParameterError(when.where("minPromptChars") + ": greater than maxPromptChars");
      if (rule.min_tokens && rule.max_tokens && *rule.min_tokens > *rule.max_tokens)
        throw ParameterError(when.where("minPromptTokens") + ": greater than maxPromptTokens");
      const bool case_insensitive = when.boolean("caseInsensitive", true);
      auto keywords = when.strings("keywords");
      if (!keywords.empty())
        rule.keywords =
            bbr_plugins::compile_keywords(when.where("keywords"), keywords, case_insensitive);
      auto patterns = when.strings("regex");
      for (std::size_t r = 0; r < patterns.size(); ++r) {
        std::string where = patterns.size() == 1 && when.find("regex")->is_string()
                                ? when.where("regex")
                                : when.element_path("regex", r);
        rule.regexes.push_back(bbr_plugins::compile_regex(where, patterns[r], case_insensitive));
      }
      rule.endpoints = when.strings("endpoints");
      rule.stream = when.optional_boolean("stream");
      rule.tools = when.optional_boolean("tools");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

// The first rule that holds, or nullptr (then the default model).
inline const Rule* select(const std::vector<Rule>& rules, const RequestFacts& facts) {
  for (const Rule& rule : rules) {
    if (rule.holds(facts)) return &rule;
  }
  return nullptr;
}

// The explanation header's value: "rule=long-context; prompt_tokens~=5300".
inline std::string explain(const Rule* rule, const RequestFacts& facts) {
  std::string out = "rule=";
  out += rule != nullptr ? rule->name : "default";
  out += "; prompt_chars=" + std::to_string(facts.prompt_chars);
  out += "; prompt_tokens~=" + std::to_string(facts.prompt_tokens);
  return out;
}

}  // namespace model_selector
