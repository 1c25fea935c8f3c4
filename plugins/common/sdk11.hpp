// ABI 1.1 calls used by the response-side plugins, each checked with
// BBR_HAS_FIELD so a 1.0 host answers BBR_UNSUPPORTED instead of a crash, and
// a plugin_type builder that also fills process_response_event.
// The plugin is built with BBR_ABI_MINOR 1; on a 1.0 host the event hook is
// never called (that host does not know it), so each plugin works on whole
// JSON bodies there.
//
// Why here and not in plugin.hpp: plugin.hpp's 1.1 wrappers are being written
// on another branch; these stay small and SDK-only so the plugins can switch
// to them once they land without changing behaviour.
#pragma once

#include <bbr/plugin.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace bbr_plugins {

#define BBR_PLUGINS_HAS(api, call) BBR_HAS_FIELD((api), bbr_host_api_t, call)

// What the current call is given; nullopt on a 1.0 host (always a whole body).
inline std::optional<bbr_message_info_t> message_info(const bbr::Message& msg) {
  if (!BBR_PLUGINS_HAS(msg.api(), message_info)) return std::nullopt;
  bbr_message_info_t info{};
  info.struct_size = sizeof(info);
  if (msg.api()->message_info(msg.raw(), &info) != BBR_OK) return std::nullopt;
  return info;
}

// Sets a JSON string (escaped by the host on 1.1, by nlohmann on 1.0).
inline bbr_status_t json_set_string(bbr::Message& msg, std::string_view pointer,
                                    std::string_view value) {
  if (BBR_PLUGINS_HAS(msg.api(), json_set_string)) {
    return msg.api()->json_set_string(msg.raw(), pointer.data(), pointer.size(), value.data(),
                                      value.size());
  }
  std::string text;
  try {
    text = nlohmann::json(std::string(value)).dump();
  } catch (const nlohmann::json::exception&) {
    return BBR_INVALID_ARGUMENT;  // not valid UTF-8, as the 1.1 host would say
  }
  return msg.json_set(pointer, text);
}

// The request's prompt text whatever the endpoint (1.1 only).
inline bbr_status_t prompt_text(bbr::Message& msg, std::string_view& out) {
  if (!BBR_PLUGINS_HAS(msg.api(), prompt_text)) return BBR_UNSUPPORTED;
  bbr_buffer_t text{};
  bbr_status_t status = msg.api()->prompt_text(msg.raw(), &text);
  if (status == BBR_OK) out = bbr::view(text);
  return status;
}

// An immediate answer with a content-type; falls back to reject() on a 1.0
// host, which guesses application/json from the body's '{'.
inline bbr_status_t reject_json(bbr::Message& msg, uint32_t status, std::string_view body,
                                std::string_view details) {
  if (!BBR_PLUGINS_HAS(msg.api(), reject_with)) return msg.reject(status, body);
  static constexpr std::string_view kName = "content-type";
  static constexpr std::string_view kValue = "application/json";
  bbr_header_pair_t header{{kName.data(), kName.size()}, {kValue.data(), kValue.size()}};
  bbr_reject_t reject{};
  reject.struct_size = sizeof(reject);
  reject.http_status = status;
  reject.body = {body.data(), body.size()};
  reject.headers = &header;
  reject.header_count = 1;
  reject.details = {details.data(), details.size()};
  return msg.api()->reject_with(msg.raw(), &reject);
}

inline bbr_status_t event_drop(bbr::Message& msg) {
  if (!BBR_PLUGINS_HAS(msg.api(), event_drop)) return BBR_UNSUPPORTED;
  return msg.api()->event_drop(msg.raw());
}

inline bbr_status_t event_add(bbr::Message& msg, std::string_view event_name,
                              std::string_view data) {
  if (!BBR_PLUGINS_HAS(msg.api(), event_add)) return BBR_UNSUPPORTED;
  return msg.api()->event_add(msg.raw(), event_name.data(), event_name.size(), data.data(),
                              data.size());
}

