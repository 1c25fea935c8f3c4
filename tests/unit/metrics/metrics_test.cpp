#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using bbr::Metrics;

TEST_CASE("a plugin counter is created on first use with plugin_name and its own label",
          "[metrics]") {
  Metrics metrics;
  metrics.plugin_counter_add("model-extractor", "bbr_body_field_not_found_total", "field", "model",
                             2);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains("# HELP bbr_body_field_not_found_total [ALPHA] Count of times "
                                   "a field wasn't found in a request body."));
  CHECK_THAT(text, Catch::Contains("# TYPE bbr_body_field_not_found_total counter"));
  CHECK_THAT(text, Catch::Contains(
                       R"(bbr_body_field_not_found_total{field="model",plugin_name="model-extractor"} 2)"));
}

TEST_CASE("a plugin counter without a label carries only plugin_name", "[metrics]") {
  Metrics metrics;
  metrics.plugin_counter_add("p", "my_plugin_events_total", "", "", 1);
  metrics.plugin_counter_add("p", "my_plugin_events_total", "", "", 4);
  CHECK_THAT(metrics.render_text(), Catch::Contains(R"(my_plugin_events_total{plugin_name="p"} 5)"));
}

TEST_CASE("invalid plugin counter names and labels are dropped, never thrown", "[metrics]") {
  Metrics metrics;
  CHECK_NOTHROW(metrics.plugin_counter_add("p", "not a metric name", "", "", 1));
  CHECK_NOTHROW(metrics.plugin_counter_add("p", "good_total", "bad label", "x", 1));
  CHECK_NOTHROW(metrics.plugin_counter_add("p", "good_total", "plugin_name", "spoof", 1));
  // A name the host already uses for another type.
  CHECK_NOTHROW(metrics.plugin_counter_add("p", "bbr_plugin_duration_seconds", "", "", 1));
  const std::string text = metrics.render_text();
  CHECK_THAT(text, !Catch::Contains("not a metric name"));
  CHECK_THAT(text, !Catch::Contains("spoof"));
}

TEST_CASE("the reference's own metrics carry its names, help texts and buckets", "[metrics]") {
  Metrics metrics;
  metrics.set_build_info("abc123", "main");
  metrics.record_success();
  metrics.record_success();
  metrics.observe_plugin_duration("request", "body-field-to-header", "model", 0.0003);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains("# HELP bbr_info [ALPHA] General information of the current "
                                   "build of BBR."));
  CHECK_THAT(text, Catch::Contains(R"(bbr_info{build_ref="main",commit="abc123"} 1)"));
  CHECK_THAT(text, Catch::Contains("# HELP bbr_success_total [ALPHA] Count of time the request "
                                   "was processed successfully."));
  CHECK_THAT(text, Catch::Contains("bbr_success_total 2"));
  CHECK_THAT(text, Catch::Contains(
                       R"(bbr_plugin_duration_seconds_bucket{extension_point="request",plugin_name="model",plugin_type="body-field-to-header",le="0.0002"} 0)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(bbr_plugin_duration_seconds_bucket{extension_point="request",plugin_name="model",plugin_type="body-field-to-header",le="0.0005"} 1)"));
  CHECK_THAT(text, Catch::Contains(
                       R"(bbr_plugin_duration_seconds_count{extension_point="request",plugin_name="model",plugin_type="body-field-to-header"} 1)"));
}

