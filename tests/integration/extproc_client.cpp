#include "extproc_client.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bbr::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- processes --------------------------------------------------------------

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind(127.0.0.1:0) failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

fs::path bbr_host_binary() { return fs::path(BBR_BINARY_DIR) / "bin" / "bbr-host"; }

namespace {

fs::path unique_temp_path(const std::string& stem) {
  static std::mt19937_64 random{std::random_device{}()};
  return fs::temp_directory_path() /
         (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
}

// Starts bbr-host with stdout+stderr into `output_file`.
pid_t spawn_bbr_host(const std::vector<std::string>& args, const fs::path& output_file) {
  std::vector<std::string> argv_strings{bbr_host_binary().string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The child starts with default signal dispositions and an empty mask, even
  // if this test process blocks some.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv_strings[0] + ": " + strerror(rc));
  return pid;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// waitpid with a timeout: the decoded exit code, -1 for a signal, nullopt if still running.
std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

CommandResult run_bbr_host(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  const fs::path output_file = unique_temp_path("bbr-host-output");
  const pid_t pid = spawn_bbr_host(args, output_file);
  std::optional<int> code = wait_pid(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_pid(pid, 5000ms);
  }
  CommandResult result{code.value_or(-1), read_file(output_file)};
  fs::remove(output_file);
  return result;
}

ServerProcess::ServerProcess(const ServerOptions& options, std::chrono::seconds startup_timeout)
    : secure_(options.secure_serving), output_file_(unique_temp_path("bbr-host-serve")) {
  // Ports are picked free, but a test running beside this one may take one
  // before the server binds it: then the server refuses to start ("cannot
  // listen") and a new set of ports is tried.
  for (int attempt = 1;; ++attempt) {
    grpc_port_ = free_port();
    health_port_ = free_port();
    metrics_port_ = free_port();
    try {
      start(options, startup_timeout);
      return;
    } catch (const std::runtime_error& e) {
      const std::string text = e.what();
      const bool port_taken = text.find("cannot listen") != std::string::npos ||
                              text.find("cannot serve metrics") != std::string::npos;
      if (!port_taken || attempt == 3) throw;
      exit_code_.reset();
    }
  }
}

void ServerProcess::start(const ServerOptions& options, std::chrono::seconds startup_timeout) {
  std::vector<std::string> args{"serve",
                                "--grpc-port=" + std::to_string(grpc_port_),
                                "--grpc-health-port=" + std::to_string(health_port_),
                                "--metrics-port=" + std::to_string(metrics_port_),
                                std::string("--secure-serving=") +
                                    (options.secure_serving ? "true" : "false"),
                                "--v=3"};
  if (options.streaming) args.emplace_back("--streaming");
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  pid_ = spawn_bbr_host(args, output_file_);

  const auto deadline = std::chrono::steady_clock::now() + startup_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      throw std::runtime_error("bbr-host exited with " + std::to_string(exit_code_.value_or(-1)) +
                               " before serving:\n" + output());
    }
    if (check_health(health_port_, "", 500ms).serving ==
        grpc::health::v1::HealthCheckResponse::SERVING) {
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  const std::string text = output();
  ::kill(pid_, SIGKILL);
  wait_pid(pid_, 5000ms);
  throw std::runtime_error("bbr-host did not answer SERVING in time:\n" + text);
}

ServerProcess::~ServerProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_pid(pid_, 5000ms);
  }
  std::error_code ignored;
  fs::remove(output_file_, ignored);
}

void ServerProcess::send_signal(int signal_number) const { ::kill(pid_, signal_number); }

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (!exit_code_) exit_code_ = wait_pid(pid_, timeout);
  return exit_code_;
}

bool ServerProcess::running() { return !wait_exit(0ms).has_value(); }

std::string ServerProcess::output() const { return read_file(output_file_); }

int ServerProcess::thread_count() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

std::shared_ptr<grpc::Channel> ServerProcess::channel() const {
  return secure_ ? tls_channel_without_verification(grpc_port_) : plaintext_channel(grpc_port_);
}

// ---- channels and health -------------------------------------------------------

namespace {
std::string loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

grpc::ChannelArguments channel_arguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Each channel its own connection, so tests never share a subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}
}  // namespace

