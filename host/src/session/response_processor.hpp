// ResponseProcessor: the response direction of one ext_proc stream, as states
// (docs/session.md, "The response"). It owns the response's way through the
// plugins: a body held whole for whole-body plugins, a streamed body fed to
// the chunk/event hooks piece by piece (ResponseStream), or a body passed
// through untouched. A response is never refused: past a limit it passes
// through unchanged.
#pragma once

#include "session/response_stream.hpp"
#include "session/stream_context.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

#include <memory>

namespace bbr {

class ResponseProcessor {
 public:
  enum class State {
    kAwaitingHeaders,   // nothing of the response seen yet
    kBuffering,         // buffered: headers answered; body kept, each body message answered
    kHoldingHeaders,    // streamed: the headers answer waits for the body's end; body kept
    kPassingThrough,    // streamed: each body chunk answered as it arrives, nothing kept
    kForwarding,        // buffered: each body message answered empty, nothing kept
    kStreamingPlugins,  // streamed: each chunk runs through the chunk/event hooks and
                        // goes on at once; only an incomplete SSE event is kept
    kComplete,          // the body was answered; only trailers may follow
  };

  ResponseProcessor(StreamContext& ctx, BodyMode mode) : ctx_(ctx), mode_(mode) {}
  void set_mode(BodyMode mode) { mode_ = mode; }
  State state() const { return state_; }

  Session::Step on_headers(const envoy::service::ext_proc::v3::HttpHeaders& headers);
  Session::Step on_body(envoy::service::ext_proc::v3::HttpBody& body);
  Session::Step on_trailers();

 private:
  bool streamed() const { return mode_ == BodyMode::kStreamed; }
  bool has_plugins() const { return !ctx_.chain.response_plugins().empty(); }
  bool is_event_stream() const;
  // The state a body finds when nothing was decided for it yet.
  Session::Step start_body(envoy::service::ext_proc::v3::HttpBody& body);
  // Chooses the chunk/event hooks for this response when no response plugin
  // needs the whole body; false leaves the whole-body handling.
  bool start_streaming_plugins();
  Session::Step stream_through_plugins(envoy::service::ext_proc::v3::HttpBody& body);
  // Stops holding the body and lets it and the rest through unchanged.
  Session::Step start_pass_through(envoy::service::ext_proc::v3::HttpBody& body);
  // The plugins over the whole body so far, and the answer: the chunk/event
  // hooks first (an SSE body event by event), then the whole-body plugins.
  // `keep_body`: buffered mode with more body to come.
  Session::Step run_chain(bool keep_body, bool end_of_stream);

  StreamContext& ctx_;
  BodyMode mode_;
  State state_ = State::kAwaitingHeaders;
  Headers headers_;
  HeldBody body_;
  std::unique_ptr<ResponseStream> stream_;  // in kStreamingPlugins
};

}  // namespace bbr
