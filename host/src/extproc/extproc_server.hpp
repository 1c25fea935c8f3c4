// The two gRPC servers bbr-host runs: ExternalProcessor on --grpc-port (TLS
// when secure serving), and grpc.health.v1 on --grpc-health-port (always
// plaintext, as the reference's).
#pragma once

#include "chain/chain.hpp"
#include "extproc/external_processor_service.hpp"
#include "extproc/health_service.hpp"
#include "session/session.hpp"

#include <grpcpp/server.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace bbr {

struct ServerOptions {
  std::string host = "[::]";  // every interface, as the reference's ":<port>"
  int grpc_port = 9004;
  int health_port = 9005;
  bool secure_serving = true;
  // PEM files; both empty: a self-signed certificate is made at start-up.
  std::string cert_path;
  std::string key_path;
  // Largest single gRPC message accepted (a buffered body arrives as one).
  std::size_t max_receive_message_bytes = 4 * 1024 * 1024;
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

  std::size_t active_streams() const { return service_.active_streams(); }

 private:
  ExternalProcessorService service_;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> health_server_;
  bool stopped_ = false;
};

}  // namespace bbr
