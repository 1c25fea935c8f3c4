// Reading nested plugin parameters (lists of rules, objects in objects) with
// errors that say what and where: "rules[2].match.regex: must be a string".
// parameters.hpp covers flat parameters; this walks any depth. Unknown names
// are the schema's to refuse (additionalProperties: false): the host checks
// every plugin's parameters against its schema before create().
#pragma once

#include "common/parameters.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// One JSON object of the parameters and the path it was reached by ("" for
// the top level).
class ParameterObject {
 public:
  ParameterObject(const nlohmann::json& object, std::string path)
      : object_(object), path_(std::move(path)) {
    if (!object_.is_object())
      throw ParameterError((path_.empty() ? std::string("parameters") : path_) +
                           ": must be an object, got " + object_.type_name());
  }

  // The parameters text create() receives ("" means none: an empty object),
  // read as flat parameters are (parameters.hpp): one set of words for text
  // that is not JSON or not an object.
  static nlohmann::json parse(std::string_view json_text) {
    return Parameters(json_text).object();
  }

  std::string where(std::string_view member) const {
    std::string out = path_;
    if (!out.empty()) out += '.';
    out.append(member);
    return out;
  }
  const std::string& path() const { return path_; }

  bool has(std::string_view name) const {
    auto it = object_.find(std::string(name));
    return it != object_.end() && !it->is_null();
  }

  const nlohmann::json* find(std::string_view name) const {
    auto it = object_.find(std::string(name));
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::string> string(std::string_view name, bool allow_empty = false) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string())
      throw ParameterError(where(name) + ": must be a string, got " + value->type_name());
    auto text = value->get<std::string>();
    if (text.empty() && !allow_empty) throw ParameterError(where(name) + ": must not be empty");
    return text;
  }
  std::string required_string(std::string_view name) const {
    auto text = string(name);
    if (!text) throw ParameterError(where(name) + ": required");
    return *text;
  }

  bool boolean(std::string_view name, bool fallback) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return fallback;
    if (!value->is_boolean())
      throw ParameterError(where(name) + ": must be true or false, got " + value->type_name());
    return value->get<bool>();
  }
  std::optional<bool> optional_boolean(std::string_view name) const {
    if (!has(name)) return std::nullopt;
    return boolean(name, false);
  }

  std::optional<int64_t> integer(std::string_view name, int64_t min, int64_t max) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number_integer())
      throw ParameterError(where(name) + ": must be an integer, got " + value->type_name());
    int64_t number = value->is_number_unsigned() && value->get<uint64_t>() > INT64_MAX
                         ? INT64_MAX
                         : value->get<int64_t>();
    if (number < min || number > max)
      throw ParameterError(where(name) + ": must be between " + std::to_string(min) + " and " +
                           std::to_string(max) + ", got " + value->dump());
    return number;
  }

  // The list at `name` (empty when absent); each element's path is name[i].
  const nlohmann::json* array(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) return nullptr;
    if (!value->is_array())
      throw ParameterError(where(name) + ": must be a list, got " + value->type_name());
    return value;
  }
  std::string element_path(std::string_view name, std::size_t index) const {
    return where(name) + "[" + std::to_string(index) + "]";
  }

  // A list of non-empty strings; a single string is taken as a list of one.
  std::vector<std::string> strings(std::string_view name) const {
    std::vector<std::string> out;
    const nlohmann::json* value = find(name);
    if (value == nullptr) return out;
    if (value->is_string()) {
      out.push_back(*string(name));
      return out;
    }
    const nlohmann::json* list = array(name);
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& item = (*list)[i];
      if (!item.is_string() || item.get<std::string>().empty())
        throw ParameterError(element_path(name, i) + ": must be a non-empty string");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  ParameterObject object(std::string_view name) const {
    const nlohmann::json* value = find(name);
    if (value == nullptr) throw ParameterError(where(name) + ": required");
    return ParameterObject(*value, where(name));
  }

  const nlohmann::json& json() const { return object_; }

 private:
  const nlohmann::json& object_;
  std::string path_;
};

}  // namespace bbr_plugins
