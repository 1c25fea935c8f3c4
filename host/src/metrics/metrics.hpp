// Prometheus metrics: the reference's metric names plus counters plugins add
// through bbr_host_api.counter_add. Exposed on --metrics-port at /metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace bbr {

class Metrics;

// One plugin instance's series for one extension point, resolved once when the
// chain is built so a call records through plain pointers: no label map, no
// registry lock on the hot path. Default-constructed (no metrics): every call
// is a no-op.
class PluginCallMetrics {
 public:
  PluginCallMetrics() = default;
  // bbr_plugin_duration_seconds
  void observe_duration(double seconds) const;
  // bbr_plugin_failures_total
  void count_failure() const;
  // bbr_plugin_timeouts_total (null unless the instance has a timeout)
  void count_timeout() const;
  bool enabled() const { return duration_ != nullptr; }

 private:
  friend class Metrics;
  prometheus::Histogram* duration_ = nullptr;
  prometheus::Counter* failures_ = nullptr;
  prometheus::Counter* timeouts_ = nullptr;
};

// The counters one plugin instance adds through bbr_host_api.counter_add,
// cached per (name, label name, label value): a counter the plugin has used
// before is found under this instance's own reader lock, never the registry's
// global one. Thread-safe (a thread-safe plugin counts from many threads).
class PluginCounters {
 public:
  PluginCounters(Metrics& metrics, std::string instance_name);
  // Never throws (it runs inside a plugin's C call): a counter that cannot be
  // counted, even for want of memory, is dropped.
  void add(std::string_view name, std::string_view label_name, std::string_view label_value,
           uint64_t delta) noexcept;

 private:
  void add_or_throw(std::string_view name, std::string_view label_name,
                    std::string_view label_value, uint64_t delta);

  Metrics& metrics_;
  std::string instance_name_;
  mutable std::shared_mutex mutex_;
  // Key: name '\0' label_name '\0' label_value. A null value is a counter the
  // registry refused: not retried, not warned about again.
  std::unordered_map<std::string, prometheus::Counter*> cache_;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A plugin counter: `name` with labels plugin_name=<instance> and, when
  // label_name is not empty, label_name=label_value. Thread-safe. A name or
  // label the Prometheus data model refuses (or a name already used by another
  // metric type) is dropped with one warning, never thrown: plugins are not
  // trusted to name things well.
  void plugin_counter_add(std::string_view instance_name, std::string_view name,
                          std::string_view label_name, std::string_view label_value,
                          uint64_t delta);
  // The same counter, resolved for repeated use (PluginCounters); null when
  // refused (already warned about).
  prometheus::Counter* plugin_counter(std::string_view instance_name, std::string_view name,
                                      std::string_view label_name, std::string_view label_value);

  // The reference's own metrics, recorded by the host (not by plugins).
  // bbr_info{commit,build_ref} = 1: set once at start.
  void set_build_info(std::string_view commit, std::string_view build_ref);
  // bbr_success_total: one request-body processing whose parse and request
  // plugins all succeeded.
  void record_success();
  // bbr_plugin_duration_seconds{extension_point,plugin_type,plugin_name}:
  // every plugin invocation, failed ones too. extension_point is "request" or
  // "response".
  void observe_plugin_duration(std::string_view extension_point, std::string_view plugin_type,
                               std::string_view plugin_name, double seconds);
  // Resolves one instance's series for one extension point ("request" or
  // "response"): the duration histogram, bbr_plugin_failures_total{
  // extension_point,plugin_type,plugin_name,policy} and, when with_timeout,
  // bbr_plugin_timeouts_total{extension_point,plugin_type,plugin_name}.
  PluginCallMetrics plugin_call_metrics(std::string_view extension_point,
                                        std::string_view plugin_type, std::string_view plugin_name,
                                        std::string_view policy, bool with_timeout);

  // Ours (not the reference's). bbr_shed_total{reason}: streams answered 503
  // because a server-wide bound was reached (reason: inflight_body_bytes,
  // concurrent_streams).
  void record_shed(std::string_view reason);
  // bbr_malformed_messages_total: ext_proc messages that did not parse or
  // carried nothing; each ends its stream with INVALID_ARGUMENT.
  void record_malformed_message();

  // The Prometheus text exposition of everything registered (for tests and
  // the CLI).
  std::string render_text() const;

  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bbr
