// model-rewrite's rules, apart from the ABI: parsed from the parameters and
// applied to a model name, so they can be tested without a host.
#pragma once

#include "common/parameters.hpp"
#include "common/regex.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace model_rewrite {

using bbr_plugins::ParameterError;
using bbr_plugins::ParameterObject;

// FNV-1a, 64 bits: a stable hash (the same on every host, build and restart),
// so one x-request-id always lands in the same canary bucket, and replicas of
// bbr-host agree.
inline uint64_t stable_hash(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

struct WeightedTarget {
  std::string model;
  uint64_t weight = 0;
};

struct Rule {
  enum class Kind { kExact, kPrefix, kRegex };
  Kind kind = Kind::kExact;
  std::string name;                  // for logs and the metric label; "rules[i]" when not given
  std::string literal;               // kExact, kPrefix
  std::shared_ptr<const RE2> regex;  // kRegex, anchored
  bool case_insensitive = false;
  // Either one target or weighted targets. A regex rule's targets may use
  // \1..\9 for the pattern's groups.
  std::vector<WeightedTarget> targets;
  uint64_t total_weight = 0;
  bool retired = false;
};

// What applying the rules to a model gave.
struct Decision {
  const Rule* rule = nullptr;  // the first rule that matched, or nullptr
  std::string model;           // the final model (the requested one when no rule matched)
};

inline bool ascii_iequal_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    unsigned char a = static_cast<unsigned char>(text[i]);
    unsigned char b = static_cast<unsigned char>(prefix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

class Rules {
 public:
  Rules() = default;

  // Parses parameters.rules (checked against the schema by the host).
  void parse(const ParameterObject& parameters) {
    const nlohmann::json& list = parameters.required_array("rules");
    for (std::size_t i = 0; i < list.size(); ++i) {
      ParameterObject object(list[i], parameters.element_path("rules", i));
      rules_.push_back(parse_rule(object));
      if (rules_.back().name.empty()) rules_.back().name = object.path();
    }
  }

  // The first matching rule decides; `bucket_source` is the x-request-id
  // (empty: a random bucket).
  Decision apply(std::string_view model, std::string_view bucket_source) const {
    Decision decision;
    decision.model = std::string(model);
    for (const Rule& rule : rules_) {
      if (!matches(rule, model)) continue;
      decision.rule = &rule;
      const WeightedTarget& target = pick(rule, bucket_source);
      if (rule.kind == Rule::Kind::kRegex) {
        std::string rewritten;
        // The regex matched the whole model, so Extract applies the rewrite
        // to the whole match.
        if (RE2::Extract(re2::StringPiece(model.data(), model.size()), *rule.regex, target.model,
                         &rewritten)) {
          decision.model = std::move(rewritten);
        }
      } else {
        decision.model = target.model;
      }
      return decision;
    }
    return decision;
  }

  const std::vector<Rule>& rules() const { return rules_; }

  // The index into rule.targets a bucket in [0, total_weight) falls into.
  static std::size_t target_for_bucket(const Rule& rule, uint64_t bucket) {
    uint64_t upper = 0;
    for (std::size_t i = 0; i < rule.targets.size(); ++i) {
      upper += rule.targets[i].weight;
      if (bucket < upper) return i;
    }
    return rule.targets.size() - 1;
  }

 private:
  static bool matches(const Rule& rule, std::string_view model) {
    switch (rule.kind) {
      case Rule::Kind::kExact:
        return rule.case_insensitive
                   ? model.size() == rule.literal.size() && ascii_iequal_prefix(model, rule.literal)
                   : model == rule.literal;
      case Rule::Kind::kPrefix:
        return rule.case_insensitive ? ascii_iequal_prefix(model, rule.literal)
                                     : model.substr(0, rule.literal.size()) == rule.literal;
      case Rule::Kind::kRegex:
        return bbr_plugins::regex_full_match(*rule.regex, model);
    }
    return false;
  }

  static const WeightedTarget& pick(const Rule& rule, std::string_view bucket_source) {
    if (rule.targets.size() == 1) return rule.targets.front();
    uint64_t draw;
    if (!bucket_source.empty()) {
      draw = stable_hash(bucket_source);
    } else {
      // No request id: any bucket will do, but it must not be the same for
      // every request. One generator per thread: no lock, no shared state.
      thread_local std::mt19937_64 generator{std::random_device{}()};
      draw = generator();
    }
    return rule.targets[target_for_bucket(rule, draw % rule.total_weight)];
  }

  static Rule parse_rule(const ParameterObject& object) {
    Rule rule;
    rule.name = object.string("name").value_or("");
    // The schema requires exactly one of exact, prefix, regex (oneOf).
    ParameterObject match = object.object("match");
    std::optional<std::string> regex = match.string("regex");
    if (regex) {
      rule.kind = Rule::Kind::kRegex;
    } else if (auto prefix = match.string("prefix")) {
      rule.kind = Rule::Kind::kPrefix;
      rule.literal = *prefix;
    } else {
      rule.kind = Rule::Kind::kExact;
      rule.literal = match.required_string("exact");
    }
    rule.case_insensitive = match.boolean("caseInsensitive", false);
    if (regex)
      rule.regex =
          bbr_plugins::compile_full_regex(match.where("regex"), *regex, rule.case_insensitive);

    // The schema requires exactly one of target, targets (oneOf).
    if (!object.has("targets")) {
      rule.targets.push_back({object.required_string("target"), 1});
      check_rewrite(rule, object.where("target"), rule.targets.back().model);
    } else {
      const nlohmann::json* list = object.array("targets");
      for (std::size_t i = 0; i < list->size(); ++i) {
        ParameterObject target((*list)[i], object.element_path("targets", i));
        WeightedTarget weighted{target.required_string("model"),
                                static_cast<uint64_t>(target.required_integer("weight"))};
        check_rewrite(rule, target.where("model"), weighted.model);
        rule.targets.push_back(std::move(weighted));
      }
    }
    for (const auto& target : rule.targets) rule.total_weight += target.weight;
    if (rule.total_weight == 0)
      throw ParameterError(object.where("targets") + ": the weights must not all be 0");
    rule.retired = object.boolean("retired", false);
    return rule;
  }

  static void check_rewrite(const Rule& rule, const std::string& where, const std::string& target) {
    if (rule.kind != Rule::Kind::kRegex) return;
    std::string error;
    if (!rule.regex->CheckRewriteString(target, &error)) throw ParameterError(where + ": " + error);
  }

  std::vector<Rule> rules_;
};

}  // namespace model_rewrite
