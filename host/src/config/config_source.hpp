// Where a chain's configuration comes from, as `serve` and `chain run` take
// it: a --config file, repeated --plugin flags, or neither (the reference's
// default chain). One rule for both commands, written here.
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace bbr {

struct ConfigSource {
  std::string file;                       // --config; empty: not given
  std::vector<std::string> plugin_flags;  // --plugin values, in order

  // A file and flags at once are refused (the reference has no file, so no
  // order between the two could be right): the message to show; nullopt when
  // the source is one of the three.
  std::optional<std::string> conflict() const;
  // Neither given: the default chain (serve says so in its log).
  bool is_default() const { return file.empty() && plugin_flags.empty(); }
  // The configuration: load_config_file, config_from_plugin_flags or
  // default_config. Call after conflict(); throws ConfigError as those do.
  ChainConfig load() const;
};

}  // namespace bbr
