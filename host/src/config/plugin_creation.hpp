// Creating one plugin instance from a PluginSpec: the one parameter check
// (the value must be an object, the type's declared schema must accept it)
// and the create() call, with every problem worded the same way. serve,
// `config check` and `chain run` reach it through build_chain; `plugins
// validate` and the SDK test kit call it directly, so all five give the same
// verdict and the same message for the same parameters.
#pragma once

#include "chain/chain.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bbr {

class Metrics;

// "plugins[1]" + "type" -> "plugins[1].type"; "--plugin #2" + "type" ->
// "--plugin #2 type"; "" + "type" -> "type" (validate and the test kit, which
// have no configuration to point into).
std::string spec_field_path(const std::string& origin, const std::string& field);

// Checks spec.parameters against what `type` accepts and returns the document
// its create() receives; nullopt after adding each problem to `problems`, one
// line each, "<origin path>parameters...: what is wrong". No parameters given
// are checked as {}, so the schema still names the required fields.
// `schema_unusable`, when given, is set when the type's schema itself is the
// problem (a plugin bug, whatever the parameters).
std::optional<PluginParameters> check_parameters(const PluginSpec& spec, const PluginTypeRef& type,
                                                 std::vector<std::string>& problems,
                                                 bool* schema_unusable = nullptr);

// Creates the instance with checked parameters; null after adding the
// create() failure to `problems` (at the parameter's path when the plugin's
// text starts with one of its parameter names, as a schema error would read).
std::shared_ptr<PluginInstance> create_instance(const PluginSpec& spec, const PluginTypeRef& type,
                                                PluginParameters parameters, Metrics* metrics,
                                                std::vector<std::string>& problems);

// Both: the parameter check, then create().
std::shared_ptr<PluginInstance> create_plugin(const PluginSpec& spec, const PluginTypeRef& type,
                                              Metrics* metrics, std::vector<std::string>& problems);

}  // namespace bbr
