// response-model-rewrite: the client asked for model A, a request plugin
// (model-rewrite, model-selector) sent it to model B; the response says B.
// This plugin writes A back where the response names its model, in a JSON
// response and in every SSE event of a streamed one (`model`; the Responses
// API's `response.model`; Anthropic's `message.model` in message_start), so
// the client sees the name it asked for. A is recorded in the request phase,
// from the request body's `model` as this plugin sees it (so it runs before
// the rewriting plugin) or from a request header a rewriting plugin set (so it
// runs after it).
#include <bbr/plugin.hpp>

#include "common/api_format.hpp"
#include "common/header_name.hpp"
#include "common/json_text.hpp"
#include "common/parameters.hpp"

#include <nlohmann/json.hpp>

#include <iterator>
#include <string>
#include <vector>

namespace {

constexpr const char* kParametersSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "modelHeader": {"type": "string", "minLength": 1,
                    "description": "Request header holding the client-facing model (e.g. the one model-rewrite records the original in); absent: the request body's model"},
    "pointers": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "JSON Pointers rewritten in responses and events (default [/model, /response/model, /message/model])"}
  },
  "additionalProperties": false
})json";

class ResponseModelRewrite {
 public:
  explicit ResponseModelRewrite(const bbr::CreateContext& ctx) {
    // The host checked the parameters against the schema above (types, a
    // non-empty list, unknown names); what it cannot say is checked here.
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const bbr_plugins::ParameterObject parameters = parsed.root();
    model_header_ = parameters.string("modelHeader").value_or("");
    if (!model_header_.empty()) {
      std::string problem = bbr_plugins::header_name_problem(model_header_);
      // Only reading: Envoy-owned names are fine, an invalid token is not.
      if (problem.find("not a valid") != std::string::npos)
        throw bbr_plugins::ParameterError("modelHeader: " + problem);
    }
    pointers_.assign(std::begin(bbr_plugins::kResponseModelPointers),
                     std::end(bbr_plugins::kResponseModelPointers));
    if (parameters.has("pointers")) {
      pointers_ = parameters.strings("pointers");
      for (std::size_t i = 0; i < pointers_.size(); ++i)
        bbr_plugins::require_json_pointer(parameters.element_path("pointers", i), pointers_[i],
                                          /*allow_root=*/false);
    }
    state_key_ = "response-model-rewrite/";
    state_key_ += ctx.instance_name;
  }

  bbr_result_t on_request(bbr::Message& msg) {
    std::optional<std::string_view> model =
        model_header_.empty() ? msg.json_string("/model") : msg.header(model_header_);
    if (!model || model->empty()) return BBR_CONTINUE;
    if (msg.put_state(state_key_, std::string(*model)) != BBR_OK)
      return msg.fail(BBR_FAIL_INTERNAL, "state_put failed");
    return BBR_CONTINUE;
  }

  bbr_result_t on_response(bbr::Message& msg) { return rewrite(msg); }

  bbr_result_t on_response_event(bbr::Message& msg) {
    auto info = msg.message_info();
    if (!info || info->unit != BBR_BODY_SSE_EVENT || info->sse_done) return BBR_CONTINUE;
    return rewrite(msg);
  }

 private:
  bbr_result_t rewrite(bbr::Message& msg) {
    const auto* model = msg.state<std::string>(state_key_);
    if (model == nullptr) return BBR_CONTINUE;
    for (const auto& pointer : pointers_) {
      auto current = msg.json_string(pointer);
      // Only a model the response names is replaced; nothing is added.
      if (!current || *current == *model) continue;
      // The host escapes the text on 1.1; a 1.0 host is given the JSON text.
      bbr_status_t status = msg.json_set_string(pointer, *model);
      if (status == BBR_UNSUPPORTED) status = msg.json_set_value(pointer, bbr::Json(*model));
      if (status != BBR_OK)
        return msg.fail(BBR_FAIL_INTERNAL,
                        "setting " + pointer + " failed (status " + std::to_string(status) + ")");
    }
    return BBR_CONTINUE;
  }

  std::string model_header_;
  std::vector<std::string> pointers_;
  std::string state_key_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<ResponseModelRewrite>(
    "response-model-rewrite", "1.0.0",
    "Writes the model the client asked for back into the response's model (JSON and every SSE "
    "event)",
    BBR_CAP_THREAD_SAFE, kParametersSchema))
