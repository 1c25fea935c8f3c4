// Chain configuration: from a YAML/JSON file, from the reference's --plugin
// flags, or the reference's default chain.
#pragma once

#include "chain/plugin_policy.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bbr {

// A configuration problem. what() holds every problem found, one per line, each
// starting with the path it concerns: "plugins[1].parameters.fieldName: required".
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

struct PluginSpec {
  std::string type;
  std::string name;
  // The parameters as written, parsed once, in document order; null when none
  // were given. Any JSON value from a --plugin flag (the reference accepts
  // any); the parameter check wants an object.
  nlohmann::ordered_json parameters;
  std::string origin;           // where it came from, for errors: "plugins[1]", "--plugin #2"
  PluginPolicy policy;          // failurePolicy and timeout; defaults for --plugin flags
};

struct ChainConfig {
  std::vector<std::string> plugin_dirs;
  std::vector<PluginSpec> plugins;
  std::vector<std::string> request;   // instance names, in order
  std::vector<std::string> response;  // instance names, in order
  std::string source;                 // file name, "--plugin flags" or "default chain"
  // When set, build_chain ignores the list and takes every plugin whose type
  // declares the capability, in plugin order: the reference's rule for --plugin
  // flags, and ours for a config file without `request:`. The list still holds
  // every plugin name for display.
  bool request_by_capability = false;
  bool response_by_capability = false;
};

// The apiVersion and kind a configuration file must declare.
inline constexpr std::string_view kConfigApiVersion = "inference.networking.x-k8s.io/v1alpha1";
inline constexpr std::string_view kConfigKind = "BodyBasedRoutingConfig";

// Parses YAML or JSON text (JSON is accepted as YAML). Throws ConfigError.
ChainConfig parse_config(std::string_view text, std::string_view source_name);
ChainConfig load_config_file(const std::filesystem::path& file);

// A per-plugin time budget as the configuration writes it: Go's duration
// syntax ("50ms", "2s", "1m30s"; units ns, us, µs, ms, s, m, h), more than
// zero and at most an hour. nullopt and `problem` set when it is not one.
std::optional<std::chrono::nanoseconds> parse_plugin_timeout(std::string_view text,
                                                             std::string& problem);

// The reference's --plugin "<type>:<name>[:<json>]" with its parsing and errors.
PluginSpec parse_plugin_flag(std::string_view value);
// Plugins from repeated --plugin flags, all in the request chain in flag order.
ChainConfig config_from_plugin_flags(const std::vector<std::string>& values);

// The reference's default: model -> X-Gateway-Model-Name, then base model.
// Instance names equal the type names, as in the reference.
ChainConfig default_config();
inline constexpr std::string_view kDefaultAdaptersDir = "/etc/bbr/adapters";

}  // namespace bbr
