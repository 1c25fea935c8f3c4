// body-field-to-header, loaded from its real .so through the SDK's test kit
// (the host's loader and session): the reference's behaviour.
#include <bbr/testkit.hpp>

#include "request_harness.hpp"

using bbr::testkit::Plugin;

namespace {

Plugin create(const std::string& params) {
  return Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/body-field-to-header.so",
                      "body-field-to-header", params, "body-field-to-header-under-test");
}

bbr::testkit::Result run_request(const Plugin& plugin, const std::string& body) {
  return plugin.request({{":path", "/v1/chat/completions"}}, body);
}

const char* kModelParams = R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})";

// The plugin's own create() error (plugin_harness.hpp says why not the kit's).
std::string create_error(const std::string& params) {
  return plugin_test::own_create_error("body-field-to-header", params);
}

std::optional<std::string> model_header_for(const std::string& body) {
  auto result = run_request(create(kModelParams), body);
  REQUIRE_FALSE(result.rejected());
  return result.header("X-Gateway-Model-Name");
}

}  // namespace

TEST_CASE("body-field-to-header declares a request, thread-safe type with a parameter schema") {
  auto plugin = create(kModelParams);
  CHECK(plugin.capabilities() == (BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE));
  // The schema is not part of an instance: read it from the loaded type.
  const auto& ref = plugin_test::plugin_type("body-field-to-header");
  CHECK((ref.type->capabilities & BBR_CAP_REQUEST) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_THREAD_SAFE) != 0);
  CHECK((ref.type->capabilities & BBR_CAP_RESPONSE) == 0);
  REQUIRE(ref.type->parameters_schema != nullptr);
  std::string schema = ref.type->parameters_schema;
  CHECK(schema.find("\"fieldName\"") != std::string::npos);
  CHECK(schema.find("\"required\"") != std::string::npos);
}

TEST_CASE("body-field-to-header copies the model field into the header") {
  auto body = plugin_test::read_file(std::string(BBR_SOURCE_DIR) +
                                     "/tests/fixtures/chat-completions.request.json");
  CHECK(model_header_for(body) == "food-review-1");
  CHECK(model_header_for(R"({"model":"llama-3-8b","prompt":"hi"})") == "llama-3-8b");
}

TEST_CASE("body-field-to-header sets no header when the field is missing") {
  auto result = run_request(create(kModelParams), R"({"prompt":"hi"})");
  CHECK_FALSE(result.rejected());
  CHECK_FALSE(result.header("X-Gateway-Model-Name"));
  CHECK_FALSE(result.header_removed("X-Gateway-Model-Name"));
}

TEST_CASE("body-field-to-header sets no header when the field is an empty string") {
  auto result = run_request(create(kModelParams), R"({"model":""})");
  CHECK_FALSE(result.rejected());
  CHECK_FALSE(result.header("X-Gateway-Model-Name"));
  CHECK_FALSE(result.header_removed("X-Gateway-Model-Name"));
}

TEST_CASE("body-field-to-header prints non-string values as Go's %v does") {
  CHECK(model_header_for(R"({"model":42})") == "42");
  CHECK(model_header_for(R"({"model":true})") == "true");
  CHECK(model_header_for(R"({"model":false})") == "false");
  CHECK(model_header_for(R"({"model":1.5})") == "1.5");
  CHECK(model_header_for(R"({"model":1.0})") == "1");
  CHECK(model_header_for(R"({"model":-3})") == "-3");
  CHECK(model_header_for(R"({"model":123456})") == "123456");
  CHECK(model_header_for(R"({"model":1000000})") == "1e+06");
  CHECK(model_header_for(R"({"model":1234567})") == "1.234567e+06");
  CHECK(model_header_for(R"({"model":0.0001})") == "0.0001");
  CHECK(model_header_for(R"({"model":0.00001})") == "1e-05");
  CHECK(model_header_for(R"({"model":null})") == "<nil>");
  CHECK(model_header_for(R"({"model":[1,"a",true]})") == "[1 a true]");
  CHECK(model_header_for(R"({"model":{"b":"x","a":1}})") == "map[a:1 b:x]");
}

TEST_CASE("body-field-to-header reads only the top-level key, escaping / and ~ in its name") {
  auto plugin = create(R"({"fieldName":"a/b~c","headerName":"x-field"})");
  auto result = run_request(plugin, R"({"a/b~c":"top","a":{"b~c":"nested"}})");
  CHECK(result.header("x-field") == "top");
}

