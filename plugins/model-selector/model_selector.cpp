// model-selector: for a virtual model (e.g. "auto"), picks a concrete model by
// ordered rules on the request (prompt length in characters or estimated
// tokens, keywords and regexes on the prompt, endpoint, stream, tools),
// rewrites the body's `model`, sets the routing header and explains the
// choice in a header. Built against the SDK headers only (plus RE2 and, for
// its parameters, nlohmann_json).
#include <bbr/plugin.hpp>

#include "common/header_name.hpp"
#include "common/parameters.hpp"
#include "common/request_text.hpp"
#include "common/routing_header.hpp"
#include "model-selector/selection_rules.hpp"

#include <string>
#include <vector>

namespace {

constexpr const char* kParametersSchema = R"schema({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "virtualModel": {"type": "string", "minLength": 1,
                     "description": "The model name clients send to ask for a choice, e.g. auto"},
    "defaultModel": {"type": "string", "minLength": 1,
                     "description": "Chosen when no rule holds"},
    "rules": {
      "type": "array",
      "description": "Ordered; the first rule whose conditions all hold chooses its model",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "model": {"type": "string", "minLength": 1},
          "when": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "minPromptChars": {"type": "integer", "minimum": 0, "maximum": 1099511627776},
              "maxPromptChars": {"type": "integer", "minimum": 0, "maximum": 1099511627776},
              "minPromptTokens": {"type": "integer", "minimum": 0, "maximum": 1099511627776,
                                  "description": "Estimated: characters / 4, rounded up"},
              "maxPromptTokens": {"type": "integer", "minimum": 0, "maximum": 1099511627776},
              "keywords": {"type": ["string", "array"], "minLength": 1, "minItems": 1,
                           "items": {"type": "string", "minLength": 1},
                           "description": "Any of them, as a substring of the prompt"},
              "regex": {"type": ["string", "array"], "minLength": 1, "minItems": 1,
                        "items": {"type": "string", "minLength": 1},
                        "description": "Any of them (RE2 syntax), found anywhere in the prompt"},
              "caseInsensitive": {"type": "boolean",
                                  "description": "For keywords and regex; default true"},
              "endpoints": {"type": ["string", "array"], "pattern": "^/", "minItems": 1,
                            "items": {"type": "string", "pattern": "^/"},
                            "description": "Any of these request paths (starting with /), e.g. /v1/chat/completions"},
              "stream": {"type": "boolean"},
              "tools": {"type": "boolean", "description": "The request offers tools"}
            }
          }
        },
        "required": ["model"]
      }
    },
    "explainHeader": {"type": "string", "minLength": 1,
                      "description": "Header explaining the choice, e.g. X-Model-Selection"},
    )schema" BBR_ROUTING_HEADER_SCHEMA_PROPERTIES R"schema(
  },
  "required": ["virtualModel", "defaultModel"]
})schema";

constexpr std::string_view kSelectionMetric = "bbr_model_selection_total";
// The values set in headers are the operator's (its rules' models and names).
constexpr auto kNames = bbr_plugins::ModelNameSource::kOperator;

class ModelSelector {
 public:
  explicit ModelSelector(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    using bbr_plugins::ParameterObject;
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const ParameterObject parameters = parsed.root();
    virtual_model_ = parameters.required_string("virtualModel");
    default_model_ = parameters.required_string("defaultModel");
    rules_ = model_selector::parse_rules(parameters);
    routing_ = bbr_plugins::RoutingHeader::from(parameters);
    explain_header_ = parameters.string("explainHeader").value_or("");
    if (!explain_header_.empty())
      bbr_plugins::require_settable_header_name("explainHeader", explain_header_);
    reads_prompt_ = !explain_header_.empty();
    for (const auto& rule : rules_) reads_prompt_ = reads_prompt_ || rule.reads_prompt();
  }

  bbr_result_t on_request(bbr::Message& msg) {
    auto requested = msg.json_string("/model");
    if (!requested || *requested != virtual_model_) return BBR_CONTINUE;

    std::string storage;  // the prompt, on a host without prompt_text
    model_selector::RequestFacts facts;
    if (reads_prompt_) {
      // No prompt (another endpoint, or none given) counts as an empty one.
      const std::string_view prompt =
          bbr_plugins::prompt_text(msg, storage).value_or(std::string_view{});
      facts.prompt = prompt;
      facts.prompt_chars = bbr_plugins::utf8_length(prompt);
      facts.prompt_tokens = bbr_plugins::estimated_tokens(facts.prompt_chars);
    }
    const std::string path = bbr_plugins::request_path(msg);
    facts.path = path;
    bbr::JsonValue value;
    facts.stream = msg.json("/stream", value) == BBR_OK && value.type() == BBR_JSON_BOOL &&
                   value.raw.boolean != 0;
    facts.tools = has_items(msg, "/tools") || has_items(msg, "/functions");

    const model_selector::Rule* rule = model_selector::select(rules_, facts);
    const std::string& model = rule != nullptr ? rule->model : default_model_;
    bbr_status_t set = bbr_plugins::set_body_model(msg, model);
    if (set != BBR_OK)
      return msg.fail(BBR_FAIL_INTERNAL,
                      "rewriting model failed (status " + std::to_string(set) + ")");
    if (routing_.enabled) {
      if (auto failed = bbr_plugins::set_model_header(msg, routing_.name, model, kNames))
        return *failed;
    }
    if (!explain_header_.empty()) {
      if (auto failed = bbr_plugins::set_model_header(
              msg, explain_header_, model_selector::explain(rule, facts), kNames))
        return *failed;
    }
    plugin_.count(kSelectionMetric, "model", model);
    if (plugin_.log_enabled(BBR_LOG_DEBUG))
      plugin_.log(BBR_LOG_DEBUG, "'" + virtual_model_ + "' -> '" + model + "' (" +
                                     model_selector::explain(rule, facts) + ")");
    return BBR_CONTINUE;
  }

 private:
  static bool has_items(const bbr::Message& msg, std::string_view pointer) {
    bbr::JsonValue value;
    return msg.json(pointer, value) == BBR_OK && value.type() == BBR_JSON_ARRAY &&
           value.raw.size > 0;
  }

  bbr::PluginContext plugin_;
  std::string virtual_model_;
  std::string default_model_;
  std::vector<model_selector::Rule> rules_;
  bbr_plugins::RoutingHeader routing_;
  std::string explain_header_;
  bool reads_prompt_ = false;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<ModelSelector>(
    "model-selector", "1.0.0",
    "Chooses a concrete model for a virtual one (e.g. auto) by rules on the prompt, endpoint, "
    "stream and tools; rewrites the body, sets the routing header, explains the choice",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
