// bbr/plugin.hpp - header-only C++17 helpers over the C ABI in bbr/plugin.h.
//
// A C++ plugin author writes one class and one export line:
//
//   class MyPlugin {
//    public:
//     explicit MyPlugin(const bbr::CreateContext& ctx);        // throw to refuse
//     bbr_result_t on_request(bbr::Message& msg);               // optional
//     bbr_result_t on_response(bbr::Message& msg);              // optional
//     bbr_result_t on_response_chunk(bbr::Message& msg);        // optional, ABI 1.1
//     bbr_result_t on_response_event(bbr::Message& msg);        // optional, ABI 1.1
//   };
//   BBR_EXPORT_PLUGINS(bbr::plugin_type<MyPlugin>("my-type", "1.0.0", "what it does",
//                                                  BBR_CAP_THREAD_SAFE))
//
// plugin_type<T> adds the capability bit of every hook T defines. Nothing here
// needs a host symbol, and nothing beyond the C++17 standard library.
//
// Exceptions never cross the boundary: a throw from the constructor becomes
// create()'s error text, a throw from on_* becomes BBR_FAIL_INTERNAL with the
// exception's what() as the error text, a throw from a for_each lambda stops the
// walk and is rethrown once the host's call has returned.
//
// ABI 1.1 calls: every wrapper of a call added in 1.1 checks BBR_HAS_FIELD on
// the host's table first and answers BBR_UNSUPPORTED (or std::nullopt) on a 1.0
// host, so one plugin binary runs on both. A plugin that cannot work without
// 1.1 says so at load with BBR_EXPORT_PLUGINS_REQUIRING(1, ...).
//
// Views (std::string_view) handed out by these wrappers are the host's: they
// stay valid until the plugin callback they came from returns (parameter
// views: until the instance is destroyed). Copy what you keep.
#ifndef BBR_PLUGIN_HPP
#define BBR_PLUGIN_HPP

#include <bbr/plugin.h>
#include <bbr/pointer_token.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace bbr {

inline std::string_view view(bbr_buffer_t b) { return {b.data ? b.data : "", b.length}; }

// ---------------------------------------------------------------------------
// JSON text: an owning value to build, and the escaping it needs
// ---------------------------------------------------------------------------

// Appends `text` to `out` as a JSON string literal (quotes included). Bytes at
// or above 0x80 pass through: the host checks UTF-8 where it matters.
inline void append_json_string(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// `text` as a JSON string literal: json_quote("a\"b") == "\"a\\\"b\"".
inline std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_string(out, text);
  return out;
}

