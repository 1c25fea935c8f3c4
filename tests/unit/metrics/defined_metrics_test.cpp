// Metrics a plugin instance defines once (metric_define, ABI 1.1) and bumps
// by id: what reaches the Prometheus exposition, and what is refused.
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

using bbr::Metrics;
using bbr::MetricStatus;
using bbr::PluginCounters;
using bbr::PluginMetricSpec;

namespace {

PluginMetricSpec counter(std::string name, std::string label = "") {
  PluginMetricSpec s;
  s.kind = PluginMetricSpec::Kind::kCounter;
  s.name = std::move(name);
  s.help = "test counter";
  s.label_name = std::move(label);
  return s;
}

PluginMetricSpec histogram(std::string name, std::vector<double> buckets = {},
                           std::string label = "") {
  PluginMetricSpec s;
  s.kind = PluginMetricSpec::Kind::kHistogram;
  s.name = std::move(name);
  s.help = "test histogram";
  s.label_name = std::move(label);
  s.buckets = std::move(buckets);
  return s;
}

}  // namespace

TEST_CASE("a defined counter and histogram are bumped by id and exposed with plugin_name",
          "[metrics][defined]") {
  Metrics metrics;
  PluginCounters counters(&metrics, "guard");
  uint32_t requests = 99, sizes = 99, by_model = 99;
  REQUIRE(counters.define(counter("guard_requests_total"), requests) == MetricStatus::kOk);
  REQUIRE(counters.define(histogram("guard_prompt_chars", {10, 100, 1000}), sizes) ==
          MetricStatus::kOk);
  REQUIRE(counters.define(counter("guard_models_total", "model"), by_model) == MetricStatus::kOk);
  CHECK(requests == 0);
  CHECK(sizes == 1);
  CHECK(by_model == 2);

  CHECK(counters.add(requests, "", 2) == MetricStatus::kOk);
  CHECK(counters.add(requests, "", 1) == MetricStatus::kOk);
  CHECK(counters.observe(sizes, "", 50) == MetricStatus::kOk);
  CHECK(counters.add(by_model, "m1", 1) == MetricStatus::kOk);
  CHECK(counters.add(by_model, "m1", 1) == MetricStatus::kOk);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(guard_requests_total{plugin_name="guard"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(guard_prompt_chars_bucket{plugin_name="guard",le="100"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(guard_prompt_chars_count{plugin_name="guard"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(guard_models_total{model="m1",plugin_name="guard"} 2)"));
  CHECK_THAT(text, Catch::Contains("# HELP guard_requests_total test counter"));
}

TEST_CASE("bumping by id refuses an unknown id, the wrong kind and an unwanted label value",
          "[metrics][defined]") {
  Metrics metrics;
  PluginCounters counters(&metrics, "p");
  uint32_t c = 0, h = 0;
  REQUIRE(counters.define(counter("c_total"), c) == MetricStatus::kOk);
  REQUIRE(counters.define(histogram("h_seconds"), h) == MetricStatus::kOk);
  CHECK(counters.add(7, "", 1) == MetricStatus::kInvalid);
  CHECK(counters.observe(c, "", 1.0) == MetricStatus::kInvalid);
  CHECK(counters.add(h, "", 1) == MetricStatus::kInvalid);
  CHECK(counters.add(c, "x", 1) == MetricStatus::kInvalid);
  CHECK(counters.observe(h, "", std::nan("")) == MetricStatus::kInvalid);
  // The default buckets are the host's latency buckets (seconds).
  CHECK(counters.observe(h, "", 0.003) == MetricStatus::kOk);
  CHECK_THAT(metrics.render_text(),
             Catch::Contains(R"(h_seconds_bucket{plugin_name="p",le="0.005"} 1)"));
}

TEST_CASE("metric definitions that conflict or break the naming rules are refused",
          "[metrics][defined]") {
  Metrics metrics;
  PluginCounters a(&metrics, "a");
  PluginCounters b(&metrics, "b");
  uint32_t id = 0;
  CHECK(a.define(counter("no_suffix"), id) == MetricStatus::kInvalid);
  CHECK(a.define(counter("bad name_total"), id) == MetricStatus::kInvalid);
  CHECK(a.define(counter("x_total", "plugin_name"), id) == MetricStatus::kInvalid);
  CHECK(a.define(counter("bbr_success_total"), id) == MetricStatus::kInvalid);
  CHECK(a.define(histogram("bbr_plugin_duration_seconds"), id) == MetricStatus::kInvalid);
  CHECK(a.define(histogram("h", {1, 1}), id) == MetricStatus::kInvalid);
  CHECK(a.define(histogram("h", {2, 1}), id) == MetricStatus::kInvalid);

  // The same name in another instance is the same family; plugin_name tells
  // the series apart.
  uint32_t ia = 0, ib = 0;
  REQUIRE(a.define(histogram("shared_seconds", {1, 2}), ia) == MetricStatus::kOk);
  REQUIRE(b.define(histogram("shared_seconds", {1, 2}), ib) == MetricStatus::kOk);
  CHECK(a.observe(ia, "", 1) == MetricStatus::kOk);
  CHECK(b.observe(ib, "", 1) == MetricStatus::kOk);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(shared_seconds_count{plugin_name="a"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(shared_seconds_count{plugin_name="b"} 1)"));
  // ... but not with other buckets, another label or another kind.
  CHECK(b.define(histogram("shared_seconds", {1, 3}), id) == MetricStatus::kInvalid);
  CHECK(b.define(histogram("shared_seconds", {1, 2}, "model"), id) == MetricStatus::kInvalid);
  uint32_t ct = 0;
  REQUIRE(a.define(counter("kind_total"), ct) == MetricStatus::kOk);
  CHECK(b.define(histogram("kind_total"), id) == MetricStatus::kInvalid);
}

TEST_CASE("a counter counted by name (ABI 1.0) and defined by id is one family",
          "[metrics][defined]") {
  Metrics metrics;
  PluginCounters counters(&metrics, "p");
  counters.add("mixed_total", "", "", 1);
  uint32_t id = 0;
  REQUIRE(counters.define(counter("mixed_total"), id) == MetricStatus::kOk);
  CHECK(counters.add(id, "", 1) == MetricStatus::kOk);
  CHECK_THAT(metrics.render_text(), Catch::Contains(R"(mixed_total{plugin_name="p"} 2)"));
}

TEST_CASE("without a registry definitions are checked and ids handed out, nothing counted",
          "[metrics][defined]") {
  PluginCounters counters(nullptr, "p");
  uint32_t id = 5;
  CHECK(counters.define(counter("no_suffix"), id) == MetricStatus::kInvalid);
  REQUIRE(counters.define(counter("ok_total"), id) == MetricStatus::kOk);
  CHECK(id == 0);
  CHECK(counters.add(id, "", 1) == MetricStatus::kOk);
  CHECK(counters.observe(id, "", 1) == MetricStatus::kInvalid);
}

TEST_CASE("defined metrics are bumped from many threads while others are defined",
          "[metrics][defined]") {
  Metrics metrics;
  PluginCounters counters(&metrics, "p");
  uint32_t id = 0;
  REQUIRE(counters.define(counter("busy_total", "worker"), id) == MetricStatus::kOk);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counters, id, t] {
      for (int i = 0; i < 1000; ++i) counters.add(id, t % 2 ? "odd" : "even", 1);
    });
  }
  threads.emplace_back([&counters] {
    for (int i = 0; i < 50; ++i) {
      uint32_t other = 0;
      counters.define(counter("more_" + std::to_string(i) + "_total"), other);
    }
  });
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(busy_total{plugin_name="p",worker="even"} 2000)"));
  CHECK_THAT(text, Catch::Contains(R"(busy_total{plugin_name="p",worker="odd"} 2000)"));
}
