// `bbr-host plugins list` and `bbr-host plugins validate`.
//
// validate runs each file in a forked child: a plugin under test is untrusted
// code, and one that segfaults or aborts must be reported, not take the CLI
// down with it.
#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "cli/body_arg.hpp"
#include "cli/commands.hpp"
#include "cli/header_arg.hpp"
#include "cli/plugin_source.hpp"
#include "config/plugin_creation.hpp"
#include "loader/plugin_library.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "offline/session_driver.hpp"
#include "sse/sse.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bbr::cli {

namespace {

namespace fs = std::filesystem;

// A chat-completions request like the ones Envoy forwards (the shape of
// shared/fixtures/chat-completions.request.json).
constexpr const char* kSampleRequest = R"({
  "model": "food-review-1",
  "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short review of a ramen place in Kyoto."}
  ],
  "max_tokens": 256,
  "temperature": 0.7,
  "stream": false
})";

constexpr const char* kSampleResponse = R"({
  "id": "chatcmpl-8f2c",
  "object": "chat.completion",
  "created": 1764201600,
  "model": "food-review-1",
  "choices": [
    {
      "index": 0,
      "message": {"role": "assistant", "content": "A warm, honest bowl: rich tonkotsu, springy noodles, long queue."},
      "finish_reason": "stop",
      "logprobs": null
    }
  ],
  "usage": {"prompt_tokens": 31, "completion_tokens": 17, "total_tokens": 48}
})";

// The response the event hooks run on: a streamed chat completion as an
// OpenAI-style server sends it (docs/cli.md shows it).
constexpr const char* kSampleEventStream =
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"model\":"
    "\"food-review-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"A warm, honest bowl\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\",\"model\":"
    "\"food-review-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\": springy "
    "noodles.\"},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

// The streamed pieces validate sends a body in (chunk and event hooks see
// more than one piece, as from an upstream that streams).
constexpr std::size_t kSamplePieceBytes = 64;

// What validate sends through each hook.
struct Samples {
  std::string request_body;
  offline::DirectionInput response;      // process_response and process_response_chunk
  offline::DirectionInput event_stream;  // process_response_event (text/event-stream)
};

std::string capability_list(uint32_t caps, const char* separator) {
  std::vector<std::string> names = capability_names(caps);
  if (names.empty()) return "-";
  return fmt::format("{}", fmt::join(names, separator));
}

std::string or_empty(const char* text) { return text ? text : ""; }

// ---------------------------------------------------------------- list ----

struct ListOptions {
  PluginSource plugins;
  bool json = false;
};

int run_list(const ListOptions& opts) {
  PluginRegistry registry = opts.plugins.scan();

  std::vector<PluginTypeRef> types = registry.types();
  std::sort(types.begin(), types.end(), [](const PluginTypeRef& a, const PluginTypeRef& b) {
    return std::string_view(a.type->name) < std::string_view(b.type->name);
  });

  if (opts.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& ref : types) {
      nlohmann::ordered_json entry;
      entry["type"] = ref.type->name;
      entry["version"] = or_empty(ref.type->version);
      entry["description"] = or_empty(ref.type->description);
      entry["abi"] = {{"major", ref.library->abi_major()}, {"minor", ref.library->abi_minor()}};
      entry["capabilities"] = capability_names(ref.type->capabilities);
      if (ref.type->parameters_schema == nullptr) {
        entry["parameters"] = nullptr;
      } else {
        // A schema that is not JSON is still shown, as the text the plugin gave.
        auto schema = nlohmann::ordered_json::parse(ref.type->parameters_schema, nullptr,
                                                    /*allow_exceptions=*/false);
        entry["parameters"] =
            schema.is_discarded() ? nlohmann::ordered_json(ref.type->parameters_schema) : schema;
      }
      entry["file"] = ref.library->path().string();
      out.push_back(std::move(entry));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"TYPE", "VERSION", "ABI", "CAPABILITIES", "FILE"});
    for (const auto& ref : types) {
      rows.push_back({ref.type->name, or_empty(ref.type->version),
                      fmt::format("{}.{}", ref.library->abi_major(), ref.library->abi_minor()),
                      capability_list(ref.type->capabilities, ","), ref.library->path().string()});
    }
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (i + 1 == row.size()) {
          line += row[i];
        } else {
          line += fmt::format("{:<{}}  ", row[i], widths[i]);
        }
      }
      std::cout << line << "\n";
    }
    if (types.empty()) std::cout << "(no plugins found)\n";
  }
  std::cout.flush();
  for (const auto& error : registry.errors()) std::cerr << "error: " << error << "\n";
  return registry.errors().empty() ? 0 : 1;
}

