// sdk-probe: a plugin written against bbr/plugin.hpp alone and compiled as
// C++17 (the SDK's promise to authors), exercising the wrappers so the unit
// tests can check each against the real host through the test kit.
//
// Built twice from this one file: linked into unit_sdk (probe_types() gives
// the descriptors: the kit's Plugin::from_type) and as sdk-probe.so with
// BBR_PROBE_EXPORT (the kit's Plugin::load).
#include <bbr/plugin.hpp>

#include "probe_plugin.hpp"

#if __cplusplus != 201703L
#error "the probe pins plugin.hpp in C++17: build it with -std=c++17"
#endif

#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

class Probe {
 public:
  explicit Probe(const bbr::CreateContext& ctx)
      : ctx_(ctx.plugin),
        requests_(ctx.counter("probe_requests_total", "requests seen", "model")),
        sizes_(ctx.plugin.histogram("probe_body_bytes", "body sizes", "", {10, 100, 1000})) {
    if (ctx.plugin.parameter_bool("/refuse").value_or(false)) {
      throw std::runtime_error("probe refuses: parameter refuse is true");
    }
    prefix_ = std::string(ctx.plugin.parameter_string("/prefix").value_or("x-probe-"));
    if (auto names = ctx.plugin.parameter_names()) params_ = join(*names);
  }

  bbr_result_t on_request(bbr::Message& msg) {
    const std::string action(msg.header("x-probe").value_or(""));
    // Headers through the range and by index.
    std::size_t seen = 0;
    for (bbr::HeaderView h : msg.headers()) {
      if (!h.name.empty()) ++seen;
    }
    set(msg, "header-count", std::to_string(seen));
    if (auto first = msg.header_at(0)) set(msg, "first-header", std::string(first->name));

    // Typed getters.
    const std::string model(msg.json_string("/model").value_or("(none)"));
    set(msg, "model", model);
    if (auto n = msg.json_integer("/n")) set(msg, "n", std::to_string(*n));
    if (auto t = msg.json_number("/temperature")) set(msg, "temperature", std::to_string(*t));
    if (auto b = msg.json_bool("/stream")) set(msg, "stream", *b ? "yes" : "no");
    if (auto names = msg.member_names("")) set(msg, "members", join(*names));
    if (auto text = msg.json_text(bbr::pointer("messages", 0)))
      set(msg, "first-message", std::string(*text));
    if (auto content = msg.json_string(bbr::pointer("messages", 0, "content")))
      set(msg, "first-content", std::string(*content));
    set(msg, "abi-minor", std::to_string(ctx_.host_abi_minor()));

    // Logging and counting.
    ctx_.info("probe saw model " + model);
    ctx_.debug_lazy([&] { return std::string("probe debug line"); });
    ctx_.count("probe_models_total", "model", model);
    set(msg, "counter-status", std::to_string(requests_.add_labelled(model)));
    sizes_.observe(static_cast<double>(msg.body().size()));

    if (action == "edit") {
      msg.json_set_value(bbr::pointer("probe"),
                         bbr::Json::object({{"quote", "say \"hi\"\n"},
                                            {"list", bbr::Json::array({1, 2.5, true, nullptr})}}));
      msg.json_remove("/stream");
    } else if (action == "reject") {
      msg.reject(429, "{\"error\":\"slow down\"}");
    } else if (action == "reject-with") {
      bbr_status_t st =
          msg.reject_with(429, "slow down", {{"retry-after", "3"}, {"content-type", "text/plain"}},
                          "probe says no");
      if (st != BBR_OK) return msg.fail(BBR_FAIL_INTERNAL, "reject_with: " + std::to_string(st));
    } else if (action == "fail") {
      return msg.fail(BBR_FAIL_FORBIDDEN, "probe failed on purpose");
    } else if (action == "throw") {
      throw std::runtime_error("probe threw on purpose");
    } else if (action == "walk") {
      std::vector<std::string> roles;
      msg.json_for_each("/messages", [&](const bbr::JsonEntry& e) {
        auto role = msg.json_string(bbr::pointer_join(e.pointer, "role"));
        roles.emplace_back(std::to_string(e.index) + ":" + std::string(role.value_or("?")));
      });
      set(msg, "roles", join(roles));
      std::vector<std::string> first_two;
      msg.json_for_each("", [&](const bbr::JsonEntry& e) {
        first_two.emplace_back(e.name);
        return first_two.size() < 2;  // false: stop
      });
      set(msg, "first-two", join(first_two));
      try {
        msg.json_for_each("/messages",
                          [](const bbr::JsonEntry&) { throw std::runtime_error("from lambda"); });
      } catch (const std::runtime_error& e) {
        set(msg, "walk-threw", e.what());
      }
      set(msg, "walk-scalar",
          std::to_string(msg.json_for_each("/model", [](const bbr::JsonEntry&) {})));
      set(msg, "params", params_);
    } else if (action == "typed") {
      msg.json_set_string("/s", "a\"b");
      msg.json_set_integer("/i", 7);
      msg.json_set_number("/f", 0.25);
      msg.json_set_bool("/b", false);
    } else if (action == "info") {
      if (auto info = msg.message_info()) {
        set(msg, "unit", std::to_string(info->unit));
        set(msg, "path", std::string(info->request_path));
      }
      if (auto prompt = msg.prompt_text()) {
        std::string text(*prompt);
        for (char& c : text) c = c == '\n' ? '|' : c;
        set(msg, "prompt", text);
      }
    } else if (action == "keep-route") {
      set(msg, "route-status", std::to_string(msg.set_route_cache(BBR_ROUTE_CACHE_KEEP)));
    } else if (action == "context") {
      if (auto id = msg.attribute("request.id")) set(msg, "attribute", std::string(*id));
      if (auto tenant = msg.metadata("envoy.lb", "tenant"))
        set(msg, "tenant", std::string(*tenant));
    } else if (action == "metadata") {
      bbr_status_t st =
          msg.set_dynamic_metadata("envoy.lb", "probe", bbr::Json::object({{"model", model}}));
      set(msg, "metadata-status", std::to_string(st));
    }
    return BBR_CONTINUE;
  }

