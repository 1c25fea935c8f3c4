// Test-only plugin types, driven by their parameters. They use nothing but the
// SDK (plus nlohmann_json to read parameters), like any third-party plugin.
#include <bbr/plugin.hpp>

#include "common/request_text.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

nlohmann::json params_of(const bbr::CreateContext& ctx) {
  if (ctx.parameters_json.empty()) return nlohmann::json::object();
  return nlohmann::json::parse(ctx.parameters_json);
}

// Sets body field `field` to the JSON `value` (default "test-value").
class BodyMutator {
 public:
  explicit BodyMutator(const bbr::CreateContext& ctx) {
    auto p = params_of(ctx);
    field_ = p.value("field", "injected");
    value_ = p.contains("value") ? p["value"].dump() : "\"test-value\"";
  }
  bbr_result_t on_request(bbr::Message& msg) { return apply(msg); }
  bbr_result_t on_response(bbr::Message& msg) { return apply(msg); }

 private:
  bbr_result_t apply(bbr::Message& msg) {
    if (msg.json_set("/" + field_, value_) != BBR_OK) {
      return msg.fail(BBR_FAIL_INTERNAL, "json_set failed");
    }
    return BBR_CONTINUE;
  }
  std::string field_;
  std::string value_;
};

// Sets header `name` = `value` in whichever phase it is called. Reads its
// parameters through the host's parameter_get (no JSON parser of its own).
class HeaderSetter {
 public:
  explicit HeaderSetter(const bbr::CreateContext& ctx) {
    name_ = ctx.plugin.parameter_string("/name").value_or("X-Test");
    value_ = ctx.plugin.parameter_string("/value").value_or("set");
    remove_ = ctx.plugin.parameter_string("/remove").value_or("");
  }
  bbr_result_t on_request(bbr::Message& msg) { return apply(msg); }
  bbr_result_t on_response(bbr::Message& msg) { return apply(msg); }

 private:
  bbr_result_t apply(bbr::Message& msg) {
    if (!remove_.empty()) msg.remove_header(remove_);
    msg.set_header(name_, value_);
    return BBR_CONTINUE;
  }
  std::string name_, value_, remove_;
};

// Answers immediately with `status` and `body`; with `headerName`, through
// reject_with with that header (value `headerValue`).
class Rejecter {
 public:
  explicit Rejecter(const bbr::CreateContext& ctx) {
    status_ = static_cast<uint32_t>(ctx.plugin.parameter_integer("/status").value_or(403));
    body_ = ctx.plugin.parameter_string("/body").value_or(
        R"({"error":{"message":"refused by test-rejecter"}})");
    header_name_ = ctx.plugin.parameter_string("/headerName").value_or("");
    header_value_ = ctx.plugin.parameter_string("/headerValue").value_or("");
  }
  bbr_result_t on_request(bbr::Message& msg) {
    if (header_name_.empty()) {
      msg.reject(status_, body_);
    } else {
      msg.reject_with(status_, body_, {{header_name_, header_value_}});
    }
    return BBR_CONTINUE;
  }

 private:
  uint32_t status_;
  std::string body_;
  std::string header_name_, header_value_;
};

// Returns `result` with `message` (or throws it when `throw` is true). With
// `setHeader`, first sets that header to "before-failing" (pins what a
// FailOpen chain keeps of a failed call).
class Failer {
 public:
  explicit Failer(const bbr::CreateContext& ctx) {
    auto p = params_of(ctx);
    result_ = static_cast<bbr_result_t>(p.value("result", 403));
    message_ = p.value("message", "test failure");
    throw_ = p.value("throw", false);
    set_header_ = p.value("setHeader", "");
    if (p.value("failCreate", false)) throw std::runtime_error("failCreate was set");
  }
  bbr_result_t on_request(bbr::Message& msg) {
    if (!set_header_.empty()) msg.set_header(set_header_, "before-failing");
    if (throw_) throw std::runtime_error(message_);
    return msg.fail(result_, message_);
  }

 private:
  bbr_result_t result_;
  std::string message_;
  bool throw_;
  std::string set_header_;
};

// Sleeps `sleepMs` milliseconds, then continues: a call that certainly takes
// at least that long (pins the timeout accounting without timing anything).
class Sleeper {
 public:
  explicit Sleeper(const bbr::CreateContext& ctx)
      : sleep_(ctx.plugin.parameter_integer("/sleepMs").value_or(20)) {}
  bbr_result_t on_request(bbr::Message&) {
    std::this_thread::sleep_for(sleep_);
    return BBR_CONTINUE;
  }

 private:
  std::chrono::milliseconds sleep_;
};

