// Session: the per-stream state machine of the ext_proc protocol, free of gRPC
// serving concerns. The extproc reactor feeds it each ProcessingRequest and
// writes back, in order, the ProcessingResponses it returns.
// The states and transitions are drawn in docs/session.md.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace bbr {

class Metrics;

struct SessionOptions {
  bool streaming = false;            // FULL_DUPLEX_STREAMED (the reference's --streaming)
  std::size_t max_body_bytes = 0;    // 0: unlimited
  std::size_t stream_chunk_bytes = 62000;  // streamed_response chunk size (reference)
  Metrics* metrics = nullptr;        // bbr_success_total; may be null
};

class Session {
 public:
  using ProcessingRequest = envoy::service::ext_proc::v3::ProcessingRequest;
  using ProcessingResponse = envoy::service::ext_proc::v3::ProcessingResponse;

  struct Step {
    std::vector<ProcessingResponse> responses;  // send these, in order
    // End the stream after sending: cleanly (ok) or with an error status the
    // reactor turns into a gRPC status (Envoy then answers 500).
    bool finish = false;
    bool finish_with_error = false;
    std::string error_message;
  };

  Session(const Chain& chain, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Step on_request(const ProcessingRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bbr
