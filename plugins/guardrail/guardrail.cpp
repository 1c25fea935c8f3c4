// guardrail: refuses requests whose prompt matches a deny pattern or that
// exceed configured limits (an OpenAI-shaped JSON error, 403 by default),
// masks personal data and secrets in the prompts it lets through
// (requestDetectors), and scans the generated text of responses, JSON or
// streamed (SSE), redacting matches or replacing the stream with an error
// event. Built against the SDK headers only (+ RE2, nlohmann for the
// parameters).
#include <bbr/plugin.hpp>

#include "common/openai_text.hpp"
#include "common/prompt_strings.hpp"
#include "guardrail/guardrail_rules.hpp"

#include <string>
#include <utility>
#include <vector>

namespace {

constexpr const char* kParametersSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "denyPatterns": {"type": "array", "description": "RE2 patterns refused in prompts and generated text",
      "items": {"type": ["string", "object"], "minLength": 1,
        "required": ["pattern"], "additionalProperties": false,
        "properties": {"pattern": {"type": "string", "minLength": 1},
                       "name": {"type": "string", "minLength": 1},
                       "caseInsensitive": {"type": "boolean"}}}},
    "caseInsensitive": {"type": "boolean", "description": "default for every pattern (false)"},
    "checkPrompt": {"type": "boolean", "description": "apply the patterns to the prompt (true)"},
    "checkResponse": {"type": "boolean", "description": "apply the patterns to generated text (true)"},
    "maxPromptChars": {"type": "integer", "minimum": 1},
    "maxTokens": {"type": "integer", "minimum": 1,
                  "description": "limit on max_tokens, max_completion_tokens, max_output_tokens"},
    "disallowedParameters": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "status": {"type": "integer", "minimum": 400, "maximum": 599},
    "errorType": {"type": "string", "minLength": 1},
    "message": {"type": "string", "minLength": 1},
    "responseAction": {"enum": ["redact", "error", "none"]},
    "redaction": {"type": "string"},
    "responseMessage": {"type": "string", "minLength": 1},
    "streamWindowBytes": {"type": "integer", "minimum": 1, "maximum": 65536},
    "requestDetectors": {"type": "array",
      "description": "Personal data and secrets looked for in prompts, in priority order: each match redacted (replaced by a placeholder naming its kind) or the request refused",
      "items": {"type": "object", "additionalProperties": false,
        "properties": {
          "detector": {"enum": ["email", "phone", "card", "iban", "api-key"],
                       "description": "a built-in detector"},
          "name": {"type": "string", "minLength": 1, "description": "a custom pattern's name (metric label, placeholder)"},
          "pattern": {"type": "string", "minLength": 1, "description": "a custom RE2 pattern"},
          "caseInsensitive": {"type": "boolean", "description": "a custom pattern's case rule (false)"},
          "action": {"enum": ["redact", "refuse"], "description": "redact (default) or refuse the request"},
          "placeholder": {"type": "string", "description": "replaces a match (default [REDACTED_<NAME>])"}},
        "oneOf": [
          {"required": ["detector"], "properties": {"name": false, "pattern": false, "caseInsensitive": false}},
          {"required": ["name", "pattern"], "properties": {"detector": false}}]}}
  },
  "additionalProperties": false
})json";

constexpr std::string_view kMatchesMetric = "bbr_guardrail_matches_total";
constexpr std::string_view kRedactionsMetric = "bbr_guardrail_redactions_total";
constexpr std::string_view kPolicyCode = "content_policy_violation";

