// model-allowlist: answers 403 for a request whose "model" is not in the
// instance's list, and marks the ones it lets through with a header.
//
//   parameters: {"models": ["llama-3-8b", "qwen"], "headerName": "x-model-allowed"}
//
// Its unit test (model_allowlist_test.cpp) runs it through the SDK's test kit.
#include <bbr/plugin.hpp>

#include <string>
#include <vector>

namespace {

class ModelAllowlist {
 public:
  // The host checked the parameters against the schema below first (a
  // non-empty list of strings) and filled in headerName's default.
  explicit ModelAllowlist(const bbr::CreateContext& ctx)
      : plugin_(ctx.plugin),
        refused_(ctx.counter("model_allowlist_refused_total", "Requests refused by model",
                             "model")) {
    ctx.plugin.parameter_for_each("/models", [&](const bbr::JsonEntry& entry) {
      models_.emplace_back(entry.value.string());
    });
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
    refused_.add_labelled(name);
    plugin_.info("refused model '" + name + "'");
    auto error = bbr::Json::object(
        {{"error", bbr::Json::object({{"message", "model '" + name + "' is not served here"},
                                      {"type", "invalid_request_error"}})}});
    msg.reject_with(403, error.dump(), {{"content-type", "application/json"}}, "model not allowed");
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  bbr::Counter refused_;
  std::vector<std::string> models_;
  std::string header_;
};

}  // namespace

// ABI 1.1 calls (parameter_for_each, ctx.counter, reject_with, the defaults):
// refuse a 1.0 host at load.
BBR_EXPORT_PLUGINS_REQUIRING(1, bbr::plugin_type<ModelAllowlist>(
    "model-allowlist", "1.1.0", "answers 403 for a model not in the list", BBR_CAP_THREAD_SAFE,
    R"({"type":"object","required":["models"],"properties":{)"
    R"("models":{"type":"array","items":{"type":"string"},"minItems":1},)"
    R"("headerName":{"type":"string","minLength":1,"default":"x-model-allowed"}}})"))
