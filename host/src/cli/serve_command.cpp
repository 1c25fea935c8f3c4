// `bbr-host serve` (also what runs when no subcommand is named): the
// reference's flags with its names and defaults, plus ours for plugins,
// configuration files, TLS files, body limits and draining.
#include "body/body_buffer_pool.hpp"
#include "cli/commands.hpp"
#include "cli/memory_limit.hpp"
#include "cli/plugin_source.hpp"
#include "config/chain_builder.hpp"
#include "config/config.hpp"
#include "config/config_source.hpp"
#include "extproc/extproc_server.hpp"
#include "extproc/worker_count.hpp"
#include "loader/plugin_library.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "session/session.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <CLI/CLI.hpp>

#include <malloc.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bbr::cli {

namespace {

constexpr unsigned kMostWorkers = 256;

struct ServeFlags {
  // The reference's flags, names and defaults.
  int grpc_port = 9004;
  int grpc_health_port = 9005;
  int metrics_port = 9090;
  bool streaming = false;
  bool secure_serving = true;
  std::vector<std::string> plugins;
  int verbosity = 2;
  // Accepted so the reference's command lines (and its Helm chart's) keep
  // working; they configure things bbr-host does not have.
  bool tracing = true;
  bool metrics_endpoint_auth = true;
  bool enable_pprof = true;
  bool zap_devel = false;
  std::string zap_encoder, zap_log_level, zap_stacktrace_level, zap_time_encoding;
  // Ours.
  std::string config_file;
  PluginSource plugin_source;  // --plugin-dir, --allow-insecure-plugin-permissions
  std::uint64_t max_body_bytes = 100ull * 1024 * 1024;
  double grace_period_seconds = 30;
  std::string cert_path;
  std::string key_path;
  std::optional<unsigned> workers;  // unset: one per CPU this process may use
  std::uint64_t max_inflight_body_bytes = 0;  // 0: derived from the memory limit
  std::uint64_t max_concurrent_streams = 10000;
  std::uint64_t max_message_bytes = 0;  // 0: derived from --max-body-bytes
  unsigned retry_after_seconds = 1;
  std::string routing_headers = "x-gateway-model-name,x-gateway-base-model-name";
};

// The comma-separated list of --routing-headers, lower-cased, blanks dropped.
std::vector<std::string> split_header_list(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text + ",") {
    if (c == ',') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

// The reference's validation, in its order and with its messages.
std::optional<std::string> validate_ports(const ServeFlags& f) {
  const struct {
    const char* name;
    int value;
  } ports[] = {{"grpc-port", f.grpc_port},
               {"grpc-health-port", f.grpc_health_port},
               {"metrics-port", f.metrics_port}};
  for (const auto& port : ports) {
    if (port.value < 1 || port.value > 65535) {
      return fmt::format("invalid value {} for flag \"{}\": must be between 1 and 65535",
                         port.value, port.name);
    }
  }
  if (f.grpc_port == f.grpc_health_port || f.grpc_port == f.metrics_port ||
      f.grpc_health_port == f.metrics_port) {
    return fmt::format(
        "port conflict: grpc-port ({}), grpc-health-port ({}), and metrics-port ({}) must all be "
        "different",
        f.grpc_port, f.grpc_health_port, f.metrics_port);
  }
  return std::nullopt;
}

std::string describe_chain(const Chain& chain) {
  const auto names = [](const std::vector<std::shared_ptr<PluginInstance>>& plugins) {
    std::string text;
    for (const auto& p : plugins) {
      if (!text.empty()) text += " -> ";
      text += fmt::format("{} ({})", p->name(), p->type_name());
    }
    return text.empty() ? std::string("(none)") : text;
  };
  return fmt::format("request: {}; response: {}", names(chain.request_plugins()),
                     names(chain.response_plugins()));
}

// Blocks until SIGTERM or SIGINT arrives. The signals are blocked in every
// thread (the mask is set before any server thread exists) and taken here
// with sigwait, so no work runs inside a signal handler.
//
// Meanwhile, every 2 s: once a burst of streams is over (none active), the
// body buffers pooled for it and the memory it freed inside malloc's heaps go
// back to the kernel, so RSS returns near its idle size instead of staying at the burst's peak. Done
// here, on the otherwise idle main thread, never on a serving thread.
int wait_for_stop_signal(const sigset_t& stop_signals, const ExtProcServer& server) {
  const timespec period{2, 0};
  bool trimmed = true;
  for (;;) {
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &period);
    if (signal_number > 0) return signal_number;
    if (server.active_streams() != 0) {
      trimmed = false;
    } else if (!trimmed) {
      BodyBufferPool::drain();  // pooled body buffers too: idle RSS is the idle size
      malloc_trim(0);
      trimmed = true;
    }
  }
}

// Where the chain comes from: --config, else --plugin flags, else the
// reference's default chain (config/config_source.hpp).
ConfigSource config_source_from(const ServeFlags& flags) {
  return ConfigSource{flags.config_file, flags.plugins};
}

// Every flag check, in the reference's order where it has them; the message
// to log when one fails.
std::optional<std::string> flag_problem(const ServeFlags& flags) {
  if (auto problem = validate_ports(flags)) return "Failed to validate flags: " + *problem;
  if (auto conflict = config_source_from(flags).conflict()) return *conflict;
  if (flags.grace_period_seconds < 0) {
    return fmt::format("invalid value {} for flag \"grace-period\": must be 0 or more seconds",
                       flags.grace_period_seconds);
  }
  if (flags.max_body_bytes == 0) {
    return std::string("invalid value 0 for flag \"max-body-bytes\": must be at least 1");
  }
  if (flags.workers && (*flags.workers == 0 || *flags.workers > kMostWorkers)) {
    return fmt::format("invalid value {} for flag \"workers\": must be between 1 and {}",
                       *flags.workers, kMostWorkers);
  }
  if (flags.cert_path.empty() != flags.key_path.empty()) {
    return std::string("--cert-path and --key-path must be given together");
  }
  return std::nullopt;
}

// Blocks SIGTERM and SIGINT before any thread starts, so every thread
// inherits the mask and only wait_for_stop_signal receives them.
sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A shell starts background jobs with SIGINT ignored, and an ignored signal
  // never reaches sigwait; like the reference (Go's signal.Notify) take it anyway.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return stop_signals;
}

