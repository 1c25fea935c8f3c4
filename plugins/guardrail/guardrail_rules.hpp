// The guardrail's logic without a host: parameters, deny patterns (RE2),
// request limits, the OpenAI-shaped error body, and the rolling-window scan
// of streamed generated text. plugin code (guardrail.cpp) only moves text
// between these and the message.
#pragma once

#include "common/parameters.hpp"
#include "guardrail/pattern_set.hpp"
#include "guardrail/request_redaction.hpp"

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardrail {

using bbr_plugins::ParameterError;

// RE2 compiles every pattern into an automaton with a memory budget: a
// pattern too big for it is refused at create, never at request time.
constexpr int64_t kPatternMaxMem = 8 << 20;

struct Pattern {
  std::string name;  // in logs and ImmediateResponse.details, never to the client
  std::unique_ptr<RE2> re;
};

// Every deny pattern in one pass (pattern_set.hpp): the patterns' RE2s, in
// config order (index i is patterns[i]).
inline PatternSet make_pattern_set(const std::vector<Pattern>& patterns,
                                   PatternSet::Options options = {}) {
  std::vector<const RE2*> regexes;
  regexes.reserve(patterns.size());
  for (const auto& pattern : patterns) regexes.push_back(pattern.re.get());
  return PatternSet(regexes, options);
}

enum class ResponseAction { kNone, kRedact, kError };

struct Config {
  std::vector<Pattern> patterns;
  PatternSet pattern_set;  // `patterns` in one pass (their RE2s, owned above)
  bool check_prompt = true;
  bool check_response = true;
  std::optional<int64_t> max_prompt_chars;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> disallowed_parameters;
  uint32_t status = 403;
  std::string error_type = "invalid_request_error";
  std::string message = "The request was refused by the content policy.";
  ResponseAction response_action = ResponseAction::kRedact;
  std::string redaction = "[REDACTED]";
  std::string response_message = "The response was stopped by the content policy.";
  std::size_t stream_window_bytes = 256;
  RequestDetectors request_detectors;  // redacted or refused in prompts
};

// A [begin, end) byte range of a text.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The parameters reach create() checked against the type's schema
// (guardrail.cpp) by the host, on every front end: types, ranges, the
// response actions, non-empty strings and unknown names are the schema's to
// say. What is read here is what a schema cannot say: every pattern compiles
// within RE2's memory budget and matches no empty text.
namespace detail {

inline Pattern compile(const std::string& path, std::string name, const std::string& text,
                       bool case_insensitive) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!case_insensitive);
  options.set_max_mem(kPatternMaxMem);
  auto re = std::make_unique<RE2>(text, options);
  if (!re->ok()) throw ParameterError(path + ": invalid regular expression: " + re->error());
  // A pattern that matches "" matches every text somewhere: it would refuse
  // every request, which is never what an operator meant.
  if (RE2::PartialMatch("", *re))
    throw ParameterError(path + ": matches the empty string (it would match every text)");
  return Pattern{std::move(name), std::move(re)};
}

// `denyPatterns`, compiled in config order: a string is a pattern named by
// its place ("denyPatterns[2]"); an object may name it and set its own case
// rule, else the parameters' `caseInsensitive` applies.
inline std::vector<Pattern> deny_patterns(const nlohmann::json& object) {
  std::vector<Pattern> patterns;
  const bool case_insensitive = object.value("caseInsensitive", false);
  const auto entries = object.find("denyPatterns");
  if (entries == object.end() || entries->is_null()) return patterns;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const auto& entry = (*entries)[i];
    const std::string path = "denyPatterns[" + std::to_string(i) + "]";
    if (entry.is_string()) {
      patterns.push_back(compile(path, path, entry.get<std::string>(), case_insensitive));
    } else {
      patterns.push_back(compile(path + ".pattern", entry.value("name", path),
                                 entry.at("pattern").get<std::string>(),
                                 entry.value("caseInsensitive", case_insensitive)));
    }
  }
  return patterns;
}

inline ResponseAction response_action(const std::string& name) {
  if (name == "error") return ResponseAction::kError;
  if (name == "none") return ResponseAction::kNone;
  return ResponseAction::kRedact;
}

inline std::optional<int64_t> optional_integer(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<int64_t>();
}

inline Config read_config(const nlohmann::json& object) {
  Config config;
  config.patterns = deny_patterns(object);
  config.pattern_set = make_pattern_set(config.patterns);
  config.check_prompt = object.value("checkPrompt", true);
  config.check_response = object.value("checkResponse", true);
  config.max_prompt_chars = optional_integer(object, "maxPromptChars");
  config.max_tokens = optional_integer(object, "maxTokens");
  config.disallowed_parameters =
      object.value("disallowedParameters", std::vector<std::string>{});
  config.status = static_cast<uint32_t>(object.value("status", int64_t{403}));
  config.error_type = object.value("errorType", config.error_type);
  config.message = object.value("message", config.message);
  config.response_action = response_action(object.value("responseAction", std::string("redact")));
  config.redaction = object.value("redaction", config.redaction);
  config.response_message = object.value("responseMessage", config.response_message);
  config.stream_window_bytes = object.value("streamWindowBytes", std::size_t{256});
  std::vector<Detector> detectors = request_detectors(object);
  const auto budget = kPatternMaxMem * static_cast<int64_t>(detectors.size());
  config.request_detectors = RequestDetectors(std::move(detectors), budget);
  return config;
}

}  // namespace detail

