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
#include "body/json_pointer.hpp"
#include "body/json_text.hpp"
#include "body/prompt_text.hpp"
#include "chain/message.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iterator>
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

// A header a plugin hands the host to send (set_header, reject_with): one
// rule for both. A value that could split the request (CR, LF, NUL) is never
// forwarded: the request is answered 400 instead.
bbr_status_t check_plugin_header(Message& m, std::string_view name, std::string_view value) {
  if (!is_safe_header_value(value)) {
    m.reject(400, fmt::format("header {} refused: its value contains CR, LF or NUL", name));
    return BBR_INVALID_ARGUMENT;
  }
  return is_sendable_header(name, value) ? BBR_OK : BBR_INVALID_ARGUMENT;
}

bbr_status_t api_set_header(bbr_message_t* msg, const char* name, size_t name_length,
                            const char* value, size_t value_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "set_header", [&]() -> bbr_status_t {
    if (msg == nullptr || name == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    // Chunk and event hooks run once the headers are answered: a change would
    // go nowhere, so it is refused rather than dropped silently (plugin.h).
    if (m.response_started()) return BBR_UNSUPPORTED;
    std::string_view n = sv(name, name_length);
    std::string_view v = sv(value, value_length);
    if (bbr_status_t status = check_plugin_header(m, n, v); status != BBR_OK) return status;
    return m.set_header(n, v);
  });
}

bbr_status_t api_remove_header(bbr_message_t* msg, const char* name, size_t name_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "remove_header", [&]() -> bbr_status_t {
    if (msg == nullptr || name == nullptr) return BBR_INVALID_ARGUMENT;
    if (from_handle(msg)->response_started()) return BBR_UNSUPPORTED;
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

// A parameter value (nlohmann, in document order) for the plugin: the same
// mapping as the body's.
bbr_status_t fill_json_value(const nlohmann::ordered_json& v, bbr_json_value_t* value_out) {
  JsonRead read;
  read_value(v, read);
  return fill_json_value(read, value_out);
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
    if (from_handle(msg)->walking()) return BBR_UNSUPPORTED;  // see json_for_each
    return to_status(from_handle(msg)->body().set(sv(pointer, pointer_length),
                                                  sv(json_value, json_value_length)));
  });
}

bbr_status_t api_json_remove(bbr_message_t* msg, const char* pointer,
                             size_t pointer_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_remove", [&]() -> bbr_status_t {
    if (msg == nullptr) return BBR_INVALID_ARGUMENT;
    if (from_handle(msg)->walking()) return BBR_UNSUPPORTED;  // see json_for_each
    return to_status(from_handle(msg)->body().remove(sv(pointer, pointer_length)));
  });
}

