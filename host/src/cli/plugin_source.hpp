// Where a command finds its plugins, the same way for every subcommand: the
// in-tree directory, a config's pluginDirs, then each --plugin-dir, under the
// permission rule --allow-insecure-plugin-permissions relaxes.
#pragma once

#include "loader/plugin_library.hpp"

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace bbr::cli {

struct PluginSource {
  std::vector<std::string> dirs;  // --plugin-dir, in order
  bool allow_insecure = false;    // --allow-insecure-plugin-permissions

  // Registers --plugin-dir (unless `with_dirs` is false) and the permission flag.
  void add_options(CLI::App& command, bool with_dirs = true);

  LoadOptions load_options() const;
  // Scans the default directory, then `config_dirs`, then `dirs`. Files that
  // fail to load are in the registry's errors(); the caller says how to report.
  PluginRegistry scan(const std::vector<std::string>& config_dirs = {}) const;
};

}  // namespace bbr::cli
