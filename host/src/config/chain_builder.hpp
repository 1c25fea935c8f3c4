// Turns a checked ChainConfig into a running Chain: resolves plugin types in
// the registry, validates parameters against each type's schema, creates the
// instances and wires the request and response lists.
#pragma once

#include "chain/chain.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"

namespace bbr {

class Metrics;

// Every problem (unknown type, parameters breaking the schema, create()
// failures, a plugin listed in a chain its type cannot serve, duplicates) is
// collected and thrown at once as one ConfigError; no partial chain escapes.
// An instance listed in both chains is one PluginInstance shared by both.
Chain build_chain(const ChainConfig& config, const PluginRegistry& registry, Metrics* metrics);

}  // namespace bbr