std::shared_ptr<grpc::Channel> plaintext_channel(int port) {
  return grpc::CreateCustomChannel(loopback(port), grpc::InsecureChannelCredentials(),
                                   channel_arguments());
}

std::shared_ptr<grpc::Channel> tls_channel_without_verification(int port) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::CreateCustomChannel(loopback(port), grpc::experimental::TlsCredentials(options),
                                   channel_arguments());
}

std::shared_ptr<grpc::Channel> tls_channel_trusting(int port, const std::string& root_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_pem;
  grpc::ChannelArguments args = channel_arguments();
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(loopback(port), grpc::SslCredentials(ssl), args);
}

HealthAnswer check_health(int health_port, const std::string& service,
                          std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(plaintext_channel(health_port));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  HealthAnswer answer;
  answer.status = stub->Check(&context, request, &response);
  if (answer.status.ok()) answer.serving = response.status();
  return answer;
}

// ---- streams -----------------------------------------------------------------

Exchange run(const std::shared_ptr<grpc::Channel>& channel,
             const std::vector<ProcessingRequest>& requests, std::chrono::seconds timeout) {
  auto stub = envoy::service::ext_proc::v3::ExternalProcessor::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  auto stream = stub->Process(&context);
  Exchange exchange;
  std::thread reader([&] {
    ProcessingResponse response;
    while (stream->Read(&response)) exchange.responses.push_back(response);
  });
  for (const auto& request : requests) {
    if (!stream->Write(request)) break;  // the server ended the stream early
  }
  stream->WritesDone();
  reader.join();
  exchange.status = stream->Finish();
  return exchange;
}

ProcessStream::ProcessStream(const std::shared_ptr<grpc::Channel>& channel,
                             std::chrono::seconds timeout)
    : stub_(envoy::service::ext_proc::v3::ExternalProcessor::NewStub(channel)) {
  context_.set_deadline(std::chrono::system_clock::now() + timeout);
  stream_ = stub_->Process(&context_);
}

bool ProcessStream::send(const ProcessingRequest& request) { return stream_->Write(request); }

std::optional<ProcessingResponse> ProcessStream::receive() {
  ProcessingResponse response;
  if (!stream_->Read(&response)) return std::nullopt;
  return response;
}

grpc::Status ProcessStream::close() {
  stream_->WritesDone();
  ProcessingResponse response;
  while (stream_->Read(&response)) leftovers_.push_back(response);
  return stream_->Finish();
}

// ---- request builders ----------------------------------------------------------

namespace {
void fill_header_map(envoy::config::core::v3::HeaderMap* map, const Headers& headers,
                     bool in_value) {
  for (const auto& [key, value] : headers) {
    auto* header = map->add_headers();
    header->set_key(key);
    if (in_value) {
      header->set_value(value);
    } else {
      header->set_raw_value(value);
    }
  }
}
}  // namespace

ProcessingRequest request_headers(const Headers& headers, bool end_of_stream, bool in_value) {
  ProcessingRequest request;
  fill_header_map(request.mutable_request_headers()->mutable_headers(), headers, in_value);
  request.mutable_request_headers()->set_end_of_stream(end_of_stream);
  return request;
}

ProcessingRequest response_headers(const Headers& headers, bool end_of_stream, bool in_value) {
  ProcessingRequest request;
  fill_header_map(request.mutable_response_headers()->mutable_headers(), headers, in_value);
  request.mutable_response_headers()->set_end_of_stream(end_of_stream);
  return request;
}

ProcessingRequest request_body(const std::string& body, bool end_of_stream) {
  ProcessingRequest request;
  request.mutable_request_body()->set_body(body);
  request.mutable_request_body()->set_end_of_stream(end_of_stream);
  return request;
}

ProcessingRequest response_body(const std::string& body, bool end_of_stream) {
  ProcessingRequest request;
  request.mutable_response_body()->set_body(body);
  request.mutable_response_body()->set_end_of_stream(end_of_stream);
  return request;
}

