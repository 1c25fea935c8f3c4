// The host side of every bbr_host_api_t callback. Each function validates what
// the plugin passed (a plugin bug must not crash the host) and translates to
// the Message / JsonBody calls.
//
// No exception crosses the C boundary: unwinding through a C plugin's frames
// is undefined behaviour. Every callback is noexcept (checked at compile time
// where the table is built) and runs its body inside guarded(), which turns
// any exception (bad_alloc, length_error, fmt, nlohmann) into BBR_INTERNAL,
// the status plugin.h documents for a host failure.
#include "chain/host_api.hpp"

#include "body/go_json.hpp"
#include "chain/message.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>
#include <atomic>
#include <cstring>
#include <exception>

namespace bbr {
namespace {

// Logs a callback's failure: the first one of each callback at error level,
// later ones at debug, so a plugin looping on a failing call cannot flood the
// log. Never throws (it runs inside catch handlers of noexcept functions).
void log_internal(std::atomic<bool>& logged, const char* callback, const char* what) noexcept {
  try {
    const bool first = !logged.exchange(true, std::memory_order_relaxed);
    auto text = fmt::format("host callback {} failed: {} (answered BBR_INTERNAL)", callback, what);
    if (first) {
      log::error("{}", text);
    } else {
      log::debug("{}", text);
    }
  } catch (...) {
    // Nothing left to report with.
  }
}

// Runs a callback's body; any exception becomes BBR_INTERNAL. For void
// callbacks the exception is swallowed after logging.
template <class F>
auto guarded(std::atomic<bool>& logged, const char* callback, F&& body) noexcept
    -> decltype(body()) {
  using R = decltype(body());
  try {
    return body();
  } catch (const std::exception& e) {
    log_internal(logged, callback, e.what());
  } catch (...) {
    log_internal(logged, callback, "unknown exception");
  }
  if constexpr (std::is_same_v<R, bbr_status_t>) {
    return BBR_INTERNAL;
  } else if constexpr (!std::is_void_v<R>) {
    return R{};
  }
}

std::string_view sv(const char* data, std::size_t length) {
  return data == nullptr ? std::string_view() : std::string_view(data, length);
}

bbr_status_t to_status(JsonError err) {
  switch (err) {
    case JsonError::kNone:
      return BBR_OK;
    case JsonError::kNotFound:
      return BBR_NOT_FOUND;
    case JsonError::kWrongType:
      return BBR_WRONG_TYPE;
    case JsonError::kInvalidPointer:
    case JsonError::kInvalidValue:
      return BBR_INVALID_ARGUMENT;
    case JsonError::kNotJson:
      return BBR_NOT_JSON;
  }
  return BBR_INTERNAL;
}

// Each callback below: `static std::atomic<bool> logged` is its own
// first-failure flag for guarded().

bbr_phase_t api_phase(const bbr_message_t* msg) noexcept {
  return reinterpret_cast<const Message*>(msg)->phase();
}

bbr_status_t api_get_header(bbr_message_t* msg, const char* name, size_t name_length,
                            bbr_buffer_t* value_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "get_header", [&]() -> bbr_status_t {
    if (msg == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
    auto value = from_handle(msg)->header(sv(name, name_length));
    if (!value) return BBR_NOT_FOUND;
    *value_out = bbr_buffer_t{value->data(), value->size()};
    return BBR_OK;
  });
}

size_t api_header_count(bbr_message_t* msg) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "header_count",
                 [&]() -> size_t { return msg == nullptr ? 0 : from_handle(msg)->header_count(); });
}

bbr_status_t api_header_at(bbr_message_t* msg, size_t index, bbr_buffer_t* name_out,
                           bbr_buffer_t* value_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "header_at", [&]() -> bbr_status_t {
    if (msg == nullptr || name_out == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
    const Header* h = from_handle(msg)->header_at(index);
    if (h == nullptr) return BBR_NOT_FOUND;
    *name_out = bbr_buffer_t{h->key.data(), h->key.size()};
    *value_out = bbr_buffer_t{h->value.data(), h->value.size()};
    return BBR_OK;
  });
}

bbr_status_t api_set_header(bbr_message_t* msg, const char* name, size_t name_length,
                            const char* value, size_t value_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "set_header", [&]() -> bbr_status_t {
    if (msg == nullptr || name == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    std::string_view v = sv(value, value_length);
    if (!is_safe_header_value(v)) {
      // Never forward a header that could split the request: answer 400 instead.
      m.reject(400, fmt::format("header {} refused: its value contains CR, LF or NUL",
                                sv(name, name_length)));
      return BBR_INVALID_ARGUMENT;
    }
    return m.set_header(sv(name, name_length), v);
  });
}

