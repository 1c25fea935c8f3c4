#include "metrics/metrics.hpp"

#include "log/log.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

namespace bbr {

namespace {

// The help texts the reference registers, so a plugin counter carrying one of
// the reference's names is indistinguishable from the reference's.
std::string help_for_plugin_counter(const std::string& name) {
  if (name == "bbr_body_field_not_found_total") {
    return "[ALPHA] Count of times a field wasn't found in a request body.";
  }
  if (name == "bbr_body_field_empty_total") {
    return "[ALPHA] Count of times a field was found in a request body but was empty.";
  }
  return "Counter added by a bbr-host plugin.";
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Gauge>& info =
      prometheus::BuildGauge()
          .Name("bbr_info")
          .Help("[ALPHA] General information of the current build of BBR.")
          .Register(*registry);
  prometheus::Counter& success =
      prometheus::BuildCounter()
          .Name("bbr_success_total")
          .Help("[ALPHA] Count of time the request was processed successfully.")
          .Register(*registry)
          .Add({});
  prometheus::Family<prometheus::Histogram>& plugin_duration =
      prometheus::BuildHistogram()
          .Name("bbr_plugin_duration_seconds")
          .Help("[ALPHA] Plugin processing latency distribution in seconds for each extension "
                "point, plugin type and plugin name.")
          .Register(*registry);
  // Ours, not the reference's: what failure policies and time budgets saw.
  prometheus::Family<prometheus::Counter>& plugin_failures =
      prometheus::BuildCounter()
          .Name("bbr_plugin_failures_total")
          .Help(
              "Count of plugin calls that failed (returned neither continue nor a reject) for each "
              "extension point, plugin type, plugin name and failure policy.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& plugin_timeouts =
      prometheus::BuildCounter()
          .Name("bbr_plugin_timeouts_total")
          .Help(
              "Count of plugin calls that took longer than the instance's timeout for each "
              "extension point, plugin type and plugin name.")
          .Register(*registry);

  prometheus::Family<prometheus::Counter>& shed =
      prometheus::BuildCounter()
          .Name("bbr_shed_total")
          .Help("Streams answered 503 because a server-wide bound was reached, by bound.")
          .Register(*registry);
  prometheus::Counter& shed_inflight_bytes = shed.Add({{"reason", "inflight_body_bytes"}});
  prometheus::Counter& shed_concurrent_streams = shed.Add({{"reason", "concurrent_streams"}});
  prometheus::Counter& malformed =
      prometheus::BuildCounter()
          .Name("bbr_malformed_messages_total")
          .Help("ext_proc messages that did not parse or carried nothing (stream ended with "
                "INVALID_ARGUMENT).")
          .Register(*registry)
          .Add({});

  // Plugin counter families, created on first use. The mutex guards the map
  // and the creation; Family::Add and Counter::Increment are thread-safe.
  std::mutex plugin_mutex;
  std::map<std::string, prometheus::Family<prometheus::Counter>*, std::less<>> plugin_families;
  std::set<std::string, std::less<>> refused_names;  // warned about once each
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::plugin_counter_add(std::string_view instance_name, std::string_view name,
                                 std::string_view label_name, std::string_view label_value,
                                 uint64_t delta) {
  if (auto* counter = plugin_counter(instance_name, name, label_name, label_value)) {
    counter->Increment(static_cast<double>(delta));
  }
}

prometheus::Counter* Metrics::plugin_counter(std::string_view instance_name, std::string_view name,
                                             std::string_view label_name,
                                             std::string_view label_value) {
  const std::string family_name(name);
  prometheus::Family<prometheus::Counter>* family = nullptr;
  {
    std::lock_guard lock(impl_->plugin_mutex);
    if (impl_->refused_names.count(family_name) != 0) return nullptr;
    auto found = impl_->plugin_families.find(family_name);
    if (found != impl_->plugin_families.end()) {
      family = found->second;
    } else {
      try {
        family = &prometheus::BuildCounter()
                      .Name(family_name)
                      .Help(help_for_plugin_counter(family_name))
                      .Register(*impl_->registry);
        impl_->plugin_families.emplace(family_name, family);
      } catch (const std::exception& e) {
        impl_->refused_names.insert(family_name);
        log::warn("plugin {}: counter {:?} refused: {}", instance_name, family_name, e.what());
        return nullptr;
      }
    }
  }
  prometheus::Labels labels{{"plugin_name", std::string(instance_name)}};
  if (!label_name.empty()) {
    if (label_name == "plugin_name") {
      log::warn("plugin {}: counter {:?} label name plugin_name is reserved for the host",
                instance_name, family_name);
      return nullptr;
    }
    labels.emplace(std::string(label_name), std::string(label_value));
  }
  try {
    return &family->Add(labels);
  } catch (const std::exception& e) {
    log::warn("plugin {}: counter {:?} label {:?} refused: {}", instance_name, family_name,
              std::string(label_name), e.what());
    return nullptr;
  }
}

void Metrics::set_build_info(std::string_view commit, std::string_view build_ref) {
  impl_->info.Add({{"commit", std::string(commit)}, {"build_ref", std::string(build_ref)}}).Set(1);
}

void Metrics::record_success() { impl_->success.Increment(); }

namespace {

// The reference's buckets for bbr_plugin_duration_seconds.
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1};
  return kBuckets;
}

prometheus::Labels call_labels(std::string_view extension_point, std::string_view plugin_type,
                               std::string_view plugin_name) {
  return {{"extension_point", std::string(extension_point)},
          {"plugin_type", std::string(plugin_type)},
          {"plugin_name", std::string(plugin_name)}};
}

}  // namespace

void Metrics::observe_plugin_duration(std::string_view extension_point,
                                      std::string_view plugin_type, std::string_view plugin_name,
                                      double seconds) {
  impl_->plugin_duration
      .Add(call_labels(extension_point, plugin_type, plugin_name), duration_buckets())
      .Observe(seconds);
}

void Metrics::record_shed(std::string_view reason) {
  // Both reasons are resolved once above: no label lookup on the shedding path.
  (reason == "concurrent_streams" ? impl_->shed_concurrent_streams : impl_->shed_inflight_bytes)
      .Increment();
}

void Metrics::record_malformed_message() { impl_->malformed.Increment(); }

PluginCallMetrics Metrics::plugin_call_metrics(std::string_view extension_point,
                                               std::string_view plugin_type,
                                               std::string_view plugin_name,
                                               std::string_view policy, bool with_timeout) {
  // Family::Add takes the family's lock; this runs once per instance and
  // extension point, when the chain is built, never per call.
  prometheus::Labels labels = call_labels(extension_point, plugin_type, plugin_name);
  PluginCallMetrics handles;
  handles.duration_ = &impl_->plugin_duration.Add(labels, duration_buckets());
  if (with_timeout) handles.timeouts_ = &impl_->plugin_timeouts.Add(labels);
  labels.emplace("policy", std::string(policy));
  handles.failures_ = &impl_->plugin_failures.Add(labels);
  return handles;
}

void PluginCallMetrics::observe_duration(double seconds) const {
  if (duration_ != nullptr) duration_->Observe(seconds);
}

void PluginCallMetrics::count_failure() const {
  if (failures_ != nullptr) failures_->Increment();
}

void PluginCallMetrics::count_timeout() const {
  if (timeouts_ != nullptr) timeouts_->Increment();
}

PluginCounters::PluginCounters(Metrics& metrics, std::string instance_name)
    : metrics_(metrics), instance_name_(std::move(instance_name)) {}

void PluginCounters::add(std::string_view name, std::string_view label_name,
                         std::string_view label_value, uint64_t delta) noexcept {
  try {
    add_or_throw(name, label_name, label_value, delta);
  } catch (...) {
    // Out of memory building a key or a label set: the count is lost, the
    // plugin's call goes on.
  }
}

void PluginCounters::add_or_throw(std::string_view name, std::string_view label_name,
                                  std::string_view label_value, uint64_t delta) {
  // One buffer per thread builds the key, so a cache hit allocates nothing.
  thread_local std::string key;
  key.assign(name);
  key.push_back('\0');
  key.append(label_name);
  key.push_back('\0');
  key.append(label_value);
  prometheus::Counter* counter = nullptr;
  {
    std::shared_lock lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end()) {
      if (found->second != nullptr) found->second->Increment(static_cast<double>(delta));
      return;
    }
  }
  // First use: resolve through the registry (its lock), then remember the
  // answer, refusals included.
  counter = metrics_.plugin_counter(instance_name_, name, label_name, label_value);
  {
    // A plugin that labels by an unbounded value (say, every model name) must
    // not grow the cache without end: past the bound, new keys are resolved
    // through the registry each time (slower, still correct).
    constexpr std::size_t kMaxCached = 4096;
    std::unique_lock lock(mutex_);
    if (cache_.size() < kMaxCached) cache_.emplace(key, counter);
  }
  if (counter != nullptr) counter->Increment(static_cast<double>(delta));
}

std::string Metrics::render_text() const {
  const prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, impl_->registry->Collect());
  return out.str();
}

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->registry; }

}  // namespace bbr
