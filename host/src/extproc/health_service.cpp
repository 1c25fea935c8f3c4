#include "extproc/health_service.hpp"

#include "extproc/completion_queue_event.hpp"

namespace bbr {

namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using grpc::health::v1::HealthListRequest;
using grpc::health::v1::HealthListResponse;

// One health call: requested, answered at once, then gone.
class HealthCall final : public CompletionQueueEvent {
 public:
  enum class Method { kCheck, kList, kWatch, kUnknown };

  static void await_next(HealthService& health, grpc::ServerCompletionQueue* queue, Method method) {
    if (health.shutting_down()) return;
    auto* call = new HealthCall(health, queue, method);
    auto& service = health.service();
    switch (method) {
      case Method::kCheck:
        service.RequestCheck(&call->context_, &call->check_request_, &call->check_responder_, queue,
                             queue, call);
        break;
      case Method::kList:
        service.RequestList(&call->context_, &call->list_request_, &call->list_responder_, queue,
                            queue, call);
        break;
      case Method::kWatch:
        service.RequestWatch(&call->context_, &call->check_request_, &call->watch_writer_, queue,
                             queue, call);
        break;
      case Method::kUnknown:
        health.unknown_methods().RequestCall(&call->generic_context_, &call->generic_stream_,
                                             queue, queue, call);
        break;
    }
  }

  void on_event(bool ok) override {
    if (!ok || answered_) {
      delete this;  // answered, or the server shut down before a client came
      return;
    }
    answered_ = true;
    await_next(health_, queue_, method_);
    switch (method_) {
      case Method::kCheck: {
        HealthCheckResponse reply;
        reply.set_status(health_.status());
        check_responder_.Finish(reply, grpc::Status::OK, this);
        break;
      }
      case Method::kList: {
        HealthListResponse reply;
        (*reply.mutable_statuses())["envoy.service.ext_proc.v3.ExternalProcessor"].set_status(
            health_.status());
        list_responder_.Finish(reply, grpc::Status::OK, this);
        break;
      }
      case Method::kWatch:
        watch_writer_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Watch is not implemented"),
                             this);
        break;
      case Method::kUnknown:
        // As gRPC answers a method no service has.
        generic_stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""), this);
        break;
    }
  }

 private:
  HealthCall(HealthService& health, grpc::ServerCompletionQueue* queue, Method method)
      : health_(health), queue_(queue), method_(method) {
    health_.live_call_count().fetch_add(1);
  }
  ~HealthCall() { health_.live_call_count().fetch_sub(1); }

  HealthService& health_;
  grpc::ServerCompletionQueue* queue_;
  Method method_;
  bool answered_ = false;
  grpc::ServerContext context_;
  HealthCheckRequest check_request_;
  HealthListRequest list_request_;
  grpc::ServerAsyncResponseWriter<HealthCheckResponse> check_responder_{&context_};
  grpc::ServerAsyncResponseWriter<HealthListResponse> list_responder_{&context_};
  grpc::ServerAsyncWriter<HealthCheckResponse> watch_writer_{&context_};
  grpc::GenericServerContext generic_context_;
  grpc::GenericServerAsyncReaderWriter generic_stream_{&generic_context_};
};

}  // namespace

HealthCheckResponse::ServingStatus HealthService::status() const {
  return serving_.load() ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::register_with(grpc::ServerBuilder& builder) {
  builder.RegisterService(&service_);
  builder.RegisterAsyncGenericService(&unknown_methods_);
}

void HealthService::start(grpc::ServerCompletionQueue* queue) {
  for (auto method : {HealthCall::Method::kCheck, HealthCall::Method::kList,
                      HealthCall::Method::kWatch, HealthCall::Method::kUnknown}) {
    HealthCall::await_next(*this, queue, method);
  }
}

}  // namespace bbr