ProcessingRequest request_trailers(const Headers& trailers) {
  ProcessingRequest request;
  fill_header_map(request.mutable_request_trailers()->mutable_trailers(), trailers, false);
  return request;
}

ProcessingRequest response_trailers(const Headers& trailers) {
  ProcessingRequest request;
  fill_header_map(request.mutable_response_trailers()->mutable_trailers(), trailers, false);
  return request;
}

// ---- expected responses ---------------------------------------------------------

envoy::config::core::v3::HeaderValueOption header_option(const std::string& key,
                                                         const std::string& value) {
  envoy::config::core::v3::HeaderValueOption option;
  option.mutable_header()->set_key(key);
  option.mutable_header()->set_raw_value(value);
  // Every header bbr-host sets replaces the client's (docs/architecture.md).
  option.set_append_action(envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  return option;
}

envoy::service::ext_proc::v3::CommonResponse common(const Common& c) {
  envoy::service::ext_proc::v3::CommonResponse response;
  if (c.header_mutation || !c.set.empty() || !c.remove.empty()) {
    auto* mutation = response.mutable_header_mutation();
    for (const auto& [key, value] : c.set) *mutation->add_set_headers() = header_option(key, value);
    for (const auto& key : c.remove) mutation->add_remove_headers(key);
  }
  if (c.body) response.mutable_body_mutation()->set_body(*c.body);
  if (c.streamed) {
    auto* streamed = response.mutable_body_mutation()->mutable_streamed_response();
    streamed->set_body(c.streamed->first);
    streamed->set_end_of_stream(c.streamed->second);
  }
  response.set_clear_route_cache(c.clear_route_cache);
  return response;
}

ProcessingResponse empty_response(Phase phase) {
  ProcessingResponse response;
  switch (phase) {
    case Phase::kRequestHeaders: response.mutable_request_headers(); break;
    case Phase::kResponseHeaders: response.mutable_response_headers(); break;
    case Phase::kRequestBody: response.mutable_request_body(); break;
    case Phase::kResponseBody: response.mutable_response_body(); break;
    case Phase::kRequestTrailers: response.mutable_request_trailers(); break;
    case Phase::kResponseTrailers: response.mutable_response_trailers(); break;
  }
  return response;
}

ProcessingResponse response_with(Phase phase, const Common& c) {
  ProcessingResponse response;
  switch (phase) {
    case Phase::kRequestHeaders: *response.mutable_request_headers()->mutable_response() = common(c); break;
    case Phase::kResponseHeaders: *response.mutable_response_headers()->mutable_response() = common(c); break;
    case Phase::kRequestBody: *response.mutable_request_body()->mutable_response() = common(c); break;
    case Phase::kResponseBody: *response.mutable_response_body()->mutable_response() = common(c); break;
    default: throw std::invalid_argument("response_with: trailers carry no CommonResponse");
  }
  return response;
}

ProcessingResponse immediate_response(int http_status, const std::string& body) {
  ProcessingResponse response;
  auto* immediate = response.mutable_immediate_response();
  immediate->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(http_status));
  immediate->set_body(body);
  return response;
}

namespace {
void sort_mutation(envoy::service::ext_proc::v3::HeaderMutation* mutation) {
  auto* set = mutation->mutable_set_headers();
  std::stable_sort(set->begin(), set->end(), [](const auto& a, const auto& b) {
    return a.header().key() < b.header().key();
  });
  auto* remove = mutation->mutable_remove_headers();
  std::sort(remove->begin(), remove->end());
}

void sort_common(envoy::service::ext_proc::v3::CommonResponse* c) {
  if (c->has_header_mutation()) sort_mutation(c->mutable_header_mutation());
}
}  // namespace

