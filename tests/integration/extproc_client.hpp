// Test harness for the real bbr-host binary: starts it on free loopback ports,
// waits for its health service, and drives ext_proc Process streams over real
// gRPC, collecting every response until the server ends the stream.
#pragma once

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bbr::test {

using envoy::service::ext_proc::v3::ProcessingRequest;
using envoy::service::ext_proc::v3::ProcessingResponse;
using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- processes --------------------------------------------------------------

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
int free_port();

// BBR_BINARY_DIR/bin/bbr-host.
std::filesystem::path bbr_host_binary();

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string output;  // stdout and stderr together
};

// Runs bbr-host with `args` to completion (killed after `timeout`).
CommandResult run_bbr_host(const std::vector<std::string>& args,
                           std::chrono::seconds timeout = std::chrono::seconds(30));

struct ServerOptions {
  bool streaming = false;
  bool secure_serving = false;  // tests talk plaintext unless they test TLS
  std::vector<std::string> extra_args;  // e.g. --config FILE, --plugin ...
};

// A running `bbr-host serve`. Killed (SIGKILL) on destruction if still running.
class ServerProcess {
 public:
  // Starts it and waits until its health service says SERVING. Throws
  // std::runtime_error with the server's output when it does not come up.
  explicit ServerProcess(const ServerOptions& options,
                         std::chrono::seconds startup_timeout = std::chrono::seconds(30));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int grpc_port() const { return grpc_port_; }
  int health_port() const { return health_port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }

  void send_signal(int signal_number) const;
  // The exit code once the process has exited within `timeout`; nullopt if it
  // is still running; -1 if a signal killed it.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  std::string output() const;  // what it printed so far
  int thread_count() const;    // from /proc/<pid>/status

  std::shared_ptr<grpc::Channel> channel() const;  // plaintext or TLS to match the server

 private:
  void start(const ServerOptions& options, std::chrono::seconds startup_timeout);

  bool secure_ = false;
  int grpc_port_ = 0;
  int health_port_ = 0;
  int metrics_port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path output_file_;
};

// ---- channels and health -------------------------------------------------------

std::shared_ptr<grpc::Channel> plaintext_channel(int port);
// TLS without verifying the server's certificate (as Istio's insecureSkipVerify).
std::shared_ptr<grpc::Channel> tls_channel_without_verification(int port);
// TLS trusting exactly `root_pem`, checking the name `localhost`.
std::shared_ptr<grpc::Channel> tls_channel_trusting(int port, const std::string& root_pem);

struct HealthAnswer {
  grpc::Status status;
  grpc::health::v1::HealthCheckResponse::ServingStatus serving =
      grpc::health::v1::HealthCheckResponse::UNKNOWN;
};
HealthAnswer check_health(int health_port, const std::string& service = "",
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// ---- streams -----------------------------------------------------------------

// Everything one Process stream produced.
struct Exchange {
  std::vector<ProcessingResponse> responses;
  grpc::Status status;
};

// Sends `requests` in order on one Process stream, half-closes, and collects
// every response until the server ends the stream (responses are read on a
// second thread while requests are written, so big exchanges cannot deadlock
// on flow control).
Exchange run(const std::shared_ptr<grpc::Channel>& channel,
             const std::vector<ProcessingRequest>& requests,
             std::chrono::seconds timeout = std::chrono::seconds(20));

// A stream driven step by step (for drain and concurrency tests).
class ProcessStream {
 public:
  ProcessStream(const std::shared_ptr<grpc::Channel>& channel,
                std::chrono::seconds timeout = std::chrono::seconds(30));
  bool send(const ProcessingRequest& request);
  std::optional<ProcessingResponse> receive();  // nullopt once the server ended the stream
  grpc::Status close();  // half-close, drain remaining responses into leftovers(), finish
  const std::vector<ProcessingResponse>& leftovers() const { return leftovers_; }

 private:
  std::unique_ptr<envoy::service::ext_proc::v3::ExternalProcessor::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ProcessingRequest, ProcessingResponse>> stream_;
  std::vector<ProcessingResponse> leftovers_;
};

// ---- request builders (what Envoy sends) ---------------------------------------

// Header values go in raw_value (as Envoy sends them) unless `in_value`.
ProcessingRequest request_headers(const Headers& headers, bool end_of_stream,
                                  bool in_value = false);
ProcessingRequest request_body(const std::string& body, bool end_of_stream);
ProcessingRequest request_trailers(const Headers& trailers = {});
ProcessingRequest response_headers(const Headers& headers, bool end_of_stream,
                                   bool in_value = false);
ProcessingRequest response_body(const std::string& body, bool end_of_stream);
ProcessingRequest response_trailers(const Headers& trailers = {});

// ---- expected responses (what the reference answers) ---------------------------

// The reference's header mutation entry: header{key, raw_value}, nothing else.
envoy::config::core::v3::HeaderValueOption header_option(const std::string& key,
                                                         const std::string& value);

struct Common {
  Headers set;                       // set_headers, as H(key, value)
  std::vector<std::string> remove;   // remove_headers
  bool header_mutation = false;      // present even when empty
  bool clear_route_cache = false;
  std::optional<std::string> body;   // body_mutation.body
  std::optional<std::pair<std::string, bool>> streamed;  // body_mutation.streamed_response{body, eos}
};
envoy::service::ext_proc::v3::CommonResponse common(const Common& c);

enum class Phase { kRequestHeaders, kResponseHeaders, kRequestBody, kResponseBody,
                   kRequestTrailers, kResponseTrailers };
// ProcessingResponse{<phase>: {}} (no CommonResponse) ...
ProcessingResponse empty_response(Phase phase);
// ... or with one (headers and body phases only).
ProcessingResponse response_with(Phase phase, const Common& c);
ProcessingResponse immediate_response(int http_status, const std::string& body);

// Canonical text of responses for comparison: set_headers sorted by key (the
// reference's order is unspecified), remove_headers sorted, text format.
std::string canonical(const std::vector<ProcessingResponse>& responses);
std::string canonical(const ProcessingResponse& response);

// ---- reading answers --------------------------------------------------------------

// What the server answered for one direction of a stream, put together: the
// headers set (key -> value) and removed, the body sent on (body_mutation.body,
// or the streamed_response chunks joined; nullopt when neither), and the
// dynamic metadata of every answer merged per namespace, as JSON text ("{}"
// when there is none).
struct Answered {
  std::map<std::string, std::string> set;
  std::vector<std::string> removed;
  std::optional<std::string> body;
  std::string metadata_json = "{}";
};
Answered answered(const Exchange& exchange, bool request);

// The data: payloads of an SSE text, in order.
std::vector<std::string> sse_data(const std::string& text);

// The value of the first metrics line that starts with `name{` and holds every label.
std::optional<double> metric_value(const std::string& page, const std::string& name,
                                   const std::vector<std::string>& labels);

// ---- misc ----------------------------------------------------------------------

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// GET http://127.0.0.1:<port><path>; the whole HTTP response (status line, headers, body).
std::string http_get(int port, const std::string& path);

}  // namespace bbr::test
