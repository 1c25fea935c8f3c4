#include "extproc/health_service.hpp"

namespace bbr {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus HealthService::status() const {
  return serving_.load() ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const grpc::health::v1::HealthCheckRequest*,
                                               HealthCheckResponse* response) {
  response->set_status(status());
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* HealthService::List(grpc::CallbackServerContext* context,
                                              const grpc::health::v1::HealthListRequest*,
                                              grpc::health::v1::HealthListResponse* response) {
  (*response->mutable_statuses())["envoy.service.ext_proc.v3.ExternalProcessor"].set_status(
      status());
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

namespace {

class UnimplementedWatch final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  UnimplementedWatch() {
    Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Watch is not implemented"));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext*, const grpc::health::v1::HealthCheckRequest*) {
  return new UnimplementedWatch();
}

}  // namespace bbr
