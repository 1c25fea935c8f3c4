// `bbr-host chain run`: one exchange through the chain, no Envoy needed. The
// request (and response) go through the real Session via the offline session
// driver, so the answer printed is the answer serve gives; the JSON shape is
// documented in docs/cli.md.
#include "chain/message.hpp"
#include "cli/body_arg.hpp"
#include "cli/commands.hpp"
#include "cli/header_arg.hpp"
#include "cli/plugin_source.hpp"
#include "config/config.hpp"
#include "config/config_source.hpp"
#include "loader/plugin_library.hpp"
#include "log/log.hpp"
#include "offline/session_driver.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bbr::cli {

namespace {

using OutJson = nlohmann::ordered_json;

struct RunOptions {
  std::string config_file;
  std::vector<std::string> plugin_flags;
  std::string body;
  std::vector<std::string> header_flags;
  std::string response_body;
  std::vector<std::string> response_header_flags;
  bool streaming = false;
  std::size_t response_chunk_bytes = 0;
  std::string log_level = "debug";
  PluginSource plugins;
};

// A usage or setup problem: printed to stderr, exit 2.
struct SetupError {
  std::vector<std::string> lines;
};

std::optional<log::Level> parse_level(const std::string& text) {
  if (text == "error") return log::Level::kError;
  if (text == "warn") return log::Level::kWarn;
  if (text == "info") return log::Level::kInfo;
  if (text == "debug") return log::Level::kDebug;
  if (text == "trace") return log::Level::kTrace;
  return std::nullopt;
}

ChainConfig load_chain_config(const RunOptions& opts) {
  const ConfigSource source{opts.config_file, opts.plugin_flags};
  if (auto conflict = source.conflict()) throw SetupError{{*conflict}};
  try {
    return source.load();
  } catch (const ConfigError& e) {
    std::vector<std::string> lines;
    std::string source = opts.config_file.empty() ? std::string("--plugin") : opts.config_file;
    for (const auto& problem : e.problems()) lines.push_back(source + ": " + problem);
    throw SetupError{lines};
  }
}

const char* phase_name(bbr_phase_t phase) {
  return phase == BBR_PHASE_REQUEST ? "request" : "response";
}

OutJson headers_json(const Headers& headers) {
  OutJson out = OutJson::array();
  for (const auto& h : headers) out.push_back({{"key", h.key}, {"value", h.value}});
  return out;
}

OutJson direction_json(const offline::DirectionResult& d, bool streaming) {
  OutJson out;
  OutJson headers = OutJson::array();
  for (const auto& m : d.header_mutations) {
    OutJson entry;
    entry["key"] = m.key;
    if (m.value) {
      entry["value"] = *m.value;
    } else {
      entry["remove"] = true;
    }
    headers.push_back(std::move(entry));
  }
  out["headers"] = std::move(headers);
  out["body"] = d.body;
  out["bodyChanged"] = d.body_changed;
  out["clearRouteCache"] = d.clear_route_cache ? OutJson(*d.clear_route_cache) : OutJson(nullptr);
  if (streaming) {
    OutJson chunks = OutJson::array();
    for (const auto& c : d.chunks)
      chunks.push_back({{"body", c.body}, {"endOfStream", c.end_of_stream}});
    out["chunks"] = std::move(chunks);
  }
  return out;
}

void add_logs(OutJson& out, const std::vector<offline::LogLine>& lines, const char* stage) {
  for (const auto& line : lines) {
    OutJson entry;
    entry["stage"] = stage;
    entry["plugin"] = line.instance.empty() ? OutJson(nullptr) : OutJson(line.instance);
    entry["type"] = line.type.empty() ? OutJson(nullptr) : OutJson(line.type);
    std::string level = log::level_name(line.level);
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    entry["level"] = level;
    entry["text"] = line.text;
    out.push_back(std::move(entry));
  }
}

OutJson result_json(const offline::SessionDriver& driver, const offline::DriveResult& r,
                    bool streaming) {
  OutJson out;
  out["mode"] = streaming ? "streaming" : "buffered";
  out["request"] = direction_json(r.request, streaming);
  out["response"] = r.response.sent ? direction_json(r.response, streaming) : OutJson(nullptr);
  if (r.immediate) {
    out["immediateResponse"] = {{"phase", phase_name(r.immediate->phase)},
                                {"status", r.immediate->status},
                                {"headers", headers_json(r.immediate->headers)},
                                {"body", r.immediate->body},
                                {"details", r.immediate->details}};
  } else {
    out["immediateResponse"] = nullptr;
  }
  if (r.stopped) {
    out["stoppedBy"] = {
        {"kind", offline::stop_kind_name(r.stopped->kind)},
        {"phase", phase_name(r.stopped->phase)},
        {"plugin", r.stopped->plugin.empty() ? OutJson(nullptr) : OutJson(r.stopped->plugin)},
        {"status", r.stopped->status},
        {"reason", r.stopped->reason}};
  } else {
    out["stoppedBy"] = nullptr;
  }
  out["dynamicMetadata"] = OutJson::parse(r.dynamic_metadata_json, nullptr, false);
  if (out["dynamicMetadata"].is_discarded()) out["dynamicMetadata"] = OutJson::object();
  out["streamError"] = r.stream_error ? OutJson(*r.stream_error) : OutJson(nullptr);
  OutJson logs = OutJson::array();
  add_logs(logs, driver.create_logs(), "create");
  add_logs(logs, r.logs, "exchange");
  out["logs"] = std::move(logs);
  OutJson metrics = OutJson::array();
  for (const auto& m : r.metrics) {
    OutJson entry;
    entry["name"] = m.name;
    OutJson labels = OutJson::object();
    for (const auto& [k, v] : m.labels) labels[k] = v;
    entry["labels"] = std::move(labels);
    entry["type"] = m.histogram ? "histogram" : "counter";
    if (m.histogram) {
      entry["count"] = m.count;
      entry["sum"] = m.delta;
    } else {
      entry["delta"] = m.delta;
    }
    metrics.push_back(std::move(entry));
  }
  out["metrics"] = std::move(metrics);
  return out;
}

int run_chain(const RunOptions& opts) {
  const std::optional<log::Level> level = parse_level(opts.log_level);
  if (!level) throw SetupError{{"--log-level must be one of error, warn, info, debug, trace"}};
  offline::DriveInput input;
  input.streaming = opts.streaming;
  input.capture_level = *level;
  try {
    input.request.body_chunks = {read_body_arg("--body", opts.body)};
    if (!opts.response_body.empty()) {
      input.response.emplace();
      input.response->body_chunks =
          split_body(read_body_arg("--response-body", opts.response_body), opts.response_chunk_bytes);
    }
  } catch (const BodyArgError& e) {
    throw SetupError{{e.what()}};
  }
  // What Envoy sends with every request and response; flags override each.
  try {
    input.request.headers = with_default_headers(parse_header_args("--header", opts.header_flags),
                                                 default_request_headers());
    Headers response_headers =
        parse_header_args("--response-header", opts.response_header_flags);
    if (input.response) {
      input.response->headers =
          with_default_headers(std::move(response_headers), default_response_headers());
    }
  } catch (const HeaderArgError& e) {
    throw SetupError{{e.what()}};
  }
  ChainConfig config = load_chain_config(opts);

  PluginRegistry registry = opts.plugins.scan(config.plugin_dirs);
  for (const auto& error : registry.errors()) {
    std::cerr << "warning: plugin loading: " << error << "\n";
  }

  std::optional<offline::SessionDriver> driver;
  try {
    driver.emplace(config, registry, *level);
  } catch (const ConfigError& e) {
    std::vector<std::string> lines;
    // Problems with --plugin flags already name the flag; a file's need its name.
    for (const auto& problem : e.problems()) {
      lines.push_back(opts.config_file.empty() ? problem : opts.config_file + ": " + problem);
    }
    throw SetupError{lines};
  }

  offline::DriveResult result = driver->run(input);
  OutJson out = result_json(*driver, result, opts.streaming);
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
      "Run one request (and, with --response-body, its response) through the chain as serve "
      "would and print the outcome as JSON: header mutations, bodies, immediate response, "
      "which plugin stopped the chain, plugin log lines, metric changes (docs/cli.md)");
  run->add_option("--config", opts->config_file, "Chain configuration file (YAML or JSON)");
  run->add_option("--plugin", opts->plugin_flags,
                  "A plugin as the reference's flag: type:name[:json] (repeatable, in order)");
  run->add_option("--body", opts->body, std::string("The request body: ") + kBodyArgRule)
      ->required();
  run->add_option("--header", opts->header_flags,
                  "A request header NAME:VALUE (repeatable); :method, :path, :scheme, "
                  ":authority and content-type get Envoy-like defaults unless given");
  run->add_option("--response-body", opts->response_body,
                  std::string("A response body to run the response chain on: ") + kBodyArgRule);
  run->add_option("--response-header", opts->response_header_flags,
                  "A response header NAME:VALUE (repeatable; defaults :status 200 and "
                  "content-type application/json unless given)");
  run->add_option("--response-chunk-bytes", opts->response_chunk_bytes,
                  "Send the response body as messages of this many bytes (the last may be "
                  "shorter), as an upstream streams it; with --streaming each reaches the chunk "
                  "and event hooks as it comes, buffered mode joins them as Envoy does (0: one "
                  "message)")
      ->default_val(0);
  run->add_flag("--streaming", opts->streaming,
                "Drive the session in FULL_DUPLEX_STREAMED mode (serve --streaming); default "
                "BUFFERED");
  run->add_option("--log-level", opts->log_level,
                  "Capture log lines at this level or more severe into the output's \"logs\" "
                  "(error, warn, info, debug, trace)")
      ->default_val("debug");
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
