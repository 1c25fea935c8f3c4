// The bbr-host subcommands. Each add_* registers one subcommand (and its
// options) on the CLI11 app; the callback runs the command and records its exit
// code in `exit_code`.
#pragma once

namespace CLI {
class App;
}

namespace bbr::cli {

void add_serve_command(CLI::App& app, int& exit_code);    // serve_command.cpp
void add_plugins_commands(CLI::App& app, int& exit_code); // plugins_command.cpp: list, validate
void add_config_commands(CLI::App& app, int& exit_code);  // config_command.cpp: check
void add_chain_commands(CLI::App& app, int& exit_code);   // chain_command.cpp: run

}  // namespace bbr::cli
