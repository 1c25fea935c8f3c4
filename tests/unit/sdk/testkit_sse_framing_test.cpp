// The test kit gives a stream the same framing the server does: an event
// added at the end never glues onto an unterminated last event. Through the
// kit and a real plugin .so (tests/plugins/stream_test_plugins.c).
#include <bbr/testkit.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("testkit: an event added at the end follows an unterminated last event, [DONE] kept") {
  auto plugin = bbr::testkit::Plugin::load(
      std::string(BBR_TEST_PLUGIN_DIR) + "/stream-test-plugins.so", "test-event-editor",
      R"({"addAtEnd":"{\"tagged\":true}"})");
  for (const auto& pieces : {std::vector<std::string>{"data: {\"n\":1}\n\ndata: [DONE]\n"},
                             std::vector<std::string>{"data: {\"n\":1}\n\nda", "ta: [DONE]\n"}}) {
    auto r = plugin.response_sse({}, pieces);
    const auto events = r.events();
    REQUIRE(events.size() == 3);
    CHECK(events[0].data == R"({"n":1})");
    CHECK(events[1].data == "[DONE]");
    CHECK(events[2].data == R"({"tagged":true})");
  }
}