bbr_status_t api_replace_body(bbr_message_t* msg, const char* body, size_t body_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "replace_body", [&]() -> bbr_status_t {
    if (msg == nullptr || (body == nullptr && body_length != 0)) return BBR_INVALID_ARGUMENT;
    if (from_handle(msg)->walking()) return BBR_UNSUPPORTED;  // see json_for_each
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
    log::write(log::Record{l, ctx->instance_name, ctx->type_name, sv(text, text_length)});
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

// ===== since ABI 1.1 =====

// The plugin's struct may be older (smaller) than ours: write no more than
// its struct_size says, and tell it how much was written.
template <class T>
bbr_status_t copy_sized(const T& out, T* out_ptr) {
  uint32_t their_size = out_ptr->struct_size;
  std::size_t n = std::min<std::size_t>(their_size, sizeof(T));
  std::memcpy(static_cast<void*>(out_ptr), &out, n);
  out_ptr->struct_size = static_cast<uint32_t>(n);
  return BBR_OK;
}

bbr_buffer_t buffer(std::string_view s) { return bbr_buffer_t{s.data(), s.size()}; }

// A JSON value the plugin handed over as text (dynamic metadata): parsed once
// to check it, nesting bounded first as for json_set, at 1000 levels here (the
// text is parsed again, recursively, into a protobuf Value when it is sent).
bool is_json_text(std::string_view text) {
  Json ignored;
  return parse_json_text(text, 1000, ignored);
}

bbr_status_t api_message_info(bbr_message_t* msg, bbr_message_info_t* info_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "message_info", [&]() -> bbr_status_t {
    if (msg == nullptr || info_out == nullptr || info_out->struct_size == 0) {
      return BBR_INVALID_ARGUMENT;
    }
    const Message& m = *from_handle(msg);
    const BodyPosition& p = m.position();
    bbr_message_info_t out{};
    out.struct_size = sizeof(out);
    out.unit = p.unit;
    out.sequence = p.sequence;
    out.end_of_stream = p.end_of_stream ? 1 : 0;
    out.sse_done = p.sse_done ? 1 : 0;
    out.request_path = buffer(m.request_path());
    out.event_name = buffer(p.event_name);
    out.event_id = buffer(p.event_id);
    return copy_sized(out, info_out);
  });
}

// One entry for a visit: the value written as json_get writes it.
template <class Value>
bbr_json_entry_t make_entry(std::size_t index, std::string_view name, std::string_view pointer,
                            const Value& value) {
  bbr_json_entry_t entry{};
  entry.struct_size = sizeof(entry);
  entry.index = index;
  entry.name = buffer(name);
  entry.pointer = buffer(pointer);
  entry.value.struct_size = sizeof(entry.value);
  fill_json_value(value, &entry.value);
  return entry;
}

bbr_status_t api_json_for_each(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                               bbr_json_visit_fn visit, void* user) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_for_each", [&]() -> bbr_status_t {
    if (msg == nullptr || visit == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    std::string_view parent = sv(pointer, pointer_length);
    // Edits are refused while the walk runs: they would free the document the
    // walk and its views stand on. Nested walks are fine.
    m.begin_walk();
    struct EndWalk {
      Message& m;
      ~EndWalk() { m.end_walk(); }
    } end_walk{m};
    JsonError err = m.body().for_each(
        parent, [&](std::size_t index, const std::string_view* name, const JsonRead& value) {
          // Each child's pointer is a string of its own, alive until the
          // plugin callback returns, as bbr_json_entry_t promises.
          std::string& child = m.scratch_text();
          child.assign(parent);
          if (name != nullptr) {
            append_pointer_token(child, *name);
          } else {
            append_pointer_index(child, index);
          }
          bbr_json_entry_t entry =
              make_entry(index, name != nullptr ? *name : std::string_view(), child, value);
          return visit(user, &entry) != 0;
        });
    return to_status(err);
  });
}

bbr_status_t set_json_text(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                           std::string_view text) {
  if (msg == nullptr) return BBR_INVALID_ARGUMENT;
  Message& m = *from_handle(msg);
  if (m.walking()) return BBR_UNSUPPORTED;
  return to_status(m.body().set(sv(pointer, pointer_length), text));
}

bbr_status_t api_json_set_string(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                                 const char* value, size_t value_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_set_string", [&]() -> bbr_status_t {
    if (value == nullptr && value_length != 0) return BBR_INVALID_ARGUMENT;
    const std::string_view text = sv(value, value_length);
    if (!is_valid_utf8(text)) return BBR_INVALID_ARGUMENT;
    if (msg == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    if (m.walking()) return BBR_UNSUPPORTED;
    // The host escapes the string as Go does, straight into the body (a
    // redaction of a long prompt is one pass over it).
    return to_status(m.body().set_string(sv(pointer, pointer_length), text));
  });
}

bbr_status_t api_json_set_integer(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                                  int64_t value) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_set_integer", [&]() -> bbr_status_t {
    return set_json_text(msg, pointer, pointer_length, fmt::format("{}", value));
  });
}

bbr_status_t api_json_set_number(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                                 double value) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_set_number", [&]() -> bbr_status_t {
    if (!std::isfinite(value)) return BBR_INVALID_ARGUMENT;
    // The shortest text that reads back as the same double.
    return set_json_text(msg, pointer, pointer_length, fmt::format("{}", value));
  });
}

bbr_status_t api_json_set_bool(bbr_message_t* msg, const char* pointer, size_t pointer_length,
                               int32_t value) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "json_set_bool", [&]() -> bbr_status_t {
    return set_json_text(msg, pointer, pointer_length, value != 0 ? "true" : "false");
  });
}

bbr_status_t api_prompt_text(bbr_message_t* msg, bbr_buffer_t* text_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "prompt_text", [&]() -> bbr_status_t {
    if (msg == nullptr || text_out == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    if (m.phase() != BBR_PHASE_REQUEST) return BBR_UNSUPPORTED;
    std::string& text = m.scratch_text();
    JsonError err = prompt_text(m.body(), m.request_path(), text);
    if (err != JsonError::kNone) return to_status(err);
    *text_out = buffer(text);
    return BBR_OK;
  });
}

