#include "config/parameter_schema.hpp"

#include "config/spelling.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <regex>

namespace bbr {

namespace {

using nlohmann::json;

// Schemas nest; a plugin's schema deeper than this is a bug we refuse to chase.
constexpr int kMaxSchemaDepth = 64;

const std::vector<std::string> kTypeNames = {"object", "array",   "string", "integer",
                                             "number", "boolean", "null"};

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

// The member names of a oneOf/anyOf whose every form is {"required": [name]}
// (and says nothing else), or empty when the list is anything more.
std::vector<std::string> required_alternatives(const json& list) {
  std::vector<std::string> names;
  for (const auto& form : list) {
    if (!form.is_object() || form.size() != 1 || !form.contains("required")) return {};
    const json& required = form["required"];
    if (!required.is_array() || required.size() != 1 || !required[0].is_string()) return {};
    names.push_back(required[0].get<std::string>());
  }
  return names;
}

std::string type_phrase(const std::string& type) {
  if (type == "object") return "an object";
  if (type == "array") return "an array";
  if (type == "integer") return "an integer";
  if (type == "null") return "null";
  return "a " + type;
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    // JSON Schema counts 2.0 as an integer: the value, not the spelling, decides.
    if (value.is_number_float()) {
      double number = value.get<double>();
      return std::isfinite(number) && std::floor(number) == number;
    }
  }
  return false;
}

std::string compact(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

size_t code_points(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string plural(uint64_t count, const char* noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

class Validator {
 public:
  explicit Validator(std::vector<std::string>& problems) : problems_(problems) {}

  void check(const json& value, const json& schema, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth) throw SchemaError("schema nested too deeply");
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) add(path, "is not allowed");
      return;
    }
    if (!schema.is_object()) throw SchemaError(fmt::format("schema at {} is not an object", path));
    if (schema.contains("$ref")) throw SchemaError("$ref is not supported");

    if (!check_type(value, schema, path)) return;  // the rest would only repeat it
    check_enum_const(value, schema, path);
    if (value.is_number()) check_number(value, schema, path);
    if (value.is_string()) check_string(value, schema, path);
    if (value.is_array()) check_array(value, schema, path, depth);
    if (value.is_object()) check_object(value, schema, path, depth);
    check_combinations(value, schema, path, depth);
  }

 private:
  void add(const std::string& path, const std::string& message) {
    problems_.push_back(path.empty() ? message : path + ": " + message);
  }

  static double number_keyword(const json& schema, const char* keyword) {
    const json& bound = schema.at(keyword);
    if (!bound.is_number()) throw SchemaError(fmt::format("\"{}\" must be a number", keyword));
    return bound.get<double>();
  }

  static uint64_t count_keyword(const json& schema, const char* keyword) {
    const json& bound = schema.at(keyword);
    if (!bound.is_number_unsigned() && !(bound.is_number_integer() && bound.get<int64_t>() >= 0)) {
      throw SchemaError(fmt::format("\"{}\" must be a non-negative integer", keyword));
    }
    return bound.get<uint64_t>();
  }

  bool check_type(const json& value, const json& schema, const std::string& path) {
    if (!schema.contains("type")) return true;
    const json& type = schema["type"];
    std::vector<std::string> allowed;
    if (type.is_string()) {
      allowed.push_back(type.get<std::string>());
    } else if (type.is_array() && !type.empty()) {
      for (const auto& name : type) {
        if (!name.is_string()) throw SchemaError("\"type\" list must hold strings");
        allowed.push_back(name.get<std::string>());
      }
    } else {
      throw SchemaError("\"type\" must be a string or a non-empty list of strings");
    }
    for (const auto& name : allowed) {
      if (std::find(kTypeNames.begin(), kTypeNames.end(), name) == kTypeNames.end()) {
        throw SchemaError(fmt::format("unknown type \"{}\"", name));
      }
      if (has_type(value, name)) return true;
    }
    std::string expected;
    for (size_t i = 0; i < allowed.size(); ++i) {
      if (i > 0) expected += (i + 1 == allowed.size()) ? " or " : ", ";
      expected += type_phrase(allowed[i]);
    }
    add(path, fmt::format("must be {} (got {})", expected, describe(value)));
    return false;
  }

  void check_enum_const(const json& value, const json& schema, const std::string& path) {
    if (schema.contains("enum")) {
      const json& choices = schema["enum"];
      if (!choices.is_array()) throw SchemaError("\"enum\" must be an array");
      if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
        std::string listed;
        for (const auto& choice : choices) listed += (listed.empty() ? "" : ", ") + compact(choice);
        add(path, fmt::format("must be one of {} (got {})", listed, compact(value)));
      }
    }
    if (schema.contains("const") && value != schema["const"]) {
      add(path, fmt::format("must be {} (got {})", compact(schema["const"]), compact(value)));
    }
  }

  void check_number(const json& value, const json& schema, const std::string& path) {
    const double number = value.get<double>();
    if (schema.contains("minimum") && number < number_keyword(schema, "minimum")) {
      add(path, fmt::format("must be >= {} (got {})", compact(schema["minimum"]), compact(value)));
    }
    if (schema.contains("maximum") && number > number_keyword(schema, "maximum")) {
      add(path, fmt::format("must be <= {} (got {})", compact(schema["maximum"]), compact(value)));
    }
    if (schema.contains("exclusiveMinimum") && number <= number_keyword(schema, "exclusiveMinimum")) {
      add(path, fmt::format("must be > {} (got {})", compact(schema["exclusiveMinimum"]), compact(value)));
    }
    if (schema.contains("exclusiveMaximum") && number >= number_keyword(schema, "exclusiveMaximum")) {
      add(path, fmt::format("must be < {} (got {})", compact(schema["exclusiveMaximum"]), compact(value)));
    }
  }

