// Schema defaults: the host fills in what the operator left out for a plugin
// built against ABI 1.1 or later; a 1.0 plugin gets exactly what was written.
// The types are declared here (no .so): the host tells 1.0 from 1.1 by the
// descriptor's size, as it reads a 1.0 plugin's descriptor.
#include "config/plugin_creation.hpp"

#include <bbr/plugin.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace {

// What create() received: the text, and parameter_get of /limit.
std::string seen_text;
std::string seen_limit;

int record_create(const bbr_create_args_t* args, void** instance_out) {
  seen_text.assign(args->parameters_json.data != nullptr ? args->parameters_json.data : "",
                   args->parameters_json.length);
  bbr_json_value_t value{};
  value.struct_size = sizeof value;
  seen_limit = args->api->parameter_get(args->context, "/limit", 6, &value) == BBR_OK
                   ? std::to_string(value.integer)
                   : "absent";
  *instance_out = nullptr;
  return 0;
}

void destroy(void*) {}
bbr_result_t process(void*, bbr_message_t*) { return BBR_CONTINUE; }

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "limit": {"type": "integer", "default": 10},
    "mode": {"type": "string", "enum": ["strict", "loose"], "default": "strict"},
    "nested": {"type": "object", "properties": {"on": {"type": "boolean", "default": true}}}
  },
  "additionalProperties": false
})";

bbr_plugin_type_t type_of_size(std::size_t size) {
  bbr_plugin_type_t type{};
  type.struct_size = static_cast<uint32_t>(size);
  type.name = "defaults";
  type.version = "1";
  type.description = "records its parameters";
  type.capabilities = BBR_CAP_REQUEST;
  type.parameters_schema = kSchema;
  type.create = record_create;
  type.destroy = destroy;
  type.process_request = process;
  return type;
}

// What create() sees for `parameters` (JSON text, "" for none).
std::string created_with(const bbr_plugin_type_t& type, const std::string& parameters) {
  bbr::PluginSpec spec;
  spec.type = "defaults";
  spec.name = "d";
  if (!parameters.empty()) spec.parameters = nlohmann::ordered_json::parse(parameters);
  std::vector<std::string> problems;
  seen_text = "(not created)";
  auto instance = bbr::create_plugin(spec, bbr::PluginTypeRef{nullptr, &type}, nullptr, problems);
  INFO(problems.size());
  CHECK(problems.empty());
  return seen_text;
}

}  // namespace

TEST_CASE("a 1.1 plugin receives the schema's defaults after what was written") {
  const bbr_plugin_type_t type = type_of_size(sizeof(bbr_plugin_type_t));
  CHECK(created_with(type, R"({"mode":"loose","nested":{}})") ==
        R"({"mode":"loose","nested":{"on":true},"limit":10})");
  CHECK(seen_limit == "10");
  // Nothing given: the defaults alone (an object without default stays out).
  CHECK(created_with(type, "") == R"({"limit":10,"mode":"strict"})");
  // A value written is never replaced.
  CHECK(created_with(type, R"({"limit":3})") == R"({"limit":3,"mode":"strict"})");
  CHECK(seen_limit == "3");
}

TEST_CASE("a 1.0 plugin receives exactly what was written, no defaults") {
  const bbr_plugin_type_t type =
      type_of_size(offsetof(bbr_plugin_type_t, process_response_chunk));
  CHECK(created_with(type, R"({"mode":"loose","nested":{}})") == R"({"mode":"loose","nested":{}})");
  CHECK(seen_limit == "absent");
  CHECK(created_with(type, "").empty());
}

TEST_CASE("defaults are applied after the check: a value breaking the schema is still refused") {
  const bbr_plugin_type_t type = type_of_size(sizeof(bbr_plugin_type_t));
  bbr::PluginSpec spec;
  spec.type = "defaults";
  spec.name = "d";
  spec.parameters = nlohmann::ordered_json::parse(R"({"mode":"other"})");
  std::vector<std::string> problems;
  CHECK_FALSE(bbr::check_parameters(spec, bbr::PluginTypeRef{nullptr, &type}, problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("parameters.mode: ", 0) == 0);
}