// A counter or histogram defined once at create and bumped by id. A 1.0 host
// has no such metrics: the metric is then inert (valid() is false).
class Metric {
 public:
  Metric() = default;
  // `ctx` is the raw context create() was given (plugin.hpp's PluginContext
  // does not hand it out).
  Metric(const bbr_host_api_t* api, const bbr_plugin_context_t* ctx, bbr_metric_kind_t kind,
         std::string_view name, std::string_view help, std::string_view label_name)
      : api_(api), ctx_(ctx) {
    if (!BBR_PLUGINS_HAS(api_, metric_define)) return;
    bbr_metric_def_t def{};
    def.struct_size = sizeof(def);
    def.kind = kind;
    def.name = {name.data(), name.size()};
    def.help = {help.data(), help.size()};
    def.label_name = {label_name.data(), label_name.size()};
    uint32_t id = 0;
    if (api_->metric_define(ctx_, &def, &id) == BBR_OK) id_ = id;
  }
  bool valid() const { return id_.has_value(); }
  void add(std::string_view label_value, uint64_t delta) const {
    if (id_ && delta > 0)
      api_->metric_add(ctx_, *id_, label_value.data(), label_value.size(), delta);
  }
  void observe(std::string_view label_value, double value) const {
    if (id_) api_->metric_observe(ctx_, *id_, label_value.data(), label_value.size(), value);
  }

 private:
  const bbr_host_api_t* api_ = nullptr;
  const bbr_plugin_context_t* ctx_ = nullptr;
  std::optional<uint32_t> id_;
};

// What a plugin class built with plugin_type_with_events receives besides
// plugin.hpp's CreateContext: the raw handles the 1.1 metric calls need.
struct RawContext {
  const bbr_host_api_t* api;
  const bbr_plugin_context_t* context;
};

namespace detail {

// Own copies of what plugin.hpp keeps in bbr::detail, so this builder does not
// depend on that header's internals (which its 1.1 rewrite changes).
template <class T>
struct Instance {
  const bbr_host_api_t* api;
  T object;
};

inline void write_error(const bbr_create_args_t* args, const char* text) {
  if (args->error == nullptr || args->error_capacity == 0) return;
  std::size_t n = std::strlen(text);
  if (n >= args->error_capacity) n = args->error_capacity - 1;
  std::memcpy(args->error, text, n);
  args->error[n] = '\0';
}

template <class T>
int create(const bbr_create_args_t* args, void** instance_out) {
  try {
    bbr::CreateContext ctx{bbr::view(args->instance_name), bbr::view(args->parameters_json),
                           bbr::PluginContext(args->api, args->context)};
    *instance_out = new Instance<T>{args->api, T(ctx, RawContext{args->api, args->context})};
    return 0;
  } catch (const std::exception& e) {
    write_error(args, e.what());
  } catch (...) {
    write_error(args, "unknown exception");
  }
  return 1;
}

template <class T>
void destroy(void* instance) {
  delete static_cast<Instance<T>*>(instance);
}

enum class Hook { kRequest, kResponse, kResponseEvent };

template <class T, Hook H>
bbr_result_t process(void* instance, bbr_message_t* raw) {
  auto* self = static_cast<Instance<T>*>(instance);
  bbr::Message msg(self->api, raw);
  try {
    if constexpr (H == Hook::kRequest) {
      return self->object.on_request(msg);
    } else if constexpr (H == Hook::kResponse) {
      return self->object.on_response(msg);
    } else {
      return self->object.on_response_event(msg);
    }
  } catch (const std::exception& e) {
    return msg.fail(BBR_FAIL_INTERNAL, e.what());
  } catch (...) {
    return msg.fail(BBR_FAIL_INTERNAL, "unknown exception");
  }
}

}  // namespace detail

// A descriptor for T with the hooks the response-side plugins have:
// on_request, on_response and on_response_event (the SSE hook,
// BBR_CAP_RESPONSE_EVENT). T's constructor takes (const bbr::CreateContext&,
// RawContext) and throws to refuse.
template <class T>
const bbr_plugin_type_t* plugin_type_with_events(const char* name, const char* version,
                                                 const char* description, uint32_t capabilities,
                                                 const char* parameters_schema) {
  static bbr_plugin_type_t type = [&] {
    bbr_plugin_type_t t{};
    t.struct_size = sizeof(t);
    t.name = name;
    t.version = version;
    t.description = description;
    t.parameters_schema = parameters_schema;
    t.capabilities = capabilities | BBR_CAP_REQUEST | BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_EVENT;
    t.create = &detail::create<T>;
    t.destroy = &detail::destroy<T>;
    t.process_request = &detail::process<T, detail::Hook::kRequest>;
    t.process_response = &detail::process<T, detail::Hook::kResponse>;
    t.process_response_event = &detail::process<T, detail::Hook::kResponseEvent>;
    return t;
  }();
  return &type;
}

}  // namespace bbr_plugins