class Guardrail {
 public:
  explicit Guardrail(const bbr::CreateContext& ctx)
      : plugin_(ctx.plugin), config_(guardrail::parse_config(ctx.parameters_json)) {
    state_key_ = "guardrail/";
    state_key_ += ctx.instance_name;
    const bool prompt_checks =
        (config_.check_prompt && !config_.patterns.empty()) || config_.max_prompt_chars;
    if (prompt_checks && !BBR_HAS_FIELD(ctx.plugin.api(), bbr_host_api_t, prompt_text)) {
      throw guardrail::ParameterError(
          "guardrail: prompt checks need a host with ABI 1.1 (prompt_text); this host has 1." +
          std::to_string(ctx.plugin.host_abi_minor()));
    }
    if (!config_.request_detectors.empty() &&
        !BBR_HAS_FIELD(ctx.plugin.api(), bbr_host_api_t, json_set_string)) {
      throw guardrail::ParameterError(
          "requestDetectors: redaction needs a host with ABI 1.1 (json_set_string); this host has "
          "1." + std::to_string(ctx.plugin.host_abi_minor()));
    }
    matches_ = ctx.counter(kMatchesMetric,
                           "Requests refused and responses redacted or stopped, by check", "check");
    redactions_ = ctx.counter(kRedactionsMetric, "Prompt matches replaced by a placeholder, by detector",
                              "detector");
  }

  bbr_result_t on_request(bbr::Message& msg) {
    for (const auto& name : config_.disallowed_parameters) {
      bbr::JsonValue value;
      if (msg.json(bbr::pointer(name), value) == BBR_OK) {
        return refuse(msg, "parameter", "parameter_not_allowed",
                      "The parameter '" + name + "' is not allowed.", name);
      }
    }
    if (config_.max_tokens) {
      for (const char* field : {"max_tokens", "max_completion_tokens", "max_output_tokens"}) {
        bbr::JsonValue value;
        if (msg.json(bbr::pointer(field), value) != BBR_OK) continue;
        // A number with a fraction or beyond int64 compares as a double.
        const bool over =
            (value.type() == BBR_JSON_INTEGER && value.raw.integer > *config_.max_tokens) ||
            (value.type() == BBR_JSON_NUMBER &&
             value.raw.number > static_cast<double>(*config_.max_tokens));
        if (!over) continue;
        return refuse(msg, "max_tokens", "max_tokens_exceeded",
                      std::string(field) + " is above the limit of " +
                          std::to_string(*config_.max_tokens) + ".",
                      field);
      }
    }
    const bool patterns = config_.check_prompt && !config_.patterns.empty();
    if (!patterns && !config_.max_prompt_chars) return redact_prompt(msg);
    // nullopt: no prompt field, or a body that is not JSON (the constructor
    // refused a 1.0 host, and this is the request phase).
    const std::optional<std::string_view> prompt_text = msg.prompt_text();
    if (!prompt_text) return redact_prompt(msg);
    const std::string_view prompt = *prompt_text;
    if (config_.max_prompt_chars) {
      const std::size_t chars = guardrail::utf8_length(prompt);
      if (chars > static_cast<std::size_t>(*config_.max_prompt_chars)) {
        return refuse(msg, "prompt_chars", "prompt_too_long",
                      "The prompt has " + std::to_string(chars) +
                          " characters, above the limit of " +
                          std::to_string(*config_.max_prompt_chars) + ".",
                      std::nullopt);
      }
    }
    if (patterns) {
      if (const auto* pattern = guardrail::first_match(config_, prompt)) {
        return refuse(msg, "prompt_pattern", kPolicyCode, config_.message, std::nullopt,
                      "prompt matches " + pattern->name);
      }
    }
    return redact_prompt(msg);
  }

  // A whole (buffered) response body.
  bbr_result_t on_response(bbr::Message& msg) {
    if (!scans_responses()) return BBR_CONTINUE;
    for (auto& piece : pieces(msg)) {
      auto spans = guardrail::find_spans(config_, piece.text);
      if (spans.empty()) continue;
      if (config_.response_action == guardrail::ResponseAction::kError) {
        return refuse(msg, "response_stopped", kPolicyCode, config_.response_message, std::nullopt,
                      "response text matches a deny pattern");
      }
      set_text(msg, piece.pointer, guardrail::redact(piece.text, 0, spans, config_.redaction));
      matches_.add_labelled("response_redacted");
    }
    return BBR_CONTINUE;
  }

