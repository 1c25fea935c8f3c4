#include "extproc/external_processor_service.hpp"

#include "log/log.hpp"

#include <deque>
#include <exception>
#include <string>
#include <utility>

namespace bbr {

namespace {

using envoy::service::ext_proc::v3::ProcessingRequest;
using envoy::service::ext_proc::v3::ProcessingResponse;

// One Process stream. Reads and writes never overlap: a request is read, the
// session's responses are written one at a time, and only then is the next
// request read (or the stream finished). So at most one request and one step's
// responses are held per stream (bounded buffering, and natural back-pressure
// on a client that sends faster than it reads), and the reactor callbacks never
// run concurrently with each other, which is why no mutex is needed.
class ProcessReactor final : public grpc::ServerBidiReactor<ProcessingRequest, ProcessingResponse> {
 public:
  ProcessReactor(const Chain& chain, const SessionOptions& options,
                 std::atomic<std::size_t>& active_streams)
      : session_(chain, options), active_streams_(active_streams) {
    ++active_streams_;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or the call was cancelled): a normal end.
      Finish(grpc::Status::OK);
      return;
    }
    Session::Step step;
    try {
      step = session_.on_request(request_);
    } catch (const std::exception& e) {
      log::error("ext_proc stream: session failed: {}", e.what());
      Finish(grpc::Status(grpc::StatusCode::UNKNOWN,
                          std::string("failed to handle request: ") + e.what()));
      return;
    }
    request_.Clear();
    for (auto& response : step.responses) pending_.push_back(std::move(response));
    if (step.finish) {
      finish_status_ = step.finish_with_error
                           ? grpc::Status(grpc::StatusCode::UNKNOWN, step.error_message)
                           : grpc::Status::OK;
      finish_after_writes_ = true;
    }
    write_next_or_continue();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      // The stream broke under us (client gone); nothing more can be sent.
      Finish(grpc::Status(grpc::StatusCode::UNKNOWN,
                          "failed to send response back to Envoy: stream closed"));
      return;
    }
    pending_.pop_front();
    write_next_or_continue();
  }

  void OnDone() override {
    --active_streams_;
    delete this;
  }

 private:
  void write_next_or_continue() {
    if (!pending_.empty()) {
      StartWrite(&pending_.front());
      return;
    }
    if (finish_after_writes_) {
      Finish(finish_status_);
      return;
    }
    StartRead(&request_);
  }

  Session session_;
  std::atomic<std::size_t>& active_streams_;
  ProcessingRequest request_;
  std::deque<ProcessingResponse> pending_;  // front() is being written
  bool finish_after_writes_ = false;
  grpc::Status finish_status_;
};

}  // namespace

ExternalProcessorService::ExternalProcessorService(const Chain& chain,
                                                   const SessionOptions& options)
    : chain_(chain), options_(options) {}

grpc::ServerBidiReactor<ProcessingRequest, ProcessingResponse>* ExternalProcessorService::Process(
    grpc::CallbackServerContext* /*context*/) {
  return new ProcessReactor(chain_, options_, active_streams_);
}

}  // namespace bbr
