#include "config/config_source.hpp"

#include <fmt/format.h>

namespace bbr {

std::optional<std::string> ConfigSource::conflict() const {
  if (file.empty() || plugin_flags.empty()) return std::nullopt;
  return fmt::format("--config and --plugin cannot be used together: put the plugins in {}", file);
}

ChainConfig ConfigSource::load() const {
  if (!file.empty()) return load_config_file(file);
  if (!plugin_flags.empty()) return config_from_plugin_flags(plugin_flags);
  return default_config();
}

}  // namespace bbr