// ------------------------------------------------------------ validate ----

struct ValidateOptions {
  std::vector<std::string> files;
  std::string parameters;
  std::string body;
  std::string response_body;
  std::vector<std::string> response_header_flags;
  PluginSource plugins;  // only its permission flag: validate takes files
  unsigned timeout_seconds = 30;
};

// The child speaks to the parent in lines over a pipe:
//   "step <what it is about to do>"  (so a crash can be placed)
//   "info <a note for the OK line>"
//   "fail <reason>"
// and exits 0 when the file passed.
class Reporter {
 public:
  explicit Reporter(int fd) : fd_(fd) {}
  void step(const std::string& text) { send("step", text); }
  void info(const std::string& text) { send("info", text); }
  void fail(const std::string& text) { send("fail", text); }

 private:
  void send(const char* kind, std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::string line = fmt::format("{} {}\n", kind, text);
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  int fd_;
};

// One direction's verdict from the session's answer: "continued", "rejected
// with N", "failed with N: text", or the host's own answer (a body that is not
// JSON, ...). `failed` is set when that is the plugin failing.
std::string outcome_text(const offline::DriveResult& r, bool& failed) {
  failed = false;
  if (!r.stopped) return "continued";
  const auto& stop = *r.stopped;
  switch (stop.kind) {
    case offline::StopResult::Kind::kRejected:
      return fmt::format("rejected with {}", stop.status);
    case offline::StopResult::Kind::kFailed:
      failed = true;
      return fmt::format("failed with {}: {}", stop.status, stop.reason);
    case offline::StopResult::Kind::kHost:
      failed = true;
      return fmt::format("not reached: the host answered {} before any plugin ran: {}",
                         stop.status, stop.reason);
  }
  return "?";
}

offline::DriveInput sample_exchange(const Samples& samples,
                                    const offline::DirectionInput* response, bool streaming) {
  offline::DriveInput in;
  in.request.headers = default_request_headers();
  in.request.body_chunks = {samples.request_body};
  if (response != nullptr) in.response = *response;
  in.streaming = streaming;
  return in;
}

// One hook through the real session, as serve would call it, with the
// instance alone in the chain. `failure` is set when the hook failed: the
// answer the session gave, or (chunk and event hooks, whose failures cannot
// change a started response) the failures the host counted.
struct HookRun {
  std::string outcome;  // "continued", "rejected with 403", "3 calls", ...
  std::string failure;
};

HookRun run_hook(const std::shared_ptr<PluginInstance>& instance, Metrics& metrics,
                 const offline::DriveInput& input, bool stream_hook) {
  Chain chain;
  if (input.response) {
    chain.add_response(instance);
  } else {
    chain.add_request(instance);
  }
  offline::DriveResult r = offline::SessionDriver(chain, &metrics).run(input);
  HookRun run;
  bool failed = false;
  run.outcome = outcome_text(r, failed);
  if (failed) run.failure = run.outcome;
  if (!stream_hook) return run;
  double calls = 0;
  double failures = 0;
  for (const auto& change : r.metrics) {
    if (change.name == "bbr_plugin_duration_seconds") calls += static_cast<double>(change.count);
    if (change.name == "bbr_plugin_failures_total") failures += change.delta;
  }
  run.outcome = fmt::format("{} call{}", calls, calls == 1 ? "" : "s");
  if (failures > 0 && run.failure.empty()) {
    // The host's own warning says what the plugin answered and its error text.
    std::string said;
    for (const auto& line : r.logs) {
      if (line.instance.empty() && line.level <= log::Level::kWarn) said = line.text;
    }
    run.failure = fmt::format("failed {} of {} call{}{}", failures, calls, calls == 1 ? "" : "s",
                              said.empty() ? "" : ": " + said);
  } else if (calls == 0 && run.failure.empty()) {
    run.failure = "was never called";
  }
  return run;
}

// `text` without the "<file>: " it starts with: the verdict line already
// starts with the file name.
std::string without_file_prefix(std::string text, const fs::path& file) {
  const std::string prefix = file.string() + ": ";
  if (text.rfind(prefix, 0) == 0) text.erase(0, prefix.size());
  return text;
}

// dlopen and the descriptor checks; null after reporting the failure.
std::shared_ptr<PluginLibrary> open_library(const fs::path& file, const LoadOptions& load,
                                            Reporter& report) {
  report.step("load");
  std::shared_ptr<PluginLibrary> library;
  try {
    library = PluginLibrary::open(file, load);
  } catch (const LoadError& e) {
    report.fail(without_file_prefix(e.what(), file));
    return nullptr;
  }
  report.info(fmt::format("ABI {}.{}", library->abi_major(), library->abi_minor()));
  if (!library->warning().empty()) {
    report.info("warning: " + without_file_prefix(library->warning(), file));
  }
  return library;
}

// What creating one type came to: an instance, a skip (the type needs
// parameters and none were given), or a failure already reported.
enum class Created { kInstance, kSkipped, kFailed };

// The parameter check and create() serve uses (config/plugin_creation.hpp).
Created create_for_validation(const PluginTypeRef& ref, const nlohmann::ordered_json& parameters,
                              const std::string& summary, Metrics& metrics, Reporter& report,
                              std::shared_ptr<PluginInstance>& instance) {
  const std::string name = ref.type->name;
  report.step(fmt::format("schema check of type '{}'", name));
  PluginSpec spec;
  spec.type = name;
  spec.name = name;  // as the test kit names an instance by default
  spec.parameters = parameters;
  std::vector<std::string> problems;
  bool schema_unusable = false;
  std::optional<PluginParameters> checked = check_parameters(spec, ref, problems, &schema_unusable);
  if (!checked && schema_unusable) {
    report.fail(fmt::format("{}", fmt::join(problems, "; ")));
    return Created::kFailed;
  }
  if (!checked && parameters.is_null()) {
    // The file is fine; the type just cannot be created without parameters,
    // and inventing some would test our guess rather than the plugin.
    report.info(fmt::format("{} loaded; create() skipped: its schema requires parameters "
                            "({}); pass --parameters to run it",
                            summary, fmt::join(problems, ", ")));
    return Created::kSkipped;
  }
  if (!checked) {
    report.fail(fmt::format("type '{}': --parameters break its schema: {}", name,
                            fmt::join(problems, "; ")));
    return Created::kFailed;
  }
  report.step(fmt::format("create() of type '{}'", name));
  // With metrics, so the calls and failures of chunk and event hooks (which
  // cannot change a started response) are counted as serve counts them.
  instance = create_instance(spec, ref, std::move(*checked), &metrics, problems);
  if (!instance) {
    report.fail(fmt::format("{}", fmt::join(problems, "; ")));
    return Created::kFailed;
  }
  return Created::kInstance;
}

// Every declared hook through the real session, as serve would call it: the
// request alone, then each response hook after a request no plugin touches;
// the whole response buffered, chunks and events streamed. Appends each
// outcome to `summary`; false after reporting a failure.
bool run_declared_hooks(const bbr_plugin_type_t& type,
                        const std::shared_ptr<PluginInstance>& instance, Metrics& metrics,
                        const Samples& samples, std::string& summary, Reporter& report) {
  struct Hook {
    uint32_t capability;
    const char* name;
    const char* label;   // in the OK line
    const char* sample;  // in a failure
    const offline::DirectionInput* response;
    bool streaming;
  };
  const Hook hooks[] = {
      {BBR_CAP_REQUEST, "process_request", "request", "the sample request", nullptr, false},
      {BBR_CAP_RESPONSE, "process_response", "response", "the sample response", &samples.response,
       false},
      {BBR_CAP_RESPONSE_CHUNK, "process_response_chunk", "response chunks", "the sample response",
       &samples.response, true},
      {BBR_CAP_RESPONSE_EVENT, "process_response_event", "response events",
       "the sample SSE response", &samples.event_stream, true},
  };
  const std::string name = type.name;
  std::vector<std::string> ran;
  for (const Hook& hook : hooks) {
    if (!(type.capabilities & hook.capability)) continue;
    if (hook.capability == BBR_CAP_RESPONSE && (type.capabilities & BBR_CAP_RESPONSE_CHUNK)) {
      // plugin.h: the least buffering first, so serve never calls it.
      summary += " response: never called (the chunk hook takes every response)";
      continue;
    }
    report.step(fmt::format("{} of type '{}'", hook.name, name));
    const bool stream_hook =
        hook.capability == BBR_CAP_RESPONSE_CHUNK || hook.capability == BBR_CAP_RESPONSE_EVENT;
    HookRun run = run_hook(instance, metrics,
                           sample_exchange(samples, hook.response, hook.streaming), stream_hook);
    if (!run.failure.empty()) {
      report.fail(fmt::format("type '{}': {} on {} {}", name, hook.name, hook.sample, run.failure));
      return false;
    }
    summary += fmt::format(" {}: {}", hook.label, run.outcome);
    ran.push_back(hook.name);
  }
  summary += fmt::format("; hooks ran: {}",
                         ran.empty() ? "none" : fmt::format("{}", fmt::join(ran, ", ")));
  return true;
}

// Runs in the child. Returns the exit status.
int validate_in_child(const fs::path& file, const ValidateOptions& opts,
                      const nlohmann::ordered_json& parameters, const Samples& samples,
                      Reporter& report) {
  std::shared_ptr<PluginLibrary> library = open_library(file, opts.plugins.load_options(), report);
  if (!library) return 1;
  Metrics metrics;  // the instances' own: validate counts, serve's registry is not involved
  for (const bbr_plugin_type_t* type : library->types()) {
    const std::string name = type->name;
    std::string summary = fmt::format("{} {} [{}]", name, or_empty(type->version),
                                      capability_list(type->capabilities, ","));
    std::shared_ptr<PluginInstance> instance;
    switch (create_for_validation(PluginTypeRef{library, type}, parameters, summary, metrics,
                                  report, instance)) {
      case Created::kFailed:
        return 1;
      case Created::kSkipped:
        continue;
      case Created::kInstance:
        break;
    }
    if (!run_declared_hooks(*type, instance, metrics, samples, summary, report)) return 1;
    report.step(fmt::format("destroy() of type '{}'", name));
    instance.reset();
    report.info(summary);
  }
  report.step("unload");
  library.reset();
  return 0;
}

std::string signal_text(int sig) {
  const char* name = ::strsignal(sig);
  return fmt::format("crashed with signal {} ({})", sig, name ? name : "unknown");
}

// Forks, validates `file` in the child, and prints the verdict. Returns true
// when the file passed.
bool validate_file(const fs::path& file, const ValidateOptions& opts,
                   const nlohmann::ordered_json& parameters, const Samples& samples) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::cout << fmt::format("{}: FAILED: cannot create a pipe: {}\n", file.string(),
                             std::strerror(errno));
    return false;
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::cout << fmt::format("{}: FAILED: cannot fork: {}\n", file.string(), std::strerror(errno));
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // A plugin stuck in a loop must not hang the CLI either.
    if (opts.timeout_seconds > 0) ::alarm(opts.timeout_seconds);
    Reporter report(fds[1]);
    int status = 1;
    try {
      status = validate_in_child(file, opts, parameters, samples, report);
    } catch (const std::exception& e) {
      report.fail(fmt::format("unexpected error: {}", e.what()));
    }
    std::fflush(nullptr);
    // _exit: the parent's atexit handlers and static destructors are not ours to run.
    ::_exit(status);
  }

  ::close(fds[1]);
  std::string received;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }

  std::string last_step;
  std::string failure;
  std::vector<std::string> notes;
  std::istringstream lines(received);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("step ", 0) == 0) last_step = line.substr(5);
    if (line.rfind("info ", 0) == 0) notes.push_back(line.substr(5));
    if (line.rfind("fail ", 0) == 0) failure = line.substr(5);
  }

  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    std::string what = sig == SIGALRM && opts.timeout_seconds > 0
                           ? fmt::format("timed out after {} s", opts.timeout_seconds)
                           : signal_text(sig);
    std::cout << fmt::format("{}: FAILED: {}{}\n", file.string(), what,
                             last_step.empty() ? "" : " during " + last_step);
    return false;
  }
  int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
  if (code != 0 || !failure.empty()) {
    if (failure.empty()) {
      failure = fmt::format("exited with status {}{}", code,
                            last_step.empty() ? "" : " during " + last_step);
    }
    std::cout << fmt::format("{}: FAILED: {}\n", file.string(), failure);
    return false;
  }
  std::cout << fmt::format("{}: OK ({})\n", file.string(), fmt::join(notes, "; "));
  return true;
}

