// Two gRPC servers served by one completion queue, so one thread polls gRPC's
// engine. With a second thread polling (a queue of each server's own), gRPC
// hands each event the wrong thread picked up to the right one with a futex
// wake-up: several system calls per ext_proc stream, measured
// (docs/benchmarks.md, "System calls per stream").
//
// grpc::ServerBuilder only registers the queues it creates itself. gRPC's
// server hook PreServerStart runs after the server's core exists and before it
// starts, the one moment an existing queue can still be registered with it.
#pragma once

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>

namespace bbr {

// Installs the hook. gRPC allows it once per process and only before the
// first grpc::Server exists: call it before building any server.
void prepare_completion_queue_sharing();

struct ServerOnSharedQueue {
  std::unique_ptr<grpc::Server> server;  // null when the builder failed
  // gRPC's builder refuses a server without a polled queue of its own. This
  // one never carries an event (every call is requested on the shared queue;
  // register a generic service for unknown methods, else gRPC requests those
  // here), so no thread waits on it. Shut it down after the server.
  std::unique_ptr<grpc::ServerCompletionQueue> unused_queue;
};

// BuildAndStart, with `queue` (a queue of a server already started, which
// must outlive this one and be shut down only after it) registered as a
// completion queue of the new server too, so its async methods can be
// requested on it.
ServerOnSharedQueue build_on_queue(grpc::ServerBuilder& builder,
                                   grpc::ServerCompletionQueue* queue);

}  // namespace bbr