bbr_status_t api_remove_header(bbr_message_t* msg, const char* name, size_t name_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "remove_header", [&]() -> bbr_status_t {
    if (msg == nullptr || name == nullptr) return BBR_INVALID_ARGUMENT;
    return from_handle(msg)->remove_header(sv(name, name_length));
  });
}

bbr_status_t api_get_body(bbr_message_t* msg, bbr_buffer_t* body_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "get_body", [&]() -> bbr_status_t {
    if (msg == nullptr || body_out == nullptr) return BBR_INVALID_ARGUMENT;
    const std::string& raw = from_handle(msg)->body().raw();
    *body_out = bbr_buffer_t{raw.data(), raw.size()};
    return BBR_OK;
  });
}

// Writes no more of `out` than the plugin's struct holds (it may be older and
// smaller than ours).
bbr_status_t copy_json_value(const bbr_json_value_t& out, bbr_json_value_t* value_out) {
  uint32_t their_size = value_out->struct_size;
  std::memcpy(value_out, &out, std::min<std::size_t>(their_size, sizeof(out)));
  value_out->struct_size = static_cast<uint32_t>(std::min<std::size_t>(their_size, sizeof(out)));
  return BBR_OK;
}

bbr_json_type_t to_abi_type(JsonType type) {
  switch (type) {
    case JsonType::kNull:
      return BBR_JSON_NULL;
    case JsonType::kBool:
      return BBR_JSON_BOOL;
    case JsonType::kInteger:
      return BBR_JSON_INTEGER;
    case JsonType::kNumber:
      return BBR_JSON_NUMBER;
    case JsonType::kString:
      return BBR_JSON_STRING;
    case JsonType::kArray:
      return BBR_JSON_ARRAY;
    case JsonType::kObject:
      return BBR_JSON_OBJECT;
  }
  return BBR_JSON_NULL;
}

// A body value for the plugin. String views point into the body's parse,
// which outlives the plugin's use as the ABI promises.
bbr_status_t fill_json_value(const JsonRead& v, bbr_json_value_t* value_out) {
  bbr_json_value_t out{};
  out.struct_size = sizeof(out);
  out.type = to_abi_type(v.type);
  out.boolean = v.boolean ? 1 : 0;
  out.integer = v.integer;
  out.number = v.number;
  out.string = bbr_buffer_t{v.string.data(), v.string.size()};
  out.size = v.size;
  return copy_json_value(out, value_out);
}

// A parameter value (nlohmann) for the plugin: the same mapping as the body's.
bbr_status_t fill_json_value(const Json& v, bbr_json_value_t* value_out) {
  bbr_json_value_t out{};
  out.struct_size = sizeof(out);
  using T = Json::value_t;
  switch (v.type()) {
    case T::null:
    case T::discarded:
    case T::binary:
      out.type = BBR_JSON_NULL;
      break;
    case T::boolean:
      out.type = BBR_JSON_BOOL;
      out.boolean = v.get<bool>() ? 1 : 0;
      break;
    case T::number_integer:
      out.type = BBR_JSON_INTEGER;
      out.integer = v.get<int64_t>();
      out.number = static_cast<double>(out.integer);
      break;
    case T::number_unsigned:
      if (v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
        out.type = BBR_JSON_INTEGER;
        out.integer = static_cast<int64_t>(v.get<uint64_t>());
      } else {
        out.type = BBR_JSON_NUMBER;
      }
      out.number = static_cast<double>(v.get<uint64_t>());
      break;
    case T::number_float:
      out.type = BBR_JSON_NUMBER;
      out.number = v.get<double>();
      break;
    case T::string: {
      out.type = BBR_JSON_STRING;
      const auto& s = v.get_ref<const std::string&>();
      out.string = bbr_buffer_t{s.data(), s.size()};
      break;
    }
    case T::array:
      out.type = BBR_JSON_ARRAY;
      out.size = v.size();
      break;
    case T::object:
      out.type = BBR_JSON_OBJECT;
      out.size = v.size();
      break;
  }
  return copy_json_value(out, value_out);
}