int run_validate(const ValidateOptions& opts) {
  Samples samples;
  samples.request_body = kSampleRequest;
  try {
    if (!opts.body.empty()) samples.request_body = read_body_arg("--body", opts.body);
    // The response: the defaults Envoy sends, shaped by --response-header; an
    // event stream (content-type text/event-stream) also feeds the event hooks.
    samples.response.headers = with_default_headers(
        parse_header_args("--response-header", opts.response_header_flags),
        default_response_headers());
    const bool event_stream = std::any_of(
        samples.response.headers.begin(), samples.response.headers.end(),
        [](const Header& h) { return h.key == "content-type" && sse::is_event_stream(h.value); });
    std::string body = event_stream ? kSampleEventStream : kSampleResponse;
    if (!opts.response_body.empty()) body = read_body_arg("--response-body", opts.response_body);
    samples.response.body_chunks = split_body(body, kSamplePieceBytes);
    if (event_stream) {
      samples.event_stream = samples.response;
    } else {
      samples.event_stream.headers = with_default_headers(
          {{"content-type", "text/event-stream"}}, default_response_headers());
      samples.event_stream.body_chunks = split_body(kSampleEventStream, kSamplePieceBytes);
    }
  } catch (const BodyArgError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const HeaderArgError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  nlohmann::ordered_json parameters;  // null: none given
  if (!opts.parameters.empty()) {
    parameters = nlohmann::ordered_json::parse(opts.parameters, nullptr, /*allow_exceptions=*/false);
    if (parameters.is_discarded() || !parameters.is_object()) {
      std::cerr << "error: --parameters must be a JSON object, e.g. '{\"fieldName\":\"model\"}'\n";
      return 2;
    }
  }
  bool all_ok = true;
  for (const auto& file : opts.files) {
    if (!validate_file(file, opts, parameters, samples)) all_ok = false;
  }
  std::cout.flush();
  return all_ok ? 0 : 1;
}

}  // namespace