bbr_status_t api_reject_with(bbr_message_t* msg, const bbr_reject_t* reject) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "reject_with", [&]() -> bbr_status_t {
    if (msg == nullptr || reject == nullptr ||
        !BBR_HAS_FIELD(reject, bbr_reject_t, details)) {
      return BBR_INVALID_ARGUMENT;
    }
    Message& m = *from_handle(msg);
    if (m.response_started()) return BBR_UNSUPPORTED;
    if (reject->http_status < 200 || reject->http_status > 599) return BBR_INVALID_ARGUMENT;
    if ((reject->body.data == nullptr && reject->body.length != 0) ||
        (reject->details.data == nullptr && reject->details.length != 0) ||
        (reject->headers == nullptr && reject->header_count != 0)) {
      return BBR_INVALID_ARGUMENT;
    }
    ImmediateResponse response;
    response.http_status = reject->http_status;
    response.body.assign(sv(reject->body.data, reject->body.length));
    response.details.assign(sv(reject->details.data, reject->details.length));
    response.headers.reserve(reject->header_count);
    for (std::size_t i = 0; i < reject->header_count; ++i) {
      const bbr_header_pair_t& h = reject->headers[i];
      if (h.name.data == nullptr || (h.value.data == nullptr && h.value.length != 0)) {
        return BBR_INVALID_ARGUMENT;
      }
      std::string_view name = sv(h.name.data, h.name.length);
      std::string_view value = sv(h.value.data, h.value.length);
      if (bbr_status_t status = check_plugin_header(m, name, value); status != BBR_OK) {
        return status;
      }
      response.headers.push_back(Header{std::string(name), std::string(value)});
    }
    m.reject(std::move(response));
    return BBR_OK;
  });
}

bbr_status_t api_set_dynamic_metadata(bbr_message_t* msg, const char* ns, size_t ns_length,
                                      const char* key, size_t key_length, const char* json_value,
                                      size_t json_value_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "set_dynamic_metadata", [&]() -> bbr_status_t {
    if (msg == nullptr || ns == nullptr || ns_length == 0 || key == nullptr || key_length == 0 ||
        json_value == nullptr) {
      return BBR_INVALID_ARGUMENT;
    }
    // In a chunk, event or stream-end call the entry goes with a body answer
    // (ResponseStream collects it): Envoy takes dynamic metadata from any
    // answer, which is how a count known only at a stream's end reaches it.
    std::string_view text = sv(json_value, json_value_length);
    if (!is_json_text(text)) return BBR_INVALID_ARGUMENT;
    // The same namespace and key again: the later value wins.
    set_metadata_entry(from_handle(msg)->dynamic_metadata(), sv(ns, ns_length),
                       sv(key, key_length), text);
    return BBR_OK;
  });
}

bbr_status_t api_set_route_cache(bbr_message_t* msg, bbr_route_cache_t choice) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "set_route_cache", [&]() -> bbr_status_t {
    if (msg == nullptr) return BBR_INVALID_ARGUMENT;
    if (choice != BBR_ROUTE_CACHE_DEFAULT && choice != BBR_ROUTE_CACHE_CLEAR &&
        choice != BBR_ROUTE_CACHE_KEEP) {
      return BBR_INVALID_ARGUMENT;
    }
    if (from_handle(msg)->response_started()) return BBR_UNSUPPORTED;
    from_handle(msg)->choose_route_cache(choice);
    return BBR_OK;
  });
}

bbr_status_t api_get_attribute(bbr_message_t* msg, const char* name, size_t name_length,
                               bbr_buffer_t* json_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "get_attribute", [&]() -> bbr_status_t {
    if (msg == nullptr || name == nullptr || json_out == nullptr) return BBR_INVALID_ARGUMENT;
    const EnvoyContext* context = from_handle(msg)->envoy_context();
    if (context == nullptr) return BBR_NOT_FOUND;
    auto found = context->attributes.find(sv(name, name_length));
    if (found == context->attributes.end()) return BBR_NOT_FOUND;
    *json_out = buffer(found->second.json());
    return BBR_OK;
  });
}