std::string canonical(const ProcessingResponse& response) {
  ProcessingResponse copy = response;
  if (copy.has_request_headers()) sort_common(copy.mutable_request_headers()->mutable_response());
  if (copy.has_response_headers()) sort_common(copy.mutable_response_headers()->mutable_response());
  if (copy.has_request_body()) sort_common(copy.mutable_request_body()->mutable_response());
  if (copy.has_response_body()) sort_common(copy.mutable_response_body()->mutable_response());
  // mutable_response() above adds an empty CommonResponse where there was none;
  // put back the absence, which is part of what the reference sends.
  const auto restore = [](auto* holder, bool had) {
    if (!had) holder->clear_response();
  };
  if (copy.has_request_headers()) restore(copy.mutable_request_headers(), response.request_headers().has_response());
  if (copy.has_response_headers()) restore(copy.mutable_response_headers(), response.response_headers().has_response());
  if (copy.has_request_body()) restore(copy.mutable_request_body(), response.request_body().has_response());
  if (copy.has_response_body()) restore(copy.mutable_response_body(), response.response_body().has_response());
  if (copy.has_immediate_response() && copy.immediate_response().has_headers()) {
    sort_mutation(copy.mutable_immediate_response()->mutable_headers());
  }
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  std::string text;
  printer.PrintToString(copy, &text);
  return text;
}

std::string canonical(const std::vector<ProcessingResponse>& responses) {
  std::string text;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    // Appended piece by piece: GCC 12 at -O3 misreads `"#" + std::to_string(i)`
    // as an overlapping memcpy (-Werror=restrict, a known false positive).
    text += '#';
    text += std::to_string(i);
    text += " {\n";
    text += canonical(responses[i]);
    text += "}\n";
  }
  return text;
}

// ---- reading answers --------------------------------------------------------------

Answered answered(const Exchange& exchange, bool request) {
  Answered out;
  google::protobuf::Struct metadata;
  for (const auto& r : exchange.responses) {
    for (const auto& [ns, value] : r.dynamic_metadata().fields()) {
      (*metadata.mutable_fields())[ns].mutable_struct_value()->MergeFrom(value.struct_value());
    }
    const envoy::service::ext_proc::v3::CommonResponse* common = nullptr;
    if (request ? r.has_request_headers() : r.has_response_headers())
      common = request ? &r.request_headers().response() : &r.response_headers().response();
    if (request ? r.has_request_body() : r.has_response_body())
      common = request ? &r.request_body().response() : &r.response_body().response();
    if (common == nullptr) continue;
    for (const auto& h : common->header_mutation().set_headers())
      out.set[h.header().key()] =
          h.header().raw_value().empty() ? h.header().value() : h.header().raw_value();
    for (const auto& key : common->header_mutation().remove_headers()) out.removed.push_back(key);
    const auto& mutation = common->body_mutation();
    if (mutation.has_streamed_response()) {
      out.body = out.body.value_or("") + mutation.streamed_response().body();
    } else if (mutation.mutation_case() ==
               envoy::service::ext_proc::v3::BodyMutation::kBody) {
      out.body = mutation.body();
    }
  }
  if (!metadata.fields().empty()) {
    out.metadata_json.clear();
    (void)google::protobuf::util::MessageToJsonString(metadata, &out.metadata_json);
  }
  return out;
}

std::vector<std::string> sse_data(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find("\n\n", at);
    if (end == std::string::npos) end = text.size();
    std::string event = text.substr(at, end - at);
    std::string data;
    std::istringstream lines(event);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("data:", 0) == 0) {
        if (!data.empty()) data += "\n";
        data += line.substr(line[5] == ' ' ? 6 : 5);
      }
    }
    if (!event.empty()) out.push_back(data);
    at = end + 2;
  }
  return out;
}

std::optional<double> metric_value(const std::string& page, const std::string& name,
                                   const std::vector<std::string>& labels) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& label : labels) all = all && line.find(label) != std::string::npos;
    if (!all) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

// ---- misc ----------------------------------------------------------------------

TempDir::TempDir() : path_(unique_temp_path("bbr-integration")) { fs::create_directories(path_); }
TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}
fs::path TempDir::write(const std::string& name, const std::string& content) const {
  const fs::path file = path_ / name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return {};
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

}  // namespace bbr::test
