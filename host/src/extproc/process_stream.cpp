#include "extproc/process_stream.hpp"

#include "extproc/chunk_envelope.hpp"

#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <grpcpp/support/proto_buffer_reader.h>

#include <exception>

namespace bbr {

namespace {

// Said once per process at warning level (then at debug level): a client
// that sends garbage must not flood the log.
void log_malformed(const std::string& what) {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) {
    log::warn("ext_proc stream: {} (further ones are logged at debug level)", what);
  } else {
    log::debug("ext_proc stream: {}", what);
  }
}

// The bytes of `chunk` without a copy: gRPC holds a reference to the body
// (through a copy of its shared_ptr) until the bytes are on the wire.
void encode_chunk(const Session::Step::Chunk& chunk, std::string& before, std::string& after,
                  grpc::ByteBuffer& out) {
  encode_chunk_envelope(chunk, before, after);
  grpc::Slice slices[3];
  std::size_t count = 0;
  slices[count++] = grpc::Slice(before);
  if (chunk.length != 0) {
    auto* owner = new std::shared_ptr<const std::string>(chunk.body);
    slices[count++] = grpc::Slice(
        const_cast<char*>(chunk.body->data() + chunk.offset), chunk.length,
        [](void* held) { delete static_cast<std::shared_ptr<const std::string>*>(held); }, owner);
  }
  if (!after.empty()) slices[count++] = grpc::Slice(after);
  out = grpc::ByteBuffer(slices, count);
}

}  // namespace

void ProcessStream::await_next(StreamEnvironment& env, grpc::ServerCompletionQueue* queue) {
  if (env.shutting_down.load(std::memory_order_relaxed)) return;
  auto* stream = new ProcessStream(env, queue);
  // No AsyncNotifyWhenDone: one operation is always in flight (the call
  // request, a read, a write or the finish), and a cancelled call completes
  // it with ok=false, which ends the stream the same way. The done notice
  // would be one more completion-queue event per stream for nothing.
  env.service->request_process(&stream->context_, &stream->stream_, queue,
                               &stream->operation_event_);
}

ProcessStream::ProcessStream(StreamEnvironment& env, grpc::ServerCompletionQueue* queue)
    : env_(env), queue_(queue) {
  env_.live_objects.fetch_add(1, std::memory_order_relaxed);
}

ProcessStream::~ProcessStream() {
  if (counted_active_) env_.active_streams.fetch_sub(1, std::memory_order_relaxed);
  env_.live_objects.fetch_sub(1, std::memory_order_relaxed);
}

void ProcessStream::on_operation(bool ok) {
  switch (state_) {
    case State::kAwaitingCall:
      if (!ok) {
        // The server shut down before a client came: there is no call.
        delete this;
        return;
      }
      on_call_started();
      return;
    case State::kReading: on_read(ok); return;
    case State::kWriting:
      if (!ok) {
        // The client is gone; nothing more can be sent.
        finish(grpc::Status(grpc::StatusCode::UNKNOWN,
                            "failed to send response back to Envoy: stream closed"));
        return;
      }
      write_next_or_read();
      return;
    case State::kFinishing:
      // The finish was the call's last operation: nothing of gRPC's refers
      // to this object any more.
      delete this;
      return;
  }
}

void ProcessStream::on_call_started() {
  // Keep one call requested per queue at all times: the next client is
  // matched at once instead of waiting for this thread to ask.
  await_next(env_, queue_);

  const std::size_t active = env_.active_streams.fetch_add(1, std::memory_order_relaxed) + 1;
  counted_active_ = true;
  if (env_.max_concurrent_streams != 0 && active > env_.max_concurrent_streams) {
    shed_reason_ = "concurrent_streams";
  } else {
    session_.emplace(*env_.chain, *env_.session_options);
  }
  state_ = State::kReading;
  stream_.Read(&incoming_, &operation_event_);
}

void ProcessStream::on_read(bool ok) {
  if (!ok) {
    // The client half-closed, or the call was cancelled (then the finish
    // completes at once with ok=false): a normal end either way.
    finish(grpc::Status::OK);
    return;
  }

  // Nothing refers to the previous message any more: the session moved out
  // what it keeps (on_request's contract).
  arena_.Reset();
  request_ = google::protobuf::Arena::CreateMessage<Session::ProcessingRequest>(&arena_);
  grpc::Status parsed =
      grpc::SerializationTraits<Session::ProcessingRequest>::Deserialize(&incoming_, request_);
  if (!parsed.ok()) {
    if (env_.metrics != nullptr) env_.metrics->record_malformed_message();
    log_malformed("a message that is not a ProcessingRequest: " + parsed.error_message());
    finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "malformed ProcessingRequest: " + parsed.error_message()));
    return;
  }

  if (shed_reason_ != nullptr) {
    if (env_.metrics != nullptr) env_.metrics->record_shed(shed_reason_);
    step_ = Session::shed(env_.session_options->retry_after_seconds,
                          "too many concurrent streams");
  } else {
    try {
      step_ = session_->on_request(*request_);
    } catch (const std::exception& e) {
      // Out of memory in a copy, a protobuf limit: this stream fails, the
      // server goes on.
      log::error("ext_proc stream: session failed: {}", e.what());
      finish(grpc::Status(grpc::StatusCode::UNKNOWN,
                          std::string("failed to handle request: ") + e.what()));
      return;
    }
  }
  if (step_.error == Session::StreamError::kMalformedRequest) {
    if (env_.metrics != nullptr) env_.metrics->record_malformed_message();
    log_malformed(step_.error_message);
  }
  state_ = State::kWriting;
  write_next_or_read();
}

void ProcessStream::write_next_or_read() {
  Session::ProcessingResponse* response = nullptr;
  if (step_.next(response, chunk_)) {
    outgoing_.Clear();  // gRPC's serialiser insists on an empty buffer
    if (response != nullptr) {
      bool own_buffer = false;
      grpc::SerializationTraits<Session::ProcessingResponse>::Serialize(*response, &outgoing_,
                                                                       &own_buffer);
    } else {
      encode_chunk(chunk_, chunk_before_, chunk_after_, outgoing_);
      chunk_.body.reset();
    }
    if (step_.finish && step_.exhausted() && step_.error == Session::StreamError::kNone) {
      // The last answer and the end of the stream in one operation.
      state_ = State::kFinishing;
      stream_.WriteAndFinish(outgoing_, grpc::WriteOptions(), grpc::Status::OK, &operation_event_);
    } else {
      // gRPC takes its own references to the buffer's slices here.
      stream_.Write(outgoing_, &operation_event_);
    }
    return;
  }
  if (step_.finish) {
    switch (step_.error) {
      case Session::StreamError::kNone: finish(grpc::Status::OK); break;
      case Session::StreamError::kMalformedRequest:
        finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, step_.error_message));
        break;
    }
    return;
  }
  step_ = Session::Step();
  state_ = State::kReading;
  stream_.Read(&incoming_, &operation_event_);
}

void ProcessStream::finish(const grpc::Status& status) {
  // Drop the body and the plugins' state now, not when the client goes.
  session_.reset();
  step_ = Session::Step();
  state_ = State::kFinishing;
  final_status_ = status;
  stream_.Finish(final_status_, &operation_event_);
}

}  // namespace bbr
