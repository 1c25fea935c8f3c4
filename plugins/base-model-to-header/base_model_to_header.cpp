// base-model-to-header: sets X-Gateway-Base-Model-Name to the base model of the
// requested model (a LoRA adapter maps to its base model, a base model to
// itself, anything else to ""), as the reference's plugin of the same name.
//
// The reference learns the mapping from labelled ConfigMaps; we read it from a
// directory of files (a mounted ConfigMap, or anything else) and reload it
// while serving. Requests read an immutable snapshot that a background thread
// swaps atomically, so a reload never makes a request wait.
#include <bbr/plugin.hpp>

#include "base-model-to-header/adapter_map.hpp"
#include "base-model-to-header/adapters_dir_watcher.hpp"
#include "common/go_value_format.hpp"
#include "common/header_name.hpp"
#include "common/parameters.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace {

constexpr const char* kParametersSchema = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "adaptersDir": {"type": "string", "minLength": 1, "default": "/etc/bbr/adapters",
                    "description": "Directory of *.yaml/*.yml/*.json files, one per base model: {baseModel: <name>, adapters: [<adapter>, ...]}"},
    "fieldName": {"type": "string", "minLength": 1, "default": "model",
                  "description": "Top-level request body field holding the requested model"},
    "headerName": {"type": "string", "minLength": 1, "default": "X-Gateway-Base-Model-Name",
                   "description": "Request header to set to the base model"},
    "pollIntervalMs": {"type": "integer", "minimum": 10, "maximum": 3600000, "default": 1000,
                       "description": "How often the directory is re-checked besides inotify"}
  }
})";

// Where the adapters live when no adaptersDir is given: the reference's chart
// names this plugin with no parameters (`base-model-to-header:base-model-mapper`),
// so that must start, and the Helm chart mounts the adapters ConfigMap here.
constexpr const char* kDefaultAdaptersDir = "/etc/bbr/adapters";

using bbr_plugins::AdapterMap;

// The state shared with the watcher thread; heap-allocated so its address is
// stable for the thread whatever happens to the plugin object.
class BaseModelState {
 public:
  BaseModelState(bbr::PluginContext plugin, std::filesystem::path dir)
      : plugin_(plugin), dir_(std::move(dir)) {
    reload(/*forced=*/true);
  }

  std::shared_ptr<const AdapterMap> snapshot() const { return map_.load(std::memory_order_acquire); }

  // Runs on the watcher thread (and once at creation).
  void reload(bool forced) {
    auto fingerprint = bbr_plugins::fingerprint_adapters_dir(dir_);
    if (!forced && fingerprint == fingerprint_) return;
    auto result = bbr_plugins::load_adapters_dir(dir_);
    for (const auto& diagnostic : result.diagnostics) plugin_.log(diagnostic.level, diagnostic.text);
    if (plugin_.log_enabled(BBR_LOG_INFO)) {
      plugin_.log(BBR_LOG_INFO,
                  "loaded " + std::to_string(result.map->adapter_to_base.size()) +
                      " adapters of " + std::to_string(result.map->base_models.size()) +
                      " base models from '" + dir_.string() + "' (" +
                      std::to_string(result.files_loaded) + " files, " +
                      std::to_string(result.files_skipped) + " skipped)");
    }
    map_.store(std::move(result.map), std::memory_order_release);
    fingerprint_ = std::move(fingerprint);
  }

 private:
  bbr::PluginContext plugin_;
  std::filesystem::path dir_;
  std::atomic<std::shared_ptr<const AdapterMap>> map_;
  bbr_plugins::DirFingerprint fingerprint_;  // touched by the reloading thread only
};

class BaseModelToHeader {
 public:
  explicit BaseModelToHeader(const bbr::CreateContext& ctx) {
    // The schema (kParametersSchema) bounds every value and names the
    // defaults the host fills in; the fallbacks here are the same defaults
    // for a plugin created without the host (the unit tests' direct create).
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const bbr_plugins::ParameterObject parameters = parsed.root();
    std::filesystem::path dir = parameters.string("adaptersDir").value_or(kDefaultAdaptersDir);
    std::string field_name = parameters.string("fieldName").value_or("model");
    header_name_ = parameters.string("headerName").value_or("X-Gateway-Base-Model-Name");
    bbr_plugins::require_settable_header_name("headerName", header_name_);
    const int64_t poll_ms = parameters.integer("pollIntervalMs").value_or(1000);
    // A missing directory is not fatal: the reference starts with an empty
    // store until its ConfigMaps appear, and the host's default chain names
    // /etc/bbr/adapters whether or not it exists. The watcher picks it up later.
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
      throw bbr_plugins::ParameterError("adaptersDir: '" + dir.string() + "' is not a directory");
    if (!std::filesystem::exists(dir, ec) && ctx.plugin.log_enabled(BBR_LOG_WARN))
      ctx.plugin.log(BBR_LOG_WARN, "adaptersDir '" + dir.string() +
                                       "' does not exist (yet): every model maps to \"\" until it does");
    pointer_ = bbr::pointer(field_name);
    state_ = std::make_unique<BaseModelState>(ctx.plugin, dir);
    BaseModelState* state = state_.get();
    watcher_ = std::make_unique<bbr_plugins::AdaptersDirWatcher>(
        dir, std::chrono::milliseconds(poll_ms), [state](bool forced) { state->reload(forced); });
  }

  bbr_result_t on_request(bbr::Message& msg) {
    // No model field: the reference sets no header at all.
    auto model = bbr_plugins::go_format_value(msg, pointer_);
    if (!model) return BBR_CONTINUE;
    // Otherwise the header is always set, "" when the model is unknown.
    std::string base = state_->snapshot()->base_model_of(*model);
    bbr_status_t set = msg.set_header(header_name_, base);
    if (set != BBR_OK) {
      return msg.fail(BBR_FAIL_INTERNAL, "setting header '" + header_name_ + "' failed (status " +
                                             std::to_string(static_cast<int>(set)) + ")");
    }
    return BBR_CONTINUE;
  }

 private:
  std::string pointer_;
  std::string header_name_;
  std::unique_ptr<BaseModelState> state_;
  // Declared last: destroyed first, so the thread stops before the state goes.
  std::unique_ptr<bbr_plugins::AdaptersDirWatcher> watcher_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<BaseModelToHeader>(
    "base-model-to-header", "1.0.0",
    "Sets X-Gateway-Base-Model-Name to the base model of the requested LoRA adapter, from a watched directory",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
