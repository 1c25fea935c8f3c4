#include "chain/chain.hpp"

#include "log/log.hpp"

#include <chrono>
#include <fmt/format.h>

namespace bbr {

uint32_t http_status_for(int32_t result) {
  switch (result) {
    case BBR_FAIL_BAD_REQUEST:
    case BBR_FAIL_UNAUTHORIZED:
    case BBR_FAIL_FORBIDDEN:
    case BBR_FAIL_NOT_FOUND:
    case BBR_FAIL_TOO_MANY_REQUESTS:
    case BBR_FAIL_INTERNAL:
    case BBR_FAIL_UNAVAILABLE: return static_cast<uint32_t>(result);
    default: return 0;
  }
}

namespace {

// The reference's names for its typed error codes, used in its error texts.
const char* error_code_name(uint32_t http_status) {
  switch (http_status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 429: return "ResourceExhausted";
    case 500: return "Internal";
    case 503: return "ServiceUnavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::optional<ImmediateResponse> reference_failure_response(const ChainOutcome& outcome) {
  if (outcome.kind != ChainOutcome::Kind::kFailed || outcome.http_status == 0) return std::nullopt;
  return ImmediateResponse{outcome.http_status,
                           fmt::format("inference error: {} - {}", error_code_name(outcome.http_status),
                                       outcome.error),
                           {},
                           {}};
}

PluginInstance::PluginInstance(PluginTypeRef type, std::string instance_name,
                               PluginParameters parameters, Metrics* metrics, PluginPolicy policy)
    : PluginInstance(std::move(type), std::move(instance_name), std::move(parameters.document),
                     parameters.document.is_null()
                         ? std::string()
                         : parameters.document.dump(-1, ' ', false,
                                                    nlohmann::ordered_json::error_handler_t::replace),
                     metrics, policy) {}

PluginInstance::PluginInstance(PluginTypeRef type, std::string instance_name,
                               const std::string& parameters_json, Metrics* metrics,
                               PluginPolicy policy)
    : PluginInstance(std::move(type), std::move(instance_name),
                     parameters_json.empty()
                         ? nlohmann::ordered_json()
                         : nlohmann::ordered_json::parse(parameters_json, nullptr,
                                                         /*allow_exceptions=*/false),
                     parameters_json, metrics, policy) {}

PluginInstance::PluginInstance(PluginTypeRef type, std::string instance_name,
                               nlohmann::ordered_json&& document, const std::string& parameters_json,
                               Metrics* metrics, PluginPolicy policy)
    : type_(std::move(type)), metrics_(metrics), policy_(policy) {
  context_.type_name = type_.type->name;
  context_.instance_name = std::move(instance_name);
  // Also without Metrics (`plugins validate`): metric_define still checks
  // definitions and hands out ids; nothing is counted.
  counters_ = std::make_unique<PluginCounters>(metrics, context_.instance_name);
  context_.metrics = counters_.get();
  // Text that is not JSON: the plugin sees the text, parameter_get nothing.
  context_.parameters = document.is_discarded() ? nullptr : std::move(document);

  char error[1024] = {0};
  bbr_create_args_t args{};
  args.struct_size = sizeof(args);
  args.api = host_api();
  args.context = &context_;
  args.instance_name = bbr_buffer_t{context_.instance_name.data(), context_.instance_name.size()};
  args.parameters_json = bbr_buffer_t{parameters_json.data(), parameters_json.size()};
  args.error = error;
  args.error_capacity = sizeof(error);
  void* instance = nullptr;
  int rc = type_.type->create(&args, &instance);
  error[sizeof(error) - 1] = '\0';
  if (rc != 0) {
    throw CreateError(error[0] != '\0' ? std::string(error)
                                       : fmt::format("create returned {} without a message", rc));
  }
  if (instance == nullptr) {
    // Allowed: a stateless plugin may use NULL as its instance.
  }
  instance_ = instance;

  // A 1.0 descriptor ends before these members: they are read only when it is
  // large enough and declares the capability (the loader refuses a declared
  // capability without its hook).
  const bbr_plugin_type_t* t = type_.type;
  if ((t->capabilities & BBR_CAP_RESPONSE_CHUNK) &&
      BBR_HAS_FIELD(t, bbr_plugin_type_t, process_response_chunk)) {
    chunk_hook_ = t->process_response_chunk;
  }
  if ((t->capabilities & BBR_CAP_RESPONSE_EVENT) &&
      BBR_HAS_FIELD(t, bbr_plugin_type_t, process_response_event)) {
    event_hook_ = t->process_response_event;
  }
}

PluginInstance::~PluginInstance() {
  if (type_.type->destroy != nullptr) type_.type->destroy(instance_);
}

namespace {

// plugin.h types the hooks as returning bbr_result_t, but a plugin (C, or any
// language) can return any int: the ABI passes the enum exactly as an int32_t
// (same size, same register on every target we build for). Receiving a value
// outside the enumerators as the C++ enum would be undefined behaviour, so the
// hook is called through a pointer of the same ABI that returns int32_t. The
// detour through void(*)() is the conversion GCC documents as deliberate
// (-Wcast-function-type).
using RawHook = int32_t (*)(void*, bbr_message_t*);
static_assert(sizeof(bbr_result_t) == sizeof(int32_t), "bbr_result_t must travel as an int32_t");

int32_t call_hook(bbr_result_t (*hook)(void*, bbr_message_t*), void* instance, Message& msg) {
  auto raw = reinterpret_cast<RawHook>(reinterpret_cast<void (*)()>(hook));
  return raw(instance, to_handle(&msg));
}

}  // namespace

int32_t PluginInstance::call(Message& msg) {
  auto hook = msg.phase() == BBR_PHASE_REQUEST ? type_.type->process_request
                                               : type_.type->process_response;
  if (hook == nullptr) return BBR_CONTINUE;
  if (capabilities() & BBR_CAP_THREAD_SAFE) return call_hook(hook, instance_, msg);
  std::lock_guard lock(call_mutex_);
  return call_hook(hook, instance_, msg);
}

ResponseUnit PluginInstance::response_unit(bool event_stream) const {
  if (event_stream && event_hook_ != nullptr) return ResponseUnit::kEvent;
  if (chunk_hook_ != nullptr) return ResponseUnit::kChunk;
  if ((capabilities() & BBR_CAP_RESPONSE) && type_.type->process_response != nullptr) {
    return ResponseUnit::kWhole;
  }
  return ResponseUnit::kNone;
}

int32_t PluginInstance::call_stream(Message& msg, ResponseUnit unit) {
  auto hook = unit == ResponseUnit::kEvent ? event_hook_
              : unit == ResponseUnit::kChunk ? chunk_hook_
                                             : nullptr;
  if (hook == nullptr) return BBR_CONTINUE;
  if (capabilities() & BBR_CAP_THREAD_SAFE) return call_hook(hook, instance_, msg);
  std::lock_guard lock(call_mutex_);
  return call_hook(hook, instance_, msg);
}

bbr_result_t PluginInstance::process(Message& msg) {
  int32_t result = call(msg);
  if (result == BBR_CONTINUE) return BBR_CONTINUE;
  uint32_t status = http_status_for(result);
  return status == 0 ? BBR_FAIL_INTERNAL : static_cast<bbr_result_t>(status);
}

void PluginInstance::resolve_metrics(bbr_phase_t phase) {
  if (metrics_ == nullptr) return;
  const bool request = phase == BBR_PHASE_REQUEST;
  (request ? request_metrics_ : response_metrics_) = metrics_->plugin_call_metrics(
      request ? "request" : "response", type_name(), name(), failure_policy_name(policy_.failure),
      /*with_timeout=*/policy_.timeout.count() > 0);
}

void Chain::add_request(std::shared_ptr<PluginInstance> instance) {
  instance->resolve_metrics(BBR_PHASE_REQUEST);
  request_.push_back(std::move(instance));
}

void Chain::add_response(std::shared_ptr<PluginInstance> instance) {
  instance->resolve_metrics(BBR_PHASE_RESPONSE);
  if (instance->has_chunk_hook() || instance->has_event_hook()) response_stream_hooks_ = true;
  response_.push_back(std::move(instance));
}

namespace {

// One plugin call, its duration observed and a call over the instance's
// timeout logged and counted.
template <typename Call>
int32_t timed_call(const PluginInstance& plugin, const PluginCallMetrics& metrics, Call&& call) {
  using Clock = std::chrono::steady_clock;
  const PluginPolicy& policy = plugin.policy();
  const bool timed = metrics.enabled() || policy.timeout.count() > 0;
  if (!timed) return call();
  const Clock::time_point started = Clock::now();
  const int32_t result = call();
  const auto took = Clock::now() - started;
  metrics.observe_duration(std::chrono::duration<double>(took).count());
  if (policy.timeout.count() > 0 && took > policy.timeout) {
    // Observed, not enforced: the call has already finished and its result
    // counts whatever the failure policy (a C call cannot be pre-empted).
    metrics.count_timeout();
    log::warn("plugin {} ({}) took {:.3f} ms, over its timeout of {:.3f} ms", plugin.name(),
              plugin.type_name(), std::chrono::duration<double, std::milli>(took).count(),
              std::chrono::duration<double, std::milli>(policy.timeout).count());
  }
  return result;
}

}  // namespace

bool Chain::response_needs_whole_body(bool event_stream) const {
  for (const auto& plugin : response_) {
    if (plugin->response_unit(event_stream) == ResponseUnit::kWhole) return true;
  }
  return false;
}

int32_t Chain::run_stream_hook(PluginInstance& plugin, Message& msg, ResponseUnit unit) const {
  const PluginCallMetrics& metrics = plugin.call_metrics(BBR_PHASE_RESPONSE);
  const bool answered_before = msg.immediate_response().has_value();
  const int32_t result = timed_call(plugin, metrics, [&] { return plugin.call_stream(msg, unit); });
  if (!answered_before && msg.immediate_response()) {
    log::warn("plugin {} ({}) answered {} on a started response: ignored (edit or drop events "
              "instead)",
              plugin.name(), plugin.type_name(), msg.immediate_response()->http_status);
  }
  if (result != BBR_CONTINUE) {
    metrics.count_failure();
    log::warn("plugin {} ({}) failed with {} on a streamed response: {}; the {} goes on as the "
              "plugin left it",
              plugin.name(), plugin.type_name(), result,
              msg.error().empty() ? std::string("no error text") : msg.error(),
              unit == ResponseUnit::kEvent ? "event" : "chunk");
  }
  msg.clear_error();
  return result;
}

ChainOutcome Chain::run(Message& msg, std::optional<bool> whole_only_for) const {
  const auto& plugins = msg.phase() == BBR_PHASE_REQUEST ? request_ : response_;
  for (const auto& plugin : plugins) {
    if (whole_only_for && msg.phase() == BBR_PHASE_RESPONSE &&
        plugin->response_unit(*whole_only_for) != ResponseUnit::kWhole) {
      continue;  // fed chunk by chunk or event by event instead
    }
    const PluginCallMetrics& metrics = plugin->call_metrics(msg.phase());
    const PluginPolicy& policy = plugin->policy();
    const int32_t result = timed_call(*plugin, metrics, [&] { return plugin->call(msg); });
    if (const auto& immediate = msg.immediate_response()) {
      // An intentional answer: it stands under every failure policy.
      ChainOutcome out;
      out.kind = ChainOutcome::Kind::kRejected;
      out.http_status = immediate->http_status;
      out.plugin = plugin->name();
      log::debug("plugin {} ({}) answered {}", plugin->name(), plugin->type_name(),
                 immediate->http_status);
      return out;
    }
    if (result == BBR_CONTINUE) {
      msg.clear_error();
      continue;
    }

    metrics.count_failure();
    ChainOutcome out;
    out.kind = ChainOutcome::Kind::kFailed;
    out.plugin = plugin->name();
    out.http_status = http_status_for(result);
    if (out.http_status == 0) {
      // plugin.h: "Values outside the list are answered with 500".
      out.http_status = BBR_FAIL_INTERNAL;
      out.error = fmt::format("plugin {} returned unknown result {}", plugin->name(), result);
      if (!msg.error().empty()) {
        log::error("plugin {} ({}) returned unknown result {} (its error text: {})", plugin->name(),
                   plugin->type_name(), result, msg.error());
      } else {
        log::error("plugin {} ({}) returned unknown result {}", plugin->name(), plugin->type_name(),
                   result);
      }
    } else {
      out.error = msg.error().empty() ? fmt::format("plugin returned {}", result) : msg.error();
    }
    msg.clear_error();
    if (policy.failure == FailurePolicy::kFailOpen) {
      // What the plugin changed before failing stays: going on "as if it had
      // continued" is the simple rule operators can reason about.
      log::warn("plugin {} ({}) failed with {}: {}; going on (failurePolicy FailOpen)",
                plugin->name(), plugin->type_name(), out.http_status, out.error);
      continue;
    }
    log::error("plugin {} ({}) failed with {}: {}", plugin->name(), plugin->type_name(),
               out.http_status, out.error);
    return out;
  }
  return ChainOutcome{};
}

}  // namespace bbr
