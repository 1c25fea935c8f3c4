// grpc.health.v1.Health answered as the reference answers it: Check says
// SERVING for any service name (no SERVICE_UNKNOWN), List names the ext_proc
// service, Watch is UNIMPLEMENTED ("Watch is not implemented"). Unlike the
// reference, it turns NOT_SERVING while the server drains after SIGTERM, so a
// load balancer stops sending new streams before the port closes.
#pragma once

#include "grpc/health/v1/health.grpc.pb.h"

#include <atomic>

namespace bbr {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  void set_serving(bool serving) { serving_.store(serving); }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const grpc::health::v1::HealthListRequest* request,
                                 grpc::health::v1::HealthListResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  grpc::health::v1::HealthCheckResponse::ServingStatus status() const;
  std::atomic<bool> serving_{false};
};

}  // namespace bbr