// A JSON value owned by the plugin, built in C++ and turned into JSON text
// (dump()) for json_set, set_dynamic_metadata and event data:
//
//   bbr::Json v = bbr::Json::object({{"model", "m1"}, {"n", 2},
//                                    {"tags", bbr::Json::array({"a", true})}});
//   msg.json_set_value("/metadata", v);   // {"model":"m1","n":2,"tags":["a",true]}
//
// Object members keep the order they were added in; setting an existing name
// replaces its value in place.
class Json {
 public:
  enum class Type { kNull, kBool, kInteger, kNumber, kString, kArray, kObject };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::kBool), bool_(b) {}
  // Every integer type but bool is an integer (char is text: use a string).
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                          !std::is_same_v<I, char>,
                                      int> = 0>
  Json(I i) : type_(Type::kInteger), integer_(static_cast<int64_t>(i)) {}
  Json(double d) : type_(Type::kNumber), number_(d) {}
  Json(float f) : Json(static_cast<double>(f)) {}
  Json(const char* s) : type_(Type::kString), string_(s ? s : "") {}
  Json(std::string s) : type_(Type::kString), string_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::kString), string_(s) {}

  static Json array(std::initializer_list<Json> items = {}) {
    Json j;
    j.type_ = Type::kArray;
    j.items_.assign(items.begin(), items.end());
    return j;
  }
  static Json object(std::initializer_list<std::pair<std::string, Json>> members = {}) {
    Json j;
    j.type_ = Type::kObject;
    for (const auto& m : members) j.set(m.first, m.second);
    return j;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }

  // Array: appends (a null becomes an empty array first).
  Json& push_back(Json value) {
    become(Type::kArray);
    items_.push_back(std::move(value));
    return *this;
  }
  // Object: sets member `name` (a null becomes an empty object first).
  Json& set(std::string_view name, Json value) {
    become(Type::kObject);
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) {
        items_[i] = std::move(value);
        return *this;
      }
    }
    names_.emplace_back(name);
    items_.push_back(std::move(value));
    return *this;
  }
  // Array elements or object members; 0 for a scalar.
  std::size_t size() const { return items_.size(); }

  // Scalars back out (nullopt when the value is of another type).
  std::optional<bool> as_bool() const {
    return type_ == Type::kBool ? std::optional<bool>(bool_) : std::nullopt;
  }
  std::optional<int64_t> as_integer() const {
    return type_ == Type::kInteger ? std::optional<int64_t>(integer_) : std::nullopt;
  }
  std::optional<double> as_number() const {
    if (type_ == Type::kNumber) return number_;
    if (type_ == Type::kInteger) return static_cast<double>(integer_);
    return std::nullopt;
  }
  std::optional<std::string_view> as_string() const {
    return type_ == Type::kString ? std::optional<std::string_view>(string_) : std::nullopt;
  }
  // Array element / object member by position (nullptr when out of range).
  const Json* at(std::size_t index) const {
    return index < items_.size() ? &items_[index] : nullptr;
  }
  // Object member by name (nullptr when absent or not an object).
  const Json* find(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return &items_[i];
    }
    return nullptr;
  }
  const std::vector<std::string>& member_names() const { return names_; }

  // Compact JSON text. A non-finite number (which JSON cannot spell) is null.
  std::string dump() const {
    std::string out;
    dump_to(out);
    return out;
  }
  void dump_to(std::string& out) const {
    switch (type_) {
      case Type::kNull:
        out += "null";
        break;
      case Type::kBool:
        out += bool_ ? "true" : "false";
        break;
      case Type::kInteger:
        out += std::to_string(integer_);
        break;
      case Type::kNumber:
        append_number(out, number_);
        break;
      case Type::kString:
        append_json_string(out, string_);
        break;
      case Type::kArray:
        out += '[';
        for (std::size_t i = 0; i < items_.size(); ++i) {
          if (i) out += ',';
          items_[i].dump_to(out);
        }
        out += ']';
        break;
      case Type::kObject:
        out += '{';
        for (std::size_t i = 0; i < items_.size(); ++i) {
          if (i) out += ',';
          append_json_string(out, names_[i]);
          out += ':';
          items_[i].dump_to(out);
        }
        out += '}';
        break;
    }
  }

  friend bool operator==(const Json& a, const Json& b) {
    return a.type_ == b.type_ && a.bool_ == b.bool_ && a.integer_ == b.integer_ &&
           (a.number_ == b.number_ || (a.number_ != a.number_ && b.number_ != b.number_)) &&
           a.string_ == b.string_ && a.names_ == b.names_ && a.items_ == b.items_;
  }
  friend bool operator!=(const Json& a, const Json& b) { return !(a == b); }

 private:
  void become(Type t) {
    if (type_ == t) return;
    if (type_ != Type::kNull) throw std::logic_error("bbr::Json: not an array/object");
    type_ = t;
  }
  // The shortest of %.15g..%.17g that reads back as the same double, so 0.1
  // is written "0.1", not "0.10000000000000001".
  static void append_number(std::string& out, double d) {
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    char buf[32];
    for (int precision = 15; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
    out += buf;
    // "1e+20" and "3" would read back as integers in some parsers: keep the
    // value a JSON number with a fraction or exponent, as its type says.
    if (std::strpbrk(buf, ".eEn") == nullptr) out += ".0";
  }

  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  std::string string_;
  std::vector<std::string> names_;  // object: names_[i] names items_[i]
  std::vector<Json> items_;
};

// ---------------------------------------------------------------------------
// JSON Pointers (RFC 6901)
// ---------------------------------------------------------------------------

// escape_pointer_token / unescape_pointer_token: bbr/pointer_token.hpp.

namespace detail {
inline void append_token(std::string& out, std::string_view token) {
  out += '/';
  append_escaped_pointer_token(out, token);
}
inline void append_token(std::string& out, const std::string& token) {
  append_token(out, std::string_view(token));
}
inline void append_token(std::string& out, const char* token) {
  append_token(out, std::string_view(token ? token : ""));
}
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                        !std::is_same_v<I, char>,
                                    int> = 0>
inline void append_token(std::string& out, I index) {
  out += '/';
  out += std::to_string(index);
}
}  // namespace detail

// A JSON Pointer from its tokens, each string escaped, each integer an array
// index: pointer("messages", 0, "content") == "/messages/0/content",
// pointer("a/b") == "/a~1b", pointer() == "" (the whole document).
template <class... Tokens>
std::string pointer(const Tokens&... tokens) {
  std::string out;
  (detail::append_token(out, tokens), ...);
  return out;
}

// `base` with more tokens appended: pointer_join(entry.pointer(), "text").
template <class... Tokens>
std::string pointer_join(std::string_view base, const Tokens&... tokens) {
  std::string out(base);
  (detail::append_token(out, tokens), ...);
  return out;
}

// ---------------------------------------------------------------------------
// Values read from the host (borrowed)
// ---------------------------------------------------------------------------

