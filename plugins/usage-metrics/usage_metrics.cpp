// usage-metrics: counts the token usage a response reports, per model, as
// counters (and, for a non-streamed response, as response headers), and
// observes the time from the request to the first SSE event of a streamed
// response. For SSE the usage is read from the events (the usage event that
// stream_options.include_usage asks for; with continuous usage the last one
// seen; the Responses API's response.completed; Anthropic's message_start and
// message_delta, each giving part of it) and counted once, at [DONE] or when
// the stream ends.
#include <bbr/plugin.hpp>

#include "common/api_format.hpp"
#include "usage-metrics/usage.hpp"

#include <chrono>
#include <string>

namespace {

constexpr const char* kParametersSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "headers": {"type": "boolean", "description": "set usage response headers on non-streamed responses (true)"},
    "headerPrefix": {"type": "string", "minLength": 1, "description": "response header prefix (x-usage-)"},
    "modelFrom": {"enum": ["response", "request"],
                  "description": "model label: the response's model (response) or the request body's (request)"},
    "buckets": {"type": "array", "minItems": 1, "items": {"type": "number"},
                "description": "time-to-first-event histogram bounds in seconds"}
  },
  "additionalProperties": false
})json";

// A label value is cut to this many bytes: the label is a model name, and a
// hostile one must not make a series key without bound.
constexpr std::size_t kMaxModelLabel = 128;

struct StreamState {
  std::chrono::steady_clock::time_point start{};
  bool has_start = false;
  bool first_event_seen = false;
  bool counted = false;
  std::string request_model;
  std::string response_model;
  std::optional<usage_metrics::Usage> last_usage;  // as reported so far (total when said)
};

// An integer of a message's JSON body by pointer, for the usage readers.
struct IntegerAt {
  const bbr::Message& msg;
  std::optional<int64_t> operator()(const std::string& pointer) const {
    bbr::JsonValue value;
    if (msg.json(pointer, value) != BBR_OK || value.type() != BBR_JSON_INTEGER)
      return std::nullopt;
    return value.raw.integer;
  }
};

class UsageMetrics {
 public:
  explicit UsageMetrics(const bbr::CreateContext& ctx)
      : plugin_(ctx.plugin), config_(usage_metrics::parse_config(ctx.parameters_json)) {
    state_key_ = "usage-metrics/";
    state_key_ += ctx.instance_name;
    auto counter = [&](std::string_view name, std::string_view help) {
      return ctx.counter(name, help, "model");
    };
    prompt_ =
        counter("bbr_usage_prompt_tokens_total", "Prompt (input) tokens reported by responses");
    completion_ = counter("bbr_usage_completion_tokens_total",
                          "Completion (output) tokens reported by responses");
    total_ = counter("bbr_usage_total_tokens_total", "Total tokens reported by responses");
    cached_ =
        counter("bbr_usage_cached_tokens_total", "Cached prompt tokens reported by responses");
    reasoning_ =
        counter("bbr_usage_reasoning_tokens_total", "Reasoning tokens reported by responses");
    responses_ = counter("bbr_usage_responses_total", "Responses whose token usage was counted");
    ttfe_ = ctx.histogram("bbr_usage_time_to_first_event_seconds",
                          "Time from the request to the first SSE event of a streamed response",
                          "model", config_.buckets);
  }

  bbr_result_t on_request(bbr::Message& msg) {
    StreamState state;
    state.start = std::chrono::steady_clock::now();
    state.has_start = true;
    if (auto model = msg.json_string("/model")) state.request_model = label(*model);
    if (msg.put_state(state_key_, std::move(state)) != BBR_OK)
      return msg.fail(BBR_FAIL_INTERNAL, "state_put failed");
    return BBR_CONTINUE;
  }

