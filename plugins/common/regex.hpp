// RE2 regexes for plugins that match client text (prompts, model names).
//
// Why RE2 and never std::regex: std::regex backtracks and recurses, so a long
// prompt can take exponential time or overflow the stack; RE2 runs in time
// linear in the text with bounded memory, whatever the client sends.
#pragma once

#include "common/parameters.hpp"

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// RE2 defaults to 8 MiB per regex for its automata; an operator's pattern
// needs far less, and a bound keeps a pathological one from growing.
constexpr int64_t kRegexMaxMemory = 8 << 20;

inline RE2::Options regex_options(bool case_insensitive) {
  RE2::Options options;
  options.set_log_errors(false);  // errors are reported through ParameterError
  options.set_case_sensitive(!case_insensitive);
  options.set_max_mem(kRegexMaxMemory);
  return options;
}

// Compiles `pattern`, or throws ParameterError "<where>: invalid regex ...".
inline std::shared_ptr<const RE2> compile_regex(const std::string& where, std::string_view pattern,
                                                bool case_insensitive) {
  auto re = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()),
                                        regex_options(case_insensitive));
  if (!re->ok()) {
    throw ParameterError(where + ": invalid regex \"" + std::string(pattern) +
                         "\": " + re->error());
  }
  return re;
}

// The same, anchored at both ends: the pattern must match the whole text.
inline std::shared_ptr<const RE2> compile_full_regex(const std::string& where,
                                                     std::string_view pattern,
                                                     bool case_insensitive) {
  // Checked alone first, so an error names the operator's pattern, not ours.
  compile_regex(where, pattern, case_insensitive);
  std::string anchored = "^(?:";
  anchored.append(pattern);
  anchored += ")$";
  return compile_regex(where, anchored, case_insensitive);
}

// One regex matching any of `literals` as a substring: one linear pass over
// the text however many keywords there are.
inline std::shared_ptr<const RE2> compile_keywords(const std::string& where,
                                                   const std::vector<std::string>& literals,
                                                   bool case_insensitive) {
  std::string pattern;
  for (std::size_t i = 0; i < literals.size(); ++i) {
    if (i > 0) pattern += '|';
    pattern += RE2::QuoteMeta(literals[i]);
  }
  return compile_regex(where, pattern, case_insensitive);
}

inline bool regex_search(const RE2& re, std::string_view text) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

inline bool regex_full_match(const RE2& re, std::string_view text) {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), re);
}

}  // namespace bbr_plugins
