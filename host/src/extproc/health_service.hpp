// grpc.health.v1.Health answered as the reference answers it: Check says
// SERVING for any service name (no SERVICE_UNKNOWN), List names the ext_proc
// service, Watch is UNIMPLEMENTED ("Watch is not implemented"). Unlike the
// reference, it turns NOT_SERVING while the server drains after SIGTERM, so a
// load balancer stops sending new streams before the port closes.
//
// Served on the same asynchronous completion-queue API as ext_proc, on the
// first ext_proc queue and by its thread (its own server, its own port): a
// second polling thread would cost every ext_proc stream cross-thread
// wake-ups, while a probe waits at most behind one ext_proc event.
#pragma once

#include "grpc/health/v1/health.grpc.pb.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>

namespace bbr {

class HealthService {
 public:
  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Before BuildAndStart: registers the service, and a generic one that
  // answers any other method UNIMPLEMENTED (gRPC adds that answer itself only
  // on the queues its builder made, and this server has none of its own).
  void register_with(grpc::ServerBuilder& builder);
  // After BuildAndStart: starts answering, with calls requested on `queue`
  // (registered with the health server too, and drained by its thread).
  void start(grpc::ServerCompletionQueue* queue);
  // Before the server's Shutdown: no call is requested any more.
  void begin_shutdown() { shutting_down_.store(true); }
  // Calls requested or being answered; the queue may shut down at 0, once
  // the server's Shutdown has returned.
  std::size_t live_calls() const { return live_calls_.load(); }

  void set_serving(bool serving) { serving_.store(serving); }
  grpc::health::v1::HealthCheckResponse::ServingStatus status() const;

  grpc::health::v1::Health::AsyncService& service() { return service_; }
  grpc::AsyncGenericService& unknown_methods() { return unknown_methods_; }
  bool shutting_down() const { return shutting_down_.load(); }
  std::atomic<std::size_t>& live_call_count() { return live_calls_; }

 private:
  grpc::health::v1::Health::AsyncService service_;
  grpc::AsyncGenericService unknown_methods_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::size_t> live_calls_{0};
};

}  // namespace bbr
