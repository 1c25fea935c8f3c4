// The guardrail's request detectors without a host: built-in detectors of
// personal data and secrets (email, phone, card, IBAN, API keys) and the
// operator's own patterns, each redacted (replaced by a placeholder naming
// its kind, "[REDACTED_EMAIL]") or refused. guardrail.cpp only moves the
// prompt's strings between these and the message.
//
// Linear time: every detector is one alternative of a single RE2, so one
// forward pass of its DFA over a text finds the matches, left to right,
// whatever the number of detectors; a match's own check (Luhn for cards,
// mod 97 for IBANs, digit counts) reads only the match.
#pragma once

#include "common/parameters.hpp"

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace guardrail {

enum class DetectorAction { kRedact, kRefuse };

// What a match must also satisfy beyond its pattern.
enum class Check { kNone, kLuhn, kIban, kPhoneDigits, kKeyHasDigit };

struct Detector {
  std::string name;         // the metric's label value and the log's word
  std::string pattern;      // RE2 syntax
  bool case_insensitive = false;
  std::string placeholder;  // what replaces a redacted match
  Check check = Check::kNone;
  DetectorAction action = DetectorAction::kRedact;
  int group = 0;            // its capturing group in the combined pattern
};

// The built-in detectors, by the name the parameters use (their placeholder
// is placeholder_for(name): "[REDACTED_API_KEY]").
struct BuiltIn {
  const char* name;
  const char* pattern;
  Check check;
};

// The patterns are the candidates; the checks throw out what only looks like
// one (a 16-digit order number fails Luhn, most 22-character words fail mod 97).
inline const std::vector<BuiltIn>& built_in_detectors() {
  static const std::vector<BuiltIn> detectors{
      {"email",
       R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})", Check::kNone},
      // International (+country code, then 2 to 4 groups) or North American
      // ((555) 123-4567, 555-123-4567, 555.123.4567) numbers.
      {"phone",
       R"((?:\+\d{1,3}(?:[ .-]?\(?\d{2,4}\)?){2,4}|(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4})\b)", Check::kPhoneDigits},
      // 4-4-4-x grouped, Amex's 4-6-5, or 13 to 19 digits in a row.
      {"card",
       R"(\b(?:\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5}|\d{13,19})\b)", Check::kLuhn},
      {"iban", R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b)", Check::kIban},
      // OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) keys, AWS access key
      // ids, GitHub tokens, Google API keys, Slack tokens.
      {"api-key",
       R"(\b(?:sk-[A-Za-z0-9_-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}\b|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|AIza[0-9A-Za-z_-]{35}|xox[abposr]-[A-Za-z0-9-]{10,}))", Check::kKeyHasDigit},
  };
  return detectors;
}

// ---- the checks ---------------------------------------------------------------

inline std::string digits_of(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  return digits;
}

// Luhn's checksum (ISO/IEC 7812): card numbers have it, most digit runs do not.
inline bool luhn_valid(std::string_view text) {
  const std::string digits = digits_of(text);
  if (digits.size() < 13 || digits.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

// ISO 13616: the first four characters moved to the end, letters as 10..35,
// the number mod 97 is 1. Spaces are ignored.
inline bool iban_valid(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ') compact.push_back(c);
  }
  if (compact.size() < 15 || compact.size() > 34) return false;
  const std::string rearranged = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rearranged) {
    if (c >= '0' && c <= '9') {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

// The longest IBAN at the start of `text`: the whole match, or (when the
// pattern took a following word as one more group) the match cut at one of
// its spaces. At most 8 tries of at most 42 bytes.
inline std::size_t iban_length(std::string_view text) {
  std::size_t end = text.size();
  while (end >= 15) {
    if (iban_valid(text.substr(0, end))) return end;
    const std::size_t space = text.rfind(' ', end - 1);
    if (space == std::string_view::npos) break;
    end = space;
  }
  return 0;
}

// E.164 numbers have at most 15 digits; fewer than 7 is a date or a count.
inline bool phone_digits_valid(std::string_view text) {
  const std::size_t digits = digits_of(text).size();
  return digits >= 7 && digits <= 15;
}

// Real keys mix digits in; a long hyphenated word after "sk-" does not.
inline bool key_has_digit(std::string_view text) {
  return digits_of(text).size() > 0;
}

// How much of a candidate match is what its detector looks for: the whole
// match, a part at its start (IBAN), or nothing.
inline std::size_t checked_length(Check check, std::string_view match) {
  switch (check) {
    case Check::kNone: return match.size();
    case Check::kLuhn: return luhn_valid(match) ? match.size() : 0;
    case Check::kIban: return iban_length(match);
    case Check::kPhoneDigits: return phone_digits_valid(match) ? match.size() : 0;
    case Check::kKeyHasDigit: return key_has_digit(match) ? match.size() : 0;
  }
  return 0;
}

// ---- the detectors together ---------------------------------------------------

// "[REDACTED_EMPLOYEE_ID]" for a pattern named "employee-id".
inline std::string placeholder_for(std::string_view name) {
  std::string out = "[REDACTED_";
  for (char c : name) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c))
                      ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                      : '_');
  }
  out.push_back(']');
  return out;
}