void add_plugins_commands(CLI::App& app, int& exit_code) {
  auto* plugins = app.add_subcommand("plugins", "List and validate plugin libraries");
  plugins->require_subcommand(1);

  auto list_opts = std::make_shared<ListOptions>();
  auto* list = plugins->add_subcommand(
      "list", "List the plugin types in the default plugin directory and the given ones");
  list_opts->plugins.add_options(*list);
  list->add_flag("--json", list_opts->json,
                 "Print a JSON array (with descriptions and parameter schemas)");
  list->callback([list_opts, &exit_code] { exit_code = run_list(*list_opts); });

  auto validate_opts = std::make_shared<ValidateOptions>();
  auto* validate = plugins->add_subcommand(
      "validate",
      "Load each file in a child process, check its ABI and descriptors, and run every hook "
      "each type declares on sample traffic (request, JSON response, SSE response); exit 1 "
      "when any fails, naming the hook");
  validate->add_option("files", validate_opts->files, "Plugin .so files")->required();
  validate->add_option("--parameters", validate_opts->parameters,
                       "Parameters (inline JSON object text) checked against each type's "
                       "declared schema, then given to create(). Without it, a type whose "
                       "schema requires parameters is reported as loaded with create() skipped");
  validate->add_option("--body", validate_opts->body,
                       std::string("The request body to run process_request on (default: a "
                                   "built-in chat-completions request, docs/cli.md): ") +
                           kBodyArgRule);
  validate->add_option("--response-body", validate_opts->response_body,
                       std::string("The response body to run the response hooks on (default: a "
                                   "built-in chat-completions response, or with --response-header "
                                   "content-type:text/event-stream a built-in event stream): ") +
                           kBodyArgRule);
  validate->add_option("--response-header", validate_opts->response_header_flags,
                       "A response header NAME:VALUE (repeatable; defaults :status 200 and "
                       "content-type application/json unless given); "
                       "content-type:text/event-stream makes the response an event stream, "
                       "which the event hooks also run on");
  validate
      ->add_option("--timeout", validate_opts->timeout_seconds,
                   "Seconds a file may take before it is reported as hung (0: no limit)")
      ->default_val(30);
  validate_opts->plugins.add_options(*validate, /*with_dirs=*/false);
  validate->callback([validate_opts, &exit_code] { exit_code = run_validate(*validate_opts); });
}

}  // namespace bbr::cli
