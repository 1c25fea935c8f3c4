// `bbr-host config check FILE`: everything `serve` would do with a config short
// of serving: parse it, load the plugins it can see, create every instance.
#include "cli/commands.hpp"
#include "cli/plugin_source.hpp"
#include "config/chain_builder.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace bbr::cli {

namespace {


struct CheckOptions {
  std::string file;
  PluginSource plugins;
};

std::string instance_names(const std::vector<std::shared_ptr<PluginInstance>>& instances) {
  if (instances.empty()) return "-";
  std::vector<std::string> names;
  for (const auto& instance : instances) names.push_back(instance->name());
  return fmt::format("{}", fmt::join(names, ", "));
}

void print_problems(const std::string& file, const std::vector<std::string>& problems) {
  for (const auto& problem : problems) std::cerr << file << ": " << problem << "\n";
  std::cerr << fmt::format("{}: {} problem{}\n", file, problems.size(),
                           problems.size() == 1 ? "" : "s");
}

int run_check(const CheckOptions& opts) {
  ChainConfig config;
  try {
    config = load_config_file(opts.file);
  } catch (const ConfigError& e) {
    print_problems(opts.file, e.problems());
    return 1;
  }

  PluginRegistry registry = opts.plugins.scan(config.plugin_dirs);
  // serve only warns about a library it cannot load (the chain may not need
  // it), so check does the same; build_chain then names any type left missing.
  for (const auto& error : registry.errors()) {
    std::cerr << opts.file << ": warning: plugin loading: " << error << "\n";
  }

  try {
    Chain chain = build_chain(config, registry, nullptr);
    std::cout << fmt::format("{}: OK (request: {}; response: {})\n", opts.file,
                             instance_names(chain.request_plugins()),
                             instance_names(chain.response_plugins()));
  } catch (const ConfigError& e) {
    print_problems(opts.file, e.problems());
    return 1;
  } catch (const std::exception& e) {
    print_problems(opts.file, {e.what()});
    return 1;
  }
  return 0;
}

}  // namespace

void add_config_commands(CLI::App& app, int& exit_code) {
  auto* config = app.add_subcommand("config", "Check chain configuration files");
  config->require_subcommand(1);

  auto opts = std::make_shared<CheckOptions>();
  auto* check = config->add_subcommand(
      "check",
      "Parse a config file, load the plugins it can see and create every instance, as serve "
      "would; print OK or every problem with its path");
  check->add_option("file", opts->file, "YAML or JSON configuration file")->required();
  opts->plugins.add_options(*check);
  check->callback([opts, &exit_code] { exit_code = run_check(*opts); });
}

}  // namespace bbr::cli