// The metrics endpoint (plain HTTP, as the reference's without its
// Kubernetes auth filter). Throws ServerStartError when the port is taken.
std::unique_ptr<prometheus::Exposer> serve_metrics(int port, Metrics& metrics) {
  const std::string address = fmt::format("0.0.0.0:{}", port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, 1);
    exposer->RegisterCollectable(metrics.registry(), "/metrics");
  } catch (const std::exception& e) {
    throw ServerStartError(fmt::format("cannot serve metrics on {}: {}", address, e.what()));
  }
  log::info("metrics on http://{}/metrics", address);
  return exposer;
}

// The sum of body bytes all streams may hold: a quarter of the memory the
// process may use, since each held byte can come with a copy in gRPC's
// receive buffers and one in an answer being sent (docs/operations.md).
std::uint64_t inflight_limit_bytes(const ServeFlags& flags) {
  if (flags.max_inflight_body_bytes != 0) return flags.max_inflight_body_bytes;
  const MemoryLimit memory = process_memory_limit();
  const std::uint64_t limit = memory.bytes != 0 ? memory.bytes / 4 : 1024ull * 1024 * 1024;
  log::info("in-flight body budget {} MiB (a quarter of {} {} MiB)", limit >> 20,
            memory.bytes != 0 ? memory.source : std::string("an assumed"),
            (memory.bytes != 0 ? memory.bytes : limit * 4) >> 20);
  return limit;
}

SessionOptions session_options_from(const ServeFlags& flags, InflightBudget& inflight_budget,
                                    Metrics& metrics) {
  SessionOptions options;
  options.streaming = flags.streaming;
  options.max_body_bytes = static_cast<std::size_t>(flags.max_body_bytes);
  options.inflight_budget = &inflight_budget;
  options.retry_after_seconds = flags.retry_after_seconds;
  options.routing_headers =
      std::make_shared<const std::vector<std::string>>(split_header_list(flags.routing_headers));
  options.metrics = &metrics;
  return options;
}

// --workers as given, else one per CPU this process may use.
unsigned worker_count(const ServeFlags& flags) {
  if (flags.workers) return *flags.workers;
  const WorkerCount count = default_worker_count(kMostWorkers);
  log::info("{} ext_proc worker(s): {}", count.workers, count.reason);
  return count.workers;
}

