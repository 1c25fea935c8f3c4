// The ext_proc session: see docs/session.md for the state machine and
// docs/reference-behaviour.md for the reference behaviour it reproduces.
// Session dispatches each message to the direction it belongs to; the
// request and response processors hold the states, and AnswerEncoder writes
// every answer.
#include "session/session.hpp"

#include "body/body_buffer_pool.hpp"
#include "session/answer_encoder.hpp"
#include "session/envoy_context.hpp"
#include "session/request_processor.hpp"
#include "session/response_processor.hpp"
#include "session/stream_context.hpp"

#include <algorithm>

namespace bbr {
namespace {

using envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
using ProcessingResponse = Session::ProcessingResponse;
using Step = Session::Step;

BodyMode mode_from_protocol(ProcessingMode::BodySendMode mode) {
  switch (mode) {
    case ProcessingMode::FULL_DUPLEX_STREAMED: return BodyMode::kStreamed;
    case ProcessingMode::NONE: return BodyMode::kNone;
    default: return BodyMode::kBuffered;
  }
}

}  // namespace

// ------------------------------------------------------------------------ Step

void Step::add_streamed_body(bbr_phase_t phase, std::string bytes, bool end_of_stream,
                             std::size_t chunk_bytes, bool recycle) {
  std::shared_ptr<const std::string> shared;
  if (recycle && bytes.capacity() >= BodyBufferPool::kMinPooledCapacity) {
    // The last chunk gRPC is done with gives the buffer back to the pool.
    shared.reset(new std::string(std::move(bytes)), [](const std::string* done) {
      BodyBufferPool::give_back(std::move(*const_cast<std::string*>(done)));
      delete done;
    });
  } else {
    shared = std::make_shared<const std::string>(std::move(bytes));
  }
  items_.emplace_back(
      StreamedBody{phase, std::move(shared), end_of_stream, std::max<std::size_t>(chunk_bytes, 1)});
}

bool Step::next(ProcessingResponse*& response, Chunk& chunk) {
  response = nullptr;
  if (next_item_ >= items_.size()) return false;
  auto& item = items_[next_item_];
  if (auto* ready = std::get_if<ProcessingResponse>(&item)) {
    response = ready;
    ++next_item_;
    return true;
  }
  auto& body = std::get<StreamedBody>(item);
  const std::size_t size = body.bytes->size();
  chunk.phase = body.phase;
  chunk.body = body.bytes;
  chunk.offset = body.offset;
  chunk.length = std::min(body.chunk_bytes, size - body.offset);
  body.offset += chunk.length;
  const bool last = body.offset >= size;
  chunk.end_of_stream = body.end_of_stream && last;
  if (last) {
    body.bytes.reset();  // the chunks hold the bytes now, for as long as gRPC needs them
    ++next_item_;
  }
  return true;
}

bool Step::next(ProcessingResponse& out) {
  out.Clear();
  ProcessingResponse* response = nullptr;
  Chunk chunk;
  if (!next(response, chunk)) return false;
  if (response != nullptr) {
    out.Swap(response);
    return true;
  }
  auto* streamed = (chunk.phase == BBR_PHASE_REQUEST ? out.mutable_request_body()
                                                     : out.mutable_response_body())
                       ->mutable_response()
                       ->mutable_body_mutation()
                       ->mutable_streamed_response();
  streamed->set_body(chunk.body->data() + chunk.offset, chunk.length);
  streamed->set_end_of_stream(chunk.end_of_stream);
  return true;
}

std::vector<ProcessingResponse> Step::take_all() {
  std::vector<ProcessingResponse> all;
  ProcessingResponse one;
  while (next(one)) all.push_back(std::move(one));
  return all;
}

// --------------------------------------------------------------------- Session

struct Session::Impl {
  const SessionOptions options;
  StreamContext context;
  RequestProcessor request;
  ResponseProcessor response;
  bool first_message = true;
  bool finished = false;

  Impl(const Chain& chain, const SessionOptions& o)
      : options(o),
        context(chain, options),
        request(context, o.streaming ? BodyMode::kStreamed : BodyMode::kBuffered),
        response(context, o.streaming ? BodyMode::kStreamed : BodyMode::kBuffered) {}

  Step on_request(ProcessingRequest& req) {
    if (finished) return Step{};
    // Envoy sends attributes and metadata with the messages its config
    // names; kept for the whole stream.
    if (absorb_envoy_context(req, context.envoy_context)) context.has_envoy_context = true;
    if (first_message) {
      first_message = false;
      if (req.has_protocol_config()) {
        request.set_mode(mode_from_protocol(req.protocol_config().request_body_mode()));
        response.set_mode(mode_from_protocol(req.protocol_config().response_body_mode()));
      }
    }
    Step step = dispatch(req);
    finished = step.finish;
    return step;
  }

  Step dispatch(ProcessingRequest& req) {
    switch (req.request_case()) {
      case ProcessingRequest::kRequestHeaders: return request.on_headers(req.request_headers());
      case ProcessingRequest::kResponseHeaders: return response.on_headers(req.response_headers());
      case ProcessingRequest::kRequestBody: return request.on_body(*req.mutable_request_body());
      case ProcessingRequest::kResponseBody: return response.on_body(*req.mutable_response_body());
      case ProcessingRequest::kRequestTrailers: return request.on_trailers();
      case ProcessingRequest::kResponseTrailers: return response.on_trailers();
      case ProcessingRequest::REQUEST_NOT_SET: break;
    }
    Step step;
    step.finish = true;
    step.error = StreamError::kMalformedRequest;
    step.error_message =
        "ProcessingRequest carries none of request_headers, response_headers, request_body, "
        "response_body, request_trailers, response_trailers";
    return step;
  }
};

Session::Session(const Chain& chain, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(chain, options)) {}

Session::~Session() = default;

Session::Step Session::on_request(ProcessingRequest& request) { return impl_->on_request(request); }

Session::Step Session::on_request(const ProcessingRequest& request) {
  ProcessingRequest copy(request);
  return impl_->on_request(copy);
}

Session::Step Session::shed(unsigned retry_after_seconds, const char* reason) {
  return AnswerEncoder::shed(retry_after_seconds, reason);
}

}  // namespace bbr
