// `bbr-host chain run`: one body through the chain, no Envoy needed. Prints
// what the server would send back as JSON, so a config can be tried (and
// scripted against) before it is deployed.
#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "cli/commands.hpp"
#include "cli/plugin_source.hpp"
#include "config/chain_builder.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bbr::cli {

namespace {

using OutJson = nlohmann::ordered_json;

struct RunOptions {
  std::string config_file;
  std::vector<std::string> plugin_flags;
  std::string body_file;
  std::vector<std::string> header_flags;
  std::string response_body_file;
  PluginSource plugins;
};

// A usage or setup problem: printed to stderr, exit 2.
struct SetupError {
  std::vector<std::string> lines;
};

std::string read_file_or_throw(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw SetupError{{fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(errno))}};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Headers parse_headers(const std::vector<std::string>& flags) {
  Headers headers;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const std::string& flag = flags[i];
    // A leading ':' belongs to the name of a pseudo-header (":path:/v1/x").
    std::size_t colon = flag.find(':', flag.size() > 0 && flag[0] == ':' ? 1 : 0);
    if (colon == std::string::npos || colon == 0) {
      throw SetupError{{fmt::format("--header #{} \"{}\": expected NAME:VALUE", i + 1, flag)}};
    }
    std::string key = flag.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = flag.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (!is_valid_header_name(key)) {
      throw SetupError{{fmt::format("--header #{} \"{}\": invalid header name", i + 1, flag)}};
    }
    headers.push_back({std::move(key), std::move(value)});
  }
  return headers;
}

ChainConfig load_chain_config(const RunOptions& opts) {
  if (!opts.config_file.empty() && !opts.plugin_flags.empty()) {
    throw SetupError{{"use either --config or --plugin, not both"}};
  }
  try {
    if (!opts.config_file.empty()) return load_config_file(opts.config_file);
    if (!opts.plugin_flags.empty()) return config_from_plugin_flags(opts.plugin_flags);
    return default_config();
  } catch (const ConfigError& e) {
    std::vector<std::string> lines;
    std::string source = opts.config_file.empty() ? std::string("--plugin") : opts.config_file;
    for (const auto& problem : e.problems()) lines.push_back(source + ": " + problem);
    throw SetupError{lines};
  }
}

OutJson header_mutations_json(const Message& msg) {
  OutJson headers = OutJson::array();
  for (const auto& mutation : msg.header_mutations()) {
    OutJson entry;
    entry["key"] = mutation.key;
    if (mutation.value) {
      entry["value"] = *mutation.value;
    } else {
      entry["remove"] = true;
    }
    headers.push_back(std::move(entry));
  }
  return headers;
}

// The result of one phase, in the shape the command prints.
OutJson phase_json(Message& msg, const std::optional<ChainOutcome>& outcome,
                   const std::optional<ImmediateResponse>& immediate) {
  OutJson out;
  out["headers"] = header_mutations_json(msg);
  out["body"] = msg.body().raw();
  out["bodyChanged"] = msg.body().changed();
  if (immediate) {
    out["immediateResponse"] = {{"status", immediate->http_status}, {"body", immediate->body}};
  } else {
    out["immediateResponse"] = nullptr;
  }
  if (outcome && outcome->kind == ChainOutcome::Kind::kFailed) {
    out["error"] = {
        {"plugin", outcome->plugin}, {"status", outcome->http_status}, {"message", outcome->error}};
  } else {
    out["error"] = nullptr;
  }
  return out;
}

int run_chain(const RunOptions& opts) {
  std::string request_body = read_file_or_throw("--body", opts.body_file);
  std::optional<std::string> response_body;
  if (!opts.response_body_file.empty()) {
    response_body = read_file_or_throw("--response-body", opts.response_body_file);
  }
  Headers headers = parse_headers(opts.header_flags);
  ChainConfig config = load_chain_config(opts);

  PluginRegistry registry = opts.plugins.scan(config.plugin_dirs);
  for (const auto& error : registry.errors()) {
    std::cerr << "warning: plugin loading: " << error << "\n";
  }

  std::optional<Chain> chain;
  try {
    chain.emplace(build_chain(config, registry, nullptr));
  } catch (const ConfigError& e) {
    std::vector<std::string> lines;
    // Problems with --plugin flags already name the flag; a file's need its name.
    for (const auto& problem : e.problems()) {
      lines.push_back(opts.config_file.empty() ? problem : opts.config_file + ": " + problem);
    }
    throw SetupError{lines};
  }

  RequestState state;
  Message request(BBR_PHASE_REQUEST, headers, JsonBody(request_body), state);
  OutJson out;
  std::optional<ChainOutcome> outcome;
  std::optional<ImmediateResponse> immediate;
  // What the server would answer: the reference's 400 for a body that is not a
  // JSON object, a plugin's reject, or the typed-failure answer.
  if (std::string refusal = request.body().map_decode_error(); !refusal.empty()) {
    immediate = ImmediateResponse{
        400, "inference error: BadRequest - failed to parse request body: " + refusal, {}, {}};
  } else {
    outcome = chain->run(request);
    if (outcome->kind == ChainOutcome::Kind::kRejected) immediate = request.immediate_response();
    if (outcome->kind == ChainOutcome::Kind::kFailed) immediate = reference_failure_response(*outcome);
  }
  out = phase_json(request, outcome, immediate);

  if (response_body) {
    if (immediate || (outcome && outcome->kind != ChainOutcome::Kind::kContinue)) {
      // The request never reached a model server: there is no response to process.
      out["response"] = nullptr;
    } else {
      Message response(BBR_PHASE_RESPONSE,
                       Headers{{":status", "200"}, {"content-type", "application/json"}},
                       JsonBody(*response_body), state);
      std::optional<ChainOutcome> response_outcome = chain->run(response);
      std::optional<ImmediateResponse> response_immediate;
      if (response_outcome->kind == ChainOutcome::Kind::kRejected) {
        response_immediate = response.immediate_response();
      }
      out["response"] = phase_json(response, response_outcome, response_immediate);
    }
  }
  std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

void add_chain_commands(CLI::App& app, int& exit_code) {
  auto* chain = app.add_subcommand("chain", "Run plugin chains without a server");
  chain->require_subcommand(1);

  auto opts = std::make_shared<RunOptions>();
  auto* run = chain->add_subcommand(
      "run",
      "Run the request chain (and, with --response-body, the response chain) on a body and "
      "print the outcome as JSON: header mutations, body, immediate response, error");
  run->add_option("--config", opts->config_file, "Chain configuration file (YAML or JSON)");
  run->add_option("--plugin", opts->plugin_flags,
                  "A plugin as the reference's flag: type:name[:json] (repeatable, in order)");
  run->add_option("--body", opts->body_file, "File holding the request body")->required();
  run->add_option("--header", opts->header_flags, "A request header NAME:VALUE (repeatable)");
  run->add_option("--response-body", opts->response_body_file,
                  "File holding a response body to run the response chain on");
  opts->plugins.add_options(*run);
  run->callback([opts, &exit_code] {
    try {
      exit_code = run_chain(*opts);
    } catch (const SetupError& e) {
      for (const auto& line : e.lines) std::cerr << "error: " << line << "\n";
      exit_code = 2;
    }
  });
}

}  // namespace bbr::cli