TEST_CASE("body-field-to-header answers 400 when the value cannot be a header value") {
  auto result = run_request(create(kModelParams), R"({"model":"evil\r\nx-injected: 1"})");
  // The host refuses the value and answers 400 itself; the plugin stops there too.
  CHECK(result.rejected());
  CHECK(result.status() == 400);
  CHECK_FALSE(result.header("x-injected"));
  CHECK_FALSE(result.header("X-Gateway-Model-Name"));
}

TEST_CASE("body-field-to-header counts missing and empty fields with the reference's metrics") {
  auto plugin = create(kModelParams);
  double not_found = 0, empty = 0;
  for (const char* body :
       {R"({"prompt":"hi"})", R"({"prompt":"hi"})", R"({"model":""})", R"({"model":"m"})"}) {
    auto result = run_request(plugin, body);
    // The reference's label: field=<fieldName>.
    not_found += result.counter("bbr_body_field_not_found_total", "model");
    empty += result.counter("bbr_body_field_empty_total", "model");
  }
  CHECK(not_found == 2);
  CHECK(empty == 1);
}

TEST_CASE("body-field-to-header refuses to create without a usable parameter, naming it") {
  // The schema's words (every front end checks it before create()).
  auto load_error = [](const std::string& params) {
    return plugin_test::load_error("body-field-to-header", params);
  };
  CHECK_THAT(load_error(""), Catch::Contains("fieldName: required"));
  CHECK_THAT(load_error(R"({"headerName":"x"})"), Catch::Contains("fieldName: required"));
  CHECK_THAT(load_error(R"({"fieldName":"model"})"), Catch::Contains("headerName: required"));
  CHECK_THAT(load_error(R"({"fieldName":"","headerName":"x"})"),
             Catch::Contains("fieldName: must be at least 1 character long"));
  CHECK_THAT(load_error(R"({"fieldName":7,"headerName":"x"})"),
             Catch::Contains("fieldName: must be a string (got an integer)"));
  // The plugin's own reading, without the host's check in front: refused
  // naming where, never misread.
  CHECK_THAT(create_error(R"({"fieldName":7,"headerName":"x"})"),
             Catch::StartsWith("fieldName: expected a string, got number"));
  CHECK_THAT(create_error(R"({"headerName":"x"})"), Catch::StartsWith("fieldName: missing"));
  CHECK_THAT(create_error(R"([1])"), Catch::StartsWith("parameters: must be a JSON object"));
  CHECK_THAT(create_error(R"({"fieldName":)"), Catch::StartsWith("parameters: not valid JSON"));
}

TEST_CASE("body-field-to-header ignores unknown parameters as the reference does") {
  CHECK_NOTHROW(create(R"({"fieldName":"model","headerName":"x","extra":1})"));
}

TEST_CASE("body-field-to-header refuses at create a header name the host could never set") {
  auto error_for = [](const std::string& header) {
    return create_error(nlohmann::json{{"fieldName", "model"}, {"headerName", header}}.dump());
  };
  CHECK(error_for("X Bad") == R"(headerName: "X Bad" is not a valid HTTP header name)");
  CHECK(error_for("a:b") == R"(headerName: "a:b" is not a valid HTTP header name)");
  CHECK(error_for("x\r\ny") == "headerName: \"x\r\ny\" is not a valid HTTP header name");
  CHECK(error_for(":") == R"(headerName: ":" is not a valid HTTP header name)");
  CHECK(error_for("café") == R"(headerName: "café" is not a valid HTTP header name)");
  CHECK(error_for("") == "headerName: must not be empty");
  CHECK(
      error_for("X-Envoy-Original-Path") ==
      R"(headerName: "X-Envoy-Original-Path" is a header Envoy does not let an ext_proc server set)");
  for (const char* refused : {"host", "Host", ":method", ":authority", ":scheme"}) {
    CHECK(error_for(refused) == "headerName: \"" + std::string(refused) +
                                    "\" is a header Envoy does not let an ext_proc server set");
  }
  // Every RFC 9110 token character is fine, and so is a settable pseudo-header.
  CHECK_NOTHROW(create(R"({"fieldName":"model","headerName":"X-Model_v1.2!#$%&'*+^`|~"})"));
  CHECK_NOTHROW(create(R"({"fieldName":"model","headerName":":path"})"));
}