// A typed view of one JSON value out of the host's parse (borrowed, see plugin.h).
struct JsonValue {
  bbr_json_value_t raw{};
  bbr_json_type_t type() const { return raw.type; }
  bool is_null() const { return raw.type == BBR_JSON_NULL; }
  bool is_bool() const { return raw.type == BBR_JSON_BOOL; }
  bool is_integer() const { return raw.type == BBR_JSON_INTEGER; }
  // Any number, integers included.
  bool is_number() const { return raw.type == BBR_JSON_INTEGER || raw.type == BBR_JSON_NUMBER; }
  bool is_string() const { return raw.type == BBR_JSON_STRING; }
  bool is_array() const { return raw.type == BBR_JSON_ARRAY; }
  bool is_object() const { return raw.type == BBR_JSON_OBJECT; }
  std::string_view string() const { return view(raw.string); }
  bool boolean() const { return raw.boolean != 0; }
  int64_t integer() const { return raw.integer; }
  double number() const { return raw.number; }
  // Elements of an array, members of an object.
  std::size_t size() const { return raw.size; }

  std::optional<std::string_view> as_string() const {
    return is_string() ? std::optional<std::string_view>(string()) : std::nullopt;
  }
  std::optional<int64_t> as_integer() const {
    return is_integer() ? std::optional<int64_t>(integer()) : std::nullopt;
  }
  std::optional<double> as_number() const {
    return is_number() ? std::optional<double>(number()) : std::nullopt;
  }
  std::optional<bool> as_bool() const {
    return is_bool() ? std::optional<bool>(boolean()) : std::nullopt;
  }
  // A scalar as an owning Json (arrays and objects come back empty: walk them
  // with json_for_each, or read their text with json_text).
  Json to_json() const {
    switch (raw.type) {
      case BBR_JSON_BOOL:
        return Json(boolean());
      case BBR_JSON_INTEGER:
        return Json(integer());
      case BBR_JSON_NUMBER:
        return Json(number());
      case BBR_JSON_STRING:
        return Json(string());
      case BBR_JSON_ARRAY:
        return Json::array();
      case BBR_JSON_OBJECT:
        return Json::object();
      default:
        return Json();
    }
  }
};

// One element or member handed to a for_each callback (since 1.1).
struct JsonEntry {
  std::size_t index = 0;     // position, from 0
  std::string_view name;     // member name (unescaped); "" for an array element
  std::string_view pointer;  // this child's JSON Pointer (escaped), for json_* calls
  JsonValue value;           // its typed value
};

// What the current call is given (since 1.1; see bbr_message_info_t).
struct MessageInfo {
  bbr_body_unit_t unit = BBR_BODY_WHOLE;
  uint64_t sequence = 0;
  bool end_of_stream = false;
  bool sse_done = false;
  std::string_view request_path;
  std::string_view event_name;
  std::string_view event_id;
};

// One header of the current view.
struct HeaderView {
  std::string_view name;
  std::string_view value;
};

namespace detail {

// Calls `fn` with a JsonEntry; `fn` returns void (walk on) or bool (true:
// walk on, false: stop). An exception stops the walk and is kept for the
// caller to rethrow after the host's call has returned.
template <class F>
struct Visitor {
  F* fn;
  std::exception_ptr error;

