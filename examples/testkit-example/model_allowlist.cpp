// model-allowlist: answers 403 for a request whose "model" is not in the
// instance's list, and marks the ones it lets through with a header.
//
//   parameters: {"models": ["llama-3-8b", "qwen"], "headerName": "x-model-allowed"}
//
// Its unit test (model_allowlist_test.cpp) runs it through the SDK's test kit.
#include <bbr/plugin.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

class ModelAllowlist {
 public:
  explicit ModelAllowlist(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    // /models/0, /models/1, ... until there is none: bbr::pointer builds and
    // escapes each JSON Pointer.
    for (std::size_t i = 0;; ++i) {
      auto value = ctx.plugin.parameter_value(bbr::pointer("models", i));
      if (!value) break;
      if (!value->is_string()) throw std::invalid_argument("models: every entry must be a string");
      models_.emplace_back(value->string());
    }
    if (models_.empty()) throw std::invalid_argument("models: required, a non-empty list");
    header_ = std::string(ctx.plugin.parameter_string("/headerName").value_or("x-model-allowed"));
  }

  bbr_result_t on_request(bbr::Message& msg) {
    auto model = msg.json_string("/model");
    if (!model) return BBR_CONTINUE;  // no model: not this plugin's call
    for (const auto& allowed : models_) {
      if (*model == allowed) {
        msg.set_header(header_, "true");
        return BBR_CONTINUE;
      }
    }
    const std::string name(*model);
    plugin_.count("model_allowlist_refused_total", "model", name);
    plugin_.info("refused model '" + name + "'");
    auto error = bbr::Json::object(
        {{"error", bbr::Json::object({{"message", "model '" + name + "' is not served here"},
                                      {"type", "invalid_request_error"}})}});
    msg.reject(403, error.dump());
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  std::vector<std::string> models_;
  std::string header_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<ModelAllowlist>(
    "model-allowlist", "1.0.0", "answers 403 for a model not in the list", BBR_CAP_THREAD_SAFE,
    R"({"type":"object","required":["models"],"properties":{)"
    R"("models":{"type":"array","items":{"type":"string"},"minItems":1},)"
    R"("headerName":{"type":"string"}}})"))
