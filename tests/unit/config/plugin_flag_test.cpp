// The reference's --plugin <type>:<name>[:<json>] flag and the default chain.
#include "config/config.hpp"

#include <catch2/catch.hpp>

using bbr::ConfigError;
using bbr::parse_plugin_flag;

namespace {

std::string flag_error(const std::string& value) {
  try {
    parse_plugin_flag(value);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a plugin flag with type and name only has no parameters") {
  auto spec = parse_plugin_flag("base-model-to-header:base-model-mapper");
  CHECK(spec.type == "base-model-to-header");
  CHECK(spec.name == "base-model-mapper");
  CHECK(spec.parameters.is_null());
}

TEST_CASE("the JSON part of a plugin flag keeps its colons") {
  auto spec = parse_plugin_flag(
      R"(body-field-to-header:model-extractor:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
  CHECK(spec.type == "body-field-to-header");
  CHECK(spec.name == "model-extractor");
  CHECK(spec.parameters.dump() == R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
  CHECK(parse_plugin_flag(R"(t:n:{"url":"http://a:80/x"})").parameters.dump() == R"({"url":"http://a:80/x"})");
}

TEST_CASE("type, name and JSON of a plugin flag are trimmed of whitespace") {
  auto spec = parse_plugin_flag("  t \t:  n  :  {\"a\": 1}  ");
  CHECK(spec.type == "t");
  CHECK(spec.name == "n");
  CHECK(spec.parameters.dump() == "{\"a\":1}");
}

TEST_CASE("an empty JSON part means no parameters") {
  CHECK(parse_plugin_flag("t:n:").parameters.is_null());
  CHECK(parse_plugin_flag("t:n:   ").parameters.is_null());
}

TEST_CASE("any JSON value passes flag parsing, as in the reference") {
  CHECK(parse_plugin_flag("t:n:[1,2]").parameters.dump() == "[1,2]");
  CHECK(parse_plugin_flag("t:n:\"s\"").parameters.dump() == "\"s\"");
}

TEST_CASE("plugin flag errors carry the reference's exact messages") {
  CHECK(flag_error("justatype") == "usage: --plugin <type>:<name>:<json>");
  CHECK(flag_error("") == "usage: --plugin <type>:<name>:<json>");
  CHECK(flag_error(":name") == "bbr plugin type cannot be empty");
  CHECK(flag_error(" : ") == "bbr plugin type cannot be empty");  // type is checked first
  CHECK(flag_error("type:") == "bbr plugin name cannot be empty");
  CHECK(flag_error("type: :{}") == "bbr plugin name cannot be empty");
  CHECK(flag_error("t:n:{not json}") == "invalid json");
  CHECK(flag_error("t:n:{\"a\":1") == "invalid json");
}

TEST_CASE("plugin flags build a config in flag order, placed by capability as in the reference") {
  auto config = bbr::config_from_plugin_flags(
      {R"(body-field-to-header:model-extractor:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})",
       "base-model-to-header:base-model-mapper"});
  CHECK(config.source == "--plugin flags");
  REQUIRE(config.plugins.size() == 2);
  CHECK(config.plugins[0].origin == "--plugin #1");
  CHECK(config.plugins[1].origin == "--plugin #2");
  CHECK(config.plugins[1].name == "base-model-mapper");
  CHECK(config.request == std::vector<std::string>{"model-extractor", "base-model-mapper"});
  CHECK(config.response.empty());
  CHECK(config.request_by_capability);
  CHECK(config.response_by_capability);
}

TEST_CASE("every bad plugin flag is reported in pflag's wording") {
  try {
    bbr::config_from_plugin_flags({"ok:fine", "broken", "t:n:{"});
    FAIL("expected ConfigError");
  } catch (const ConfigError& error) {
    CHECK(error.problems() ==
          std::vector<std::string>{
              R"(invalid argument "broken" for "--plugin" flag: usage: --plugin <type>:<name>:<json>)",
              R"(invalid argument "t:n:{" for "--plugin" flag: invalid json)"});
  }
}

TEST_CASE("the default chain is the reference's: model header, then base model header") {
  auto config = bbr::default_config();
  CHECK(config.source == "default chain");
  REQUIRE(config.plugins.size() == 2);
  CHECK(config.plugins[0].type == "body-field-to-header");
  CHECK(config.plugins[0].name == "body-field-to-header");
  CHECK(config.plugins[0].parameters.dump() == R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})");
  CHECK(config.plugins[1].type == "base-model-to-header");
  CHECK(config.plugins[1].name == "base-model-to-header");
  CHECK(config.plugins[1].parameters.dump() == R"({"adaptersDir":"/etc/bbr/adapters"})");
  CHECK(config.request == std::vector<std::string>{"body-field-to-header", "base-model-to-header"});
  CHECK(config.response.empty());
  CHECK_FALSE(config.request_by_capability);
}

TEST_CASE("plugin flags take the default failure policy and no time budget") {
  auto config = bbr::config_from_plugin_flags({"body-field-to-header:m:{}"});
  CHECK(config.plugins.at(0).policy.failure == bbr::FailurePolicy::kFailClose);
  CHECK(config.plugins.at(0).policy.timeout.count() == 0);
}
