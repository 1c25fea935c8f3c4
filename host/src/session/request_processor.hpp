// RequestProcessor: the request direction of one ext_proc stream, as states
// (docs/session.md, "The request"). The chain runs once on the whole body;
// a body over --max-body-bytes is answered 413, one past the in-flight budget
// 503.
#pragma once

#include "session/stream_context.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

namespace bbr {

class RequestProcessor {
 public:
  enum class State {
    kAwaitingHeaders,  // nothing of the request seen yet
    kBuffering,        // buffered: headers answered; body kept, each body message answered
    kHoldingHeaders,   // streamed: the headers answer waits for the body's end; body kept
    kComplete,         // the body was answered; only trailers may follow
  };

  RequestProcessor(StreamContext& ctx, BodyMode mode) : ctx_(ctx), mode_(mode) {}
  void set_mode(BodyMode mode) { mode_ = mode; }
  State state() const { return state_; }

  Session::Step on_headers(const envoy::service::ext_proc::v3::HttpHeaders& headers);
  Session::Step on_body(envoy::service::ext_proc::v3::HttpBody& body);
  Session::Step on_trailers();

 private:
  // The chain over the body so far, and the answer. `keep_body`: buffered
  // mode with more body to come (the bytes must outlive this answer).
  Session::Step run_chain(bool keep_body, bool end_of_stream);

  StreamContext& ctx_;
  BodyMode mode_;
  State state_ = State::kAwaitingHeaders;
  Headers headers_;
  HeldBody body_;
};

}  // namespace bbr
