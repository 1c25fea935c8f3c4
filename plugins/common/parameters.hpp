// Reading a plugin's parameters (the JSON object text create() receives), with
// errors that name the parameter: "fieldName: required".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bbr_plugins {

// Thrown by Parameters; its text becomes create()'s error (plugin.hpp).
class ParameterError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Parameters {
 public:
  // Empty text means "no parameters given": every parameter is then absent.
  explicit Parameters(std::string_view json_text) {
    if (json_text.empty()) {
      object_ = nlohmann::json::object();
      return;
    }
    try {
      object_ = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
      throw ParameterError(std::string("parameters: not valid JSON: ") + e.what());
    }
    if (object_.is_null()) object_ = nlohmann::json::object();
    if (!object_.is_object())
      throw ParameterError(std::string("parameters: must be a JSON object, got ") +
                           object_.type_name());
  }

  // The parameters object ({} when none were given).
  const nlohmann::json& object() const { return object_; }

  // A non-empty string; throws naming the parameter when missing, empty or not a string.
  std::string required_string(const char* name) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) throw ParameterError(std::string(name) + ": required");
    return non_empty_string(name, *it);
  }

  std::string optional_string(const char* name, std::string fallback) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return fallback;
    return non_empty_string(name, *it);
  }

  int64_t optional_integer(const char* name, int64_t fallback, int64_t min, int64_t max) const {
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return fallback;
    if (!it->is_number_integer())
      throw ParameterError(std::string(name) + ": must be an integer, got " + it->type_name());
    int64_t value = it->get<int64_t>();
    if (value < min || value > max)
      throw ParameterError(std::string(name) + ": must be between " + std::to_string(min) +
                           " and " + std::to_string(max) + ", got " + std::to_string(value));
    return value;
  }

 private:
  static std::string non_empty_string(const char* name, const nlohmann::json& value) {
    if (!value.is_string())
      throw ParameterError(std::string(name) + ": must be a string, got " + value.type_name());
    auto text = value.get<std::string>();
    if (text.empty()) throw ParameterError(std::string(name) + ": must not be empty");
    return text;
  }

  nlohmann::json object_;
};

}  // namespace bbr_plugins
