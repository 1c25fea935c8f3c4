// What the model-choosing plugins (model-rewrite, model-selector) share once
// they chose a model: the routing header set to it (parameters routingHeader,
// default X-Gateway-Model-Name, and setRoutingHeader, default true) and the
// body's `model` rewritten on any host.
#pragma once

#include "common/header_name.hpp"
#include "common/parameters.hpp"

#include <bbr/plugin.hpp>

#include <optional>
#include <string>

// The two parameters' JSON Schema properties, spliced into each plugin's
// schema (a string literal, so the schema stays one constant).
#define BBR_ROUTING_HEADER_SCHEMA_PROPERTIES                                       \
  "\"routingHeader\": {\"type\": \"string\", \"minLength\": 1, \"description\": " \
  "\"Header set to the chosen model (default X-Gateway-Model-Name)\"},"             \
  "\"setRoutingHeader\": {\"type\": \"boolean\", \"description\": \"Default true\"}"

namespace bbr_plugins {

struct RoutingHeader {
  std::string name = "X-Gateway-Model-Name";
  bool enabled = true;

  // Reads routingHeader and setRoutingHeader (the caller's schema declares
  // them, BBR_ROUTING_HEADER_SCHEMA_PROPERTIES); throws ParameterError when the
  // name is not a header it may set.
  static RoutingHeader from(const ParameterObject& parameters) {
    RoutingHeader out;
    out.name = parameters.string("routingHeader").value_or(out.name);
    out.enabled = parameters.boolean("setRoutingHeader", true);
    require_settable_header_name("routingHeader", out.name);
    return out;
  }
};

// Sets the body's top-level "model" to `model`: json_set_string, or on a 1.0
// host json_set with the quoted text.
inline bbr_status_t set_body_model(bbr::Message& msg, const std::string& model) {
  bbr_status_t set = msg.json_set_string("/model", model);
  if (set == BBR_UNSUPPORTED) set = msg.json_set("/model", bbr::json_quote(model));
  return set;
}

// Sets a header holding a model name (or text about one); a refusal fails
// the request. A name the client sent may hold CR, LF or NUL: that is the
// client's fault (400). Names from the operator's rules were theirs to pick:
// a refusal then is the host's failure (500).
enum class ModelNameSource { kClient, kOperator };
inline std::optional<bbr_result_t> set_model_header(bbr::Message& msg, const std::string& name,
                                                    const std::string& value,
                                                    ModelNameSource source) {
  bbr_status_t set = msg.set_header(name, value);
  if (set == BBR_OK) return std::nullopt;
  if (set == BBR_INVALID_ARGUMENT && source == ModelNameSource::kClient)
    return msg.fail(BBR_FAIL_BAD_REQUEST,
                    "the model name cannot be a header value (it holds CR, LF or NUL)");
  return msg.fail(BBR_FAIL_INTERNAL,
                  "setting header '" + name + "' failed (status " + std::to_string(set) + ")");
}

}  // namespace bbr_plugins
