// The shared prompt-text corpus through a real plugin (test-prompt-reader),
// once through the host's prompt_text call and once through the SDK-side
// fallback (plugins/common/request_text.hpp) that plugins use on a host
// without it: both must give the corpus's answers (docs/prompt-text.md).
#include "request_harness.hpp"
#include "support/prompt_text_corpus.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace {

void run_corpus(bool fallback) {
  for (const bbr_test::PromptCase& c : bbr_test::prompt_text_corpus()) {
    if (!c.plugins_run) continue;
    INFO(c.name);
    auto reader = bbr::testkit::Plugin::load(std::string(BBR_TEST_PLUGIN_DIR) + "/test-plugins.so",
                                             "test-prompt-reader",
                                             fallback ? R"({"fallback":true})" : "{}", "reader");
    plugin_test::RequestRun run = plugin_test::run_on({std::move(reader)}, c.body, {}, c.path);
    REQUIRE(run.ok());
    CHECK(run.header("x-prompt-status").value_or("(unset)") == c.status);
    if (c.status == "ok") {
      // The plugin sends the text as a JSON string (a header holds no newline).
      const auto text = nlohmann::json::parse(run.header("x-prompt-text").value_or("null"));
      CHECK(text == c.text);
    }
  }
}

}  // namespace

TEST_CASE("the host's prompt_text passes the shared corpus through a plugin", "[prompt_text]") {
  run_corpus(/*fallback=*/false);
}

TEST_CASE("the SDK-side prompt-text fallback passes the shared corpus", "[prompt_text]") {
  run_corpus(/*fallback=*/true);
}
