// body-field-to-header, loaded from its real .so: the reference's behaviour.
#include "plugin_harness.hpp"

using plugin_test::create;
using plugin_test::run_request;

namespace {

const char* kModelParams = R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})";

std::string create_error(const std::string& params) {
  try {
    create("body-field-to-header", params);
  } catch (const bbr::CreateError& e) {
    return e.what();
  }
  return "(create succeeded)";
}

std::optional<std::string> model_header_for(const std::string& body) {
  auto plugin = create("body-field-to-header", kModelParams);
  auto result = run_request({plugin}, body);
  REQUIRE(result.outcome.kind == bbr::ChainOutcome::Kind::kContinue);
  return result.mutation("X-Gateway-Model-Name");
}

}  // namespace

TEST_CASE("body-field-to-header declares a request, thread-safe type with a parameter schema") {
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
  auto plugin = create("body-field-to-header", kModelParams);
  auto result = run_request({plugin}, R"({"prompt":"hi"})");
  CHECK(result.outcome.kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK_FALSE(result.touched("X-Gateway-Model-Name"));
}

TEST_CASE("body-field-to-header sets no header when the field is an empty string") {
  auto plugin = create("body-field-to-header", kModelParams);
  auto result = run_request({plugin}, R"({"model":""})");
  CHECK(result.outcome.kind == bbr::ChainOutcome::Kind::kContinue);
  CHECK_FALSE(result.touched("X-Gateway-Model-Name"));
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
  auto plugin = create("body-field-to-header", R"({"fieldName":"a/b~c","headerName":"x-field"})");
  auto result = run_request({plugin}, R"({"a/b~c":"top","a":{"b~c":"nested"}})");
  CHECK(result.mutation("x-field") == "top");
}

TEST_CASE("body-field-to-header answers 400 when the value cannot be a header value") {
  auto plugin = create("body-field-to-header", kModelParams);
  auto result = run_request({plugin}, R"({"model":"evil\r\nx-injected: 1"})");
  // The host refuses the value and answers 400 itself; the plugin stops there too.
  CHECK(result.outcome.kind != bbr::ChainOutcome::Kind::kContinue);
  CHECK(result.outcome.http_status == 400);
  CHECK_FALSE(result.touched("x-injected"));
}

TEST_CASE("body-field-to-header counts missing and empty fields with the reference's metrics") {
  bbr::Metrics metrics;
  auto plugin = create("body-field-to-header", kModelParams, &metrics);
  run_request({plugin}, R"({"prompt":"hi"})");
  run_request({plugin}, R"({"prompt":"hi"})");
  run_request({plugin}, R"({"model":""})");
  run_request({plugin}, R"({"model":"m"})");
  std::string text = metrics.render_text();
  INFO(text);
  auto line_value = [&](const std::string& metric) -> std::string {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind(metric + "{", 0) == 0 && line.find("field=\"model\"") != std::string::npos)
        return line.substr(line.rfind(' ') + 1);
    }
    return "(absent)";
  };
  CHECK(line_value("bbr_body_field_not_found_total") == "2");
  CHECK(line_value("bbr_body_field_empty_total") == "1");
}

TEST_CASE("body-field-to-header refuses to create without a usable parameter, naming it") {
  CHECK_THAT(create_error(""), Catch::StartsWith("fieldName: required"));
  CHECK_THAT(create_error(R"({"headerName":"x"})"), Catch::StartsWith("fieldName: required"));
  CHECK_THAT(create_error(R"({"fieldName":"model"})"), Catch::StartsWith("headerName: required"));
  CHECK_THAT(create_error(R"({"fieldName":"","headerName":"x"})"),
             Catch::StartsWith("fieldName: must not be empty"));
  CHECK_THAT(create_error(R"({"fieldName":7,"headerName":"x"})"),
             Catch::StartsWith("fieldName: must be a string"));
  CHECK_THAT(create_error(R"([1])"), Catch::StartsWith("parameters: must be a JSON object"));
  CHECK_THAT(create_error(R"({"fieldName":)"), Catch::StartsWith("parameters: not valid JSON"));
}

TEST_CASE("body-field-to-header ignores unknown parameters as the reference does") {
  CHECK_NOTHROW(create("body-field-to-header",
                       R"({"fieldName":"model","headerName":"x","extra":1})"));
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
  CHECK_NOTHROW(create("body-field-to-header",
                       R"({"fieldName":"model","headerName":"X-Model_v1.2!#$%&'*+^`|~"})"));
  CHECK_NOTHROW(create("body-field-to-header", R"({"fieldName":"model","headerName":":path"})"));
}
