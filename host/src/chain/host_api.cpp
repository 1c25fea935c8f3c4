// The host side of every bbr_host_api_t callback. Each function validates what
// the plugin passed (a plugin bug must not crash the host) and translates to
// the Message / JsonBody calls.
#include "chain/host_api.hpp"

#include "body/go_json.hpp"
#include "chain/message.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <cstring>
#include <fmt/format.h>

namespace bbr {
namespace {

std::string_view sv(const char* data, std::size_t length) {
  return data == nullptr ? std::string_view() : std::string_view(data, length);
}

bbr_status_t to_status(JsonError err) {
  switch (err) {
    case JsonError::kNone: return BBR_OK;
    case JsonError::kNotFound: return BBR_NOT_FOUND;
    case JsonError::kWrongType: return BBR_WRONG_TYPE;
    case JsonError::kInvalidPointer:
    case JsonError::kInvalidValue: return BBR_INVALID_ARGUMENT;
    case JsonError::kNotJson: return BBR_NOT_JSON;
  }
  return BBR_INTERNAL;
}

bbr_phase_t api_phase(const bbr_message_t* msg) {
  return reinterpret_cast<const Message*>(msg)->phase();
}

bbr_status_t api_get_header(bbr_message_t* msg, const char* name, size_t name_length,
                            bbr_buffer_t* value_out) {
  if (msg == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
  auto value = from_handle(msg)->header(sv(name, name_length));
  if (!value) return BBR_NOT_FOUND;
  *value_out = bbr_buffer_t{value->data(), value->size()};
  return BBR_OK;
}

size_t api_header_count(bbr_message_t* msg) {
  return msg == nullptr ? 0 : from_handle(msg)->header_count();
}

bbr_status_t api_header_at(bbr_message_t* msg, size_t index, bbr_buffer_t* name_out,
                           bbr_buffer_t* value_out) {
  if (msg == nullptr || name_out == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
  const Header* h = from_handle(msg)->header_at(index);
  if (h == nullptr) return BBR_NOT_FOUND;
  *name_out = bbr_buffer_t{h->key.data(), h->key.size()};
  *value_out = bbr_buffer_t{h->value.data(), h->value.size()};
  return BBR_OK;
}

bbr_status_t api_set_header(bbr_message_t* msg, const char* name, size_t name_length,
                            const char* value, size_t value_length) {
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
}

bbr_status_t api_remove_header(bbr_message_t* msg, const char* name, size_t name_length) {
  if (msg == nullptr || name == nullptr) return BBR_INVALID_ARGUMENT;
  return from_handle(msg)->remove_header(sv(name, name_length));
}

bbr_status_t api_get_body(bbr_message_t* msg, bbr_buffer_t* body_out) {
  if (msg == nullptr || body_out == nullptr) return BBR_INVALID_ARGUMENT;
  const std::string& raw = from_handle(msg)->body().raw();
  *body_out = bbr_buffer_t{raw.data(), raw.size()};
  return BBR_OK;
}

// Fills a plugin's bbr_json_value_t from one value, writing no more than the
// plugin's struct holds (it may be older and smaller). String views point
// into `v`, which outlives the plugin's use as the ABI promises.
bbr_status_t fill_json_value(const Json& v, bbr_json_value_t* value_out) {
  bbr_json_value_t out{};
  out.struct_size = sizeof(out);
  using T = Json::value_t;
  switch (v.type()) {
    case T::null:
    case T::discarded:
    case T::binary: out.type = BBR_JSON_NULL; break;
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
  uint32_t their_size = value_out->struct_size;
  std::memcpy(value_out, &out, std::min<std::size_t>(their_size, sizeof(out)));
  value_out->struct_size = static_cast<uint32_t>(std::min<std::size_t>(their_size, sizeof(out)));
  return BBR_OK;
}

bbr_status_t api_json_get(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                          bbr_json_value_t* value_out) {
  if (msg == nullptr || value_out == nullptr || value_out->struct_size == 0) {
    return BBR_INVALID_ARGUMENT;
  }
  JsonError err = JsonError::kNone;
  const Json* v = from_handle(msg)->body().find(sv(pointer, pointer_length), err);
  if (v == nullptr) return to_status(err);
  return fill_json_value(*v, value_out);
}

bbr_status_t api_json_get_text(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                               bbr_buffer_t* text_out) {
  if (msg == nullptr || text_out == nullptr) return BBR_INVALID_ARGUMENT;
  Message& m = *from_handle(msg);
  JsonError err = JsonError::kNone;
  const Json* v = m.body().find(sv(pointer, pointer_length), err);
  if (v == nullptr) return to_status(err);
  m.scratch() = to_go_json(*v);
  *text_out = bbr_buffer_t{m.scratch().data(), m.scratch().size()};
  return BBR_OK;
}

bbr_status_t api_json_member_name(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                                  size_t index, bbr_buffer_t* name_out) {
  if (msg == nullptr || name_out == nullptr) return BBR_INVALID_ARGUMENT;
  JsonError err = JsonError::kNone;
  const Json* v = from_handle(msg)->body().find(sv(pointer, pointer_length), err);
  if (v == nullptr) return to_status(err);
  if (!v->is_object()) return BBR_WRONG_TYPE;
  if (index >= v->size()) return BBR_NOT_FOUND;
  auto it = v->items().begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  const std::string& key = it.key();
  *name_out = bbr_buffer_t{key.data(), key.size()};
  return BBR_OK;
}

bbr_status_t api_json_set(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                          const char* json_value, size_t json_value_length) {
  if (msg == nullptr || json_value == nullptr) return BBR_INVALID_ARGUMENT;
  return to_status(
      from_handle(msg)->body().set(sv(pointer, pointer_length), sv(json_value, json_value_length)));
}

bbr_status_t api_json_remove(bbr_message_t* msg, const char* pointer, size_t pointer_length) {
  if (msg == nullptr) return BBR_INVALID_ARGUMENT;
  return to_status(from_handle(msg)->body().remove(sv(pointer, pointer_length)));
}

bbr_status_t api_replace_body(bbr_message_t* msg, const char* body, size_t body_length) {
  if (msg == nullptr || (body == nullptr && body_length != 0)) return BBR_INVALID_ARGUMENT;
  from_handle(msg)->body().replace(std::string(sv(body, body_length)));
  return BBR_OK;
}

bbr_status_t api_reject(bbr_message_t* msg, uint32_t http_status, const char* body,
                        size_t body_length) {
  if (msg == nullptr || http_status < 200 || http_status > 599) return BBR_INVALID_ARGUMENT;
  from_handle(msg)->reject(http_status, std::string(sv(body, body_length)));
  return BBR_OK;
}

void api_set_error(bbr_message_t* msg, const char* text, size_t text_length) {
  if (msg == nullptr) return;
  from_handle(msg)->set_error(std::string(sv(text, text_length)));
}

bbr_status_t api_state_put(bbr_message_t* msg, const char* key, size_t key_length, void* value,
                           void (*destroy)(void*)) {
  if (msg == nullptr || key == nullptr) return BBR_INVALID_ARGUMENT;
  from_handle(msg)->state().put(std::string(key, key_length), value, destroy);
  return BBR_OK;
}

bbr_status_t api_state_get(bbr_message_t* msg, const char* key, size_t key_length,
                           void** value_out) {
  if (msg == nullptr || key == nullptr || value_out == nullptr) return BBR_INVALID_ARGUMENT;
  void* v = from_handle(msg)->state().get(std::string_view(key, key_length));
  if (v == nullptr) return BBR_NOT_FOUND;
  *value_out = v;
  return BBR_OK;
}

log::Level to_level(bbr_log_level_t level) {
  switch (level) {
    case BBR_LOG_ERROR: return log::Level::kError;
    case BBR_LOG_WARN: return log::Level::kWarn;
    case BBR_LOG_INFO: return log::Level::kInfo;
    case BBR_LOG_DEBUG: return log::Level::kDebug;
    default: return log::Level::kTrace;
  }
}

int api_log_enabled(const bbr_plugin_context_t* /*ctx*/, bbr_log_level_t level) {
  return log::enabled(to_level(level)) ? 1 : 0;
}

void api_log(const bbr_plugin_context_t* ctx, bbr_log_level_t level, const char* text,
             size_t text_length) {
  log::Level l = to_level(level);
  if (!log::enabled(l)) return;
  if (ctx == nullptr) {
    log::write(l, fmt::format("plugin: {}", sv(text, text_length)));
    return;
  }
  log::write(l, fmt::format("plugin {} ({}): {}", ctx->instance_name, ctx->type_name,
                            sv(text, text_length)));
}

void api_counter_add(const bbr_plugin_context_t* ctx, const char* name, size_t name_length,
                     const char* label_name, size_t label_name_length, const char* label_value,
                     size_t label_value_length, uint64_t delta) {
  if (ctx == nullptr || ctx->metrics == nullptr || name == nullptr) return;
  ctx->metrics->add(sv(name, name_length), sv(label_name, label_name_length),
                    sv(label_value, label_value_length), delta);
}

bbr_status_t api_parameter_get(const bbr_plugin_context_t* ctx, const char* pointer,
                               size_t pointer_length, bbr_json_value_t* value_out) {
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
}

const bbr_host_api_t kHostApi = [] {
  bbr_host_api_t api{};
  api.struct_size = sizeof(api);
  api.abi_major = BBR_ABI_MAJOR;
  api.abi_minor = BBR_ABI_MINOR;
  api.phase = api_phase;
  api.get_header = api_get_header;
  api.header_count = api_header_count;
  api.header_at = api_header_at;
  api.set_header = api_set_header;
  api.remove_header = api_remove_header;
  api.get_body = api_get_body;
  api.json_get = api_json_get;
  api.json_get_text = api_json_get_text;
  api.json_member_name = api_json_member_name;
  api.json_set = api_json_set;
  api.json_remove = api_json_remove;
  api.replace_body = api_replace_body;
  api.reject = api_reject;
  api.set_error = api_set_error;
  api.state_put = api_state_put;
  api.state_get = api_state_get;
  api.log_enabled = api_log_enabled;
  api.log = api_log;
  api.counter_add = api_counter_add;
  api.parameter_get = api_parameter_get;
  return api;
}();

}  // namespace

const bbr_host_api_t* host_api() { return &kHostApi; }

}  // namespace bbr