  // A whole (non-streamed) response.
  bbr_result_t on_response(bbr::Message& msg) {
    auto usage = read(msg);
    if (!usage) return BBR_CONTINUE;
    auto* state = msg.state<StreamState>(state_key_);
    std::string model = model_label(state, bbr_plugins::response_model(msg));
    count(model, *usage);
    if (state != nullptr) state->counted = true;
    if (config_.headers) {
      const std::optional<int64_t> values[] = {usage->prompt, usage->completion, usage->total,
                                               usage->cached, usage->reasoning};
      for (std::size_t i = 0; i < std::size(values); ++i) {
        if (!values[i]) continue;
        msg.set_header(usage_metrics::header_name(config_, usage_metrics::kHeaderFields[i]),
                       std::to_string(*values[i]));
      }
    }
    return BBR_CONTINUE;
  }

  // One SSE event, or the end of the stream.
  bbr_result_t on_response_event(bbr::Message& msg) {
    auto info = msg.message_info();
    if (!info) return BBR_CONTINUE;
    auto* state = msg.state<StreamState>(state_key_);
    if (state == nullptr) {
      // Not in the request chain: no start time, still counts usage.
      if (msg.put_state(state_key_, StreamState{}) != BBR_OK)
        return msg.fail(BBR_FAIL_INTERNAL, "state_put failed");
      state = msg.state<StreamState>(state_key_);
      if (state == nullptr) return msg.fail(BBR_FAIL_INTERNAL, "state_get failed");
    }
    if (info->unit == BBR_BODY_STREAM_END) {
      flush(*state);
      return BBR_CONTINUE;
    }
    if (info->unit != BBR_BODY_SSE_EVENT) return BBR_CONTINUE;
    if (!state->first_event_seen) {
      state->first_event_seen = true;
      if (state->has_start && ttfe_.ok()) {
        std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - state->start;
        std::string model = model_label(state, bbr_plugins::response_model(msg));
        ttfe_.observe_labelled(model, elapsed.count());
      }
    }
    if (info->sse_done) {
      flush(*state);
      return BBR_CONTINUE;
    }
    if (state->counted) return BBR_CONTINUE;
    if (auto model = bbr_plugins::response_model(msg)) state->response_model = label(*model);
    if (auto usage = bbr_plugins::read_token_usage(IntegerAt{msg})) {
      if (state->last_usage)
        state->last_usage->update(*usage);
      else
        state->last_usage = *usage;
    }
    return BBR_CONTINUE;
  }

 private:
  static std::string label(std::string_view model) {
    return std::string(model.substr(0, kMaxModelLabel));
  }

  std::string model_label(const StreamState* state,
                          std::optional<std::string_view> response) const {
    if (config_.model_from == usage_metrics::ModelFrom::kResponse) {
      if (response && !response->empty()) return label(*response);
      if (state != nullptr && !state->response_model.empty()) return state->response_model;
    }
    if (state != nullptr && !state->request_model.empty()) return state->request_model;
    if (response && !response->empty()) return label(*response);
    return "unknown";
  }

  static std::optional<usage_metrics::Usage> read(const bbr::Message& msg) {
    return usage_metrics::read_usage(IntegerAt{msg});
  }

  void flush(StreamState& state) {
    if (state.counted || !state.last_usage) return;
    state.counted = true;
    count(model_label(&state, std::nullopt), state.last_usage->with_total());
  }

  void count(const std::string& model, const usage_metrics::Usage& usage) const {
    // A zero is not passed to the host (as before the switch to plugin.hpp).
    auto add = [&](const bbr::Counter& metric, const std::optional<int64_t>& value) {
      if (value && *value != 0) metric.add_labelled(model, static_cast<uint64_t>(*value));
    };
    add(prompt_, usage.prompt);
    add(completion_, usage.completion);
    add(total_, usage.total);
    add(cached_, usage.cached);
    add(reasoning_, usage.reasoning);
    responses_.add_labelled(model);
  }

  bbr::PluginContext plugin_;
  usage_metrics::Config config_;
  std::string state_key_;
  bbr::Counter prompt_, completion_, total_, cached_, reasoning_, responses_;
  bbr::Histogram ttfe_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<UsageMetrics>(
    "usage-metrics", "1.0.0",
    "Counts token usage per model from JSON and SSE responses; time to first SSE event",
    BBR_CAP_THREAD_SAFE, kParametersSchema))
