#include "config/chain_builder.hpp"

#include "metrics/metrics.hpp"

#include "config/parameter_schema.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

namespace bbr {

namespace {

using nlohmann::json;

// "plugins[1]" + "type" -> "plugins[1].type"; "--plugin #2" + "type" -> "--plugin #2 type".
std::string field_path(const std::string& origin, const std::string& field) {
  if (origin.empty()) return field;
  return origin.back() == ']' ? origin + "." + field : origin + " " + field;
}

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none" : text;
}

std::string capability_words(uint32_t capabilities) {
  std::vector<std::string> words;
  for (auto& word : capability_names(capabilities)) {
    if (word != "thread-safe") words.push_back(std::move(word));
  }
  return words.empty() ? "neither" : join(words);
}

const char* describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "an object";
  }
}

// Checks one spec's parameters; the problems go to `problems`. True when clean.
bool check_parameters(const PluginSpec& spec, const bbr_plugin_type_t& type,
                      std::vector<std::string>& problems) {
  const std::string path = field_path(spec.origin, "parameters");
  json parameters = json::object();  // none given: the schema still sees its required fields missing
  if (!spec.parameters_json.empty()) {
    try {
      parameters = json::parse(spec.parameters_json);
    } catch (const json::parse_error& error) {
      problems.push_back(fmt::format("{}: not valid JSON: {}", path, error.what()));
      return false;
    }
    if (!parameters.is_object()) {
      problems.push_back(fmt::format("{}: must be a JSON object (got {})", path, describe(parameters)));
      return false;
    }
  }
  if (type.parameters_schema == nullptr || type.parameters_schema[0] == '\0') return true;

  const std::string owner = fmt::format("{} (type {})", spec.origin, spec.type);
  json schema;
  try {
    schema = json::parse(type.parameters_schema);
  } catch (const json::parse_error& error) {
    problems.push_back(fmt::format(
        "{}: the plugin declares a parameters schema that is not valid JSON (a plugin bug): {}", owner,
        error.what()));
    return false;
  }
  try {
    auto found = validate_against_schema(parameters, schema, path);
    problems.insert(problems.end(), found.begin(), found.end());
    return found.empty();
  } catch (const SchemaError& error) {
    problems.push_back(fmt::format(
        "{}: the plugin declares a parameters schema we cannot use (a plugin bug): {}", owner, error.what()));
    return false;
  }
}

// A create() error that starts with one of the instance's parameter names
// ("headerName: ..." from plugins/common/parameters.hpp, or any plugin that
// words its errors that way) is reported at that parameter's path, so it reads
// like a schema error: `plugins[0].parameters.headerName: "X Bad" is not a
// valid HTTP header name (instance m, type body-field-to-header)`. Any other
// text keeps the general form.
std::string create_problem(const PluginSpec& spec, const bbr_plugin_type_t& type,
                           const std::string& text) {
  const std::string general =
      fmt::format("{} (type {}): create failed: {}", spec.origin, spec.type, text);
  const size_t colon = text.find(": ");
  if (colon == std::string::npos || colon == 0) return general;
  const std::string key = text.substr(0, colon);
  const bool identifier = std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!identifier) return general;
  bool known = false;
  const json parameters = json::parse(spec.parameters_json.empty() ? "{}" : spec.parameters_json,
                                      nullptr, /*allow_exceptions=*/false);
  if (parameters.is_object() && parameters.contains(key)) known = true;
  if (!known && type.parameters_schema != nullptr) {
    const json schema = json::parse(type.parameters_schema, nullptr, /*allow_exceptions=*/false);
    known = schema.is_object() && schema.contains("properties") &&
            schema["properties"].is_object() && schema["properties"].contains(key);
  }
  if (!known) return general;
  return fmt::format("{}: {} (instance {}, type {})", field_path(spec.origin, "parameters." + key),
                     text.substr(colon + 2), spec.name, spec.type);
}

struct Built {
  const PluginSpec* spec;
  std::shared_ptr<PluginInstance> instance;
};

