#include "cli/plugin_source.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>

namespace bbr::cli {

void PluginSource::add_options(CLI::App& command, bool with_dirs) {
  if (with_dirs) {
    command.add_option("--plugin-dir", dirs,
                       "Also load the *.so plugins of this directory (repeatable; after the "
                       "in-tree directory and a config's pluginDirs)")
        ->allow_extra_args(false);
  }
  command.add_flag("--allow-insecure-plugin-permissions", allow_insecure,
                   "Load plugin files and directories even when group/others may write them "
                   "or another user owns them");
}

LoadOptions PluginSource::load_options() const {
  LoadOptions options;
  options.allow_insecure_permissions = allow_insecure;
  return options;
}

PluginRegistry PluginSource::scan(const std::vector<std::string>& config_dirs) const {
  std::vector<std::filesystem::path> all(config_dirs.begin(), config_dirs.end());
  all.insert(all.end(), dirs.begin(), dirs.end());
  return scan_plugin_dirs(all, load_options());
}

}  // namespace bbr::cli
