// model-rewrite, loaded from its real .so and run through the SDK test kit; its
// rule logic (rewrite_rules.hpp) also on its own.
#include "request_harness.hpp"

#include "model-rewrite/rewrite_rules.hpp"

#include <nlohmann/json.hpp>

#include <map>

using Catch::Matchers::Contains;
using plugin_test::create_error;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

std::string model_of(const std::string& body) { return nlohmann::json::parse(body).at("model"); }

const char* kCanary = R"({"rules":[{"match":{"exact":"chat"},
  "targets":[{"model":"chat-v1","weight":90},{"model":"chat-v2","weight":10}]}]})";

}  // namespace

TEST_CASE("model-rewrite declares a request, thread-safe type with a parameter schema",
          "[model-rewrite]") {
  const auto& ref = plugin_test::plugin_type("model-rewrite");
  CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_RESPONSE) == 0);
  REQUIRE(ref.type->parameters_schema != nullptr);
  CHECK(nlohmann::json::parse(ref.type->parameters_schema).at("required") ==
        nlohmann::json::array({"rules"}));
}

TEST_CASE(
    "model-rewrite: an exact rule rewrites the body's model, records the original and "
    "routes on the new one",
    "[model-rewrite]") {
  auto run = run_one("model-rewrite",
                     R"({"rules":[{"match":{"exact":"gpt-4"},"target":"llama-3-70b"}],
                         "originalModelHeader":"X-Original-Model"})",
                     R"({"model":"gpt-4","messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(run.ok());
  CHECK(model_of(run.body) == "llama-3-70b");
  CHECK(nlohmann::json::parse(run.body).at("messages").size() == 1);
  CHECK(run.header("X-Original-Model") == "gpt-4");
  CHECK(run.header("X-Gateway-Model-Name") == "llama-3-70b");
}

TEST_CASE("model-rewrite: no matching rule leaves the body alone and still routes on the model",
          "[model-rewrite]") {
  auto run = run_one("model-rewrite",
                     R"({"rules":[{"match":{"exact":"gpt-4"},"target":"x"}],
                         "originalModelHeader":"X-Original-Model"})",
                     R"({"model":"mistral"})");
  REQUIRE(run.ok());
  CHECK_FALSE(run.body_changed);
  CHECK_FALSE(run.touched("X-Original-Model"));
  CHECK(run.header("X-Gateway-Model-Name") == "mistral");
}

TEST_CASE("model-rewrite: the routing header is configurable and can be left unset",
          "[model-rewrite]") {
  const std::string rules = R"("rules":[{"match":{"prefix":"a"},"target":"b"}])";
  auto named =
      run_one("model-rewrite", "{" + rules + R"(,"routingHeader":"X-Route"})", R"({"model":"a1"})");
  CHECK(named.header("X-Route") == "b");
  CHECK_FALSE(named.touched("X-Gateway-Model-Name"));
  auto none =
      run_one("model-rewrite", "{" + rules + R"(,"setRoutingHeader":false})", R"({"model":"a1"})");
  CHECK(model_of(none.body) == "b");
  CHECK(none.headers_untouched());
}

TEST_CASE("model-rewrite: prefix and regex rules, the first matching rule wins",
          "[model-rewrite]") {
  const std::string params = R"json({"rules":[
      {"match":{"prefix":"llama-3-"},"target":"meta-llama-3"},
      {"match":{"regex":"llama-(\\d+)-(.*)"},"target":"meta/llama\\1-\\2"},
      {"match":{"regex":"LLAMA.*","caseInsensitive":true},"target":"fallback"}]})json";
  CHECK(model_of(run_one("model-rewrite", params, R"({"model":"llama-3-8b"})").body) ==
        "meta-llama-3");
  CHECK(model_of(run_one("model-rewrite", params, R"({"model":"llama-2-13b"})").body) ==
        "meta/llama2-13b");
  CHECK(model_of(run_one("model-rewrite", params, R"({"model":"Llama-two"})").body) == "fallback");
  // A regex must match the whole name: "my-llama-2-x" is not "llama-(\d+)-(.*)".
  CHECK(model_of(run_one("model-rewrite", params, R"({"model":"my-llama-2-x"})").body) ==
        "my-llama-2-x");
}

