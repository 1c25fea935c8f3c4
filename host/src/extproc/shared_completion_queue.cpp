#include "extproc/shared_completion_queue.hpp"

#include <grpc/grpc.h>

#include <mutex>

namespace bbr {

namespace {

// The queue to register with the server being built on this thread, if any:
// BuildAndStart constructs and starts the server on the calling thread.
thread_local grpc::ServerCompletionQueue* queue_for_next_server = nullptr;

class RegisterSharedQueue final : public grpc::Server::GlobalCallbacks {
 public:
  void PreSynchronousRequest(grpc::ServerContext*) override {}
  void PostSynchronousRequest(grpc::ServerContext*) override {}
  void PreServerStart(grpc::Server* server) override {
    if (queue_for_next_server == nullptr) return;
    grpc_server_register_completion_queue(server->c_server(), queue_for_next_server->cq(),
                                          nullptr);
  }
};

}  // namespace

void prepare_completion_queue_sharing() {
  static std::once_flag once;
  // gRPC keeps the object for the rest of the process.
  std::call_once(once, [] { grpc::Server::SetGlobalCallbacks(new RegisterSharedQueue); });
}

ServerOnSharedQueue build_on_queue(grpc::ServerBuilder& builder,
                                   grpc::ServerCompletionQueue* queue) {
  prepare_completion_queue_sharing();
  ServerOnSharedQueue out;
  out.unused_queue = builder.AddCompletionQueue();
  queue_for_next_server = queue;
  out.server = builder.BuildAndStart();
  queue_for_next_server = nullptr;
  return out;
}

}  // namespace bbr