bbr_status_t api_json_get(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                          bbr_json_value_t* value_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_get", [&]() -> bbr_status_t {
    if (msg == nullptr || value_out == nullptr || value_out->struct_size == 0) {
      return BBR_INVALID_ARGUMENT;
    }
    JsonRead v;
    JsonError err = from_handle(msg)->body().get(sv(pointer, pointer_length), v);
    if (err != JsonError::kNone) return to_status(err);
    return fill_json_value(v, value_out);
  });
}

bbr_status_t api_json_get_text(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                               bbr_buffer_t* text_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_get_text", [&]() -> bbr_status_t {
    if (msg == nullptr || text_out == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    std::string text;
    JsonError err = m.body().get_text(sv(pointer, pointer_length), text);
    if (err != JsonError::kNone) return to_status(err);
    // Its own string, kept until the callback returns: an earlier text the
    // plugin still holds is not overwritten.
    std::string& kept = m.scratch_text();
    kept = std::move(text);
    *text_out = bbr_buffer_t{kept.data(), kept.size()};
    return BBR_OK;
  });
}

bbr_status_t api_json_member_name(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                                  size_t index, bbr_buffer_t* name_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_member_name", [&]() -> bbr_status_t {
    if (msg == nullptr || name_out == nullptr) return BBR_INVALID_ARGUMENT;
    std::string_view name;
    JsonError err = from_handle(msg)->body().member_name(sv(pointer, pointer_length), index, name);
    if (err != JsonError::kNone) return to_status(err);
    *name_out = bbr_buffer_t{name.data(), name.size()};
    return BBR_OK;
  });
}

bbr_status_t api_json_set(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                          const char* json_value, size_t json_value_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_set", [&]() -> bbr_status_t {
    if (msg == nullptr || json_value == nullptr) return BBR_INVALID_ARGUMENT;
    return to_status(from_handle(msg)->body().set(sv(pointer, pointer_length),
                                                  sv(json_value, json_value_length)));
  });
}

bbr_status_t api_json_remove(bbr_message_t* msg, const char* pointer,
                             size_t pointer_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_remove", [&]() -> bbr_status_t {
    if (msg == nullptr) return BBR_INVALID_ARGUMENT;
    return to_status(from_handle(msg)->body().remove(sv(pointer, pointer_length)));
  });
}

bbr_status_t api_replace_body(bbr_message_t* msg, const char* body, size_t body_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "replace_body", [&]() -> bbr_status_t {
    if (msg == nullptr || (body == nullptr && body_length != 0)) return BBR_INVALID_ARGUMENT;
    from_handle(msg)->body().replace(std::string(sv(body, body_length)));
    return BBR_OK;
  });
}

bbr_status_t api_reject(bbr_message_t* msg, uint32_t http_status, const char* body,
                        size_t body_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "reject", [&]() -> bbr_status_t {
    if (msg == nullptr || http_status < 200 || http_status > 599) return BBR_INVALID_ARGUMENT;
    from_handle(msg)->reject(http_status, std::string(sv(body, body_length)));
    return BBR_OK;
  });
}

void api_set_error(bbr_message_t* msg, const char* text, size_t text_length) noexcept {
  static std::atomic<bool> logged{false};
  guarded(logged, "set_error", [&] {
    if (msg == nullptr) return;
    from_handle(msg)->set_error(std::string(sv(text, text_length)));
  });
}

bbr_status_t api_state_put(bbr_message_t* msg, const char* key, size_t key_length, void* value,
                           void (*destroy)(void*)) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "state_put", [&]() -> bbr_status_t {
    if (msg == nullptr || key == nullptr) return BBR_INVALID_ARGUMENT;
    from_handle(msg)->state().put(std::string(key, key_length), value, destroy);
    return BBR_OK;
  });
}

bbr_status_t api_state_get(bbr_message_t* msg, const char* key, size_t key_length,
                           void** value_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "state_get", [&]() -> bbr_status_t {
    if (msg == nullptr || key == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
    void* v = from_handle(msg)->state().get(std::string_view(key, key_length));
    if (v == nullptr) return BBR_NOT_FOUND;
    *value_out = v;
    return BBR_OK;
  });
}

log::Level to_level(bbr_log_level_t level) {
  switch (level) {
    case BBR_LOG_ERROR:
      return log::Level::kError;
    case BBR_LOG_WARN:
      return log::Level::kWarn;
    case BBR_LOG_INFO:
      return log::Level::kInfo;
    case BBR_LOG_DEBUG:
      return log::Level::kDebug;
    default:
      return log::Level::kTrace;
  }
}