TEST_CASE("model-rewrite: exact and prefix rules are case-sensitive unless told otherwise",
          "[model-rewrite]") {
  CHECK(model_of(run_one("model-rewrite", R"({"rules":[{"match":{"exact":"GPT-4"},"target":"x"}]})",
                         R"({"model":"gpt-4"})")
                     .body) == "gpt-4");
  CHECK(
      model_of(
          run_one("model-rewrite",
                  R"({"rules":[{"match":{"exact":"GPT-4","caseInsensitive":true},"target":"x"}]})",
                  R"({"model":"gpt-4"})")
              .body) == "x");
  CHECK(model_of(
            run_one("model-rewrite",
                    R"({"rules":[{"match":{"prefix":"GPT","caseInsensitive":true},"target":"x"}]})",
                    R"({"model":"gpt-4"})")
                .body) == "x");
}

TEST_CASE("model-rewrite: a canary split is the same for the same x-request-id",
          "[model-rewrite]") {
  auto plugin = plugin_test::load("model-rewrite", kCanary);
  for (const char* id : {"req-1", "req-2", "7f3c0c1e-5b1a-4d8e-9d7e-0a1b2c3d4e5f"}) {
    std::string first;
    for (int i = 0; i < 20; ++i) {
      auto run = plugin_test::run_on({plugin}, R"({"model":"chat"})", {{"x-request-id", id}});
      REQUIRE(run.ok());
      if (i == 0) first = model_of(run.body);
      CHECK(model_of(run.body) == first);
      CHECK(run.header("X-Gateway-Model-Name") == first);
    }
  }
}

TEST_CASE("model-rewrite: a 90/10 canary split sends about 90% of request ids to the first target",
          "[model-rewrite]") {
  auto plugin = plugin_test::load("model-rewrite", kCanary);
  std::map<std::string, int> seen;
  for (int i = 0; i < 2000; ++i) {
    auto run = plugin_test::run_on({plugin}, R"({"model":"chat"})",
                                   {{"x-request-id", "id-" + std::to_string(i)}});
    ++seen[model_of(run.body)];
  }
  CHECK(seen.size() == 2);
  // FNV-1a of these ids is fixed, so this count is too; the bounds say "about 90%".
  CHECK(seen["chat-v1"] > 1700);
  CHECK(seen["chat-v1"] < 1900);
}

TEST_CASE(
    "model-rewrite: without a request id the split is random over the weights, never a 0 weight",
    "[model-rewrite]") {
  auto plugin = plugin_test::load("model-rewrite", R"({"rules":[{"match":{"exact":"m"},"targets":[
        {"model":"never","weight":0},{"model":"a","weight":1},{"model":"b","weight":1}]}]})");
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i)
    ++seen[model_of(plugin_test::run_on({plugin}, R"({"model":"m"})").body)];
  CHECK(seen.count("never") == 0);
  CHECK(seen["a"] + seen["b"] == 200);
  // 200 fair draws all landing on one side has probability 2^-199.
  CHECK(seen["a"] > 0);
  CHECK(seen["b"] > 0);
}

TEST_CASE("model-rewrite: the request id header is configurable", "[model-rewrite]") {
  auto plugin = plugin_test::load(
      "model-rewrite", R"({"requestIdHeader":"x-session","rules":[{"match":{"exact":"m"},"targets":[
        {"model":"a","weight":1},{"model":"b","weight":1}]}]})");
  std::map<std::string, int> seen;
  for (int i = 0; i < 20; ++i)
    ++seen[model_of(
        plugin_test::run_on({plugin}, R"({"model":"m"})", {{"x-session", "s-42"}}).body)];
  CHECK(seen.size() == 1);
}

TEST_CASE("model-rewrite: a retired model is redirected with a header saying so",
          "[model-rewrite]") {
  const char* params = R"({"retiredHeader":"X-Model-Retired","rules":[
      {"match":{"exact":"text-davinci-003"},"target":"gpt-3.5-turbo-instruct","retired":true},
      {"match":{"exact":"gpt-4"},"target":"gpt-4o"}]})";
  auto retired = run_one("model-rewrite", params, R"({"model":"text-davinci-003","prompt":"x"})");
  CHECK(model_of(retired.body) == "gpt-3.5-turbo-instruct");
  CHECK(retired.header("X-Model-Retired") == "text-davinci-003 -> gpt-3.5-turbo-instruct");
  auto plain = run_one("model-rewrite", params, R"({"model":"gpt-4"})");
  CHECK(model_of(plain.body) == "gpt-4o");
  CHECK_FALSE(plain.touched("X-Model-Retired"));
}