bbr_status_t api_get_metadata(bbr_message_t* msg, const char* ns, size_t ns_length,
                              const char* key, size_t key_length,
                              bbr_buffer_t* json_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "get_metadata", [&]() -> bbr_status_t {
    if (msg == nullptr || ns == nullptr || key == nullptr || json_out == nullptr) {
      return BBR_INVALID_ARGUMENT;
    }
    const EnvoyContext* context = from_handle(msg)->envoy_context();
    if (context == nullptr) return BBR_NOT_FOUND;
    auto space = context->metadata.find(sv(ns, ns_length));
    if (space == context->metadata.end()) return BBR_NOT_FOUND;
    auto found = space->second.find(sv(key, key_length));
    if (found == space->second.end()) return BBR_NOT_FOUND;
    *json_out = buffer(found->second.json());
    return BBR_OK;
  });
}

bbr_status_t api_event_drop(bbr_message_t* msg) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "event_drop", [&]() -> bbr_status_t {
    if (msg == nullptr) return BBR_INVALID_ARGUMENT;
    Message& m = *from_handle(msg);
    if (m.position().unit != BBR_BODY_SSE_EVENT) return BBR_UNSUPPORTED;
    m.drop_event();
    return BBR_OK;
  });
}

bbr_status_t api_event_add(bbr_message_t* msg, const char* event_name, size_t event_name_length,
                           const char* data, size_t data_length) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "event_add", [&]() -> bbr_status_t {
    if (msg == nullptr || (event_name == nullptr && event_name_length != 0) ||
        (data == nullptr && data_length != 0)) {
      return BBR_INVALID_ARGUMENT;
    }
    Message& m = *from_handle(msg);
    // Also at STREAM_END: plugin.h calls it the last chance to add events.
    bbr_body_unit_t unit = m.position().unit;
    if (unit != BBR_BODY_SSE_EVENT && unit != BBR_BODY_STREAM_END) return BBR_UNSUPPORTED;
    std::string_view name = sv(event_name, event_name_length);
    std::string_view text = sv(data, data_length);
    // A line break in the name, or a CR in the data, would end the event's
    // field early on the wire (data is split into data: lines at "\n").
    if (name.find_first_of("\r\n") != std::string_view::npos ||
        text.find('\r') != std::string_view::npos) {
      return BBR_INVALID_ARGUMENT;
    }
    m.add_event(AddedEvent{std::string(name), std::string(text)});
    return BBR_OK;
  });
}

bbr_status_t to_status(MetricStatus status) {
  switch (status) {
    case MetricStatus::kOk:
      return BBR_OK;
    case MetricStatus::kInvalid:
      return BBR_INVALID_ARGUMENT;
    case MetricStatus::kInternal:
      return BBR_INTERNAL;
  }
  return BBR_INTERNAL;
}

bbr_status_t api_metric_define(const bbr_plugin_context_t* ctx, const bbr_metric_def_t* def,
                               uint32_t* id_out) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "metric_define", [&]() -> bbr_status_t {
    if (ctx == nullptr || ctx->metrics == nullptr || def == nullptr || id_out == nullptr ||
        !BBR_HAS_FIELD(def, bbr_metric_def_t, bucket_count)) {
      return BBR_INVALID_ARGUMENT;
    }
    if ((def->kind != BBR_METRIC_COUNTER && def->kind != BBR_METRIC_HISTOGRAM) ||
        def->name.data == nullptr || (def->help.data == nullptr && def->help.length != 0) ||
        (def->label_name.data == nullptr && def->label_name.length != 0) ||
        (def->buckets == nullptr && def->bucket_count != 0) ||
        (def->kind == BBR_METRIC_COUNTER && def->bucket_count != 0)) {
      return BBR_INVALID_ARGUMENT;
    }
    PluginMetricSpec spec;
    spec.kind = def->kind == BBR_METRIC_COUNTER ? PluginMetricSpec::Kind::kCounter
                                                : PluginMetricSpec::Kind::kHistogram;
    spec.name.assign(sv(def->name.data, def->name.length));
    spec.help.assign(sv(def->help.data, def->help.length));
    spec.label_name.assign(sv(def->label_name.data, def->label_name.length));
    if (def->buckets != nullptr) spec.buckets.assign(def->buckets, def->buckets + def->bucket_count);
    uint32_t id = 0;
    bbr_status_t status = to_status(ctx->metrics->define(spec, id));
    if (status == BBR_OK) *id_out = id;
    return status;
  });
}

