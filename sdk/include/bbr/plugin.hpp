// bbr/plugin.hpp - header-only C++17 helpers over the C ABI in bbr/plugin.h.
//
// A C++ plugin author writes one class and one export line:
//
//   class MyPlugin {
//    public:
//     explicit MyPlugin(const bbr::CreateContext& ctx);   // throw to refuse
//     bbr_result_t on_request(bbr::Message& msg);          // optional
//     bbr_result_t on_response(bbr::Message& msg);         // optional
//   };
//   BBR_EXPORT_PLUGINS(bbr::plugin_type<MyPlugin>("my-type", "1.0.0", "what it does",
//                                                  BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE))
//
// Nothing here needs a host symbol. Exceptions never cross the boundary: a throw
// from the constructor becomes create()'s error text, a throw from on_* becomes
// BBR_FAIL_INTERNAL with the exception's what() as the error text.
#ifndef BBR_PLUGIN_HPP
#define BBR_PLUGIN_HPP

#include <bbr/plugin.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace bbr {

inline std::string_view view(bbr_buffer_t b) { return {b.data ? b.data : "", b.length}; }

// Logging and counters bound to one plugin instance.
class PluginContext {
 public:
  PluginContext(const bbr_host_api_t* api, const bbr_plugin_context_t* ctx) : api_(api), ctx_(ctx) {}

  bool log_enabled(bbr_log_level_t level) const { return api_->log_enabled(ctx_, level) != 0; }
  void log(bbr_log_level_t level, std::string_view text) const {
    api_->log(ctx_, level, text.data(), text.size());
  }
  void count(std::string_view name, uint64_t delta = 1) const { count(name, {}, {}, delta); }
  void count(std::string_view name, std::string_view label_name, std::string_view label_value,
             uint64_t delta = 1) const {
    api_->counter_add(ctx_, name.data(), name.size(), label_name.data(), label_name.size(),
                      label_value.data(), label_value.size(), delta);
  }
  // The instance's parameters, parsed by the host, by JSON Pointer
  // ("/headerName"). Views live until the instance is destroyed.
  bbr_status_t parameter(std::string_view pointer, bbr_json_value_t& out) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, parameter_get)) return BBR_UNSUPPORTED;
    out.struct_size = sizeof(out);
    return api_->parameter_get(ctx_, pointer.data(), pointer.size(), &out);
  }
  std::optional<std::string_view> parameter_string(std::string_view pointer) const {
    bbr_json_value_t v{};
    if (parameter(pointer, v) != BBR_OK || v.type != BBR_JSON_STRING) return std::nullopt;
    return view(v.string);
  }
  std::optional<int64_t> parameter_integer(std::string_view pointer) const {
    bbr_json_value_t v{};
    if (parameter(pointer, v) != BBR_OK || v.type != BBR_JSON_INTEGER) return std::nullopt;
    return v.integer;
  }
  std::optional<bool> parameter_bool(std::string_view pointer) const {
    bbr_json_value_t v{};
    if (parameter(pointer, v) != BBR_OK || v.type != BBR_JSON_BOOL) return std::nullopt;
    return v.boolean != 0;
  }

  const bbr_host_api_t* api() const { return api_; }

 private:
  const bbr_host_api_t* api_;
  const bbr_plugin_context_t* ctx_;
};

// What a plugin constructor receives.
struct CreateContext {
  std::string_view instance_name;
  std::string_view parameters_json;  // empty when none were given
  PluginContext plugin;
};

// A typed view of one JSON value out of the host's parse (borrowed, see plugin.h).
struct JsonValue {
  bbr_json_value_t raw{};
  bbr_json_type_t type() const { return raw.type; }
  bool is_string() const { return raw.type == BBR_JSON_STRING; }
  std::string_view string() const { return view(raw.string); }
};

// The message a plugin is called with: thin, allocation-free wrappers.
class Message {
 public:
  Message(const bbr_host_api_t* api, bbr_message_t* msg) : api_(api), msg_(msg) {}

  bbr_phase_t phase() const { return api_->phase(msg_); }

  std::optional<std::string_view> header(std::string_view name) const {
    bbr_buffer_t out{};
    if (api_->get_header(msg_, name.data(), name.size(), &out) != BBR_OK) return std::nullopt;
    return view(out);
  }
  bbr_status_t set_header(std::string_view name, std::string_view value) {
    return api_->set_header(msg_, name.data(), name.size(), value.data(), value.size());
  }
  bbr_status_t remove_header(std::string_view name) {
    return api_->remove_header(msg_, name.data(), name.size());
  }
  std::string_view body() const {
    bbr_buffer_t out{};
    return api_->get_body(msg_, &out) == BBR_OK ? view(out) : std::string_view{};
  }

