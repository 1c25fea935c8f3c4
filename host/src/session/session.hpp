// Session: the per-stream state machine of the ext_proc protocol, free of gRPC
// serving concerns. The serving core feeds it each ProcessingRequest and
// writes back, in order, the ProcessingResponses of the Step it returns.
// The states and transitions are drawn in docs/session.md.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "session/inflight_budget.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace bbr {

class Metrics;

struct SessionOptions {
  bool streaming = false;            // FULL_DUPLEX_STREAMED (the reference's --streaming)
  std::size_t max_body_bytes = 0;    // 0: unlimited
  std::size_t stream_chunk_bytes = 62000;  // streamed_response chunk size (reference)
  // Sum of body bytes all streams may hold; null: unbounded.
  InflightBudget* inflight_budget = nullptr;
  // Seconds a shed client is told to wait (Retry-After of the 503).
  unsigned retry_after_seconds = 1;
  // Headers only the chain may decide. A client-sent one that no plugin set
  // is removed, so a client cannot steer routing by sending it. Shared: the
  // options are copied into every session.
  std::shared_ptr<const std::vector<std::string>> routing_headers;
  Metrics* metrics = nullptr;        // bbr_success_total; may be null
  // Told every chain run's outcome, right after the run: the offline driver
  // (host/src/offline) reports which plugin stopped a chain. Empty in serve.
  std::function<void(bbr_phase_t, const ChainOutcome&)> on_chain_outcome;
};

class Session {
 public:
  using ProcessingRequest = envoy::service::ext_proc::v3::ProcessingRequest;
  using ProcessingResponse = envoy::service::ext_proc::v3::ProcessingResponse;

  // How a stream ends when it does not end cleanly.
  enum class StreamError {
    kNone,
    kMalformedRequest,  // a message with nothing set: gRPC INVALID_ARGUMENT
  };

  // What to send for one ProcessingRequest, in order. A body re-sent in
  // streamed mode is kept as one shared buffer: each streamed_response chunk
  // is a view into it, cut only as it is sent, so the serving core can hand
  // the bytes to gRPC without copying them (see Chunk).
  class Step {
   public:
    // One streamed_response chunk: `length` bytes of `body` from `offset`.
    struct Chunk {
      bbr_phase_t phase = BBR_PHASE_REQUEST;
      std::shared_ptr<const std::string> body;
      std::size_t offset = 0;
      std::size_t length = 0;
      bool end_of_stream = false;
    };

    void add(ProcessingResponse response) { items_.emplace_back(std::move(response)); }
    // `bytes` as streamed_response chunks of at most `chunk_bytes` (an empty
    // body is one empty chunk); end_of_stream on the last one only.
    // `recycle`: a large buffer goes back to BodyBufferPool once sent.
    void add_streamed_body(bbr_phase_t phase, std::string bytes, bool end_of_stream,
                           std::size_t chunk_bytes, bool recycle = false);

    // The next thing to send: a ready response (`*response` set; it may be
    // moved from) or a chunk. False when everything has been handed out.
    bool next(ProcessingResponse*& response, Chunk& chunk);
    // The next response as a message (a chunk is copied into one): for
    // tests and tools, where a copy does not matter.
    bool next(ProcessingResponse& out);
    // True when next() has nothing more to hand out.
    bool exhausted() const { return next_item_ >= items_.size(); }
    // Every remaining response at once (tests, tools).
    std::vector<ProcessingResponse> take_all();

    // End the stream after sending: cleanly, or with `error`.
    bool finish = false;
    StreamError error = StreamError::kNone;
    std::string error_message;

   private:
    struct StreamedBody {
      bbr_phase_t phase;
      std::shared_ptr<const std::string> bytes;
      bool end_of_stream;
      std::size_t chunk_bytes;
      std::size_t offset = 0;
    };
    std::vector<std::variant<ProcessingResponse, StreamedBody>> items_;
    std::size_t next_item_ = 0;
  };

  Session(const Chain& chain, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // May move body bytes out of `request` (it is the caller's scratch object).
  Step on_request(ProcessingRequest& request);
  Step on_request(const ProcessingRequest& request);

  // The answer to a stream refused before it is processed (load shedding):
  // ImmediateResponse 503 with Retry-After, and the stream ends.
  static Step shed(unsigned retry_after_seconds, const char* reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bbr