bbr_status_t api_metric_add(const bbr_plugin_context_t* ctx, uint32_t id, const char* label_value,
                            size_t label_value_length, uint64_t delta) noexcept {
  // PluginCounters::add never throws and takes no global lock: the hot path.
  if (ctx == nullptr || ctx->metrics == nullptr ||
      (label_value == nullptr && label_value_length != 0)) {
    return BBR_INVALID_ARGUMENT;
  }
  return to_status(ctx->metrics->add(id, sv(label_value, label_value_length), delta));
}

bbr_status_t api_metric_observe(const bbr_plugin_context_t* ctx, uint32_t id,
                                const char* label_value, size_t label_value_length,
                                double value) noexcept {
  if (ctx == nullptr || ctx->metrics == nullptr ||
      (label_value == nullptr && label_value_length != 0)) {
    return BBR_INVALID_ARGUMENT;
  }
  return to_status(ctx->metrics->observe(id, sv(label_value, label_value_length), value));
}

bbr_status_t api_parameter_for_each(const bbr_plugin_context_t* ctx, const char* pointer,
                                    size_t pointer_length, bbr_json_visit_fn visit,
                                    void* user) noexcept {
  static std::atomic<bool> logged{false};
  return guarded(logged, "parameter_for_each", [&]() -> bbr_status_t {
    if (ctx == nullptr || visit == nullptr) return BBR_INVALID_ARGUMENT;
    std::string_view parent = sv(pointer, pointer_length);
    if (!parent.empty() && parent.front() != '/') return BBR_INVALID_ARGUMENT;
    const decltype(ctx->parameters)* node = nullptr;
    try {
      Json::json_pointer ptr{std::string(parent)};
      if (ctx->parameters.is_null() || !ctx->parameters.contains(ptr)) return BBR_NOT_FOUND;
      node = &ctx->parameters.at(ptr);
    } catch (const Json::exception&) {
      return BBR_INVALID_ARGUMENT;
    }
    if (!node->is_array() && !node->is_object()) return BBR_WRONG_TYPE;
    // The parameters never change after create(), so views into them live
    // until destroy(); the pointers are kept in the context as long.
    auto* context = const_cast<bbr_plugin_context_t*>(ctx);
    std::string child;
    std::size_t index = 0;
    for (auto it = node->begin(); it != node->end(); ++it, ++index) {
      child.assign(parent);
      std::string_view name;
      if (node->is_object()) {
        name = it.key();
        append_pointer_token(child, name);
      } else {
        append_pointer_index(child, index);
      }
      std::string_view kept;
      {
        std::lock_guard lock(context->walked_pointers_mutex);
        kept = *context->walked_pointers.insert(child).first;
      }
      bbr_json_entry_t entry = make_entry(index, name, kept, *it);
      if (visit(user, &entry) != 0) break;
    }
    return BBR_OK;
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
  api.struct_size = sizeof(bbr_host_api_t);
  api.abi_major = BBR_ABI_MAJOR;
  api.abi_minor = BBR_ABI_MINOR;
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
  // since 1.1
  BBR_SET_CALLBACK(message_info);
  BBR_SET_CALLBACK(json_for_each);
  BBR_SET_CALLBACK(json_set_string);
  BBR_SET_CALLBACK(json_set_integer);
  BBR_SET_CALLBACK(json_set_number);
  BBR_SET_CALLBACK(json_set_bool);
  BBR_SET_CALLBACK(prompt_text);
  BBR_SET_CALLBACK(reject_with);
  BBR_SET_CALLBACK(set_dynamic_metadata);
  BBR_SET_CALLBACK(set_route_cache);
  BBR_SET_CALLBACK(get_attribute);
  BBR_SET_CALLBACK(get_metadata);
  BBR_SET_CALLBACK(event_drop);
  BBR_SET_CALLBACK(event_add);
  BBR_SET_CALLBACK(metric_define);
  BBR_SET_CALLBACK(metric_add);
  BBR_SET_CALLBACK(metric_observe);
  BBR_SET_CALLBACK(parameter_for_each);
  return api;
}();

#undef BBR_SET_CALLBACK

}  // namespace

const bbr_host_api_t* host_api() { return &kHostApi; }

}  // namespace bbr