TEST_CASE("model-rewrite: a request without a string model is passed on untouched",
          "[model-rewrite]") {
  const char* params = R"({"rules":[{"match":{"regex":".*"},"target":"x"}]})";
  for (const char* body : {R"({"prompt":"hi"})", R"({"model":42})", R"({"model":""})"}) {
    auto run = run_one("model-rewrite", params, body);
    CHECK(run.ok());
    CHECK_FALSE(run.body_changed);
    CHECK(run.headers_untouched());
  }
}

TEST_CASE("model-rewrite: a model name holding a line break is refused with 400",
          "[model-rewrite]") {
  auto run = run_one("model-rewrite", R"({"rules":[{"match":{"exact":"x"},"target":"y"}]})",
                     R"({"model":"evil\r\nX-Injected: 1"})");
  // The host refuses the header value itself and answers 400 (never forwarded).
  CHECK_FALSE(run.ok());
  CHECK(run.status == 400);
}

TEST_CASE("model-rewrite: a non-ASCII model name is rewritten and escaped correctly",
          "[model-rewrite]") {
  auto run =
      run_one("model-rewrite", R"({"rules":[{"match":{"prefix":"é"},"target":"modèle \"q\""}]})",
              R"({"model":"éa"})");
  REQUIRE(run.ok());
  CHECK(model_of(run.body) == "modèle \"q\"");
}

TEST_CASE("model-rewrite refuses bad parameters, saying what and where", "[model-rewrite]") {
  CHECK_THAT(load_error("model-rewrite", "{}"), Contains("rules: required"));
  CHECK_THAT(load_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"},"target":"b"},
      {"match":{"exact":"a","prefix":"b"},"target":"c"}]})"),
             Contains("rules[1].match: give exactly one of exact, prefix, regex (got exact, prefix)"));
  CHECK_THAT(create_error("model-rewrite", R"({"rules":[{"match":{"regex":"(a"},"target":"b"}]})"),
             Contains("rules[0].match.regex: invalid regex"));
  CHECK_THAT(create_error("model-rewrite", R"({"rules":[{"match":{"regex":"a"},"target":"\\2"}]})"),
             Contains("rules[0].target:"));
  CHECK_THAT(load_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"}}]})"),
             Contains("rules[0]: give exactly one of target, targets (none given)"));
  CHECK_THAT(create_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"},"targets":[
      {"model":"b","weight":0}]}]})"),
             Contains("rules[0].targets: the weights must not all be 0"));
  CHECK_THAT(load_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"},"targets":[
      {"model":"b"}]}]})"),
             Contains("rules[0].targets[0].weight: required"));
  CHECK_THAT(load_error("model-rewrite",
                        R"({"rules":[{"match":{"exact":"a"},"target":"b","tagret":1}]})"),
             Contains("rules[0].tagret: unknown field (did you mean target?)"));
  CHECK_THAT(create_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"},"target":"b"}],
      "originalModelHeader":"X Bad"})"),
             Contains("originalModelHeader: \"X Bad\" is not a valid HTTP header name"));
  CHECK_THAT(create_error("model-rewrite", R"({"rules":[{"match":{"exact":"a"},"target":"b"}],
      "routingHeader":"x-envoy-model"})"),
             Contains("routingHeader:"));
}

TEST_CASE("model-rewrite's bucket hash is FNV-1a 64, stable across builds and hosts",
          "[model-rewrite]") {
  CHECK(model_rewrite::stable_hash("") == 14695981039346656037ull);
  CHECK(model_rewrite::stable_hash("a") == 0xaf63dc4c8601ec8cull);
  CHECK(model_rewrite::stable_hash("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("model-rewrite's weighted buckets follow the cumulative weights", "[model-rewrite]") {
  model_rewrite::Rule rule;
  rule.targets = {{"a", 90}, {"zero", 0}, {"b", 10}};
  CHECK(model_rewrite::Rules::target_for_bucket(rule, 0) == 0);
  CHECK(model_rewrite::Rules::target_for_bucket(rule, 89) == 0);
  CHECK(model_rewrite::Rules::target_for_bucket(rule, 90) == 2);
  CHECK(model_rewrite::Rules::target_for_bucket(rule, 99) == 2);
}
