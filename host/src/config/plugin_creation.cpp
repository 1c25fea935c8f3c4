#include "config/plugin_creation.hpp"

#include "config/parameter_schema.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace bbr {

namespace {

using nlohmann::ordered_json;

const char* describe(const ordered_json& value) {
  switch (value.type()) {
    case ordered_json::value_t::null: return "null";
    case ordered_json::value_t::array: return "an array";
    case ordered_json::value_t::string: return "a string";
    case ordered_json::value_t::boolean: return "a boolean";
    case ordered_json::value_t::number_integer:
    case ordered_json::value_t::number_unsigned:
    case ordered_json::value_t::number_float: return "a number";
    default: return "an object";
  }
}

// Who a plugin bug is reported against: "plugins[1] (type t)", or "type t".
std::string owner(const PluginSpec& spec) {
  return spec.origin.empty() ? fmt::format("type {}", spec.type)
                             : fmt::format("{} (type {})", spec.origin, spec.type);
}

// A create() error that starts with one of the instance's parameter names
// ("headerName: ..." from plugins/common/parameters.hpp, or any plugin that
// words its errors that way) is reported at that parameter's path, so it reads
// like a schema error: `plugins[0].parameters.headerName: "X Bad" is not a
// valid HTTP header name (instance m, type body-field-to-header)`. Any other
// text keeps the general form.
std::string create_problem(const PluginSpec& spec, const bbr_plugin_type_t& type,
                           const std::string& text) {
  const std::string general = fmt::format("{}: create failed: {}", owner(spec), text);
  const size_t colon = text.find(": ");
  if (colon == std::string::npos || colon == 0) return general;
  const std::string key = text.substr(0, colon);
  const bool identifier = std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!identifier) return general;
  bool known = spec.parameters.is_object() && spec.parameters.contains(key);
  if (!known && type.parameters_schema != nullptr) {
    const auto schema =
        nlohmann::json::parse(type.parameters_schema, nullptr, /*allow_exceptions=*/false);
    known = schema.is_object() && schema.contains("properties") &&
            schema["properties"].is_object() && schema["properties"].contains(key);
  }
  if (!known) return general;
  return fmt::format("{}: {} (instance {}, type {})",
                     spec_field_path(spec.origin, "parameters." + key), text.substr(colon + 2),
                     spec.name, spec.type);
}

// The schema's defaults are filled in for a type built against ABI 1.1 or
// later: a library says which it was built for; a type linked into a test (no
// library), the size of its descriptor.
bool takes_schema_defaults(const PluginTypeRef& type) {
  if (type.library) return type.library->abi_minor() >= 1;
  return BBR_HAS_FIELD(type.type, bbr_plugin_type_t, process_response_event);
}

// Adds each `default` of the schema's `properties` that `value` leaves out,
// after the members written (in the schema's order), and does the same inside
// the objects given. Defaults inside allOf/anyOf/oneOf branches are not taken:
// which branch applies is not the host's to guess.
void fill_defaults(ordered_json& value, const ordered_json& schema) {
  if (!value.is_object() || !schema.is_object()) return;
  auto properties = schema.find("properties");
  if (properties == schema.end() || !properties->is_object()) return;
  for (const auto& [name, property] : properties->items()) {
    if (!property.is_object()) continue;
    auto given = value.find(name);
    if (given != value.end()) {
      fill_defaults(*given, property);
    } else if (auto fallback = property.find("default"); fallback != property.end()) {
      value[name] = *fallback;
    }
  }
}

}  // namespace

std::string spec_field_path(const std::string& origin, const std::string& field) {
  if (origin.empty()) return field;
  return origin.back() == ']' ? origin + "." + field : origin + " " + field;
}

std::optional<PluginParameters> check_parameters(const PluginSpec& spec, const PluginTypeRef& type,
                                                 std::vector<std::string>& problems,
                                                 bool* schema_unusable) {
  if (schema_unusable != nullptr) *schema_unusable = false;
  const std::string path = spec_field_path(spec.origin, "parameters");
  if (!spec.parameters.is_null() && !spec.parameters.is_object()) {
    problems.push_back(
        fmt::format("{}: must be a JSON object (got {})", path, describe(spec.parameters)));
    return std::nullopt;
  }
  PluginParameters checked{spec.parameters};
  const char* declared = type.type->parameters_schema;
  if (declared == nullptr || declared[0] == '\0') return checked;

  ordered_json schema;
  try {
    schema = ordered_json::parse(declared);
  } catch (const nlohmann::json::parse_error& error) {
    if (schema_unusable != nullptr) *schema_unusable = true;
    problems.push_back(fmt::format(
        "{}: the plugin declares a parameters schema that is not valid JSON (a plugin bug): {}",
        owner(spec), error.what()));
    return std::nullopt;
  }
  // The schema checker reads the sorted DOM; the order it reports in is the
  // schema's, so nothing depends on the document's order here.
  const nlohmann::json value =
      spec.parameters.is_null() ? nlohmann::json::object() : nlohmann::json(spec.parameters);
  try {
    auto found = validate_against_schema(value, nlohmann::json(schema), path);
    if (!found.empty()) {
      problems.insert(problems.end(), found.begin(), found.end());
      return std::nullopt;
    }
  } catch (const SchemaError& error) {
    if (schema_unusable != nullptr) *schema_unusable = true;
    problems.push_back(fmt::format(
        "{}: the plugin declares a parameters schema we cannot use (a plugin bug): {}", owner(spec),
        error.what()));
    return std::nullopt;
  }
  // A 1.0 plugin gets exactly what was written, as it always did.
  if (takes_schema_defaults(type)) {
    ordered_json filled = spec.parameters.is_null() ? ordered_json::object() : spec.parameters;
    fill_defaults(filled, schema);
    if (!filled.empty() || !spec.parameters.is_null()) checked.document = std::move(filled);
  }
  return checked;
}

std::shared_ptr<PluginInstance> create_instance(const PluginSpec& spec, const PluginTypeRef& type,
                                                PluginParameters parameters, Metrics* metrics,
                                                std::vector<std::string>& problems) {
  try {
    return std::make_shared<PluginInstance>(type, spec.name, std::move(parameters), metrics,
                                            spec.policy);
  } catch (const std::exception& error) {
    problems.push_back(create_problem(spec, *type.type, error.what()));
    return nullptr;
  }
}

std::shared_ptr<PluginInstance> create_plugin(const PluginSpec& spec, const PluginTypeRef& type,
                                              Metrics* metrics, std::vector<std::string>& problems) {
  std::optional<PluginParameters> parameters = check_parameters(spec, type, problems);
  if (!parameters) return nullptr;
  return create_instance(spec, type, std::move(*parameters), metrics, problems);
}

}  // namespace bbr