int api_log_enabled(const bbr_plugin_context_t* /*ctx*/, bbr_log_level_t level) noexcept {
  static std::atomic<bool> logged{false};
  // bool, not int: an int result would read as a status (int32_t) in guarded().
  return guarded(logged, "log_enabled", [&] { return log::enabled(to_level(level)); }) ? 1 : 0;
}

void api_log(const bbr_plugin_context_t* ctx, bbr_log_level_t level, const char* text,
             size_t text_length) noexcept {
  static std::atomic<bool> logged{false};
  guarded(logged, "log", [&] {
    log::Level l = to_level(level);
    if (!log::enabled(l)) return;
    if (ctx == nullptr) {
      log::write(l, fmt::format("plugin: {}", sv(text, text_length)));
      return;
    }
    log::write(l, fmt::format("plugin {} ({}): {}", ctx->instance_name, ctx->type_name,
                              sv(text, text_length)));
  });
}

void api_counter_add(const bbr_plugin_context_t* ctx, const char* name, size_t name_length,
                     const char* label_name, size_t label_name_length, const char* label_value,
                     size_t label_value_length, uint64_t delta) noexcept {
  // PluginCounters::add is noexcept itself: nothing to guard.
  if (ctx == nullptr || ctx->metrics == nullptr || name == nullptr) return;
  ctx->metrics->add(sv(name, name_length), sv(label_name, label_name_length),
                    sv(label_value, label_value_length), delta);
}

bbr_status_t api_parameter_get(const bbr_plugin_context_t* ctx, const char* pointer,
                               size_t pointer_length, bbr_json_value_t* value_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "parameter_get", [&]() -> bbr_status_t {
    if (ctx == nullptr || value_out == nullptr || value_out->struct_size == 0) {
      return BBR_INVALID_ARGUMENT;
    }
    std::string_view text = sv(pointer, pointer_length);
    if (!text.empty() && text.front() != '/') return BBR_INVALID_ARGUMENT;
    try {
      Json::json_pointer ptr{std::string(text)};
      if (ctx->parameters.is_null() || !ctx->parameters.contains(ptr)) return BBR_NOT_FOUND;
      return fill_json_value(ctx->parameters.at(ptr), value_out);
    } catch (const Json::exception&) {
      return BBR_INVALID_ARGUMENT;  // malformed pointer or array index
    }
  });
}

// True only for a function pointer whose type carries noexcept (part of the
// type since C++17): the table below refuses any callback that could throw.
template <class R, class... A>
constexpr bool is_noexcept_callback(R (*)(A...) noexcept) {
  return true;
}
template <class R, class... A>
constexpr bool is_noexcept_callback(R (*)(A...)) {
  return false;
}

#define BBR_SET_CALLBACK(field)                                             \
  static_assert(is_noexcept_callback(&api_##field),                         \
                "host callback api_" #field " must be noexcept (see top)"); \
  api.field = api_##field

const bbr_host_api_t kHostApi = [] {
  bbr_host_api_t api{};
  // Until every 1.1 call is implemented the table says it is the 1.0 table,
  // so BBR_HAS_FIELD answers honestly for the 1.1 members.
  api.struct_size = offsetof(bbr_host_api_t, message_info);
  api.abi_major = BBR_ABI_MAJOR;
  api.abi_minor = 0;
  BBR_SET_CALLBACK(phase);
  BBR_SET_CALLBACK(get_header);
  BBR_SET_CALLBACK(header_count);
  BBR_SET_CALLBACK(header_at);
  BBR_SET_CALLBACK(set_header);
  BBR_SET_CALLBACK(remove_header);
  BBR_SET_CALLBACK(get_body);
  BBR_SET_CALLBACK(json_get);
  BBR_SET_CALLBACK(json_get_text);
  BBR_SET_CALLBACK(json_member_name);
  BBR_SET_CALLBACK(json_set);
  BBR_SET_CALLBACK(json_remove);
  BBR_SET_CALLBACK(replace_body);
  BBR_SET_CALLBACK(reject);
  BBR_SET_CALLBACK(set_error);
  BBR_SET_CALLBACK(state_put);
  BBR_SET_CALLBACK(state_get);
  BBR_SET_CALLBACK(log_enabled);
  BBR_SET_CALLBACK(log);
  BBR_SET_CALLBACK(counter_add);
  BBR_SET_CALLBACK(parameter_get);
  return api;
}();

#undef BBR_SET_CALLBACK

}  // namespace

const bbr_host_api_t* host_api() { return &kHostApi; }

}  // namespace bbr