TEST_CASE("plugin counters are safe to add from many threads at once", "[metrics]") {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics.plugin_counter_add("p", "concurrent_total", "worker", t % 2 ? "odd" : "even", 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(concurrent_total{plugin_name="p",worker="even"} 4000)"));
  CHECK_THAT(text, Catch::Contains(R"(concurrent_total{plugin_name="p",worker="odd"} 4000)"));
}

TEST_CASE("an instance's call metrics are resolved once and record without a label lookup",
          "[metrics]") {
  Metrics metrics;
  bbr::PluginCallMetrics timed =
      metrics.plugin_call_metrics("request", "body-field-to-header", "model", "FailOpen", true);
  bbr::PluginCallMetrics untimed =
      metrics.plugin_call_metrics("response", "t", "r", "FailClose", false);
  CHECK(timed.enabled());
  timed.observe_duration(0.0003);
  timed.count_failure();
  timed.count_timeout();
  timed.count_timeout();
  untimed.count_timeout();  // no timeout configured: a no-op, no series
  const std::string text = metrics.render_text();
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_duration_seconds_bucket{extension_point="request",plugin_name="model",plugin_type="body-field-to-header",le="0.0005"} 1)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_failures_total{extension_point="request",plugin_name="model",plugin_type="body-field-to-header",policy="FailOpen"} 1)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_timeouts_total{extension_point="request",plugin_name="model",plugin_type="body-field-to-header"} 2)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_plugin_failures_total{extension_point="response",plugin_name="r",plugin_type="t",policy="FailClose"} 0)"));
  CHECK_THAT(text, !Catch::Contains(R"(bbr_plugin_timeouts_total{extension_point="response")"));
  // The same labels resolve to the same series.
  metrics.plugin_call_metrics("request", "body-field-to-header", "model", "FailOpen", true)
      .count_failure();
  CHECK_THAT(
      metrics.render_text(),
      Catch::Contains(
          R"(bbr_plugin_failures_total{extension_point="request",plugin_name="model",plugin_type="body-field-to-header",policy="FailOpen"} 2)"));
}

TEST_CASE("default call metrics (no registry) record nothing and do not crash", "[metrics]") {
  bbr::PluginCallMetrics none;
  CHECK_FALSE(none.enabled());
  none.observe_duration(1.0);
  none.count_failure();
  none.count_timeout();
}

TEST_CASE("an instance's counter cache adds to the same series as the registry", "[metrics]") {
  Metrics metrics;
  bbr::PluginCounters counters(&metrics, "model-extractor");
  counters.add("bbr_body_field_not_found_total", "field", "model", 1);
  counters.add("bbr_body_field_not_found_total", "field", "model", 2);
  counters.add("bbr_body_field_not_found_total", "field", "prompt", 1);
  metrics.plugin_counter_add("model-extractor", "bbr_body_field_not_found_total", "field", "model",
                             1);
  const std::string text = metrics.render_text();
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_body_field_not_found_total{field="model",plugin_name="model-extractor"} 4)"));
  CHECK_THAT(
      text,
      Catch::Contains(
          R"(bbr_body_field_not_found_total{field="prompt",plugin_name="model-extractor"} 1)"));
}

TEST_CASE("an instance's counter cache drops refused counters every time, never throws",
          "[metrics]") {
  Metrics metrics;
  bbr::PluginCounters counters(&metrics, "p");
  for (int i = 0; i < 3; ++i) {
    CHECK_NOTHROW(counters.add("not a metric name", "", "", 1));
    CHECK_NOTHROW(counters.add("good_total", "plugin_name", "spoof", 1));
    CHECK_NOTHROW(counters.add("bbr_plugin_duration_seconds", "", "", 1));
  }
  counters.add("good_total", "", "", 1);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, !Catch::Contains("not a metric name"));
  CHECK_THAT(text, !Catch::Contains("spoof"));
  CHECK_THAT(text, Catch::Contains(R"(good_total{plugin_name="p"} 1)"));
}

TEST_CASE("an instance's counter cache is safe to use from many threads at once", "[metrics]") {
  Metrics metrics;
  bbr::PluginCounters counters(&metrics, "p");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&counters, t] {
      for (int i = 0; i < 1000; ++i)
        counters.add("cached_total", "worker", t % 2 ? "odd" : "even", 1);
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(cached_total{plugin_name="p",worker="even"} 4000)"));
  CHECK_THAT(text, Catch::Contains(R"(cached_total{plugin_name="p",worker="odd"} 4000)"));
}