ServerOptions server_options_from(const ServeFlags& flags, std::uint64_t inflight_limit,
                                  Metrics& metrics) {
  ServerOptions options;
  options.grpc_port = flags.grpc_port;
  options.health_port = flags.grpc_health_port;
  options.secure_serving = flags.secure_serving;
  options.cert_path = flags.cert_path;
  options.key_path = flags.key_path;
  options.workers = worker_count(flags);
  options.max_concurrent_streams = static_cast<std::size_t>(flags.max_concurrent_streams);
  // gRPC's own buffers get the same budget, never less than 64 MiB: a tiny
  // quota stalls reads on every connection instead of shedding streams.
  options.transport_memory_bytes =
      static_cast<std::size_t>(std::max<std::uint64_t>(inflight_limit, 64ull << 20));
  options.metrics = &metrics;
  // The hard transport cap on one message: well above the body limit, so
  // a buffered body over the limit still arrives and is answered 413.
  constexpr std::uint64_t kEnvelopeBytes = 1024 * 1024;
  constexpr std::uint64_t kMinimumCap = 16 * 1024 * 1024;
  options.max_receive_message_bytes = static_cast<std::size_t>(
      flags.max_message_bytes != 0 ? flags.max_message_bytes
                                   : std::max(flags.max_body_bytes + kEnvelopeBytes, kMinimumCap));
  return options;
}

// Serves until SIGTERM or SIGINT, then drains for the grace period.
void serve_until_stopped(const ServeFlags& flags, const sigset_t& stop_signals, const Chain& chain,
                         const SessionOptions& session_options,
                         const ServerOptions& server_options) {
  ExtProcServer server(chain, session_options, server_options);
  log::info("serving ({} mode)", flags.streaming ? "streaming (FULL_DUPLEX_STREAMED)" : "buffered");

  const int signal_number = wait_for_stop_signal(stop_signals, server);
  log::info("{} received: draining {} in-flight stream(s) for up to {} s", strsignal(signal_number),
            server.active_streams(), flags.grace_period_seconds);
  server.shutdown(std::chrono::milliseconds(
      static_cast<std::int64_t>(flags.grace_period_seconds * 1000)));
  log::info("stopped");
}