  void check_string(const json& value, const json& schema, const std::string& path) {
    const auto& text = value.get_ref<const std::string&>();
    const size_t length = code_points(text);
    if (schema.contains("minLength") && length < count_keyword(schema, "minLength")) {
      add(path, fmt::format("must be at least {} long", plural(count_keyword(schema, "minLength"), "character")));
    }
    if (schema.contains("maxLength") && length > count_keyword(schema, "maxLength")) {
      add(path, fmt::format("must be at most {} long", plural(count_keyword(schema, "maxLength"), "character")));
    }
    if (schema.contains("pattern")) {
      const json& pattern = schema["pattern"];
      if (!pattern.is_string()) throw SchemaError("\"pattern\" must be a string");
      std::regex expression;
      try {
        expression = std::regex(pattern.get<std::string>(), std::regex::ECMAScript);
      } catch (const std::regex_error& error) {
        throw SchemaError(fmt::format("\"pattern\" {} is not a valid regular expression: {}",
                                      compact(pattern), error.what()));
      }
      if (!std::regex_search(text, expression)) {
        add(path, fmt::format("must match the pattern {} (got {})", compact(pattern), compact(value)));
      }
    }
  }

  void check_array(const json& value, const json& schema, const std::string& path, int depth) {
    if (schema.contains("minItems") && value.size() < count_keyword(schema, "minItems")) {
      add(path, fmt::format("must have at least {}", plural(count_keyword(schema, "minItems"), "item")));
    }
    if (schema.contains("maxItems") && value.size() > count_keyword(schema, "maxItems")) {
      add(path, fmt::format("must have at most {}", plural(count_keyword(schema, "maxItems"), "item")));
    }
    if (!schema.contains("items")) return;
    const json& items = schema["items"];
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string element_path = fmt::format("{}[{}]", path, i);
      if (items.is_array()) {
        if (i < items.size()) check(value[i], items[i], element_path, depth + 1);
      } else {
        check(value[i], items, element_path, depth + 1);
      }
    }
  }

  void check_object(const json& value, const json& schema, const std::string& path, int depth) {
    auto member = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
    if (schema.contains("required")) {
      const json& required = schema["required"];
      if (!required.is_array()) throw SchemaError("\"required\" must be an array of names");
      for (const auto& name : required) {
        if (!name.is_string()) throw SchemaError("\"required\" must be an array of names");
        if (!value.contains(name.get<std::string>())) add(member(name.get<std::string>()), "required");
      }
    }
    const json* properties = nullptr;
    if (schema.contains("properties")) {
      properties = &schema["properties"];
      if (!properties->is_object()) throw SchemaError("\"properties\" must be an object");
    }
    const json* additional = schema.contains("additionalProperties") ? &schema["additionalProperties"] : nullptr;
    for (const auto& [key, member_value] : value.items()) {
      if (properties != nullptr && properties->contains(key)) {
        check(member_value, (*properties)[key], member(key), depth + 1);
      } else if (additional != nullptr) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          std::vector<std::string> known;
          if (properties != nullptr) {
            for (const auto& [name, ignored] : properties->items()) known.push_back(name);
          }
          add(member(key), unknown_field_message(key, known));
        } else {
          check(member_value, *additional, member(key), depth + 1);
        }
      }
    }
  }

  void check_combinations(const json& value, const json& schema, const std::string& path, int depth) {
    auto subschemas = [&](const char* keyword) -> const json& {
      const json& list = schema[keyword];
      if (!list.is_array() || list.empty()) {
        throw SchemaError(fmt::format("\"{}\" must be a non-empty array of schemas", keyword));
      }
      return list;
    };
    if (schema.contains("allOf")) {
      for (const auto& sub : subschemas("allOf")) check(value, sub, path, depth + 1);
    }
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const bool one = schema.contains("oneOf");
      const json& list = subschemas(one ? "oneOf" : "anyOf");
      size_t matches = 0;
      std::vector<std::string> first_failure;
      for (const auto& sub : list) {
        std::vector<std::string> problems;
        Validator(problems).check(value, sub, path, depth + 1);
        if (problems.empty()) {
          ++matches;
        } else if (first_failure.empty()) {
          first_failure = std::move(problems);
        }
      }
      const std::vector<std::string> alternatives = required_alternatives(list);
      if (!alternatives.empty() && (matches == 0 || (one && matches > 1))) {
        // The "give one of these members" idiom: {"oneOf": [{"required": ["a"]}, ...]}.
        std::vector<std::string> given;
        for (const auto& name : alternatives) {
          if (value.is_object() && value.contains(name)) given.push_back(name);
        }
        add(path, fmt::format("give {} of {}{}", one ? "exactly one" : "at least one",
                              fmt::join(alternatives, ", "),
                              given.empty() ? std::string(" (none given)")
                                            : fmt::format(" (got {})", fmt::join(given, ", "))));
      } else if (matches == 0) {
        add(path, fmt::format("matches none of the {} allowed forms (first: {})", list.size(),
                              first_failure.empty() ? "?" : first_failure.front()));
      } else if (one && matches > 1) {
        add(path, fmt::format("matches {} of the allowed forms, exactly one is required", matches));
      }
    }
  }

  std::vector<std::string>& problems_;
};

}  // namespace

std::vector<std::string> validate_against_schema(const json& value, const json& schema,
                                                 const std::string& path) {
  std::vector<std::string> problems;
  Validator(problems).check(value, schema, path, 0);
  return problems;
}

}  // namespace bbr
