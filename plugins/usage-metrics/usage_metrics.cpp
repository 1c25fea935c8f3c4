// usage-metrics: counts the token usage a response reports, per model, as
// counters (and, for a non-streamed response, as response headers), and
// observes the time from the request to the first SSE event of a streamed
// response. For SSE the usage is read from the events (the usage event that
// stream_options.include_usage asks for; with continuous usage the last one
// seen; the Responses API's response.completed; Anthropic's message_start and
// message_delta, each giving part of it) and counted once, at [DONE] or when
// the stream ends.
//
// For Envoy's global rate limiter it also writes the counts as dynamic
// metadata (with the model and the tenant) and copies the tenant into a
// request header for the rate limit descriptor. And it can ask every stream
// for its usage (include_usage on demand): the request gets
// stream_options.include_usage, and the usage-only event the client did not
// ask for is counted here, then dropped. That is one plugin and not two
// because the drop must come after the count, and only this plugin knows
// both that it added the option and that it has read the event.
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
                "description": "time-to-first-event histogram bounds in seconds"},
    "metadata": {
      "type": "object",
      "description": "write the counts as dynamic metadata for Envoy's rate limiter (absent: none); keys default to Envoy AI Gateway's",
      "properties": {
        "namespace": {"type": "string", "minLength": 1, "description": "metadata namespace (io.envoy.ai_gateway)"},
        "inputKey": {"type": "string", "minLength": 1, "description": "prompt tokens (llm_input_token)"},
        "outputKey": {"type": "string", "minLength": 1, "description": "completion tokens (llm_output_token)"},
        "totalKey": {"type": "string", "minLength": 1, "description": "total tokens (llm_total_token)"},
        "cachedKey": {"type": "string", "minLength": 1, "description": "cached prompt tokens (llm_cached_input_token)"},
        "reasoningKey": {"type": "string", "minLength": 1, "description": "reasoning tokens (llm_reasoning_token)"},
        "modelKey": {"type": "string", "minLength": 1, "description": "the counted model (model_name_override)"},
        "tenantKey": {"type": "string", "minLength": 1, "description": "the tenant, when known (tenant)"}
      },
      "additionalProperties": false
    },
    "tenant": {
      "type": "object",
      "description": "who is charged: the first of header and bodyField present, else default",
      "properties": {
        "header": {"type": "string", "minLength": 1, "description": "request header holding the tenant"},
        "bodyField": {"type": "string", "minLength": 1, "description": "top-level request body member holding the tenant (e.g. user)"},
        "descriptorHeader": {"type": "string", "minLength": 1,
                             "description": "request header set to the tenant for the rate limit descriptor (removed when there is none)"},
        "default": {"type": "string", "minLength": 1, "description": "tenant when neither is present"}
      },
      "anyOf": [{"required": ["header"]}, {"required": ["bodyField"]}],
      "additionalProperties": false
    },
    "includeUsage": {
      "type": "object",
      "description": "add stream_options.include_usage to streamed chat/completions requests without it; drop the usage-only event the client did not ask for (absent: off)",
      "properties": {
        "models": {"type": "array", "items": {"type": "string", "minLength": 1},
                   "description": "only these request models (a trailing * matches a prefix); absent: every model"},
        "exceptModels": {"type": "array", "items": {"type": "string", "minLength": 1},
                         "description": "never these request models (providers that refuse stream_options)"}
      },
      "additionalProperties": false
    }
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
  std::string tenant;              // "" when unknown
  bool usage_event_added = false;  // include_usage was added: drop the usage-only event
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
    if (!config_.tenant.body_field.empty())
      body_field_pointer_ = bbr::pointer(config_.tenant.body_field);
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
    // Copied: the header and body edits below end the life of host views.
    const std::string model(msg.json_string("/model").value_or(std::string_view()));
    state.request_model = label(model);
    if (config_.tenant.enabled()) {
      state.tenant = tenant_of(msg);
      if (!config_.tenant.descriptor_header.empty()) {
        // Set by us or not at all: a client must not name its own tenant.
        if (!state.tenant.empty()) {
          if (msg.set_header(config_.tenant.descriptor_header, state.tenant) != BBR_OK)
            return msg.fail(BBR_FAIL_INTERNAL, "set_header failed");
        } else {
          msg.remove_header(config_.tenant.descriptor_header);
        }
      }
    }
    state.usage_event_added = add_include_usage(msg, model);
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
    write_metadata(msg, model, state, *usage);
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
      flush(msg, *state);
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
      flush(msg, *state);
      return BBR_CONTINUE;
    }
    if (state->counted) return BBR_CONTINUE;
    if (auto model = bbr_plugins::response_model(msg)) state->response_model = label(*model);
    if (auto usage = bbr_plugins::read_token_usage(IntegerAt{msg})) {
      if (state->last_usage)
        state->last_usage->update(*usage);
      else
        state->last_usage = *usage;
      // The usage-only event (no choices) that only we asked for: kept in
      // last_usage, counted at the end, not shown to the client.
      if (state->usage_event_added && is_usage_only(msg)) msg.event_drop();
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

  void flush(bbr::Message& msg, StreamState& state) {
    if (state.counted || !state.last_usage) return;
    state.counted = true;
    const usage_metrics::Usage usage = state.last_usage->with_total();
    std::string model = model_label(&state, std::nullopt);
    count(model, usage);
    write_metadata(msg, model, &state, usage);
  }

  static bool is_usage_only(const bbr::Message& msg) {
    auto choices = msg.json_value("/choices");
    return choices && choices->is_array() && choices->size() == 0;
  }

  // The tenant of a request: the header, else the body member, else the
  // default ("" when none; a value that cannot be one counts as absent).
  std::string tenant_of(const bbr::Message& msg) const {
    const usage_metrics::TenantConfig& t = config_.tenant;
    std::string tenant;
    if (!t.header.empty()) {
      if (auto value = msg.header(t.header)) tenant = usage_metrics::usable_tenant(*value);
    }
    if (tenant.empty() && !t.body_field.empty()) {
      if (auto value = msg.json_string(body_field_pointer_))
        tenant = usage_metrics::usable_tenant(*value);
    }
    return tenant.empty() ? t.fallback : tenant;
  }

  // include_usage on demand: true when the request now asks for usage and
  // the client had not (absent, or false).
  bool add_include_usage(bbr::Message& msg, std::string_view model) const {
    if (!usage_metrics::adds_include_usage(config_.include_usage, model)) return false;
    if (msg.json_bool("/stream") != true) return false;
    auto info = msg.message_info();
    if (!info || !usage_metrics::takes_stream_options(info->request_path)) return false;
    if (msg.json_bool("/stream_options/include_usage") == true) return false;
    auto options = msg.json_value("/stream_options");
    bbr_status_t status = BBR_WRONG_TYPE;
    if (!options || options->is_null()) {
      status = msg.json_set("/stream_options", R"({"include_usage":true})");
    } else if (options->is_object()) {
      status = msg.json_set("/stream_options/include_usage", "true");
    }
    return status == BBR_OK;
  }

  // Every count (0 when not reported: a descriptor's hits_addend reads each
  // key it names), the model and the tenant, for Envoy's rate limiter.
  void write_metadata(bbr::Message& msg, const std::string& model, const StreamState* state,
                      const usage_metrics::Usage& usage) const {
    const usage_metrics::MetadataConfig& m = config_.metadata;
    if (!m.enabled) return;
    const std::optional<int64_t> values[] = {usage.prompt, usage.completion, usage.total,
                                             usage.cached, usage.reasoning};
    for (std::size_t i = 0; i < std::size(values); ++i)
      put_metadata(msg, m.count_keys[i], bbr::Json(values[i].value_or(0)));
    put_metadata(msg, m.model_key, bbr::Json(model));
    if (state != nullptr && !state->tenant.empty())
      put_metadata(msg, m.tenant_key, bbr::Json(state->tenant));
  }

  void put_metadata(bbr::Message& msg, const std::string& key, const bbr::Json& value) const {
    bbr_status_t status = msg.set_dynamic_metadata(config_.metadata.ns, key, value);
    if (status != BBR_OK)
      plugin_.log_lazy(BBR_LOG_WARN, [&] {
        return "dynamic metadata " + key + " not set (status " + std::to_string(status) + ")";
      });
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
  std::string body_field_pointer_;
  bbr::Counter prompt_, completion_, total_, cached_, reasoning_, responses_;
  bbr::Histogram ttfe_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<UsageMetrics>(
    "usage-metrics", "1.1.0",
    "Counts token usage per model from JSON and SSE responses; time to first SSE event; "
    "usage as dynamic metadata for Envoy's rate limiter; include_usage on demand",
    BBR_CAP_THREAD_SAFE, kParametersSchema))