  // One SSE event of a streamed response.
  bbr_result_t on_response_event(bbr::Message& msg) {
    auto info = msg.message_info();
    if (!info || info->unit != BBR_BODY_SSE_EVENT || !scans_responses()) return BBR_CONTINUE;
    auto* state = msg.state<guardrail::StreamState>(state_key_);
    if (state != nullptr && state->ended) {
      msg.event_drop();  // the stream was ended with an error event
      return BBR_CONTINUE;
    }
    if (info->sse_done) return BBR_CONTINUE;
    auto found = pieces(msg);
    if (found.empty()) return BBR_CONTINUE;
    if (state == nullptr) {
      if (msg.put_state(state_key_, guardrail::StreamState{}) != BBR_OK) {
        return msg.fail(BBR_FAIL_INTERNAL, "state_put failed");
      }
      state = msg.state<guardrail::StreamState>(state_key_);
      if (state == nullptr) return msg.fail(BBR_FAIL_INTERNAL, "state_get failed");
    }
    for (auto& piece : found) {
      auto result = scan_event_text(*state, piece);
      if (!result.matched) continue;
      if (config_.response_action == guardrail::ResponseAction::kError) {
        // The event becomes the error; the rest of the stream is dropped,
        // after a [DONE] so clients end cleanly.
        msg.replace_body(
            guardrail::error_body(config_.response_message, config_.error_type, kPolicyCode));
        msg.event_add("", "[DONE]");
        state->ended = true;
        matches_.add_labelled("response_stopped");
        log_match("response stream stopped: generated text matches a deny pattern");
        return BBR_CONTINUE;
      }
      set_text(msg, piece.pointer, result.redacted);
      matches_.add_labelled("response_redacted");
    }
    return BBR_CONTINUE;
  }

