// One ext_proc Process stream on gRPC's asynchronous completion-queue API.
//
// Every event of a stream is handled by the one thread that drains its
// completion queue, inline, the way Envoy's workers run filters: no handoff
// between threads, no lock. Reads and writes never overlap (read one message,
// write the session's answers one by one, then read again), so at most one
// message and one answer are in memory per stream besides its body, and a
// client that sends faster than it reads is slowed by HTTP/2 flow control.
#pragma once

#include "chain/chain.hpp"
#include "extproc/completion_queue_event.hpp"
#include "session/session.hpp"

#include "envoy/service/ext_proc/v3/external_processor.grpc.pb.h"

#include <google/protobuf/arena.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstddef>
#include <optional>

namespace bbr {

class Metrics;

// Process messages travel as raw bytes both ways. In: a message that is not
// a ProcessingRequest is seen as such (and answered INVALID_ARGUMENT) instead
// of looking like the client's half-close. Out: a streamed body chunk goes to
// gRPC as a reference to the session's buffer, not as a copy in a message.
class ExternalProcessorAsyncService final
    : public envoy::service::ext_proc::v3::ExternalProcessor::AsyncService {
 public:
  using RawStream = grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
  void request_process(grpc::ServerContext* context, RawStream* stream,
                       grpc::ServerCompletionQueue* queue, void* tag) {
    RequestAsyncBidiStreaming(0, context, stream, queue, queue, tag);
  }
};

// What all streams share: read-only after start-up except the counters.
struct StreamEnvironment {
  ExternalProcessorAsyncService* service = nullptr;
  const Chain* chain = nullptr;
  const SessionOptions* session_options = nullptr;
  Metrics* metrics = nullptr;
  std::size_t max_concurrent_streams = 0;  // 0: unbounded
  std::atomic<bool> shutting_down{false};
  std::atomic<std::size_t> active_streams{0};  // started and not yet done
  std::atomic<std::size_t> live_objects{0};    // ProcessStream objects, requested ones included
};

class ProcessStream {
 public:
  // Asks gRPC for the next Process call on `queue`; the object then lives
  // until its call is done (or the server shuts down first).
  static void await_next(StreamEnvironment& env, grpc::ServerCompletionQueue* queue);

  ProcessStream(const ProcessStream&) = delete;
  ProcessStream& operator=(const ProcessStream&) = delete;

 private:
  enum class State {
    kAwaitingCall,  // requested from gRPC, no client yet
    kReading,       // a read is in flight
    kWriting,       // the step's responses are being written, one at a time
    kFinishing,     // Finish (or WriteAndFinish) is in flight: the last operation
  };

  ProcessStream(StreamEnvironment& env, grpc::ServerCompletionQueue* queue);
  ~ProcessStream();

  // The one operation in flight (call request, read, write or finish)
  // completed; ok=false when the call ended or was cancelled.
  void on_operation(bool ok);

  void on_call_started();
  void on_read(bool ok);
  void write_next_or_read();
  void finish(const grpc::Status& status);

  StreamEnvironment& env_;
  grpc::ServerCompletionQueue* queue_;
  grpc::ServerContext context_;
  ExternalProcessorAsyncService::RawStream stream_{&context_};
  EventOf<ProcessStream, &ProcessStream::on_operation> operation_event_{this};

  State state_ = State::kAwaitingCall;
  bool counted_active_ = false;
  const char* shed_reason_ = nullptr;  // set: answer the first message with 503

  grpc::ByteBuffer incoming_;
  grpc::ByteBuffer outgoing_;
  // Each incoming message is parsed into a fresh message on this arena, reset
  // before the next one: a request's headers (a dozen sub-objects and
  // strings) cost no malloc when they fit the inline block, sized for the
  // headers Envoy sends with a small request. Bigger ones take blocks that
  // the reset frees, so a long stream does not accumulate them.
  static constexpr std::size_t kArenaBlockBytes = 2048;
  alignas(8) char arena_block_[kArenaBlockBytes];
  google::protobuf::Arena arena_{arena_block_, sizeof(arena_block_)};
  Session::ProcessingRequest* request_ = nullptr;
  Session::Step::Chunk chunk_;
  std::string chunk_before_, chunk_after_;  // a chunk's envelope, reused
  std::optional<Session> session_;
  Session::Step step_;
  grpc::Status final_status_;
};

}  // namespace bbr