  static int32_t visit(void* user, const bbr_json_entry_t* e) {
    auto* self = static_cast<Visitor*>(user);
    try {
      JsonEntry entry;
      entry.index = e->index;
      entry.name = view(e->name);
      entry.pointer = view(e->pointer);
      entry.value.raw = e->value;
      if constexpr (std::is_same_v<decltype((*self->fn)(entry)), void>) {
        (*self->fn)(entry);
        return 0;
      } else {
        return static_cast<bool>((*self->fn)(entry)) ? 0 : 1;
      }
    } catch (...) {
      self->error = std::current_exception();
      return 1;
    }
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Metrics defined once and bumped by id (since 1.1)
// ---------------------------------------------------------------------------

// A counter defined with PluginContext::counter (in the constructor). Cheap to
// copy; valid while the instance lives; usable from any thread. On a 1.0 host
// (or when the definition was refused) every add answers its status and counts
// nothing: ok() says which.
class Counter {
 public:
  Counter() = default;
  bool ok() const { return status_ == BBR_OK; }
  // BBR_OK, or why the definition failed (BBR_UNSUPPORTED on a 1.0 host).
  bbr_status_t status() const { return status_; }
  bbr_status_t add(uint64_t delta = 1) const { return add_labelled({}, delta); }
  // For a counter defined with a label: this value of it.
  bbr_status_t add_labelled(std::string_view label_value, uint64_t delta = 1) const {
    if (!ok()) return status_;
    return api_->metric_add(ctx_, id_, label_value.data(), label_value.size(), delta);
  }
  uint32_t id() const { return id_; }

 private:
  friend class PluginContext;
  const bbr_host_api_t* api_ = nullptr;
  const bbr_plugin_context_t* ctx_ = nullptr;
  uint32_t id_ = 0;
  bbr_status_t status_ = BBR_UNSUPPORTED;
};

// A histogram defined with PluginContext::histogram; as Counter.
class Histogram {
 public:
  Histogram() = default;
  bool ok() const { return status_ == BBR_OK; }
  bbr_status_t status() const { return status_; }
  bbr_status_t observe(double value) const { return observe_labelled({}, value); }
  bbr_status_t observe_labelled(std::string_view label_value, double value) const {
    if (!ok()) return status_;
    return api_->metric_observe(ctx_, id_, label_value.data(), label_value.size(), value);
  }
  uint32_t id() const { return id_; }

 private:
  friend class PluginContext;
  const bbr_host_api_t* api_ = nullptr;
  const bbr_plugin_context_t* ctx_ = nullptr;
  uint32_t id_ = 0;
  bbr_status_t status_ = BBR_UNSUPPORTED;
};

// ---------------------------------------------------------------------------
// The plugin instance's context: logging, metrics, parameters (any thread)
// ---------------------------------------------------------------------------

class PluginContext {
 public:
  PluginContext(const bbr_host_api_t* api, const bbr_plugin_context_t* ctx)
      : api_(api), ctx_(ctx) {}

  // The host's ABI minor (0 on a 1.0 host): what the 1.1 wrappers check.
  uint32_t host_abi_minor() const { return api_->abi_minor; }

  // --- logging: build the text only when log_enabled says it will be kept ---
  bool log_enabled(bbr_log_level_t level) const { return api_->log_enabled(ctx_, level) != 0; }
  void log(bbr_log_level_t level, std::string_view text) const {
    api_->log(ctx_, level, text.data(), text.size());
  }
  void error(std::string_view text) const { log(BBR_LOG_ERROR, text); }
  void warn(std::string_view text) const { log(BBR_LOG_WARN, text); }
  void info(std::string_view text) const { log(BBR_LOG_INFO, text); }
  void debug(std::string_view text) const { log(BBR_LOG_DEBUG, text); }
  void trace(std::string_view text) const { log(BBR_LOG_TRACE, text); }
  // Logs make() (a callable returning the text) only when the level is on, so
  // a debug line costs nothing when debug logging is off:
  //   ctx.debug_lazy([&] { return "picked " + model; });
  template <class F>
  void log_lazy(bbr_log_level_t level, F&& make) const {
    if (log_enabled(level)) log(level, std::forward<F>(make)());
  }
  template <class F>
  void debug_lazy(F&& make) const {
    log_lazy(BBR_LOG_DEBUG, std::forward<F>(make));
  }

  // --- ABI 1.0 counters, looked up by name on each call ---
  void count(std::string_view name, uint64_t delta = 1) const { count(name, {}, {}, delta); }
  void count(std::string_view name, std::string_view label_name, std::string_view label_value,
             uint64_t delta = 1) const {
    api_->counter_add(ctx_, name.data(), name.size(), label_name.data(), label_name.size(),
                      label_value.data(), label_value.size(), delta);
  }

  // --- since 1.1: metrics defined once (in the constructor), bumped by id ---
  Counter counter(std::string_view name, std::string_view help = {},
                  std::string_view label_name = {}) const {
    Counter c;
    bbr_metric_def_t def = make_def(BBR_METRIC_COUNTER, name, help, label_name, nullptr, 0);
    c.status_ = define(def, c.id_);
    c.api_ = api_;
    c.ctx_ = ctx_;
    return c;
  }
  // `buckets`: increasing upper bounds; empty: the host's latency buckets.
  Histogram histogram(std::string_view name, std::string_view help = {},
                      std::string_view label_name = {},
                      const std::vector<double>& buckets = {}) const {
    Histogram h;
    bbr_metric_def_t def = make_def(BBR_METRIC_HISTOGRAM, name, help, label_name,
                                    buckets.empty() ? nullptr : buckets.data(), buckets.size());
    h.status_ = define(def, h.id_);
    h.api_ = api_;
    h.ctx_ = ctx_;
    return h;
  }

  // --- parameters, parsed by the host, by JSON Pointer ("/headerName") ---
  // Views live until the instance is destroyed.
  bbr_status_t parameter(std::string_view pointer, bbr_json_value_t& out) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, parameter_get)) return BBR_UNSUPPORTED;
    out.struct_size = sizeof(out);
    return api_->parameter_get(ctx_, pointer.data(), pointer.size(), &out);
  }
  std::optional<JsonValue> parameter_value(std::string_view pointer) const {
    JsonValue v;
    if (parameter(pointer, v.raw) != BBR_OK) return std::nullopt;
    return v;
  }
  std::optional<std::string_view> parameter_string(std::string_view pointer) const {
    auto v = parameter_value(pointer);
    return v ? v->as_string() : std::nullopt;
  }
  std::optional<int64_t> parameter_integer(std::string_view pointer) const {
    auto v = parameter_value(pointer);
    return v ? v->as_integer() : std::nullopt;
  }
  std::optional<double> parameter_number(std::string_view pointer) const {
    auto v = parameter_value(pointer);
    return v ? v->as_number() : std::nullopt;
  }
  std::optional<bool> parameter_bool(std::string_view pointer) const {
    auto v = parameter_value(pointer);
    return v ? v->as_bool() : std::nullopt;
  }
  // Since 1.1: walks the parameter array or object at `pointer` ("" the whole
  // parameters object); fn(const bbr::JsonEntry&) returns void or bool (false
  // stops). BBR_NOT_FOUND when absent, BBR_UNSUPPORTED on a 1.0 host.
  template <class F>
  bbr_status_t parameter_for_each(std::string_view pointer, F&& fn) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, parameter_for_each)) return BBR_UNSUPPORTED;
    using Fn = std::remove_reference_t<F>;
    detail::Visitor<Fn> visitor{&fn, nullptr};
    bbr_status_t st = api_->parameter_for_each(ctx_, pointer.data(), pointer.size(),
                                               &detail::Visitor<Fn>::visit, &visitor);
    if (visitor.error) std::rethrow_exception(visitor.error);
    return st;
  }
  // Since 1.1: the member names of the parameter object at `pointer`, in order.
  std::optional<std::vector<std::string>> parameter_names(std::string_view pointer = {}) const {
    std::vector<std::string> names;
    bbr_status_t st =
        parameter_for_each(pointer, [&](const JsonEntry& e) { names.emplace_back(e.name); });
    if (st != BBR_OK) return std::nullopt;
    return names;
  }

  const bbr_host_api_t* api() const { return api_; }
  const bbr_plugin_context_t* raw() const { return ctx_; }

 private:
  static bbr_metric_def_t make_def(bbr_metric_kind_t kind, std::string_view name,
                                   std::string_view help, std::string_view label_name,
                                   const double* buckets, std::size_t bucket_count) {
    bbr_metric_def_t def{};
    def.struct_size = sizeof(def);
    def.kind = kind;
    def.name = bbr_buffer_t{name.data(), name.size()};
    def.help = bbr_buffer_t{help.data(), help.size()};
    def.label_name = bbr_buffer_t{label_name.data(), label_name.size()};
    def.buckets = buckets;
    def.bucket_count = bucket_count;
    return def;
  }
  bbr_status_t define(const bbr_metric_def_t& def, uint32_t& id) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, metric_define)) return BBR_UNSUPPORTED;
    return api_->metric_define(ctx_, &def, &id);
  }

  const bbr_host_api_t* api_;
  const bbr_plugin_context_t* ctx_;
};