  // Status BBR_OK fills `out`; anything else says why there is no value.
  bbr_status_t json(std::string_view pointer, JsonValue& out) const {
    out.raw.struct_size = sizeof(out.raw);
    return api_->json_get(msg_, pointer.data(), pointer.size(), &out.raw);
  }
  std::optional<std::string_view> json_string(std::string_view pointer) const {
    JsonValue v;
    if (json(pointer, v) != BBR_OK || !v.is_string()) return std::nullopt;
    return v.string();
  }
  std::optional<std::string_view> json_text(std::string_view pointer) const {
    bbr_buffer_t out{};
    if (api_->json_get_text(msg_, pointer.data(), pointer.size(), &out) != BBR_OK)
      return std::nullopt;
    return view(out);
  }
  bbr_status_t json_set(std::string_view pointer, std::string_view json_value) {
    return api_->json_set(msg_, pointer.data(), pointer.size(), json_value.data(),
                          json_value.size());
  }
  bbr_status_t json_remove(std::string_view pointer) {
    return api_->json_remove(msg_, pointer.data(), pointer.size());
  }
  bbr_status_t replace_body(std::string_view body) {
    return api_->replace_body(msg_, body.data(), body.size());
  }
  bbr_status_t reject(uint32_t http_status, std::string_view body) {
    return api_->reject(msg_, http_status, body.data(), body.size());
  }
  // Records the error text and returns `result`, for `return msg.fail(...)`.
  bbr_result_t fail(bbr_result_t result, std::string_view text) {
    api_->set_error(msg_, text.data(), text.size());
    return result;
  }

  // Per-request state owning a heap copy of T; destroyed by the host.
  template <class T>
  bbr_status_t put_state(std::string_view key, T value) {
    T* owned = new T(std::move(value));
    bbr_status_t st = api_->state_put(msg_, key.data(), key.size(), owned,
                                      [](void* p) { delete static_cast<T*>(p); });
    if (st != BBR_OK) delete owned;
    return st;
  }
  template <class T>
  T* state(std::string_view key) const {
    void* out = nullptr;
    return api_->state_get(msg_, key.data(), key.size(), &out) == BBR_OK ? static_cast<T*>(out)
                                                                          : nullptr;
  }

  bbr_message_t* raw() const { return msg_; }
  const bbr_host_api_t* api() const { return api_; }

 private:
  const bbr_host_api_t* api_;
  bbr_message_t* msg_;
};

namespace detail {

template <class T, class = void>
struct has_on_request : std::false_type {};
template <class T>
struct has_on_request<T, std::void_t<decltype(std::declval<T&>().on_request(std::declval<Message&>()))>>
    : std::true_type {};
template <class T, class = void>
struct has_on_response : std::false_type {};
template <class T>
struct has_on_response<T, std::void_t<decltype(std::declval<T&>().on_response(std::declval<Message&>()))>>
    : std::true_type {};

// Holds the plugin object plus the api pointer its messages need.
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
    CreateContext ctx{view(args->instance_name), view(args->parameters_json),
                      PluginContext(args->api, args->context)};
    *instance_out = new Instance<T>{args->api, T(ctx)};
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

template <class T, bool Request>
bbr_result_t process(void* instance, bbr_message_t* raw) {
  auto* self = static_cast<Instance<T>*>(instance);
  Message msg(self->api, raw);
  try {
    if constexpr (Request) {
      return self->object.on_request(msg);
    } else {
      return self->object.on_response(msg);
    }
  } catch (const std::exception& e) {
    return msg.fail(BBR_FAIL_INTERNAL, e.what());
  } catch (...) {
    return msg.fail(BBR_FAIL_INTERNAL, "unknown exception");
  }
}

}  // namespace detail

// A static descriptor for plugin class T. `capabilities` is completed with
// BBR_CAP_REQUEST / BBR_CAP_RESPONSE according to the hooks T defines.
template <class T>
const bbr_plugin_type_t* plugin_type(const char* name, const char* version,
                                     const char* description, uint32_t capabilities = 0,
                                     const char* parameters_schema = nullptr) {
  static bbr_plugin_type_t type = [&] {
    bbr_plugin_type_t t{};
    t.struct_size = sizeof(t);
    t.name = name;
    t.version = version;
    t.description = description;
    t.parameters_schema = parameters_schema;
    t.capabilities = capabilities;
    t.create = &detail::create<T>;
    t.destroy = &detail::destroy<T>;
    if constexpr (detail::has_on_request<T>::value) {
      t.capabilities |= BBR_CAP_REQUEST;
      t.process_request = &detail::process<T, true>;
    }
    if constexpr (detail::has_on_response<T>::value) {
      t.capabilities |= BBR_CAP_RESPONSE;
      t.process_response = &detail::process<T, false>;
    }
    return t;
  }();
  return &type;
}

}  // namespace bbr

// Exports bbr_plugin_entry_v1 describing the given plugin types (each a
// `const bbr_plugin_type_t*`, e.g. from bbr::plugin_type<T>(...)).
#define BBR_EXPORT_PLUGINS(...)                                                          \
  extern "C" BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(          \
      const bbr_host_info_t* /*host*/) {                                                 \
    static const bbr_plugin_type_t* const types[] = {__VA_ARGS__};                      \
    static const bbr_plugin_library_t library = {                                        \
        sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR, BBR_ABI_MINOR,                      \
        static_cast<uint32_t>(sizeof(types) / sizeof(types[0])), types};                 \
    return &library;                                                                     \
  }

#endif  // BBR_PLUGIN_HPP