void wire_by_capability(const std::vector<Built>& built, uint32_t capability, Chain& chain) {
  for (const auto& entry : built) {
    if (!entry.instance || !(entry.instance->capabilities() & capability)) continue;
    if (capability == BBR_CAP_REQUEST) {
      chain.add_request(entry.instance);
    } else {
      chain.add_response(entry.instance);
    }
  }
}

void wire_by_name(const std::vector<std::string>& names, const char* list_name, uint32_t capability,
                  const ChainConfig& config, const std::vector<Built>& built, Chain& chain,
                  std::vector<std::string>& problems) {
  std::map<std::string, size_t> first_listed;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string path = fmt::format("{}[{}].pluginRef", list_name, i);
    const std::string& name = names[i];
    const Built* target = nullptr;
    for (const auto& entry : built) {
      if (entry.spec->name == name) {
        target = &entry;
        break;
      }
    }
    if (target == nullptr) {
      std::vector<std::string> defined;
      for (const auto& spec : config.plugins) defined.push_back(spec.name);
      problems.push_back(fmt::format("{}: unknown plugin \"{}\" (defined: {})", path, name, join(defined)));
      continue;
    }
    if (auto [it, inserted] = first_listed.emplace(name, i); !inserted) {
      problems.push_back(fmt::format("{}: \"{}\" is already listed at {}[{}]; a plugin runs once per chain",
                                     path, name, list_name, it->second));
      continue;
    }
    if (!target->instance) continue;  // its own failure is already reported
    if (!(target->instance->capabilities() & capability)) {
      problems.push_back(fmt::format("{}: plugin \"{}\" (type {}) cannot process {}s (it handles: {})",
                                     path, name, target->spec->type, list_name,
                                     capability_words(target->instance->capabilities())));
      continue;
    }
    if (capability == BBR_CAP_REQUEST) {
      chain.add_request(target->instance);
    } else {
      chain.add_response(target->instance);
    }
  }
}

}  // namespace

Chain build_chain(const ChainConfig& config, const PluginRegistry& registry, Metrics* metrics) {
  std::vector<std::string> problems;

  // Lists refer to instances by name, so names must be unique; with flags only
  // (placement by capability) the reference accepts repeats, and so do we.
  const bool lists_by_name = !config.request_by_capability || !config.response_by_capability;
  if (lists_by_name) {
    std::map<std::string, const PluginSpec*> first_with_name;
    for (const auto& spec : config.plugins) {
      if (auto [it, inserted] = first_with_name.emplace(spec.name, &spec); !inserted) {
        problems.push_back(fmt::format("{}: duplicate of {} \"{}\"", field_path(spec.origin, "name"),
                                       field_path(it->second->origin, "name"), spec.name));
      }
    }
  }

  std::vector<Built> built;
  built.reserve(config.plugins.size());
  for (const auto& spec : config.plugins) {
    Built entry{&spec, nullptr};
    const PluginTypeRef* type = registry.find(spec.type);
    if (type == nullptr) {
      problems.push_back(fmt::format("{}: unknown plugin type \"{}\" (available: {})",
                                     field_path(spec.origin, "type"), spec.type,
                                     join(registry.type_names())));
    } else if (check_parameters(spec, *type->type, problems)) {
      try {
        entry.instance = std::make_shared<PluginInstance>(*type, spec.name, spec.parameters_json,
                                                          metrics, spec.policy);
      } catch (const std::exception& error) {
        problems.push_back(create_problem(spec, *type->type, error.what()));
      }
    }
    built.push_back(std::move(entry));
  }

  Chain chain;
  if (config.request_by_capability) {
    wire_by_capability(built, BBR_CAP_REQUEST, chain);
  } else {
    wire_by_name(config.request, "request", BBR_CAP_REQUEST, config, built, chain, problems);
  }
  if (config.response_by_capability) {
    wire_by_capability(built, kResponseCapabilities, chain);
  } else {
    wire_by_name(config.response, "response", kResponseCapabilities, config, built, chain, problems);
  }
  // Each instance resolved its metric series (bbr_plugin_duration_seconds and
  // the failure and timeout counters) as it joined a list above.
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return chain;
}

}  // namespace bbr
