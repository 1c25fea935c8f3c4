// The prompt text bbr_host_api.prompt_text hands a plugin, per endpoint, on the
// shared request fixtures.
#include "body/prompt_text.hpp"
#include "support/prompt_text_corpus.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

using bbr::JsonBody;
using bbr::JsonError;

namespace {

JsonBody fixture(const std::string& name) {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return JsonBody(text.str());
}

std::string prompt(JsonBody body, const std::string& path, JsonError expected = JsonError::kNone) {
  std::string out;
  CHECK(bbr::prompt_text(body, path, out) == expected);
  return out;
}

}  // namespace

TEST_CASE("chat completions: each message's content, one piece per message", "[prompt_text]") {
  CHECK(prompt(fixture("chat-completions.request.json"), "/v1/chat/completions") ==
        "You are a helpful assistant.\nWrite a short review of a ramen place in Kyoto.");
  // Content parts: their "text" only (the image part has none).
  CHECK(prompt(fixture("chat-completions-multimodal.request.json"), "/v1/chat/completions") ==
        "What is in this image?");
  CHECK(prompt(fixture("chat-completions-tools.request.json"), "/v1/chat/completions?x=1") ==
        "What is the weather in Paris?");
}

TEST_CASE("completions and embeddings: a string or a list of strings", "[prompt_text]") {
  CHECK(prompt(fixture("completions.request.json"), "/v1/completions") ==
        "The best ski resort in the Alps is\nThe snow in Utah is");
  CHECK(prompt(fixture("embeddings.request.json"), "/v1/embeddings") ==
        "body based routing\ngateway api inference extension");
  CHECK(prompt(JsonBody(R"({"prompt":"once"})"), "/v1/completions") == "once");
  CHECK(prompt(JsonBody(R"({"input":"one"})"), "/v1/embeddings") == "one");
}

TEST_CASE("responses: instructions, then the input items' text", "[prompt_text]") {
  CHECK(prompt(fixture("responses.request.json"), "/v1/responses") ==
        "Answer in one sentence.\nWhy route on the request body?");
  CHECK(prompt(JsonBody(R"({"input":"plain"})"), "/v1/responses") == "plain");
  CHECK(prompt(JsonBody(R"({"input":[{"role":"user","content":"a"},{"type":"function_call"}]})"),
               "/v1/responses") == "a");
}

TEST_CASE("messages (Anthropic): the system blocks, then each message's text", "[prompt_text]") {
  CHECK(prompt(fixture("messages.request.json"), "/v1/messages") ==
        "You are a terse assistant for platform engineers.\nWhy route on the request body?\n"
        "Because the body names the model.\nAnd what do the headers carry?");
  CHECK(prompt(JsonBody(R"({"system":"s","messages":[{"role":"user","content":"u"}]})"),
               "/anthropic/v1/messages") == "s\nu");
}

TEST_CASE(
    "prompt_text: a gateway prefix is allowed; other endpoints, absent fields and non-JSON "
    "bodies are told apart",
    "[prompt_text]") {
  CHECK(prompt(fixture("completions.request.json"), "/openai/v1/completions") ==
        "The best ski resort in the Alps is\nThe snow in Utah is");
  prompt(fixture("chat-completions.request.json"), "/v1/models", JsonError::kNotFound);
  prompt(fixture("chat-completions.request.json"), "", JsonError::kNotFound);
  prompt(JsonBody(R"({"model":"m"})"), "/v1/chat/completions", JsonError::kNotFound);
  prompt(JsonBody(R"({"model":"m"})"), "/v1/responses", JsonError::kNotFound);
  prompt(JsonBody("not json"), "/v1/chat/completions", JsonError::kNotJson);
  // Present but without text: an empty prompt, not NOT_FOUND.
  CHECK(prompt(JsonBody(R"({"messages":[]})"), "/v1/chat/completions").empty());
  // Duplicate members: the last, as Go decodes them.
  CHECK(prompt(JsonBody(R"({"prompt":"first","prompt":"last"})"), "/v1/completions") == "last");
}

TEST_CASE("prompt_text reads an edited body as it now stands", "[prompt_text]") {
  JsonBody body(R"({"prompt":"before"})");
  REQUIRE(body.set("/prompt", R"(["after","more"])") == JsonError::kNone);
  CHECK(prompt(std::move(body), "/v1/completions") == "after\nmore");
}

TEST_CASE("prompt_text passes the shared corpus (docs/prompt-text.md)", "[prompt_text]") {
  for (const bbr_test::PromptCase& c : bbr_test::prompt_text_corpus()) {
    INFO(c.name);
    JsonBody body(c.body);
    std::string out;
    const JsonError err = bbr::prompt_text(body, c.path, out);
    const std::string status = err == JsonError::kNone       ? "ok"
                               : err == JsonError::kNotFound ? "not_found"
                               : err == JsonError::kNotJson  ? "not_json"
                                                             : "other";
    CHECK(status == c.status);
    if (c.status == "ok") CHECK(out == c.text);
  }
}
