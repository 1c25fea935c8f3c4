// model-rewrite: maps the requested model to another by ordered rules (exact,
// prefix, regex), with weighted canary splits and retired-model redirects;
// rewrites the body's `model`, records the original in a header of choice and
// sets the routing header to the final model. Built against the SDK headers
// only (plus RE2 and, for its parameters, nlohmann_json).
#include <bbr/plugin.hpp>

#include "common/header_name.hpp"
#include "common/parameters.hpp"
#include "common/routing_header.hpp"
#include "model-rewrite/rewrite_rules.hpp"

#include <string>

namespace {

constexpr const char* kParametersSchema = R"schema({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "rules": {
      "type": "array", "minItems": 1,
      "description": "Ordered rules; the first whose match holds decides",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "minLength": 1},
          "match": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "exact": {"type": "string", "minLength": 1},
              "prefix": {"type": "string", "minLength": 1},
              "regex": {"type": "string", "minLength": 1,
                        "description": "RE2 syntax, must match the whole model name"},
              "caseInsensitive": {"type": "boolean"}
            },
            "oneOf": [{"required": ["exact"]}, {"required": ["prefix"]}, {"required": ["regex"]}]
          },
          "target": {"type": "string", "minLength": 1,
                     "description": "The new model; a regex rule may use \\1..\\9"},
          "targets": {
            "type": "array", "minItems": 1,
            "items": {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "model": {"type": "string", "minLength": 1},
                "weight": {"type": "integer", "minimum": 0, "maximum": 1000000}
              },
              "required": ["model", "weight"]
            }
          },
          "retired": {"type": "boolean",
                      "description": "The matched model is retired: also set retiredHeader"}
        },
        "required": ["match"],
        "oneOf": [{"required": ["target"]}, {"required": ["targets"]}]
      }
    },
    "originalModelHeader": {"type": "string", "minLength": 1,
                            "description": "Header recording the requested model when a rule matched"},
    "retiredHeader": {"type": "string", "minLength": 1,
                      "description": "Header set on a retired-model redirect: '<old> -> <new>'"},
    "requestIdHeader": {"type": "string", "minLength": 1,
                        "description": "Header whose value picks the canary bucket (default x-request-id)"},
    )schema" BBR_ROUTING_HEADER_SCHEMA_PROPERTIES R"schema(
  },
  "required": ["rules"]
})schema";

constexpr std::string_view kRewriteMetric = "bbr_model_rewrite_total";
// The model names set in headers come from the client (and rules applied to them).
constexpr auto kNames = bbr_plugins::ModelNameSource::kClient;

class ModelRewrite {
 public:
  explicit ModelRewrite(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    using bbr_plugins::ParameterObject;
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const ParameterObject parameters = parsed.root();
    rules_.parse(parameters);
    original_header_ = parameters.string("originalModelHeader").value_or("");
    retired_header_ = parameters.string("retiredHeader").value_or("");
    routing_ = bbr_plugins::RoutingHeader::from(parameters);
    request_id_header_ = parameters.string("requestIdHeader").value_or("x-request-id");
    if (!original_header_.empty())
      bbr_plugins::require_settable_header_name("originalModelHeader", original_header_);
    if (!retired_header_.empty())
      bbr_plugins::require_settable_header_name("retiredHeader", retired_header_);
  }

  bbr_result_t on_request(bbr::Message& msg) {
    auto requested = msg.json_string("/model");
    // No model (or not a string): nothing to rewrite and nothing to route on;
    // a later plugin or the route decides what that means.
    if (!requested || requested->empty()) return BBR_CONTINUE;
    const std::string original(*requested);  // the view dies with the edit below
    std::string_view request_id;
    if (auto id = msg.header(request_id_header_)) request_id = *id;

    model_rewrite::Decision decision = rules_.apply(original, request_id);
    if (decision.rule != nullptr) {
      if (decision.model.empty()) {
        return msg.fail(BBR_FAIL_INTERNAL, "rule " + decision.rule->name + " rewrote model '" +
                                               original + "' to an empty name");
      }
      if (decision.model != original) {
        bbr_status_t set = bbr_plugins::set_body_model(msg, decision.model);
        if (set != BBR_OK)
          return msg.fail(BBR_FAIL_INTERNAL,
                          "rewriting model failed (status " + std::to_string(set) + ")");
      }
      if (!original_header_.empty()) {
        if (auto failed = bbr_plugins::set_model_header(msg, original_header_, original, kNames))
          return *failed;
      }
      if (decision.rule->retired && !retired_header_.empty()) {
        if (auto failed = bbr_plugins::set_model_header(
                msg, retired_header_, original + " -> " + decision.model, kNames))
          return *failed;
      }
      plugin_.count(kRewriteMetric, "target", decision.model);
      if (plugin_.log_enabled(BBR_LOG_DEBUG))
        plugin_.log(BBR_LOG_DEBUG,
                    decision.rule->name + ": model '" + original + "' -> '" + decision.model + "'");
    }
    if (routing_.enabled) {
      if (auto failed = bbr_plugins::set_model_header(msg, routing_.name, decision.model, kNames))
        return *failed;
    }
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  model_rewrite::Rules rules_;
  std::string original_header_;
  std::string retired_header_;
  bbr_plugins::RoutingHeader routing_;
  std::string request_id_header_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<ModelRewrite>(
    "model-rewrite", "1.0.0",
    "Rewrites the request's model by rules (exact, prefix, regex; weighted canary splits; "
    "retired-model redirects) and sets the routing header",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