int run_serve(const ServeFlags& flags) {
  log::set_verbosity(flags.verbosity < 0 ? 2 : flags.verbosity);
  if (auto problem = flag_problem(flags)) {
    log::error("{}", *problem);
    return 1;
  }
  if (flags.metrics_endpoint_auth) {
    log::debug("--metrics-endpoint-auth: /metrics is served without Kubernetes authentication");
  }
  const sigset_t stop_signals = block_stop_signals();

  try {
    const ConfigSource config_source = config_source_from(flags);
    if (config_source.is_default()) {
      log::info("No BBR plugins are specified. Running BBR with the default behavior.");
    }
    const ChainConfig config = config_source.load();
    PluginRegistry registry = flags.plugin_source.scan(config.plugin_dirs);
    for (const auto& problem : registry.errors()) log::warn("plugin loading: {}", problem);

    Metrics metrics;
    metrics.set_build_info(BBR_GIT_COMMIT, "v" BBR_HOST_VERSION);
    Chain chain = build_chain(config, registry, &metrics);
    log::info("chain from {}: {}", config.source, describe_chain(chain));
    const auto exposer = serve_metrics(flags.metrics_port, metrics);

    const std::uint64_t inflight_limit = inflight_limit_bytes(flags);
    InflightBudget inflight_budget(static_cast<std::size_t>(inflight_limit));
    serve_until_stopped(flags, stop_signals, chain,
                        session_options_from(flags, inflight_budget, metrics),
                        server_options_from(flags, inflight_limit, metrics));
    return 0;
  } catch (const ConfigError& e) {
    log::error("{}", e.what());
  } catch (const ServerStartError& e) {
    log::error("{}", e.what());
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
  return 1;
}

// Flags the reference accepts that have no effect here: a chart written for
// the reference starts bbr-host unchanged.
void add_compatibility_flags(CLI::App* serve, ServeFlags* flags) {
  serve->add_flag("--tracing", flags->tracing,
                  "Accepted for compatibility with the reference; bbr-host emits no traces.");
  serve->add_flag("--metrics-endpoint-auth", flags->metrics_endpoint_auth,
                  "Accepted for compatibility; /metrics is served without authentication.");
  serve->add_flag("--enable-pprof", flags->enable_pprof,
                  "Accepted for compatibility; bbr-host has no pprof handlers.");
  serve->add_flag("--zap-devel", flags->zap_devel,
                  "Accepted for compatibility with the reference; ignored.")
      ->group("Compatibility (ignored)");
  for (auto [name, target] : {std::pair{"--zap-encoder", &flags->zap_encoder},
                              std::pair{"--zap-log-level", &flags->zap_log_level},
                              std::pair{"--zap-stacktrace-level", &flags->zap_stacktrace_level},
                              std::pair{"--zap-time-encoding", &flags->zap_time_encoding}}) {
    serve->add_option(name, *target, "Accepted for compatibility with the reference; ignored.")
        ->group("Compatibility (ignored)");
  }
}

// The bounds on bodies, streams and messages, and what a client is told past them.
void add_limit_options(CLI::App* serve, ServeFlags* flags) {
  serve->add_option("--max-body-bytes", flags->max_body_bytes,
                    "Largest request or response body accepted (bigger ones answer 413)")
      ->capture_default_str();
  serve->add_option("--grace-period", flags->grace_period_seconds,
                    "Seconds in-flight streams may take to finish after SIGTERM/SIGINT")
      ->capture_default_str();
  serve->add_option("--workers", flags->workers,
                    "Completion queues serving ext_proc, one thread each (default: the CPUs "
                    "this process may use, affinity and cgroup quota; docs/operations.md)");
  serve->add_option("--max-inflight-body-bytes", flags->max_inflight_body_bytes,
                    "Body bytes all streams may hold together; past it a request answers 503 "
                    "(0: a quarter of the cgroup memory limit, else of the machine's memory)")
      ->capture_default_str();
  serve->add_option("--max-concurrent-streams", flags->max_concurrent_streams,
                    "Streams served at once; past it a stream answers 503 (0: unbounded)")
      ->capture_default_str();
  serve->add_option("--max-message-bytes", flags->max_message_bytes,
                    "Largest single gRPC message accepted (0: the larger of --max-body-bytes + "
                    "1 MiB and 16 MiB)")
      ->capture_default_str();
  serve->add_option("--retry-after", flags->retry_after_seconds,
                    "Retry-After seconds on a 503 answered when a bound is reached")
      ->capture_default_str();
  serve->add_option("--routing-headers", flags->routing_headers,
                    "Comma-separated headers only the chain may decide: a client-sent one no "
                    "plugin set is removed (empty: keep client values)")
      ->capture_default_str();
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve Envoy ext_proc (the default when no subcommand is named)");
  // As pflag: a flag given twice takes its last value (charts append overrides).
  serve->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  serve->add_option("--grpc-port", flags->grpc_port,
                    "The gRPC port used for communicating with Envoy proxy.")
      ->capture_default_str();
  serve->add_option("--grpc-health-port", flags->grpc_health_port,
                    "The port used for gRPC liveness and readiness probes.")
      ->capture_default_str();
  serve->add_option("--metrics-port", flags->metrics_port, "The metrics port exposed by BBR.")
      ->capture_default_str();
  serve->add_flag("--streaming", flags->streaming,
                  "Enables streaming support for Envoy full-duplex streaming mode.");
  serve->add_flag("--secure-serving", flags->secure_serving,
                  "Enables secure serving. (default true; --secure-serving=false for plaintext)");
  serve->add_option("--plugin", flags->plugins,
                    "Repeatable. --plugin <type>:<name>[:<json>]")
      ->allow_extra_args(false)
      ->take_all();
  serve->add_option("-v,--v", flags->verbosity, "Number for the log level verbosity.")
      ->capture_default_str();

  add_compatibility_flags(serve, flags.get());

  serve->add_option("--config", flags->config_file,
                    "Chain configuration file (YAML or JSON); not with --plugin")
      ->check(CLI::ExistingFile);
  flags->plugin_source.add_options(*serve);
  add_limit_options(serve, flags.get());
  serve->add_option("--cert-path", flags->cert_path,
                    "TLS certificate chain (PEM) for secure serving; default: self-signed")
      ->check(CLI::ExistingFile);
  serve->add_option("--key-path", flags->key_path, "TLS private key (PEM) for --cert-path")
      ->check(CLI::ExistingFile);

  serve->callback([flags, &exit_code] { exit_code = run_serve(*flags); });
}

}  // namespace bbr::cli