// Reads the parameters (checked against the schema by the host) and compiles
// the patterns; throws ParameterError naming the parameter
// ("denyPatterns[2].pattern: invalid regular expression: ...").
inline Config parse_config(std::string_view json_text) {
  const bbr_plugins::Parameters parameters(json_text);  // JSON syntax and object-ness, worded
  try {
    return detail::read_config(parameters.object());
  } catch (const nlohmann::json::exception& e) {
    // Only when created without the host's schema check (a value of the
    // wrong type): the schema's own message says it better.
    throw ParameterError(std::string("parameters: do not match the schema: ") + e.what());
  }
}

// UTF-8 characters (code points) in `text`: bytes that do not continue one.
inline std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// The first pattern (in config order) matching anywhere in `text`, or
// nullptr, asking each pattern in turn: a pass over the text per pattern.
inline const Pattern* first_match_one_by_one(const Config& config, std::string_view text) {
  for (const auto& pattern : config.patterns) {
    if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *pattern.re)) return &pattern;
  }
  return nullptr;
}

// The same answer in one pass over the text, whatever the number of patterns.
inline const Pattern* first_match(const Config& config, std::string_view text) {
  std::vector<int> matched;
  if (!config.pattern_set.matching(text, matched)) return first_match_one_by_one(config, text);
  return matched.empty() ? nullptr : &config.patterns[static_cast<std::size_t>(matched.front())];
}

// Every non-empty match of every pattern in `text` that ends after byte
// `from`, clipped to start at `from` at the earliest, merged where they
// overlap or touch, in order. Offsets are into `text`.
inline std::vector<Span> find_spans(const Config& config, std::string_view text,
                                    std::size_t from = 0) {
  std::vector<Span> spans;
  // One pass finds the patterns that match at all (usually none); only those
  // are asked where.
  std::vector<int> matched;
  const bool known = config.pattern_set.matching(text, matched);
  if (known && matched.empty()) return spans;
  const re2::StringPiece whole(text.data(), text.size());
  for (std::size_t i = 0; i < config.patterns.size(); ++i) {
    if (known && !std::binary_search(matched.begin(), matched.end(), static_cast<int>(i))) continue;
    const Pattern& pattern = config.patterns[i];
    std::size_t position = 0;
    while (position < text.size()) {
      re2::StringPiece match;
      if (!pattern.re->Match(whole, position, text.size(), RE2::UNANCHORED, &match, 1)) break;
      std::size_t begin = static_cast<std::size_t>(match.data() - text.data());
      std::size_t end = begin + match.size();
      if (end == begin) {  // cannot happen (refused at create); never loop on it
        position = begin + 1;
        continue;
      }
      if (end > from) spans.push_back({std::max(begin, from), end});
      position = end;
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::vector<Span> merged;
  for (const auto& span : spans) {
    if (!merged.empty() && span.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, span.end);
    } else {
      merged.push_back(span);
    }
  }
  return merged;
}

// text[from..] with each span (offsets into `text`, all >= from) replaced by
// `redaction`.
inline std::string redact(std::string_view text, std::size_t from, const std::vector<Span>& spans,
                          std::string_view redaction) {
  std::string out;
  out.reserve(text.size() - from);
  std::size_t at = from;
  for (const auto& span : spans) {
    out.append(text.substr(at, span.begin - at));
    out.append(redaction);
    at = span.end;
  }
  out.append(text.substr(at));
  return out;
}

// The generated text of one choice of a streamed response, seen piece by
// piece. Keeps the last `window` bytes already seen, so a match of up to
// `window` bytes that spans pieces is still found; longer ones may be missed
// (the documented limit).
class StreamWindow {
 public:
  explicit StreamWindow(std::size_t window) : window_(window) {}

  struct Result {
    bool matched = false;
    std::string redacted;  // the piece with the parts of matches inside it redacted
  };

  // Scans `piece` after what came before it.
  Result scan(const Config& config, std::string_view piece) {
    // The tail and the piece in one buffer that keeps its capacity: no
    // allocation per piece once the stream is under way.
    const std::size_t from = seen_.size();
    seen_.append(piece);
    Result result;
    auto spans = find_spans(config, seen_, from);
    result.matched = !spans.empty();
    if (result.matched) result.redacted = redact(seen_, from, spans, config.redaction);
    keep_tail();
    return result;
  }

  std::string_view tail() const { return seen_; }

 private:
  // The tail holds the text as generated (not as redacted): matching goes on
  // over what the model wrote.
  void keep_tail() {
    if (seen_.size() <= window_) return;
    std::size_t start = seen_.size() - window_;
    // Never start inside a UTF-8 sequence.
    while (start < seen_.size() && (static_cast<unsigned char>(seen_[start]) & 0xC0) == 0x80)
      ++start;
    seen_.erase(0, start);
    // After an unusually long piece, give its memory back: a stream keeps
    // this buffer for its whole life, for each of up to 64 choices.
    if (seen_.capacity() > 4 * window_ + 1024) seen_.shrink_to_fit();
  }

  std::size_t window_;
  std::string seen_;  // between scans: the last `window_` bytes seen
};

// Per-stream state of the response scan: one window per choice.
struct StreamState {
  std::map<int64_t, StreamWindow> windows;
  bool ended = false;  // the stream was replaced by an error event
};

// {"error":{"message":...,"type":...,"param":...,"code":...}} as OpenAI answers.
inline std::string error_body(std::string_view message, std::string_view type,
                              std::string_view code, std::optional<std::string_view> param = {}) {
  nlohmann::json error = {{"message", std::string(message)},
                          {"type", std::string(type)},
                          {"param", param ? nlohmann::json(std::string(*param)) : nlohmann::json()},
                          {"code", std::string(code)}};
  return nlohmann::json{{"error", std::move(error)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

}  // namespace guardrail