// One match to act on: [begin, end) of the text and which detector.
struct Finding {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t detector = 0;  // index into RequestDetectors::detectors()
};

class RequestDetectors {
 public:
  RequestDetectors() = default;

  // Detectors in priority order (the parameters' order): where two would
  // match at the same place, the earlier one is taken. Throws ParameterError
  // when a custom pattern is not valid RE2 or when all of them together do
  // not compile within `max_mem`.
  RequestDetectors(std::vector<Detector> detectors, int64_t max_mem)
      : detectors_(std::move(detectors)) {
    if (detectors_.empty()) return;
    std::string combined;
    int group = 1;
    for (std::size_t i = 0; i < detectors_.size(); ++i) {
      Detector& d = detectors_[i];
      RE2::Options options;
      options.set_log_errors(false);
      options.set_case_sensitive(!d.case_insensitive);
      RE2 alone(d.pattern, options);
      if (!alone.ok())
        throw bbr_plugins::ParameterError("requestDetectors[" + std::to_string(i) +
                                          "].pattern: invalid regular expression: " + alone.error());
      if (RE2::PartialMatch("", alone))
        throw bbr_plugins::ParameterError("requestDetectors[" + std::to_string(i) +
                                          "].pattern: matches the empty string (it would match "
                                          "every text)");
      if (!combined.empty()) combined += '|';
      combined += d.case_insensitive ? "((?i:" : "((?:";
      combined += d.pattern;
      combined += "))";
      d.group = group;
      group += 1 + alone.NumberOfCapturingGroups();
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(max_mem);
    combined_ = std::make_unique<RE2>(combined, options);
    if (!combined_->ok())
      throw bbr_plugins::ParameterError("requestDetectors: the detectors together do not compile: " +
                                        combined_->error());
    groups_ = group;
  }

  bool empty() const { return detectors_.empty(); }
  const std::vector<Detector>& detectors() const { return detectors_; }

  // Every match in `text` that passes its detector's check, left to right,
  // none overlapping. One forward pass: after a match (kept or not) the
  // search goes on from its end.
  std::vector<Finding> find(std::string_view text) const {
    std::vector<Finding> found;
    if (!combined_) return found;
    const re2::StringPiece whole(text.data(), text.size());
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(groups_));
    std::size_t position = 0;
    while (position < text.size()) {
      if (!combined_->Match(whole, position, text.size(), RE2::UNANCHORED, groups.data(),
                            groups_))
        break;
      const std::size_t begin = static_cast<std::size_t>(groups[0].data() - text.data());
      const std::size_t end = begin + groups[0].size();
      for (std::size_t i = 0; i < detectors_.size(); ++i) {
        const re2::StringPiece& g = groups[static_cast<std::size_t>(detectors_[i].group)];
        if (g.data() == nullptr) continue;
        const std::size_t length =
            checked_length(detectors_[i].check, std::string_view(g.data(), g.size()));
        if (length > 0) found.push_back({begin, begin + length, i});
        break;
      }
      position = end > begin ? end : begin + 1;
    }
    return found;
  }

 private:
  std::vector<Detector> detectors_;
  std::unique_ptr<RE2> combined_;
  int groups_ = 0;
};

// `text` with each finding replaced by its detector's placeholder.
inline std::string redact_findings(std::string_view text, const std::vector<Finding>& findings,
                                   const std::vector<Detector>& detectors) {
  std::string out;
  out.reserve(text.size());
  std::size_t at = 0;
  for (const auto& f : findings) {
    out.append(text.substr(at, f.begin - at));
    out.append(detectors[f.detector].placeholder);
    at = f.end;
  }
  out.append(text.substr(at));
  return out;
}

// `requestDetectors` (checked against the schema by the host): each entry
// either names a built-in `detector` or gives its own `pattern` and `name`;
// `action` redact (default) or refuse; `placeholder` replaces the default.
inline std::vector<Detector> request_detectors(const nlohmann::json& object) {
  std::vector<Detector> out;
  const auto entries = object.find("requestDetectors");
  if (entries == object.end() || entries->is_null()) return out;
  for (const auto& entry : *entries) {
    Detector d;
    if (entry.contains("detector")) {
      const std::string name = entry.at("detector").get<std::string>();
      for (const auto& b : built_in_detectors()) {
        if (name != b.name) continue;
        d.name = b.name;
        d.pattern = b.pattern;
        d.check = b.check;
      }
      if (d.name.empty()) throw bbr_plugins::ParameterError("requestDetectors: unknown detector " + name);
    } else {
      d.name = entry.at("name").get<std::string>();
      d.pattern = entry.at("pattern").get<std::string>();
      d.case_insensitive = entry.value("caseInsensitive", false);
    }
    d.placeholder = entry.value("placeholder", placeholder_for(d.name));
    d.action = entry.value("action", std::string("redact")) == "refuse" ? DetectorAction::kRefuse
                                                                         : DetectorAction::kRedact;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace guardrail
