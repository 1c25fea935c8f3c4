#include "metrics/metrics.hpp"

#include "log/log.hpp"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>
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

  // Families plugins defined with metric_define (ABI 1.1), by name: what they
  // were defined as, so a second definition must agree. Same mutex.
  struct DefinedFamily {
    PluginMetricSpec spec;
    void* family;  // Family<Counter>* or Family<Histogram>*, by spec.kind
  };
  std::map<std::string, DefinedFamily, std::less<>> defined_families;
};

namespace {

// Names the host registers itself: a plugin may not define them.
bool is_host_metric_name(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "bbr_info",       "bbr_success_total",           "bbr_plugin_duration_seconds",
      "bbr_plugin_failures_total", "bbr_plugin_timeouts_total", "bbr_shed_total",
      "bbr_malformed_messages_total"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

// The default buckets of a plugin histogram (seconds, for latencies).
const std::vector<double>& default_plugin_buckets() {
  static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,   5,     10};
  return kBuckets;
}

}  // namespace

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

void* Metrics::plugin_metric_family(const PluginMetricSpec& spec, std::string& why) {
  using Kind = PluginMetricSpec::Kind;
  if (!prometheus::CheckMetricName(spec.name)) {
    why = "not a Prometheus metric name";
    return nullptr;
  }
  if (is_host_metric_name(spec.name)) {
    why = "the host's own metric";
    return nullptr;
  }
  if (!spec.label_name.empty() &&
      (!prometheus::CheckLabelName(spec.label_name) || spec.label_name == "plugin_name" ||
       (spec.kind == Kind::kHistogram && spec.label_name == "le"))) {
    why = "label name not allowed";
    return nullptr;
  }
  std::lock_guard lock(impl_->plugin_mutex);
  auto found = impl_->defined_families.find(spec.name);
  if (found != impl_->defined_families.end()) {
    const PluginMetricSpec& first = found->second.spec;
    if (first.kind != spec.kind || first.label_name != spec.label_name ||
        first.buckets != spec.buckets) {
      why = "already defined with another kind, label or buckets";
      return nullptr;
    }
    return found->second.family;
  }
  void* family = nullptr;
  try {
    if (spec.kind == Kind::kCounter) {
      // A name a 1.0 plugin counted with counter_add is the same family.
      auto counted = impl_->plugin_families.find(spec.name);
      if (counted != impl_->plugin_families.end()) {
        family = counted->second;
      } else {
        auto* f = &prometheus::BuildCounter()
                       .Name(spec.name)
                       .Help(spec.help.empty() ? help_for_plugin_counter(spec.name) : spec.help)
                       .Register(*impl_->registry);
        impl_->plugin_families.emplace(spec.name, f);
        family = f;
      }
    } else {
      if (impl_->plugin_families.count(spec.name) != 0) {
        why = "already a counter";
        return nullptr;
      }
      family = &prometheus::BuildHistogram()
                    .Name(spec.name)
                    .Help(spec.help.empty() ? "Histogram defined by a bbr-host plugin." : spec.help)
                    .Register(*impl_->registry);
    }
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
  impl_->defined_families.emplace(spec.name, Impl::DefinedFamily{spec, family});
  return family;
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

// One metric_define'd metric of an instance. Everything but the label cache
// is set before the slot is published and never changes after.
struct PluginCounters::Defined {
  PluginMetricSpec::Kind kind;
  bool labelled = false;
  std::string label_name;
  prometheus::Family<prometheus::Counter>* counter_family = nullptr;
  prometheus::Family<prometheus::Histogram>* histogram_family = nullptr;
  prometheus::Histogram::BucketBoundaries buckets;
  void* series = nullptr;  // unlabelled: the Counter* or Histogram*
  // labelled: label value -> series, bounded like the counter_add cache
  std::shared_mutex mutex;
  std::unordered_map<std::string, void*> by_label;
};

PluginCounters::PluginCounters(Metrics* metrics, std::string instance_name)
    : metrics_(metrics), instance_name_(std::move(instance_name)) {}

PluginCounters::~PluginCounters() = default;

MetricStatus PluginCounters::define(const PluginMetricSpec& spec, uint32_t& id_out) noexcept {
  using Kind = PluginMetricSpec::Kind;
  try {
    if (spec.kind == Kind::kCounter) {
      constexpr std::string_view kSuffix = "_total";
      if (spec.name.size() <= kSuffix.size() ||
          spec.name.compare(spec.name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0 ||
          !spec.buckets.empty()) {
        return MetricStatus::kInvalid;
      }
    } else {
      for (std::size_t i = 0; i < spec.buckets.size(); ++i) {
        if (!std::isfinite(spec.buckets[i]) || (i > 0 && spec.buckets[i] <= spec.buckets[i - 1])) {
          return MetricStatus::kInvalid;
        }
      }
    }
    auto metric = std::make_unique<Defined>();
    metric->kind = spec.kind;
    metric->labelled = !spec.label_name.empty();
    metric->label_name = spec.label_name;
    metric->buckets = spec.buckets.empty() ? default_plugin_buckets() : spec.buckets;
    PluginMetricSpec resolved = spec;
    resolved.buckets = metric->buckets;
    if (metrics_ != nullptr) {
      std::string why;
      void* family = metrics_->plugin_metric_family(resolved, why);
      if (family == nullptr) {
        log::warn("plugin {}: metric {:?} refused: {}", instance_name_, spec.name, why);
        return MetricStatus::kInvalid;
      }
      prometheus::Labels labels{{"plugin_name", instance_name_}};
      if (spec.kind == Kind::kCounter) {
        metric->counter_family = static_cast<prometheus::Family<prometheus::Counter>*>(family);
        if (!metric->labelled) metric->series = &metric->counter_family->Add(labels);
      } else {
        metric->histogram_family = static_cast<prometheus::Family<prometheus::Histogram>*>(family);
        if (!metric->labelled) {
          metric->series = &metric->histogram_family->Add(labels, metric->buckets);
        }
      }
    } else if (!prometheus::CheckMetricName(spec.name) || is_host_metric_name(spec.name) ||
               (!spec.label_name.empty() && (!prometheus::CheckLabelName(spec.label_name) ||
                                             spec.label_name == "plugin_name"))) {
      return MetricStatus::kInvalid;  // the same checks without a registry
    }
    std::lock_guard lock(define_mutex_);
    uint32_t id = defined_count_.load(std::memory_order_relaxed);
    if (id >= kMaxDefinitions) return MetricStatus::kInvalid;
    defined_[id] = std::move(metric);
    defined_count_.store(id + 1, std::memory_order_release);
    id_out = id;
    return MetricStatus::kOk;
  } catch (...) {
    return MetricStatus::kInternal;
  }
}

void* PluginCounters::labelled_series(Defined& metric, std::string_view label_value) {
  thread_local std::string key;
  key.assign(label_value);
  {
    std::shared_lock lock(metric.mutex);
    auto found = metric.by_label.find(key);
    if (found != metric.by_label.end()) return found->second;
  }
  if (metrics_ == nullptr) return nullptr;
  // First use of this value: Family::Add takes that family's own lock.
  prometheus::Labels labels{{"plugin_name", instance_name_}};
  void* series = nullptr;
  labels.emplace(metric.label_name, key);
  if (metric.kind == PluginMetricSpec::Kind::kCounter) {
    series = &metric.counter_family->Add(labels);
  } else {
    series = &metric.histogram_family->Add(labels, metric.buckets);
  }
  constexpr std::size_t kMaxCached = 4096;
  std::unique_lock lock(metric.mutex);
  if (metric.by_label.size() < kMaxCached) metric.by_label.emplace(key, series);
  return series;
}

namespace {

// A write by id fits a defined metric of the same kind; an unlabelled metric
// takes no label value, a labelled one takes any (an empty value is
// Prometheus's "no value"). A template: PluginCounters::Defined is private.
template <typename DefinedMetric>
bool write_fits(const DefinedMetric& metric, PluginMetricSpec::Kind kind,
                std::string_view label_value) {
  return metric.kind == kind && (metric.labelled || label_value.empty());
}

}  // namespace

MetricStatus PluginCounters::add(uint32_t id, std::string_view label_value,
                                 uint64_t delta) noexcept {
  if (id >= defined_count_.load(std::memory_order_acquire)) return MetricStatus::kInvalid;
  Defined& metric = *defined_[id];
  if (!write_fits(metric, PluginMetricSpec::Kind::kCounter, label_value)) {
    return MetricStatus::kInvalid;
  }
  try {
    void* series = metric.labelled ? labelled_series(metric, label_value) : metric.series;
    if (series != nullptr) {
      static_cast<prometheus::Counter*>(series)->Increment(static_cast<double>(delta));
    }
    return MetricStatus::kOk;
  } catch (...) {
    return MetricStatus::kInternal;
  }
}

MetricStatus PluginCounters::observe(uint32_t id, std::string_view label_value,
                                     double value) noexcept {
  if (id >= defined_count_.load(std::memory_order_acquire)) return MetricStatus::kInvalid;
  Defined& metric = *defined_[id];
  if (!write_fits(metric, PluginMetricSpec::Kind::kHistogram, label_value)) {
    return MetricStatus::kInvalid;
  }
  if (std::isnan(value)) return MetricStatus::kInvalid;
  try {
    void* series = metric.labelled ? labelled_series(metric, label_value) : metric.series;
    if (series != nullptr) static_cast<prometheus::Histogram*>(series)->Observe(value);
    return MetricStatus::kOk;
  } catch (...) {
    return MetricStatus::kInternal;
  }
}

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
  if (metrics_ == nullptr) return;
  counter = metrics_->plugin_counter(instance_name_, name, label_name, label_value);
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
