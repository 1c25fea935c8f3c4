// Prometheus metrics: the reference's metric names plus counters plugins add
// through bbr_host_api.counter_add. Exposed on --metrics-port at /metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace bbr {

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