// Adds 1 to counter `name` (default test_plugin_calls_total) with label
// `label`=`value` on every call, through the host's counter_add.
class Counter {
 public:
  explicit Counter(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    name_ = ctx.plugin.parameter_string("/name").value_or("test_plugin_calls_total");
    label_ = ctx.plugin.parameter_string("/label").value_or("");
    value_ = ctx.plugin.parameter_string("/value").value_or("");
  }
  bbr_result_t on_request(bbr::Message&) {
    plugin_.count(name_, label_, value_);
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  std::string name_, label_, value_;
};

// test-raw-result: written against plugin.h alone, as a C plugin is, and
// returning the integer `result` whatever it is (418, 7, -1, ...): what a C
// plugin returning a number outside bbr_result_t hands the host.
struct RawResult {
  int32_t value;
};

int raw_result_create(const bbr_create_args_t* args, void** instance_out) {
  bbr_json_value_t value{};
  value.struct_size = sizeof(value);
  int32_t result = 7;
  if (args->api->parameter_get(args->context, "/result", 7, &value) == BBR_OK &&
      value.type == BBR_JSON_INTEGER) {
    result = static_cast<int32_t>(value.integer);
  }
  *instance_out = new RawResult{result};
  return 0;
}

void raw_result_destroy(void* instance) { delete static_cast<RawResult*>(instance); }

int32_t raw_result_process(void* instance, bbr_message_t*) {
  return static_cast<RawResult*>(instance)->value;
}

const bbr_plugin_type_t* raw_result_type() {
  static const bbr_plugin_type_t type = [] {
    bbr_plugin_type_t t{};
    t.struct_size = sizeof(t);
    t.name = "test-raw-result";
    t.version = "1.0.0";
    t.description = "returns any integer as its result";
    t.capabilities = BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE;
    t.create = &raw_result_create;
    t.destroy = &raw_result_destroy;
    // A C compiler would accept `return 418;` from a bbr_result_t function; in
    // C++ the same bytes need this cast (through void(*)(), GCC's documented
    // escape from -Wcast-function-type).
    t.process_request = reinterpret_cast<bbr_result_t (*)(void*, bbr_message_t*)>(
        reinterpret_cast<void (*)()>(&raw_result_process));
    return t;
  }();
  return &type;
}

// Request phase stores the model in per-request state; response phase reads
// it back into header x-request-model: pins the CycleState across phases.
class StateCarrier {
 public:
  explicit StateCarrier(const bbr::CreateContext&) {}
  bbr_result_t on_request(bbr::Message& msg) {
    auto model = msg.json_string("/model");
    msg.put_state<std::string>("model", std::string(model.value_or("")));
    return BBR_CONTINUE;
  }
  bbr_result_t on_response(bbr::Message& msg) {
    if (auto* model = msg.state<std::string>("model")) msg.set_header("x-request-model", *model);
    return BBR_CONTINUE;
  }
};

// Reports the request's prompt text in headers x-prompt-status ("ok",
// "not_found", "not_json" or the status number) and x-prompt-text (as a JSON
// string: a header value holds no newline): through the host's prompt_text, or with
// parameter {"fallback": true} through the SDK-side rules a plugin uses on a
// host without it. The shared prompt-text corpus runs through both.
class PromptReader {
 public:
  explicit PromptReader(const bbr::CreateContext& ctx)
      : fallback_(ctx.plugin.parameter_bool("/fallback").value_or(false)) {}
  bbr_result_t on_request(bbr::Message& msg) {
    std::string text;
    bbr_status_t status = BBR_OK;
    if (fallback_) {
      status = bbr_plugins::detail::prompt_text_from_body(msg, text);
    } else {
      bbr_buffer_t out{};
      status = msg.api()->prompt_text(msg.raw(), &out);
      if (status == BBR_OK) text = std::string(bbr::view(out));
    }
    msg.set_header("x-prompt-status", status == BBR_OK          ? "ok"
                                      : status == BBR_NOT_FOUND ? "not_found"
                                      : status == BBR_NOT_JSON  ? "not_json"
                                                                : std::to_string(status));
    if (status == BBR_OK) msg.set_header("x-prompt-text", bbr::json_quote(text));
    return BBR_CONTINUE;
  }

 private:
  bool fallback_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<BodyMutator>("test-body-mutator", "1.0.0", "sets a body field",
                                                 BBR_CAP_THREAD_SAFE),
                   bbr::plugin_type<HeaderSetter>("test-header-setter", "1.0.0", "sets a header",
                                                  BBR_CAP_THREAD_SAFE),
                   bbr::plugin_type<Rejecter>("test-rejecter", "1.0.0", "answers immediately",
                                              BBR_CAP_THREAD_SAFE),
                   bbr::plugin_type<Failer>("test-failer", "1.0.0", "fails with a given result",
                                            BBR_CAP_THREAD_SAFE),
                   bbr::plugin_type<Sleeper>("test-sleeper", "1.0.0", "sleeps, then continues",
                                             BBR_CAP_THREAD_SAFE),
                   bbr::plugin_type<Counter>("test-counter", "1.0.0",
                                             "adds to a counter on every call",
                                             BBR_CAP_THREAD_SAFE),
                   raw_result_type(),
                   bbr::plugin_type<StateCarrier>("test-state-carrier", "1.0.0",
                                                  "carries the model from request to response"),
                   bbr::plugin_type<PromptReader>("test-prompt-reader", "1.0.0",
                                                  "reports the prompt text in headers",
                                                  BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE))