 private:
  // The request detectors over each string of the prompt: a match of a
  // `refuse` detector refuses the request; otherwise each changed string is
  // set in place (json_set_string), so the rest of the body is untouched.
  bbr_result_t redact_prompt(bbr::Message& msg) {
    const guardrail::RequestDetectors& detectors = config_.request_detectors;
    if (detectors.empty()) return BBR_CONTINUE;
    struct Edit {
      std::string pointer;
      std::string text;
    };
    std::vector<Edit> edits;  // made after the walk: an edit ends its views
    std::vector<uint64_t> counts(detectors.detectors().size());
    const guardrail::Detector* refused = nullptr;
    bbr_plugins::for_each_prompt_string(msg, [&](const bbr_plugins::PromptString& s) {
      if (refused != nullptr) return;
      const std::vector<guardrail::Finding> findings = detectors.find(s.text);
      if (findings.empty()) return;
      for (const auto& f : findings) {
        const guardrail::Detector& d = detectors.detectors()[f.detector];
        if (d.action == guardrail::DetectorAction::kRefuse) {
          refused = &d;
          return;
        }
        ++counts[f.detector];
      }
      edits.push_back({s.pointer, guardrail::redact_findings(s.text, findings, detectors.detectors())});
    });
    if (refused != nullptr) {
      return refuse(msg, "prompt_detector", kPolicyCode, config_.message, std::nullopt,
                    "prompt matches " + refused->name);
    }
    for (const auto& edit : edits) {
      const bbr_status_t status = msg.json_set_string(edit.pointer, edit.text);
      // Never let the request go on with the text unredacted.
      if (status != BBR_OK)
        return msg.fail(BBR_FAIL_INTERNAL, "redacting " + edit.pointer + " failed (status " +
                                               std::to_string(status) + ")");
    }
    uint64_t total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (counts[i] == 0) continue;
      redactions_.add_labelled(detectors.detectors()[i].name, counts[i]);
      total += counts[i];
    }
    if (total > 0) log_match("redacted " + std::to_string(total) + " match(es) in the prompt");
    return BBR_CONTINUE;
  }

  struct Piece {
    int64_t choice;
    std::string pointer;
    std::string text;
    bool complete;  // a whole text, not the next piece of its choice's
  };

  // One text of an SSE event: a piece scanned after its choice's text so far
  // (in the choice's window), or a complete text on its own.
  guardrail::StreamWindow::Result scan_event_text(guardrail::StreamState& state,
                                                  const Piece& piece) const {
    guardrail::StreamWindow::Result result;
    if (piece.complete) {
      auto spans = guardrail::find_spans(config_, piece.text);
      result.matched = !spans.empty();
      if (result.matched)
        result.redacted = guardrail::redact(piece.text, 0, spans, config_.redaction);
      return result;
    }
    auto it = state.windows.find(piece.choice);
    if (it == state.windows.end()) {
      if (state.windows.size() >= bbr_plugins::kMaxChoices) return result;
      it = state.windows.emplace(piece.choice, guardrail::StreamWindow(config_.stream_window_bytes))
               .first;
    }
    return it->second.scan(config_, piece.text);
  }

  bool scans_responses() const {
    return config_.check_response && !config_.patterns.empty() &&
           config_.response_action != guardrail::ResponseAction::kNone;
  }

  // Copies: views end at the first edit of the message.
  static std::vector<Piece> pieces(const bbr::Message& msg) {
    std::vector<Piece> out;
    bbr_plugins::for_each_generated_text(msg, [&](const bbr_plugins::GeneratedText& t) {
      out.push_back({t.choice, t.pointer, std::string(t.text), t.complete});
    });
    return out;
  }

  void set_text(bbr::Message& msg, const std::string& pointer, const std::string& text) {
    bbr_status_t status = set_string(msg, pointer, text);
    if (status != BBR_OK) {
      // Not valid UTF-8 after all: blank the text rather than let it through.
      set_string(msg, pointer, config_.redaction);
    }
  }

  // The host escapes the text on 1.1; a 1.0 host (on_response only) is given
  // the JSON text.
  static bbr_status_t set_string(bbr::Message& msg, const std::string& pointer,
                                 std::string_view text) {
    bbr_status_t status = msg.json_set_string(pointer, text);
    if (status == BBR_UNSUPPORTED) status = msg.json_set_value(pointer, bbr::Json(text));
    return status;
  }

  bbr_result_t refuse(bbr::Message& msg, std::string_view check, std::string_view code,
                      const std::string& message, std::optional<std::string> param,
                      std::string details = {}) {
    if (details.empty()) details = message;
    std::optional<std::string_view> param_view;
    if (param) param_view = *param;
    std::string body = guardrail::error_body(message, config_.error_type, code, param_view);
    std::string log_details = "guardrail: ";
    log_details += details;
    // The content-type is said, not guessed; a 1.0 host guesses
    // application/json from the body's '{'.
    bbr_status_t status =
        msg.reject_with(config_.status, body, {{"content-type", "application/json"}}, log_details);
    if (status == BBR_UNSUPPORTED) status = msg.reject(config_.status, body);
    if (status != BBR_OK) {
      return msg.fail(BBR_FAIL_FORBIDDEN, "refused (" + details + "); reject failed");
    }
    matches_.add_labelled(check);
    log_match("refused: " + details);
    return BBR_CONTINUE;
  }

  void log_match(const std::string& text) const {
    if (plugin_.log_enabled(BBR_LOG_INFO)) plugin_.log(BBR_LOG_INFO, text);
  }

  bbr::PluginContext plugin_;
  guardrail::Config config_;
  std::string state_key_;
  bbr::Counter matches_;
  bbr::Counter redactions_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<Guardrail>(
    "guardrail", "1.0.0",
    "Refuses prompts matching deny patterns or over limits; redacts personal data and secrets in "
    "prompts; redacts or stops matching generated text",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