// What a plugin constructor receives.
struct CreateContext {
  std::string_view instance_name;
  std::string_view parameters_json;  // empty when none were given
  PluginContext plugin;

  // Since 1.1: define the instance's metrics here, keep the handles, bump
  // them by id on any thread (shorthands for plugin.counter / .histogram).
  Counter counter(std::string_view name, std::string_view help = {},
                  std::string_view label_name = {}) const {
    return plugin.counter(name, help, label_name);
  }
  Histogram histogram(std::string_view name, std::string_view help = {},
                      std::string_view label_name = {},
                      const std::vector<double>& buckets = {}) const {
    return plugin.histogram(name, help, label_name, buckets);
  }
};

// ---------------------------------------------------------------------------
// The message a plugin is called with (message thread only)
// ---------------------------------------------------------------------------

class Message {
 public:
  Message(const bbr_host_api_t* api, bbr_message_t* msg) : api_(api), msg_(msg) {}

  bbr_phase_t phase() const { return api_->phase(msg_); }

  // --- headers (current state: what earlier plugins set is visible) ---
  std::optional<std::string_view> header(std::string_view name) const {
    bbr_buffer_t out{};
    if (api_->get_header(msg_, name.data(), name.size(), &out) != BBR_OK) return std::nullopt;
    return view(out);
  }
  std::size_t header_count() const { return api_->header_count(msg_); }
  std::optional<HeaderView> header_at(std::size_t index) const {
    bbr_buffer_t name{}, value{};
    if (api_->header_at(msg_, index, &name, &value) != BBR_OK) return std::nullopt;
    return HeaderView{view(name), view(value)};
  }
  // Range over the current headers: for (auto h : msg.headers()) h.name, h.value.
  // Do not set or remove headers while iterating.
  class HeaderRange {
   public:
    class iterator {
     public:
      using value_type = HeaderView;
      using difference_type = std::ptrdiff_t;
      using reference = HeaderView;
      using pointer = void;
      using iterator_category = std::input_iterator_tag;
      iterator(const Message* m, std::size_t i) : m_(m), i_(i) {}
      HeaderView operator*() const { return m_->header_at(i_).value_or(HeaderView{}); }
      iterator& operator++() {
        ++i_;
        return *this;
      }
      bool operator==(const iterator& o) const { return i_ == o.i_; }
      bool operator!=(const iterator& o) const { return i_ != o.i_; }

     private:
      const Message* m_;
      std::size_t i_;
    };
    explicit HeaderRange(const Message* m) : m_(m), n_(m->header_count()) {}
    iterator begin() const { return iterator(m_, 0); }
    iterator end() const { return iterator(m_, n_); }
    std::size_t size() const { return n_; }

   private:
    const Message* m_;
    std::size_t n_;
  };
  HeaderRange headers() const { return HeaderRange(this); }