  bbr_result_t on_response(bbr::Message& msg) {
    set(msg, "response", std::string(msg.header(":status").value_or("?")));
    msg.json_set_value("/probed", true);
    return BBR_CONTINUE;
  }

 private:
  void set(bbr::Message& msg, const std::string& name, const std::string& value) {
    msg.set_header(prefix_ + name, value);
  }

  bbr::PluginContext ctx_;
  bbr::Counter requests_;
  bbr::Histogram sizes_;
  std::string prefix_;
  std::string params_;
};

// A response plugin with the 1.1 streaming hooks: plugin_type must declare them.
class StreamProbe {
 public:
  explicit StreamProbe(const bbr::CreateContext&) {}
  bbr_result_t on_response_event(bbr::Message& msg) {
    if (msg.body().find("drop-me") != std::string_view::npos) msg.event_drop();
    if (msg.body().find("add-after") != std::string_view::npos) msg.event_add("added", "extra");
    return BBR_CONTINUE;
  }
  bbr_result_t on_response_chunk(bbr::Message&) { return BBR_CONTINUE; }
  // The whole-body hook too, so a host without the 1.1 hooks still runs it.
  bbr_result_t on_response(bbr::Message&) { return BBR_CONTINUE; }
};

}  // namespace

const bbr_plugin_type_t* probe_type() {
  return bbr::plugin_type<Probe>(
      "sdk-probe", "1.0.0", "exercises plugin.hpp", BBR_CAP_THREAD_SAFE,
      R"({"type":"object","properties":{"prefix":{"type":"string"},"refuse":{"type":"boolean"}}})");
}

const bbr_plugin_type_t* stream_probe_type() {
  return bbr::plugin_type<StreamProbe>("sdk-stream-probe", "1.0.0", "streaming hooks");
}

#ifdef BBR_PROBE_EXPORT
BBR_EXPORT_PLUGINS(probe_type(), stream_probe_type())
#endif
