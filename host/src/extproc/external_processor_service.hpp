// The ExternalProcessor gRPC service on gRPC's callback API: one
// ServerBidiReactor per Process stream (no thread per stream), each owning a
// Session that turns every ProcessingRequest into the responses to send.
#pragma once

#include "chain/chain.hpp"
#include "session/session.hpp"

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"

#include <atomic>
#include <cstddef>

namespace bbr {

class ExternalProcessorService final
    : public envoy::service::ext_proc::v3::ExternalProcessor::CallbackService {
 public:
  // `chain` must outlive the service (and so every stream).
  ExternalProcessorService(const Chain& chain, const SessionOptions& options);

  grpc::ServerBidiReactor<envoy::service::ext_proc::v3::ProcessingRequest,
                          envoy::service::ext_proc::v3::ProcessingResponse>*
  Process(grpc::CallbackServerContext* context) override;

  // Streams opened and not yet done (for logs during drain).
  std::size_t active_streams() const { return active_streams_.load(); }

 private:
  const Chain& chain_;
  SessionOptions options_;
  std::atomic<std::size_t> active_streams_{0};
};

}  // namespace bbr