  bbr_status_t set_header(std::string_view name, std::string_view value) {
    return api_->set_header(msg_, name.data(), name.size(), value.data(), value.size());
  }
  bbr_status_t remove_header(std::string_view name) {
    return api_->remove_header(msg_, name.data(), name.size());
  }

  // --- body ---
  std::string_view body() const {
    bbr_buffer_t out{};
    return api_->get_body(msg_, &out) == BBR_OK ? view(out) : std::string_view{};
  }

  // Status BBR_OK fills `out`; anything else says why there is no value.
  bbr_status_t json(std::string_view pointer, JsonValue& out) const {
    out.raw.struct_size = sizeof(out.raw);
    return api_->json_get(msg_, pointer.data(), pointer.size(), &out.raw);
  }
  std::optional<JsonValue> json_value(std::string_view pointer) const {
    JsonValue v;
    if (json(pointer, v) != BBR_OK) return std::nullopt;
    return v;
  }
  // Typed getters: nullopt when absent, not JSON, or of another type.
  std::optional<std::string_view> json_string(std::string_view pointer) const {
    auto v = json_value(pointer);
    return v ? v->as_string() : std::nullopt;
  }
  std::optional<int64_t> json_integer(std::string_view pointer) const {
    auto v = json_value(pointer);
    return v ? v->as_integer() : std::nullopt;
  }
  // Any number, integers included.
  std::optional<double> json_number(std::string_view pointer) const {
    auto v = json_value(pointer);
    return v ? v->as_number() : std::nullopt;
  }
  std::optional<bool> json_bool(std::string_view pointer) const {
    auto v = json_value(pointer);
    return v ? v->as_bool() : std::nullopt;
  }
  // The value at `pointer` as compact JSON text (a string comes back quoted).
  std::optional<std::string_view> json_text(std::string_view pointer) const {
    bbr_buffer_t out{};
    if (api_->json_get_text(msg_, pointer.data(), pointer.size(), &out) != BBR_OK)
      return std::nullopt;
    return view(out);
  }
  // The index-th member name of the object at `pointer` (1.0 call: each step
  // may walk the object; prefer json_for_each / member_names on a 1.1 host).
  std::optional<std::string_view> member_name(std::string_view pointer, std::size_t index) const {
    bbr_buffer_t out{};
    if (api_->json_member_name(msg_, pointer.data(), pointer.size(), index, &out) != BBR_OK)
      return std::nullopt;
    return view(out);
  }
  // All member names of the object at `pointer`, in order (copies): one walk
  // on a 1.1 host, json_member_name per index on a 1.0 host. nullopt when the
  // value is absent or not an object.
  std::optional<std::vector<std::string>> member_names(std::string_view pointer) const {
    auto v = json_value(pointer);
    if (!v || !v->is_object()) return std::nullopt;
    std::vector<std::string> names;
    names.reserve(v->size());
    if (BBR_HAS_FIELD(api_, bbr_host_api_t, json_for_each)) {
      bbr_status_t st =
          json_for_each(pointer, [&](const JsonEntry& e) { names.emplace_back(e.name); });
      if (st != BBR_OK) return std::nullopt;
      return names;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto name = member_name(pointer, i);
      if (!name) return std::nullopt;
      names.emplace_back(*name);
    }
    return names;
  }
  // Since 1.1: walks the array or object at `pointer` once, in document order;
  // fn(const bbr::JsonEntry&) returns void or bool (false stops). Edits are
  // refused during the walk (BBR_UNSUPPORTED): collect, then edit.
  template <class F>
  bbr_status_t json_for_each(std::string_view pointer, F&& fn) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, json_for_each)) return BBR_UNSUPPORTED;
    using Fn = std::remove_reference_t<F>;
    detail::Visitor<Fn> visitor{&fn, nullptr};
    bbr_status_t st = api_->json_for_each(msg_, pointer.data(), pointer.size(),
                                          &detail::Visitor<Fn>::visit, &visitor);
    if (visitor.error) std::rethrow_exception(visitor.error);
    return st;
  }

  // --- body edits ---
  // `json_value` is JSON text ("\"x\"", "42", "{}").
  bbr_status_t json_set(std::string_view pointer, std::string_view json_value) {
    return api_->json_set(msg_, pointer.data(), pointer.size(), json_value.data(),
                          json_value.size());
  }
  // An owning value, serialised here (works on a 1.0 host too).
  bbr_status_t json_set_value(std::string_view pointer, const Json& value) {
    return json_set(pointer, value.dump());
  }
  // Since 1.1: typed setters; the host makes the JSON text.
  bbr_status_t json_set_string(std::string_view pointer, std::string_view value) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, json_set_string)) return BBR_UNSUPPORTED;
    return api_->json_set_string(msg_, pointer.data(), pointer.size(), value.data(), value.size());
  }
  bbr_status_t json_set_integer(std::string_view pointer, int64_t value) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, json_set_integer)) return BBR_UNSUPPORTED;
    return api_->json_set_integer(msg_, pointer.data(), pointer.size(), value);
  }
  bbr_status_t json_set_number(std::string_view pointer, double value) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, json_set_number)) return BBR_UNSUPPORTED;
    return api_->json_set_number(msg_, pointer.data(), pointer.size(), value);
  }
  bbr_status_t json_set_bool(std::string_view pointer, bool value) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, json_set_bool)) return BBR_UNSUPPORTED;
    return api_->json_set_bool(msg_, pointer.data(), pointer.size(), value ? 1 : 0);
  }
  bbr_status_t json_remove(std::string_view pointer) {
    return api_->json_remove(msg_, pointer.data(), pointer.size());
  }
  bbr_status_t replace_body(std::string_view body) {
    return api_->replace_body(msg_, body.data(), body.size());
  }

  // --- outcomes ---
  bbr_status_t reject(uint32_t http_status, std::string_view body) {
    return api_->reject(msg_, http_status, body.data(), body.size());
  }
  // Since 1.1: reject with headers of the plugin's choice (a content-type
  // among them replaces the guess from the body) and details for Envoy's log:
  //   msg.reject_with(429, "{\"error\":\"slow down\"}", {{"retry-after", "3"}}, "rate");
  bbr_status_t reject_with(
      uint32_t http_status, std::string_view body,
      const std::vector<std::pair<std::string_view, std::string_view>>& headers = {},
      std::string_view details = {}) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, reject_with)) return BBR_UNSUPPORTED;
    std::vector<bbr_header_pair_t> pairs;
    pairs.reserve(headers.size());
    for (const auto& h : headers) {
      pairs.push_back(bbr_header_pair_t{bbr_buffer_t{h.first.data(), h.first.size()},
                                        bbr_buffer_t{h.second.data(), h.second.size()}});
    }
    bbr_reject_t r{};
    r.struct_size = sizeof(r);
    r.http_status = http_status;
    r.body = bbr_buffer_t{body.data(), body.size()};
    r.headers = pairs.empty() ? nullptr : pairs.data();
    r.header_count = pairs.size();
    r.details = bbr_buffer_t{details.data(), details.size()};
    return api_->reject_with(msg_, &r);
  }
  // Records the error text and returns `result`, for `return msg.fail(...)`.
  bbr_result_t fail(bbr_result_t result, std::string_view text) {
    set_error(text);
    return result;
  }
  void set_error(std::string_view text) { api_->set_error(msg_, text.data(), text.size()); }

  // --- per-request state owning a heap copy of T; destroyed by the host ---
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

  // --- since 1.1 ---
  // What the current call is given; nullopt on a 1.0 host.
  std::optional<MessageInfo> message_info() const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, message_info)) return std::nullopt;
    bbr_message_info_t raw{};
    raw.struct_size = sizeof(raw);
    if (api_->message_info(msg_, &raw) != BBR_OK) return std::nullopt;
    MessageInfo out;
    out.unit = raw.unit;
    out.sequence = raw.sequence;
    out.end_of_stream = raw.end_of_stream != 0;
    out.sse_done = raw.sse_done != 0;
    out.request_path = view(raw.request_path);
    out.event_name = view(raw.event_name);
    out.event_id = view(raw.event_id);
    return out;
  }
  // The request's prompt text (see plugin.h for the endpoints); nullopt when
  // there is none, outside the request phase, or on a 1.0 host.
  std::optional<std::string_view> prompt_text() const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, prompt_text)) return std::nullopt;
    bbr_buffer_t out{};
    if (api_->prompt_text(msg_, &out) != BBR_OK) return std::nullopt;
    return view(out);
  }
  // ProcessingResponse.dynamic_metadata[ns][key] = value.
  bbr_status_t set_dynamic_metadata(std::string_view ns, std::string_view key, const Json& value) {
    return set_dynamic_metadata_json(ns, key, value.dump());
  }
  // The same with the value as JSON text.
  bbr_status_t set_dynamic_metadata_json(std::string_view ns, std::string_view key,
                                         std::string_view json_value) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, set_dynamic_metadata)) return BBR_UNSUPPORTED;
    return api_->set_dynamic_metadata(msg_, ns.data(), ns.size(), key.data(), key.size(),
                                      json_value.data(), json_value.size());
  }
  bbr_status_t set_route_cache(bbr_route_cache_t choice) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, set_route_cache)) return BBR_UNSUPPORTED;
    return api_->set_route_cache(msg_, choice);
  }
  // An Envoy attribute ("request.id") as JSON text; nullopt when not sent.
  std::optional<std::string_view> attribute(std::string_view name) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, get_attribute)) return std::nullopt;
    bbr_buffer_t out{};
    if (api_->get_attribute(msg_, name.data(), name.size(), &out) != BBR_OK) return std::nullopt;
    return view(out);
  }
  // metadata_context.filter_metadata[ns][key] as JSON text; nullopt when not sent.
  std::optional<std::string_view> metadata(std::string_view ns, std::string_view key) const {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, get_metadata)) return std::nullopt;
    bbr_buffer_t out{};
    if (api_->get_metadata(msg_, ns.data(), ns.size(), key.data(), key.size(), &out) != BBR_OK)
      return std::nullopt;
    return view(out);
  }
  // SSE (on_response_event only): drop the current event, or add one after it.
  bbr_status_t event_drop() {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, event_drop)) return BBR_UNSUPPORTED;
    return api_->event_drop(msg_);
  }
  bbr_status_t event_add(std::string_view event_name, std::string_view data) {
    if (!BBR_HAS_FIELD(api_, bbr_host_api_t, event_add)) return BBR_UNSUPPORTED;
    return api_->event_add(msg_, event_name.data(), event_name.size(), data.data(), data.size());
  }

  bbr_message_t* raw() const { return msg_; }
  const bbr_host_api_t* api() const { return api_; }

 private:
  const bbr_host_api_t* api_;
  bbr_message_t* msg_;
};

