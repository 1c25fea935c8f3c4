// Checks plugin parameters against the JSON Schema a plugin type declares
// (bbr_plugin_type.parameters_schema), before the plugin ever sees them.
//
// Our own small subset of JSON Schema (draft 7 wording), enough for plugin
// parameters: type (one name or a list), enum, const, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (numbers), minLength, maxLength, pattern
// (ECMAScript, unanchored as in JSON Schema), items (one schema or a list),
// minItems, maxItems, required, properties, additionalProperties (bool or
// schema), allOf, anyOf, oneOf, and the boolean schemas true / false.
// Annotations (title, description, default, examples, $schema, $id, ...) are
// ignored. $ref is refused rather than silently skipped.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace bbr {

// The schema itself is malformed (a plugin bug, not an operator mistake).
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every way `value` breaks `schema`, one line each, "<path>: <what is wrong>",
// e.g. "plugins[1].parameters.fieldName: required". Empty when it conforms.
// Throws SchemaError when the schema uses a keyword wrongly.
std::vector<std::string> validate_against_schema(const nlohmann::json& value,
                                                 const nlohmann::json& schema,
                                                 const std::string& path);

}  // namespace bbr
