// `bbr-host plugins list` and `bbr-host plugins validate`.
//
// validate runs each file in a forked child: a plugin under test is untrusted
// code, and one that segfaults or aborts must be reported, not take the CLI
// down with it.
#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "cli/body_arg.hpp"
#include "cli/commands.hpp"
#include "cli/plugin_source.hpp"
#include "config/plugin_creation.hpp"
#include "loader/plugin_library.hpp"
#include "offline/session_driver.hpp"

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

offline::DriveInput sample_exchange(const std::string& request_body,
                                    const std::string* response_body) {
  offline::DriveInput in;
  in.request.headers = {{":method", "POST"},
                        {":path", "/v1/chat/completions"},
                        {":scheme", "http"},
                        {":authority", "localhost"},
                        {"content-type", "application/json"}};
  in.request.body_chunks = {request_body};
  if (response_body != nullptr) {
    in.response = offline::DirectionInput{
        {{":status", "200"}, {"content-type", "application/json"}}, {*response_body}};
  }
  return in;
}

// Runs in the child. Returns the exit status.
int validate_in_child(const fs::path& file, const ValidateOptions& opts,
                      const nlohmann::ordered_json& parameters, const std::string& request_body, const std::string& response_body,
                      Reporter& report) {
  const LoadOptions load = opts.plugins.load_options();
  report.step("load");
  std::shared_ptr<PluginLibrary> library;
  try {
    library = PluginLibrary::open(file, load);
  } catch (const LoadError& e) {
    // The verdict line already starts with the file name.
    std::string reason = e.what();
    std::string prefix = file.string() + ": ";
    if (reason.rfind(prefix, 0) == 0) reason.erase(0, prefix.size());
    report.fail(reason);
    return 1;
  }
  report.info(fmt::format("ABI {}.{}", library->abi_major(), library->abi_minor()));
  if (!library->warning().empty()) {
    std::string warning = library->warning();
    std::string prefix = file.string() + ": ";
    if (warning.rfind(prefix, 0) == 0) warning.erase(0, prefix.size());
    report.info("warning: " + warning);
  }

  for (const bbr_plugin_type_t* type : library->types()) {
    std::string name = type->name;
    PluginTypeRef ref{library, type};
    std::shared_ptr<PluginInstance> instance;
    std::string summary = fmt::format("{} {} [{}]", name, or_empty(type->version),
                                      capability_list(type->capabilities, ","));
    report.step(fmt::format("schema check of type '{}'", name));
    // The parameter check and create() serve uses (config/plugin_creation.hpp).
    PluginSpec spec;
    spec.type = name;
    spec.name = name;  // as the test kit names an instance by default
    spec.parameters = parameters;
    std::vector<std::string> problems;
    bool schema_unusable = false;
    std::optional<PluginParameters> checked =
        check_parameters(spec, ref, problems, &schema_unusable);
    if (!checked && schema_unusable) {
      report.fail(fmt::format("{}", fmt::join(problems, "; ")));
      return 1;
    }
    if (!checked && parameters.is_null()) {
      // The file is fine; the type just cannot be created without parameters,
      // and inventing some would test our guess rather than the plugin.
      report.info(fmt::format("{} loaded; create() skipped: its schema requires parameters "
                              "({}); pass --parameters to run it",
                              summary, fmt::join(problems, ", ")));
      continue;
    }
    if (!checked) {
      report.fail(fmt::format("type '{}': --parameters break its schema: {}", name,
                              fmt::join(problems, "; ")));
      return 1;
    }
    report.step(fmt::format("create() of type '{}'", name));
    instance = create_instance(spec, ref, std::move(*checked), nullptr, problems);
    if (!instance) {
      report.fail(fmt::format("{}", fmt::join(problems, "; ")));
      return 1;
    }
    // Each hook through the real session, as serve would call it: the
    // request alone, then a response after a request no plugin touches.
    if (type->capabilities & BBR_CAP_REQUEST) {
      report.step(fmt::format("process_request of type '{}'", name));
      Chain chain;
      chain.add_request(instance);
      offline::DriveResult r =
          offline::SessionDriver(chain, nullptr).run(sample_exchange(request_body, nullptr));
      bool failed = false;
      std::string text = outcome_text(r, failed);
      if (failed) {
        report.fail(fmt::format("type '{}': process_request on the sample request {}", name, text));
        return 1;
      }
      summary += fmt::format(" request: {}", text);
    }
    if (type->capabilities & BBR_CAP_RESPONSE) {
      report.step(fmt::format("process_response of type '{}'", name));
      Chain chain;
      chain.add_response(instance);
      offline::DriveResult r =
          offline::SessionDriver(chain, nullptr).run(sample_exchange(request_body, &response_body));
      bool failed = false;
      std::string text = outcome_text(r, failed);
      if (failed) {
        report.fail(
            fmt::format("type '{}': process_response on the sample response {}", name, text));
        return 1;
      }
      summary += fmt::format(" response: {}", text);
    }
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
                   const nlohmann::ordered_json& parameters, const std::string& request_body, const std::string& response_body) {
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
      status = validate_in_child(file, opts, parameters, request_body, response_body, report);
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
  std::string request_body = kSampleRequest;
  std::string response_body = kSampleResponse;
  try {
    if (!opts.body.empty()) request_body = read_body_arg("--body", opts.body);
    if (!opts.response_body.empty()) {
      response_body = read_body_arg("--response-body", opts.response_body);
    }
  } catch (const BodyArgError& e) {
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
    if (!validate_file(file, opts, parameters, request_body, response_body)) all_ok = false;
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
      "Load each file in a child process, check its ABI and descriptors, and run every type "
      "once on a sample request/response");
  validate->add_option("files", validate_opts->files, "Plugin .so files")->required();
  validate->add_option("--parameters", validate_opts->parameters,
                       "Parameters (inline JSON object text) checked against each type's "
                       "declared schema, then given to create(). Without it, a type whose "
                       "schema requires parameters is reported as loaded with create() skipped");
  validate->add_option("--body", validate_opts->body,
                       std::string("The request body to run process_request on (default: a "
                                   "built-in chat-completions request): ") +
                           kBodyArgRule);
  validate->add_option("--response-body", validate_opts->response_body,
                       std::string("The response body to run process_response on (default: a "
                                   "built-in chat-completions response): ") +
                           kBodyArgRule);
  validate
      ->add_option("--timeout", validate_opts->timeout_seconds,
                   "Seconds a file may take before it is reported as hung (0: no limit)")
      ->default_val(30);
  validate_opts->plugins.add_options(*validate, /*with_dirs=*/false);
  validate->callback([validate_opts, &exit_code] { exit_code = run_validate(*validate_opts); });
}

}  // namespace bbr::cli