// ---------------------------------------------------------------------------
// The glue: a C descriptor for a C++ class
// ---------------------------------------------------------------------------

namespace detail {

#define BBR_DETAIL_HAS_HOOK_(hook)                                                               \
  template <class T, class = void>                                                               \
  struct has_##hook : std::false_type {};                                                        \
  template <class T>                                                                             \
  struct has_##hook<T, std::void_t<decltype(std::declval<T&>().hook(std::declval<Message&>()))>> \
      : std::true_type {};
BBR_DETAIL_HAS_HOOK_(on_request)
BBR_DETAIL_HAS_HOOK_(on_response)
BBR_DETAIL_HAS_HOOK_(on_response_chunk)
BBR_DETAIL_HAS_HOOK_(on_response_event)
#undef BBR_DETAIL_HAS_HOOK_

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

// The entry's check of the host's minor (a function, so a constant 0 draws no
// "comparison is always false" warning).
inline bool host_allows(const bbr_host_info_t* host, uint32_t min_minor) {
  if (min_minor == 0) return true;
  return host != nullptr && host->abi_major == BBR_ABI_MAJOR && host->abi_minor >= min_minor;
}

enum class Hook { kRequest, kResponse, kResponseChunk, kResponseEvent };

template <class T, Hook H>
bbr_result_t process(void* instance, bbr_message_t* raw) {
  auto* self = static_cast<Instance<T>*>(instance);
  Message msg(self->api, raw);
  try {
    if constexpr (H == Hook::kRequest) {
      return self->object.on_request(msg);
    } else if constexpr (H == Hook::kResponse) {
      return self->object.on_response(msg);
    } else if constexpr (H == Hook::kResponseChunk) {
      return self->object.on_response_chunk(msg);
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

// A static descriptor for plugin class T. `capabilities` is completed with
// BBR_CAP_REQUEST / _RESPONSE / _RESPONSE_CHUNK / _RESPONSE_EVENT according to
// the hooks T defines.
template <class T>
const bbr_plugin_type_t* plugin_type(const char* name, const char* version, const char* description,
                                     uint32_t capabilities = 0,
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
      t.process_request = &detail::process<T, detail::Hook::kRequest>;
    }
    if constexpr (detail::has_on_response<T>::value) {
      t.capabilities |= BBR_CAP_RESPONSE;
      t.process_response = &detail::process<T, detail::Hook::kResponse>;
    }
    if constexpr (detail::has_on_response_chunk<T>::value) {
      t.capabilities |= BBR_CAP_RESPONSE_CHUNK;
      t.process_response_chunk = &detail::process<T, detail::Hook::kResponseChunk>;
    }
    if constexpr (detail::has_on_response_event<T>::value) {
      t.capabilities |= BBR_CAP_RESPONSE_EVENT;
      t.process_response_event = &detail::process<T, detail::Hook::kResponseEvent>;
    }
    return t;
  }();
  return &type;
}

}  // namespace bbr

// Exports bbr_plugin_entry_v1 describing the given plugin types (each a
// `const bbr_plugin_type_t*`, e.g. from bbr::plugin_type<T>(...)).
#define BBR_EXPORT_PLUGINS(...) BBR_EXPORT_PLUGINS_REQUIRING(0, __VA_ARGS__)

// The same, refusing to load (the entry returns NULL) on a host older than
// ABI 1.<min_minor>: BBR_EXPORT_PLUGINS_REQUIRING(1, ...) for a plugin that
// cannot work without the 1.1 calls.
#define BBR_EXPORT_PLUGINS_REQUIRING(min_minor, ...)                            \
  extern "C" BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1( \
      const bbr_host_info_t* host) {                                            \
    static const bbr_plugin_type_t* const types[] = {__VA_ARGS__};              \
    static const bbr_plugin_library_t library = {                               \
        sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR, BBR_ABI_MINOR,             \
        static_cast<uint32_t>(sizeof(types) / sizeof(types[0])), types};        \
    return ::bbr::detail::host_allows(host, (min_minor)) ? &library : nullptr;  \
  }

#endif  // BBR_PLUGIN_HPP
