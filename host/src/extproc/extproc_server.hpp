// The two gRPC servers bbr-host runs: ExternalProcessor on --grpc-port (TLS
// when secure serving), and grpc.health.v1 on --grpc-health-port (always
// plaintext, as the reference's). Both on gRPC's asynchronous completion-queue
// API: `workers` queues for ext_proc, each drained by one thread that runs the
// session inline on the event it polled (docs/architecture.md, "Threads");
// health is served on the first of them, so no other thread polls.
#pragma once

#include "chain/chain.hpp"
#include "extproc/health_service.hpp"
#include "extproc/process_stream.hpp"
#include "session/session.hpp"

#include <grpcpp/server.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bbr {

struct ServerOptions {
  std::string host = "[::]";  // every interface, as the reference's ":<port>"
  int grpc_port = 9004;
  int health_port = 9005;
  bool secure_serving = true;
  // PEM files; both empty: a self-signed certificate is made at start-up.
  std::string cert_path;
  std::string key_path;
  // Largest single gRPC message accepted (a buffered body arrives as one):
  // the hard transport cap, above the body limit so an over-limit body still
  // reaches the session and is answered 413.
  std::size_t max_receive_message_bytes = 4 * 1024 * 1024;
  // Completion queues, one thread each (--workers).
  unsigned workers = 1;
  // Streams served at once; past it a stream is answered 503 (0: unbounded).
  std::size_t max_concurrent_streams = 0;
  // Memory gRPC's transport may use for all connections (ResourceQuota);
  // 0: gRPC's default (unbounded).
  std::size_t transport_memory_bytes = 0;
  // HTTP/2 receive window per stream: what a client may send ahead of what
  // the session has read. Fixed (no BDP growth) so it bounds memory.
  int stream_window_bytes = 256 * 1024;
  Metrics* metrics = nullptr;  // malformed / shed counters; may be null
};

// A listening port or the TLS material could not be set up.
class ServerStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ExtProcServer {
 public:
  // Starts both servers; health answers SERVING once both listen. `chain`
  // must outlive the server. Throws ServerStartError.
  ExtProcServer(const Chain& chain, const SessionOptions& session_options,
                const ServerOptions& options);
  ~ExtProcServer();

  // Health turns NOT_SERVING, no new streams are accepted, in-flight streams
  // may finish until `grace` has passed (then they are cancelled). Blocks
  // until both servers have stopped.
  void shutdown(std::chrono::milliseconds grace);

  std::size_t active_streams() const { return env_.active_streams.load(); }

 private:
  ExternalProcessorAsyncService service_;
  StreamEnvironment env_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::unique_ptr<grpc::ServerCompletionQueue> health_unused_queue_;  // see build_on_queue
  std::vector<std::thread> workers_;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  bool stopped_ = false;
};

}  // namespace bbr
