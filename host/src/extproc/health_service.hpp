// grpc.health.v1.Health answered as the reference answers it: Check says
// SERVING for any service name (no SERVICE_UNKNOWN), List names the ext_proc
// service, Watch is UNIMPLEMENTED ("Watch is not implemented"). Unlike the
// reference, it turns NOT_SERVING while the server drains after SIGTERM, so a
// load balancer stops sending new streams before the port closes.
//
// Served on the same asynchronous completion-queue API as ext_proc, by one
// thread of its own (probes are rare; they never wait behind ext_proc work).
#pragma once

#include "grpc/health/v1/health.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>

namespace bbr {

class HealthService {
 public:
  HealthService() = default;
  ~HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Before BuildAndStart: registers the service and its completion queue.
  void register_with(grpc::ServerBuilder& builder);
  // After BuildAndStart: starts answering.
  void start();
  // Before the server's Shutdown: no call is requested any more.
  void begin_shutdown() { shutting_down_.store(true); }
  // After the server's Shutdown returned: stops the thread.
  void stop();

  void set_serving(bool serving) { serving_.store(serving); }
  grpc::health::v1::HealthCheckResponse::ServingStatus status() const;

  grpc::health::v1::Health::AsyncService& service() { return service_; }
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  grpc::health::v1::Health::AsyncService service_;
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;
  std::thread worker_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutting_down_{false};
};

}  // namespace bbr
