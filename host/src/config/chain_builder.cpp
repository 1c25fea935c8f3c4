#include "config/chain_builder.hpp"

#include "metrics/metrics.hpp"

#include "config/plugin_creation.hpp"

#include <fmt/format.h>

#include <map>
#include <memory>

namespace bbr {

namespace {

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
        problems.push_back(fmt::format("{}: duplicate of {} \"{}\"", spec_field_path(spec.origin, "name"),
                                       spec_field_path(it->second->origin, "name"), spec.name));
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
                                     spec_field_path(spec.origin, "type"), spec.type,
                                     join(registry.type_names())));
    } else {
      entry.instance = create_plugin(spec, *type, metrics, problems);
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
