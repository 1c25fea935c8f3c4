// body-fields-to-headers, loaded from its real .so and run through the SDK test kit.
#include "request_harness.hpp"

#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using plugin_test::create_error;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

const char* kFields = R"({"fields":[
  {"pointer":"/model","header":"X-Gateway-Model-Name"},
  {"pointer":"/metadata/tenant","header":"X-Tenant","default":"public"},
  {"pointer":"/max_tokens","header":"X-Max-Tokens"},
  {"pointer":"/stream","header":"X-Stream"},
  {"pointer":"/a~1b","header":"X-Slash"}]})";

}  // namespace

TEST_CASE("body-fields-to-headers declares a request, thread-safe type with a parameter schema",
          "[body-fields-to-headers]") {
  const auto& ref = plugin_test::plugin_type("body-fields-to-headers");
  CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
  REQUIRE(ref.type->parameters_schema != nullptr);
  CHECK(nlohmann::json::parse(ref.type->parameters_schema).at("required") ==
        nlohmann::json::array({"fields"}));
}

TEST_CASE("body-fields-to-headers sets one header per field, nested fields included",
          "[body-fields-to-headers]") {
  auto run = run_one(
      "body-fields-to-headers", kFields,
      R"({"model":"m1","metadata":{"tenant":"acme"},"max_tokens":100,"stream":true,"a/b":"s"})");
  REQUIRE(run.ok());
  CHECK(run.header("X-Gateway-Model-Name") == "m1");
  CHECK(run.header("X-Tenant") == "acme");
  CHECK(run.header("X-Max-Tokens") == "100");
  CHECK(run.header("X-Stream") == "true");
  CHECK(run.header("X-Slash") == "s");
  CHECK_FALSE(run.body_changed);
}

TEST_CASE("body-fields-to-headers prints values as body-field-to-header does (Go's %v)",
          "[body-fields-to-headers]") {
  const char* params = R"({"fields":[{"pointer":"/v","header":"X-V"}]})";
  auto value = [&](const std::string& json) {
    return run_one("body-fields-to-headers", params, R"({"v":)" + json + "}").header("X-V");
  };
  CHECK(value("1e6") == "1e+06");
  CHECK(value("2.5") == "2.5");
  CHECK(value("null") == "<nil>");
  CHECK(value(R"([1,"a"])") == "[1 a]");
  CHECK(value(R"({"b":1,"a":2})") == "map[a:2 b:1]");
}

TEST_CASE("body-fields-to-headers skips a missing or empty field, or sets its default",
          "[body-fields-to-headers]") {
  auto run = run_one("body-fields-to-headers", kFields, R"({"model":"","metadata":{}})");
  REQUIRE(run.ok());
  CHECK_FALSE(run.touched("X-Gateway-Model-Name"));
  CHECK(run.header("X-Tenant") == "public");
  CHECK_FALSE(run.touched("X-Max-Tokens"));
  CHECK_FALSE(run.touched("X-Stream"));
  // Through a value that is not an object: missing too.
  auto through = run_one("body-fields-to-headers", kFields, R"({"metadata":"flat"})");
  CHECK(through.header("X-Tenant") == "public");
}

TEST_CASE("body-fields-to-headers refuses a value with a line break with 400",
          "[body-fields-to-headers]") {
  auto run = run_one("body-fields-to-headers", kFields, R"({"model":"a\nb"})");
  // The host refuses the header value itself and answers 400 (never forwarded).
  CHECK_FALSE(run.ok());
  CHECK(run.status == 400);
}

TEST_CASE("body-fields-to-headers refuses bad parameters, saying what and where",
          "[body-fields-to-headers]") {
  CHECK_THAT(load_error("body-fields-to-headers", "{}"), Contains("fields: required"));
  CHECK_THAT(
      create_error("body-fields-to-headers", R"({"fields":[{"pointer":"model","header":"X-M"}]})"),
      Contains("fields[0].pointer: must be a JSON Pointer starting with '/'"));
  CHECK_THAT(
      create_error("body-fields-to-headers", R"({"fields":[{"pointer":"/a~2","header":"X-M"}]})"),
      Contains("fields[0].pointer: '~' must be followed by 0 or 1"));
  CHECK_THAT(
      create_error("body-fields-to-headers", R"({"fields":[{"pointer":"/a","header":"X M"}]})"),
      Contains("fields[0].header: \"X M\" is not a valid HTTP header name"));
  CHECK_THAT(create_error("body-fields-to-headers", R"({"fields":[{"pointer":"/a","header":"X-M"},
      {"pointer":"/b","header":"x-m"}]})"),
             Contains("fields[1].header: \"x-m\" is already set by an earlier field"));
  CHECK_THAT(create_error("body-fields-to-headers",
                          R"({"fields":[{"pointer":"/a","header":"X-M","default":"a\nb"}]})"),
             Contains("fields[0].default: must not hold CR, LF or NUL"));
  CHECK_THAT(
      load_error("body-fields-to-headers", R"({"fields":[{"pointer":"/a","hedaer":"X"}]})"),
      Contains("fields[0].hedaer: unknown field (did you mean header?)"));
}
