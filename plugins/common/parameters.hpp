// Reading a plugin's parameters (the JSON object text create() receives) at
// any depth, with errors that say where: "rules[2].match.regex: ...".
//
// The type's JSON Schema is the one statement of the parameter rules: which
// names are required or unknown, their types, lengths, ranges and choices.
// Every front end (serve, config check, chain run, plugins validate, the test
// kit) checks the parameters against it before create() runs. So these readers
// only convert what the schema already allowed; they restate none of its rules.
// A value of another type than the reader asks for can only come from a caller
// that skipped the host's check, and is refused naming its path, never
// silently misread. What a schema cannot say (a range whose ends are two
// parameters, a regular expression that must compile, a header name the host
// lets the plugin set) is the plugin's own check, next to where it reads.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// Thrown by the readers; its text becomes create()'s error (plugin.hpp).
class ParameterError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// One JSON object of the parameters and the path it was reached by ("" for
// the top level). Borrows the object: keep the document it points into alive.
class ParameterObject {
 public:
  ParameterObject(const nlohmann::json& object, std::string path)
      : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) throw mismatch(path_.empty() ? "parameters" : path_, "an object", object_);
  }

  std::string where(std::string_view member) const {
    std::string out = path_;
    if (!out.empty()) out += '.';
    out.append(member);
    return out;
  }
  const std::string& path() const { return path_; }

  bool has(std::string_view name) const { return find(name) != nullptr; }

  // The value at `name`, or nullptr when absent or null.
  const nlohmann::json* find(std::string_view name) const {
    auto it = object_.find(std::string(name));
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::string> string(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) throw mismatch(where(name), "a string", *value);
    return value->get<std::string>();
  }
  // A name the schema lists as required (or gives a default the host fills in).
  std::string required_string(std::string_view name) const {
    auto text = string(name);
    if (!text) throw missing(where(name));
    return *text;
  }

  std::optional<bool> optional_boolean(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_boolean()) throw mismatch(where(name), "true or false", *value);
    return value->get<bool>();
  }
  bool boolean(std::string_view name, bool fallback) const {
    return optional_boolean(name).value_or(fallback);
  }

  // An integer; one beyond int64 reads as INT64_MAX (the schema bounds it).
  std::optional<int64_t> integer(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (value->is_number_float()) {
      // JSON Schema's "integer" is a value, not a spelling: 2.0 is one.
      const double number = value->get<double>();
      if (!std::isfinite(number) || std::floor(number) != number)
        throw mismatch(where(name), "an integer", *value);
      if (number >= 9.2e18) return INT64_MAX;
      if (number <= -9.2e18) return INT64_MIN;
      return static_cast<int64_t>(number);
    }
    if (!value->is_number_integer()) throw mismatch(where(name), "an integer", *value);
    if (value->is_number_unsigned() && value->get<uint64_t>() > INT64_MAX) return INT64_MAX;
    return value->get<int64_t>();
  }
  int64_t required_integer(std::string_view name) const {
    auto number = integer(name);
    if (!number) throw missing(where(name));
    return *number;
  }

  // The list at `name`, or nullptr when absent; element i's path is name[i].
  const nlohmann::json* array(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return nullptr;
    if (!value->is_array()) throw mismatch(where(name), "a list", *value);
    return value;
  }
  const nlohmann::json& required_array(std::string_view name) const {
    const nlohmann::json* list = array(name);
    if (list == nullptr) throw missing(where(name));
    return *list;
  }
  std::string element_path(std::string_view name, std::size_t index) const {
    return where(name) + "[" + std::to_string(index) + "]";
  }

  // A list of strings; a single string is taken as a list of one.
  std::vector<std::string> strings(std::string_view name) const {
    std::vector<std::string> out;
    const nlohmann::json* value = find(name);
    if (value == nullptr) return out;
    if (value->is_string()) {
      out.push_back(value->get<std::string>());
      return out;
    }
    const nlohmann::json* list = array(name);
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& item = (*list)[i];
      if (!item.is_string()) throw mismatch(element_path(name, i), "a string", item);
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  ParameterObject object(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) throw missing(where(name));
    return ParameterObject(*value, where(name));
  }

  const nlohmann::json& json() const { return object_; }

 private:
  static ParameterError mismatch(const std::string& path, const char* expected,
                                 const nlohmann::json& got) {
    return ParameterError(path + ": expected " + expected + ", got " + got.type_name() +
                          " (the type's schema refuses this; was create() called without the "
                          "host's parameter check?)");
  }
  static ParameterError missing(const std::string& path) {
    return ParameterError(path + ": missing (the type's schema requires it; was create() called "
                                 "without the host's parameter check?)");
  }

  const nlohmann::json& object_;
  std::string path_;
};

// The parameters document create() receives, parsed once: empty text means
// "no parameters given" (an empty object). Not JSON, or not an object, is
// refused here because nothing else stands between the text and the readers.
class Parameters {
 public:
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
  Parameters(const Parameters&) = delete;
  Parameters& operator=(const Parameters&) = delete;

  const nlohmann::json& object() const { return object_; }
  // The top level, read with ParameterObject (valid while this lives).
  ParameterObject root() const { return ParameterObject(object_, ""); }

 private:
  nlohmann::json object_;
};

}  // namespace bbr_plugins
