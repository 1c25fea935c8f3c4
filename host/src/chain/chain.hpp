// The chain: plugin instances called in order on a Message.
#pragma once

#include <bbr/plugin.h>

#include "chain/host_api.hpp"
#include "chain/message.hpp"
#include "loader/plugin_library.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bbr {

class Metrics;

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
                 Metrics* metrics);
  ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const std::string& name() const { return context_.instance_name; }
  const std::string& type_name() const { return context_.type_name; }
  uint32_t capabilities() const { return type_.type->capabilities; }

  // Calls process_request / process_response (serialised unless the type is
  // thread-safe).
  bbr_result_t process(Message& msg);

 private:
  PluginTypeRef type_;
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
  // rejects or fails. Never throws for what a plugin does.
  ChainOutcome run(Message& msg) const;

  // Called after every plugin call with its duration (metrics hook; optional).
  using CallObserver =
      std::function<void(const PluginInstance&, bbr_phase_t, double seconds)>;
  void set_call_observer(CallObserver observer) { observer_ = std::move(observer); }

  const std::vector<std::shared_ptr<PluginInstance>>& request_plugins() const { return request_; }
  const std::vector<std::shared_ptr<PluginInstance>>& response_plugins() const { return response_; }

 private:
  std::vector<std::shared_ptr<PluginInstance>> request_;
  std::vector<std::shared_ptr<PluginInstance>> response_;
  CallObserver observer_;
};

// The reference's answer to a failed chain: the mapped status and
// "inference error: <Code> - <text>". nullopt for an untyped failure, which the
// reference answers by ending the stream with gRPC UNKNOWN instead.
std::optional<ImmediateResponse> reference_failure_response(const ChainOutcome& outcome);

// Maps a plugin result to the HTTP status the reference answers with; 0 for a
// value outside bbr_result_t, which the reference treats as an untyped error
// (the stream ends with gRPC UNKNOWN).
uint32_t http_status_for(bbr_result_t result);

}  // namespace bbr
