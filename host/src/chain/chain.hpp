// The chain: plugin instances called in order on a Message.
#pragma once

#include <bbr/plugin.h>

#include "chain/host_api.hpp"
#include "chain/message.hpp"
#include "chain/plugin_policy.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"

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

// One created plugin instance. Destroys it (through the plugin) on destruction.
class PluginInstance {
 public:
  // Calls the type's create(); throws CreateError with the plugin's text.
  PluginInstance(PluginTypeRef type, std::string instance_name, std::string parameters_json,
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

  // Resolves this instance's metric series for one extension point (done by
  // Chain when the instance joins that list, i.e. while the chain is built).
  void resolve_metrics(bbr_phase_t phase);
  const PluginCallMetrics& call_metrics(bbr_phase_t phase) const {
    return phase == BBR_PHASE_REQUEST ? request_metrics_ : response_metrics_;
  }

 private:
  PluginTypeRef type_;
  Metrics* metrics_;
  PluginPolicy policy_;
  // Declared before context_ (which points at it): outlives the plugin instance.
  std::unique_ptr<PluginCounters> counters_;
  PluginCallMetrics request_metrics_;
  PluginCallMetrics response_metrics_;
  bbr_plugin_context context_;
  void* instance_ = nullptr;
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
  ChainOutcome run(Message& msg) const;

  const std::vector<std::shared_ptr<PluginInstance>>& request_plugins() const { return request_; }
  const std::vector<std::shared_ptr<PluginInstance>>& response_plugins() const { return response_; }

 private:
  std::vector<std::shared_ptr<PluginInstance>> request_;
  std::vector<std::shared_ptr<PluginInstance>> response_;
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
