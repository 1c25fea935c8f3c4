// The chain: plugin instances called in order on a Message.
#pragma once

#include <bbr/plugin.h>

#include "chain/host_api.hpp"
#include "chain/message.hpp"
#include "chain/plugin_policy.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bbr {

// A create() that failed; what() carries the plugin's own error text.
class CreateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The parameters an instance is created with: one parsed document, in the
// order it was written (parameter_for_each walks it in that order, as
// plugin.h promises). Null when none were given: create() then receives
// empty text.
struct PluginParameters {
  nlohmann::ordered_json document;
};

// Every capability that puts a plugin on the response path.
inline constexpr uint32_t kResponseCapabilities =
    BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_CHUNK | BBR_CAP_RESPONSE_EVENT;

// What a response plugin is given of one response (plugin.h, above
// process_response_chunk): the least buffering it allows.
enum class ResponseUnit {
  kNone,   // nothing: e.g. an event-only plugin on a response that is not SSE
  kWhole,  // process_response, once, with the whole body (the host buffers it)
  kChunk,  // process_response_chunk, piece by piece
  kEvent,  // process_response_event, one Server-Sent Event at a time
};

// One created plugin instance. Destroys it (through the plugin) on destruction.
class PluginInstance {
 public:
  // Calls the type's create() with the document as compact JSON text; throws
  // CreateError with the plugin's text. The document is the one checked by
  // config/plugin_creation.hpp (the front ends create instances through it).
  PluginInstance(PluginTypeRef type, std::string instance_name, PluginParameters parameters,
                 Metrics* metrics, PluginPolicy policy = {});
  // The same from JSON text, for tests that write their parameters inline:
  // parsed once here, and given to create() as written (text that is not JSON
  // too, so a plugin's own error for it can be tested).
  PluginInstance(PluginTypeRef type, std::string instance_name, const std::string& parameters_json,
                 Metrics* metrics, PluginPolicy policy = {});
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const std::string& name() const { return context_.instance_name; }
  const std::string& type_name() const { return context_.type_name; }
  uint32_t capabilities() const { return type_.type->capabilities; }
  const PluginPolicy& policy() const { return policy_; }

  // Calls process_request / process_response (serialised unless the type is
  // thread-safe) and returns what the plugin returned, as a plain integer: a
  // plugin may return a value outside bbr_result_t (see call_hook in chain.cpp).
  int32_t call(Message& msg);
  // The same call for callers that want the enum: a value outside
  // bbr_result_t comes back as BBR_FAIL_INTERNAL (plugin.h answers it with 500).
  bbr_result_t process(Message& msg);

  // The streamed-response hooks (ABI 1.1), read from the descriptor only when
  // it is large enough and the capability is declared; null otherwise.
  bool has_chunk_hook() const { return chunk_hook_ != nullptr; }
  bool has_event_hook() const { return event_hook_ != nullptr; }
  // The unit this plugin is fed for a response that is (or is not) an event stream.
  ResponseUnit response_unit(bool event_stream) const;
  // Calls process_response_chunk (kChunk) or process_response_event (kEvent),
  // serialised as call() is.
  int32_t call_stream(Message& msg, ResponseUnit unit);

  // Resolves this instance's metric series for one extension point (done by
  // Chain when the instance joins that list, i.e. while the chain is built).
  void resolve_metrics(bbr_phase_t phase);
  const PluginCallMetrics& call_metrics(bbr_phase_t phase) const {
    return phase == BBR_PHASE_REQUEST ? request_metrics_ : response_metrics_;
  }

 private:
  PluginInstance(PluginTypeRef type, std::string instance_name, nlohmann::ordered_json&& document,
                 const std::string& text, Metrics* metrics, PluginPolicy policy);

  PluginTypeRef type_;
  Metrics* metrics_;
  PluginPolicy policy_;
  // Declared before context_ (which points at it): outlives the plugin instance.
  std::unique_ptr<PluginCounters> counters_;
  PluginCallMetrics request_metrics_;
  PluginCallMetrics response_metrics_;
  bbr_plugin_context context_;
  void* instance_ = nullptr;
  bbr_result_t (*chunk_hook_)(void*, bbr_message_t*) = nullptr;
  bbr_result_t (*event_hook_)(void*, bbr_message_t*) = nullptr;
  std::mutex call_mutex_;  // used only when the type is not BBR_CAP_THREAD_SAFE
};

struct ChainOutcome {
  enum class Kind { kContinue, kRejected, kFailed };
  Kind kind = Kind::kContinue;
  uint32_t http_status = 0;  // kFailed: mapped status (0: untyped); kRejected: reject()'s
  std::string plugin;        // the instance that stopped the chain
  std::string error;         // kFailed: the plugin's error text
};

class Chain {
 public:
  void add_request(std::shared_ptr<PluginInstance> instance);
  void add_response(std::shared_ptr<PluginInstance> instance);

  // Runs the plugins of msg.phase() in order, stopping at the first that
  // rejects, or fails under FailClose. A failure under FailOpen is logged,
  // counted and passed over; a reject() always stands. Each call's duration
  // goes to the instance's resolved histogram; a call over the instance's
  // timeout is logged and counted, and its result still counts. A result
  // outside bbr_result_t is a failure answered with 500. Never throws for what
  // a plugin does.
  // With `whole_only_for` set (a response: is it an event stream?), only the
  // response plugins fed the whole body for such a response run; the others
  // get their chunk or event hooks from the session instead.
  ChainOutcome run(Message& msg, std::optional<bool> whole_only_for = std::nullopt) const;

  // One streamed-response call (chunk or event hook) of one response plugin,
  // timed and counted as run() does. A failure cannot become an answer (the
  // response has started): it is logged and counted, and the body goes on as
  // the plugin left it. A reject() is ignored the same way. Returns the
  // plugin's result.
  int32_t run_stream_hook(PluginInstance& plugin, Message& msg, ResponseUnit unit) const;

  // True when some response plugin has a chunk or event hook: only then does
  // a response take the streamed-response paths (and pay for them).
  bool has_response_stream_hooks() const { return response_stream_hooks_; }
  // True when, for this kind of response, some response plugin needs the
  // whole body (its unit is kWhole), so the response must be buffered.
  bool response_needs_whole_body(bool event_stream) const;

  const std::vector<std::shared_ptr<PluginInstance>>& request_plugins() const { return request_; }
  const std::vector<std::shared_ptr<PluginInstance>>& response_plugins() const { return response_; }

 private:
  std::vector<std::shared_ptr<PluginInstance>> request_;
  std::vector<std::shared_ptr<PluginInstance>> response_;
  bool response_stream_hooks_ = false;
};

// The reference's answer to a failed chain: the mapped status and
// "inference error: <Code> - <text>". nullopt for an untyped failure
// (http_status 0), which the reference answers by ending the stream with gRPC
// UNKNOWN instead; Chain::run never produces one (an unknown plugin result is
// a typed 500).
std::optional<ImmediateResponse> reference_failure_response(const ChainOutcome& outcome);

// Maps a plugin result to the HTTP status the reference answers with; 0 for
// BBR_CONTINUE and for a value outside bbr_result_t.
uint32_t http_status_for(int32_t result);

}  // namespace bbr
