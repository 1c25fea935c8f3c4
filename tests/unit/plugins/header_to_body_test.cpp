// header-to-body, loaded from its real .so and run through the SDK test kit.
#include "request_harness.hpp"

#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using plugin_test::create_error;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

nlohmann::json body_of(const plugin_test::RequestRun& run) {
  return nlohmann::json::parse(run.body);
}

}  // namespace

TEST_CASE("header-to-body declares a request, thread-safe type with a parameter schema",
          "[header-to-body]") {
  const auto& ref = plugin_test::plugin_type("header-to-body");
  CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
  REQUIRE(ref.type->parameters_schema != nullptr);
  CHECK(nlohmann::json::parse(ref.type->parameters_schema).at("required") ==
        nlohmann::json::array({"header", "pointer"}));
}

TEST_CASE("header-to-body writes the header's value as a string, creating objects on the way",
          "[header-to-body]") {
  auto run = run_one("header-to-body", R"({"header":"x-tenant","pointer":"/metadata/tenant"})",
                     R"({"model":"m"})", {{"x-tenant", "acme \"corp\""}});
  REQUIRE(run.ok());
  CHECK(body_of(run) ==
        nlohmann::json::parse(R"({"model":"m","metadata":{"tenant":"acme \"corp\""}})"));
  CHECK(run.headers_untouched());
  // The session, not the plugin, sets the new body's length.
  CHECK(run.content_length == std::to_string(run.body.size()));
}

TEST_CASE("header-to-body replaces an existing field and keeps its siblings", "[header-to-body]") {
  auto run = run_one("header-to-body", R"({"header":"X-User","pointer":"/user"})",
                     R"({"model":"m","user":"old","n":1})", {{"x-user", "u-7"}});
  REQUIRE(run.ok());
  CHECK(body_of(run) == nlohmann::json::parse(R"({"model":"m","user":"u-7","n":1})"));
}

TEST_CASE("header-to-body parses the value as JSON when told to", "[header-to-body]") {
  const char* params = R"({"header":"x-limits","pointer":"/max_tokens","json":true})";
  auto number = run_one("header-to-body", params, R"({"model":"m"})", {{"x-limits", "256"}});
  REQUIRE(number.ok());
  CHECK(body_of(number).at("max_tokens") == 256);
  auto object =
      run_one("header-to-body", params, R"({"model":"m"})", {{"x-limits", R"({"a":[1,2]})"}});
  CHECK(body_of(object).at("max_tokens") == nlohmann::json::parse(R"({"a":[1,2]})"));
  auto bad = run_one("header-to-body", params, R"({"model":"m"})", {{"x-limits", "{nope"}});
  CHECK(bad.failed());
  CHECK(bad.status == 400);
  CHECK_THAT(bad.error, Contains("header 'x-limits' is not valid JSON text"));
}

TEST_CASE("header-to-body skips a missing header, or writes the default", "[header-to-body]") {
  auto skipped =
      run_one("header-to-body", R"({"header":"x-tenant","pointer":"/tenant"})", R"({"model":"m"})");
  REQUIRE(skipped.ok());
  CHECK_FALSE(skipped.body_changed);
  auto defaulted =
      run_one("header-to-body", R"({"header":"x-tenant","pointer":"/tenant","default":"public"})",
              R"({"model":"m"})");
  CHECK(body_of(defaulted).at("tenant") == "public");
  auto json_default =
      run_one("header-to-body", R"({"header":"x-t","pointer":"/t","json":true,"default":"[]"})",
              R"({"model":"m"})");
  CHECK(body_of(json_default).at("t") == nlohmann::json::array());
}

TEST_CASE("header-to-body answers 400 when the path runs through a value that is not an object",
          "[header-to-body]") {
  auto run = run_one("header-to-body", R"({"header":"x-t","pointer":"/model/tenant"})",
                     R"({"model":"m"})", {{"x-t", "v"}});
  CHECK(run.failed());
  CHECK(run.status == 400);
}

TEST_CASE("header-to-body sees a header an earlier plugin set", "[header-to-body]") {
  auto copy = plugin_test::load("body-fields-to-headers",
                                R"({"fields":[{"pointer":"/model","header":"X-M"}]})");
  auto write =
      plugin_test::load("header-to-body", R"({"header":"x-m","pointer":"/metadata/model"})");
  auto run = plugin_test::run_on({copy, write}, R"({"model":"m9"})");
  REQUIRE(run.ok());
  CHECK(body_of(run).at("metadata").at("model") == "m9");
}

TEST_CASE("header-to-body refuses bad parameters, saying what and where", "[header-to-body]") {
  CHECK_THAT(load_error("header-to-body", R"({"pointer":"/a"})"), Contains("header: required"));
  CHECK_THAT(load_error("header-to-body", R"({"header":"x"})"), Contains("pointer: required"));
  CHECK_THAT(create_error("header-to-body", R"({"header":"x y","pointer":"/a"})"),
             Contains("header: \"x y\" is not a valid HTTP header name"));
  CHECK_THAT(create_error("header-to-body", R"({"header":"x","pointer":"a"})"),
             Contains("pointer: must be a JSON Pointer starting with '/'"));
  CHECK_THAT(
      create_error("header-to-body", R"({"header":"x","pointer":"/a","json":true,"default":"{x"})"),
      Contains("default: with json: true it must be JSON text"));
  CHECK_THAT(load_error("header-to-body", R"({"header":"x","pointer":"/a","json":"yes"})"),
             Contains("json: must be a boolean (got a string)"));
  // Created without the host's check, a value of the wrong type is refused
  // naming where, not misread.
  CHECK_THAT(create_error("header-to-body", R"({"header":"x","pointer":"/a","json":"yes"})"),
             Contains("json: expected true or false, got string"));
}
