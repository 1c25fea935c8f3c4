// affinity, loaded from its real .so and run through the SDK test kit; its
// key logic (affinity_key.hpp) also on its own.
#include "request_harness.hpp"

#include "affinity/affinity_key.hpp"

#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

constexpr const char* kHeader = "X-Gateway-Affinity-Key";

std::string hex_of(std::string_view text) {
  bbr_plugins::StableHash hash;
  hash.add(text);
  return hash.hex();
}

// A conversation's first and second turns.
const char* kTurnOne =
    R"({"model":"m","messages":[{"role":"system","content":"You are a pirate."},)"
    R"({"role":"user","content":"Hello there"}]})";
const char* kTurnTwo =
    R"({"model":"m","messages":[{"role":"system","content":"You are a pirate."},)"
    R"({"role":"user","content":"Hello there"},{"role":"assistant","content":"Arr!"},)"
    R"({"role":"user","content":"Where is the treasure?"}]})";

}  // namespace

TEST_CASE("stable hash: FNV-1a 64 with its published test values, as 16 hex digits",
          "[affinity]") {
  CHECK(bbr_plugins::stable_hash("") == 14695981039346656037ull);
  CHECK(bbr_plugins::stable_hash("a") == 0xaf63dc4c8601ec8cull);
  CHECK(hex_of("foobar") == "85944171f73967e8");
  bbr_plugins::StableHash pieces;
  pieces.add("foo");
  pieces.add("bar");
  CHECK(pieces.hex() == "85944171f73967e8");
}

TEST_CASE("affinity: two turns of one conversation get the same key, another conversation not",
          "[affinity]") {
  auto one = run_one("affinity", "", kTurnOne);
  auto two = run_one("affinity", "", kTurnTwo);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  REQUIRE(one.header(kHeader));
  CHECK(one.header(kHeader) == two.header(kHeader));
  // System prompt first, then the first other message, joined by "\n".
  CHECK(one.header(kHeader) == hex_of("You are a pirate.\nHello there"));
  CHECK_FALSE(one.body_changed);
  auto other = run_one(
      "affinity", "",
      R"({"model":"m","messages":[{"role":"system","content":"You are a pirate."},)"
      R"({"role":"user","content":"Another chat"}]})");
  CHECK(other.header(kHeader) != one.header(kHeader));
}

TEST_CASE("affinity: the system prompt is hashed first wherever it stands", "[affinity]") {
  auto late_system = run_one(
      "affinity", "",
      R"({"messages":[{"role":"user","content":"Hello there"},)"
      R"({"role":"developer","content":"You are a pirate."}]})");
  CHECK(late_system.header(kHeader) == hex_of("You are a pirate.\nHello there"));
  // Anthropic Messages: top-level system blocks; Responses API: instructions.
  auto anthropic = run_one(
      "affinity", "",
      R"({"system":[{"type":"text","text":"You are a pirate."}],)"
      R"("messages":[{"role":"user","content":[{"type":"text","text":"Hello there"}]}]})",
      {}, "/v1/messages");
  CHECK(anthropic.header(kHeader) == hex_of("You are a pirate.\nHello there"));
  auto responses = run_one(
      "affinity", "", R"({"instructions":"You are a pirate.","input":"Hello there"})", {},
      "/v1/responses");
  CHECK(responses.header(kHeader) == hex_of("You are a pirate.\nHello there"));
}

TEST_CASE("affinity: the first source present wins, in the configured order", "[affinity]") {
  const std::string body =
      R"({"model":"m","prompt_cache_key":"pck-1","user":"u-7",)"
      R"("messages":[{"role":"user","content":"hi"}]})";
  CHECK(run_one("affinity", "", body, {{"x-session-id", "s-9"}}).header(kHeader) ==
        hex_of("pck-1"));
  CHECK(run_one("affinity", R"({"sources":["session_header","user"]})", body,
                {{"x-session-id", "s-9"}})
            .header(kHeader) == hex_of("s-9"));
  CHECK(run_one("affinity", R"({"sources":["session_header","user"]})", body).header(kHeader) ==
        hex_of("u-7"));
  CHECK(run_one("affinity", R"({"sources":["user"],"hashIdentifiers":false,"header":"x-key"})",
                body)
            .header("x-key") == "u-7");
  // An empty identifier is absent.
  CHECK(run_one("affinity", R"({"sources":["user","prompt"]})",
                R"({"user":"","messages":[{"role":"user","content":"hi"}]})")
            .header(kHeader) == hex_of("hi"));
}

TEST_CASE("affinity: no source present sets nothing and is counted as none", "[affinity]") {
  bbr::testkit::Chain chain({plugin_test::load("affinity", R"({"sources":["user"]})")});
  auto result = chain.request({}, R"({"model":"m"})");
  CHECK_FALSE(result.header(kHeader));
  CHECK(result.counter("bbr_affinity_keys_total", "none") == 1);
  auto keyed = chain.request({}, R"({"model":"m","user":"u"})");
  CHECK(keyed.counter("bbr_affinity_keys_total", "user") == 1);
}

TEST_CASE("affinity: prompt by characters hashes the first N characters, system prompt first",
          "[affinity]") {
  const std::string params = R"({"sources":["prompt"],"prompt":{"characters":8}})";
  // "You are a pirate." cut at 8 characters: "You are ".
  CHECK(run_one("affinity", params, kTurnOne).header(kHeader) == hex_of("You are "));
  // Characters, not bytes: a two-byte character is kept whole.
  CHECK(run_one("affinity", R"({"sources":["prompt"],"prompt":{"characters":2}})",
                R"({"prompt":"\u00e9t\u00e9"})", {}, "/v1/completions")
            .header(kHeader) == hex_of("\xC3\xA9t"));
}

TEST_CASE("affinity: messages: 0 hashes the system prompt alone, and nothing without one",
          "[affinity]") {
  const std::string params = R"({"prompt":{"messages":0}})";
  CHECK(run_one("affinity", params, kTurnOne).header(kHeader) == hex_of("You are a pirate."));
  CHECK_FALSE(run_one("affinity", params, R"({"messages":[{"role":"user","content":"x"}]})")
                  .header(kHeader));
}

TEST_CASE("affinity: a raw identifier with CR/LF is the client's 400", "[affinity]") {
  auto run = run_one("affinity", R"({"hashIdentifiers":false})",
                     R"({"user":"a\r\nX-Injected: 1","messages":[]})");
  CHECK(run.rejected);
  CHECK(run.status == 400);
}

TEST_CASE("affinity: parameters are checked by the schema and the header name", "[affinity]") {
  CHECK(load_error("affinity", "") == "(created)");
  CHECK_THAT(load_error("affinity", R"({"sources":["cookie"]})"), Contains("sources[0]"));
  CHECK_THAT(load_error("affinity", R"({"sources":[]})"), Contains("sources"));
  CHECK_THAT(load_error("affinity", R"({"prompt":{"messages":1,"characters":5}})"),
             Contains("prompt"));
  CHECK_THAT(load_error("affinity", R"({"prompt":{"characters":0}})"), Contains("prompt"));
  CHECK_THAT(load_error("affinity", R"({"header":"bad header"})"),
             Contains("not a valid HTTP header name"));
  CHECK_THAT(load_error("affinity", R"({"hedaer":"x"})"), Contains("hedaer"));
}
