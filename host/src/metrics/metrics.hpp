// Prometheus metrics: the reference's metric names plus counters plugins add
// through bbr_host_api.counter_add. Exposed on --metrics-port at /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

// What a plugin asks for in bbr_host_api.metric_define (ABI 1.1).
struct PluginMetricSpec {
  enum class Kind { kCounter, kHistogram };
  Kind kind = Kind::kCounter;
  std::string name;
  std::string help;
  std::string label_name;      // "" for none
  std::vector<double> buckets;  // histogram; empty: the host's default buckets
};

// Why a metric call was refused (the host API answers BBR_INVALID_ARGUMENT).
enum class MetricStatus { kOk, kInvalid, kInternal };

// The metrics one plugin instance owns: the counters it adds by name through
// bbr_host_api.counter_add (ABI 1.0), cached per (name, label name, label
// value): a counter the plugin has used before is found under this instance's
// own reader lock, never the registry's global one; and the counters and
// histograms it defines once (metric_define, ABI 1.1) and then bumps by id:
// the id indexes this instance's table of resolved series, with no lookup by
// name and no lock for an unlabelled metric. Thread-safe (a thread-safe
// plugin counts from many threads). Without Metrics (`plugins validate`)
// definitions are still checked and ids handed out; bumps count nothing.
class PluginCounters {
 public:
  PluginCounters(Metrics* metrics, std::string instance_name);
  ~PluginCounters();
  // Never throws (it runs inside a plugin's C call): a counter that cannot be
  // counted, even for want of memory, is dropped.
  void add(std::string_view name, std::string_view label_name, std::string_view label_value,
           uint64_t delta) noexcept;

  // ABI 1.1. define: kInvalid for a bad name, label or buckets, a name the
  // host uses, one defined elsewhere with another kind, label or buckets, or
  // past kMaxDefinitions. add/observe: kInvalid for an unknown id, the wrong
  // kind, or a label value given (or missing) against the definition.
  static constexpr std::size_t kMaxDefinitions = 1024;
  MetricStatus define(const PluginMetricSpec& spec, uint32_t& id_out) noexcept;
  MetricStatus add(uint32_t id, std::string_view label_value, uint64_t delta) noexcept;
  MetricStatus observe(uint32_t id, std::string_view label_value, double value) noexcept;

 private:
  struct Defined;
  void add_or_throw(std::string_view name, std::string_view label_name,
                    std::string_view label_value, uint64_t delta);
  // The series of a labelled metric for one label value (cached); null when
  // there are no metrics.
  void* labelled_series(Defined& metric, std::string_view label_value);

  Metrics* metrics_;
  std::string instance_name_;
  mutable std::shared_mutex mutex_;
  // Key: name '\0' label_name '\0' label_value. A null value is a counter the
  // registry refused: not retried, not warned about again.
  std::unordered_map<std::string, prometheus::Counter*> cache_;

  // Defined metrics: slots [0, defined_count_) are set and never change; a
  // bump reads the count (acquire) and its slot without a lock.
  std::mutex define_mutex_;
  std::array<std::unique_ptr<Defined>, kMaxDefinitions> defined_;
  std::atomic<uint32_t> defined_count_{0};
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

  // The family behind a plugin's metric_define (ABI 1.1), shared by every
  // instance that defines the same name: a prometheus::Family<Counter>* or
  // Family<Histogram>* by spec.kind. Null with `why` set when refused (bad
  // name or label, a host metric's name, or the name already defined with
  // another kind, label or buckets, or used by counter_add for a histogram).
  void* plugin_metric_family(const PluginMetricSpec& spec, std::string& why);

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
