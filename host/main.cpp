// bbr-host: the ext_proc server and its tooling, one binary.
//
// `serve` is the default subcommand: the reference binary takes flags only, so
// `bbr-host --grpc-port 9004 --v=3` must keep working as a drop-in.
#include "cli/commands.hpp"

#include <bbr/plugin.h>

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

// True when argv names no subcommand, so the reference's flags-only
// invocation is meant: serve.
bool wants_default_subcommand(int argc, char** argv) {
  if (argc < 2) return true;
  std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "--version") return false;
  return first.empty() || first.front() == '-';
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string serve = "serve";
  if (wants_default_subcommand(argc, argv)) args.insert(args.begin() + 1, serve.data());

  CLI::App app{
      "bbr-host: Envoy ext_proc server for body-based routing of LLM traffic, "
      "with plugins loaded through a stable C ABI",
      "bbr-host"};
  app.set_version_flag("--version", std::string("bbr-host ") + BBR_HOST_VERSION + " (plugin ABI " +
                                        std::to_string(BBR_ABI_MAJOR) + "." +
                                        std::to_string(BBR_ABI_MINOR) + ")");
  app.require_subcommand(1);

  int exit_code = 0;
  bbr::cli::add_serve_command(app, exit_code);
  bbr::cli::add_plugins_commands(app, exit_code);
  bbr::cli::add_config_commands(app, exit_code);
  bbr::cli::add_chain_commands(app, exit_code);

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2, as the reference's flag parser (pflag) does.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
