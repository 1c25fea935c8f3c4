#include "session/response_processor.hpp"

#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "sse/sse.hpp"

namespace bbr {

using Step = Session::Step;
namespace ext_proc = envoy::service::ext_proc::v3;

bool ResponseProcessor::is_event_stream() const {
  for (const auto& h : headers_) {
    if (header_name_equals(h.key, "content-type")) return sse::is_event_stream(h.value);
  }
  return false;
}

Step ResponseProcessor::on_headers(const ext_proc::HttpHeaders& headers) {
  headers_ = to_headers(headers.headers());
  body_.expect(headers_);
  Step step;
  if (headers.end_of_stream() || mode_ == BodyMode::kNone) {
    ctx_.encoder.plain_headers(step, BBR_PHASE_RESPONSE, headers_);
    state_ = State::kComplete;
  } else if (streamed()) {
    if (!has_plugins()) {
      // Nothing needs the body: answer now and let each chunk through as it
      // comes, so the first token is not held back.
      ctx_.encoder.plain_headers(step, BBR_PHASE_RESPONSE, headers_);
      state_ = State::kPassingThrough;
    } else if (start_streaming_plugins()) {
      ctx_.encoder.streaming_headers(step, headers_);
    } else {
      state_ = State::kHoldingHeaders;  // answered with the body's end
    }
  } else {
    ctx_.encoder.plain_headers(step, BBR_PHASE_RESPONSE, headers_);
    state_ = has_plugins() ? State::kBuffering : State::kForwarding;
  }
  return step;
}

Step ResponseProcessor::on_body(ext_proc::HttpBody& body) {
  switch (state_) {
    case State::kAwaitingHeaders: return start_body(body);
    case State::kStreamingPlugins: return stream_through_plugins(body);
    case State::kPassingThrough: {
      Step step;
      ctx_.encoder.as_received(step, BBR_PHASE_RESPONSE, /*streamed=*/true, body);
      if (body.end_of_stream()) state_ = State::kComplete;
      return step;
    }
    case State::kForwarding:
    case State::kComplete: {
      // Nothing keeps this body: answered as it is (a body after the end of
      // one is not the reference's protocol; it is let through).
      Step step;
      ctx_.encoder.as_received(step, BBR_PHASE_RESPONSE, streamed(), body);
      return step;
    }
    case State::kBuffering:
    case State::kHoldingHeaders: break;
  }

  switch (body_.take(*body.mutable_body(), body.end_of_stream(), ctx_)) {
    case HeldBody::Taken::kKept: break;
    case HeldBody::Taken::kOverBudget:
      if (ctx_.options.metrics != nullptr) ctx_.options.metrics->record_shed("inflight_body_bytes");
      [[fallthrough]];
    case HeldBody::Taken::kOverLimit:
      // A response cannot be refused: stop holding it and let it through unchanged.
      return start_pass_through(body);
  }
  if (streamed() && !body.end_of_stream()) return Step{};
  // Buffered mode answers every message on the bytes so far; only when more
  // may follow must the accumulated bytes outlive this answer.
  return run_chain(/*keep_body=*/!streamed() && !body.end_of_stream(), body.end_of_stream());
}

Step ResponseProcessor::start_body(ext_proc::HttpBody& body) {
  // Headers skipped by Envoy's processing mode: the body starts the response
  // as headers would have, with no headers answer owed.
  if (!has_plugins()) {
    state_ = streamed() ? State::kPassingThrough : State::kForwarding;
    return on_body(body);
  }
  if (streamed() && start_streaming_plugins()) return stream_through_plugins(body);
  state_ = streamed() ? State::kHoldingHeaders : State::kBuffering;
  return on_body(body);
}

bool ResponseProcessor::start_streaming_plugins() {
  if (!ctx_.chain.has_response_stream_hooks()) return false;
  const bool sse = is_event_stream();
  if (ctx_.chain.response_needs_whole_body(sse)) return false;
  stream_ = std::make_unique<ResponseStream>(ctx_.chain, ctx_.state, headers_, ctx_.request_path, sse);
  stream_->set_envoy_context(ctx_.envoy());
  state_ = State::kStreamingPlugins;
  return true;
}

Step ResponseProcessor::stream_through_plugins(ext_proc::HttpBody& body) {
  Step step;
  const bool eos = body.end_of_stream();
  std::string out = stream_->feed(body.body(), eos);
  // Metadata the hooks set goes with the next answer there is (Envoy takes
  // it from any): kept in the stream until then.
  std::vector<DynamicMetadataEntry> metadata;
  if (!eos && ctx_.over_limit(stream_->held_bytes())) {
    // An event that never ends would grow without bound: let it and the
    // rest of the stream through unchanged.
    log::info("SSE event over the limit of {} bytes: the rest of the response passes through",
              ctx_.options.max_body_bytes);
    out.append(stream_->abandon());
    metadata = stream_->take_metadata();
    stream_.reset();
    state_ = State::kPassingThrough;
  }
  // A chunk that completed no event sends nothing: FULL_DUPLEX_STREAMED
  // does not pair answers with chunks, and nothing is held but the tail.
  if (!out.empty() || eos) {
    if (stream_) metadata = stream_->take_metadata();
    ctx_.encoder.chunks(step, BBR_PHASE_RESPONSE, std::move(out), eos, metadata);
  }
  if (eos) {
    state_ = State::kComplete;
    stream_.reset();
  }
  return step;
}

Step ResponseProcessor::start_pass_through(ext_proc::HttpBody& body) {
  Step step;
  if (streamed()) {
    if (state_ == State::kHoldingHeaders) {
      ctx_.encoder.plain_headers(step, BBR_PHASE_RESPONSE, headers_);
    }
    std::string held = body_.release();
    held.append(body.body());
    ctx_.encoder.chunks(step, BBR_PHASE_RESPONSE, std::move(held), body.end_of_stream());
    state_ = body.end_of_stream() ? State::kComplete : State::kPassingThrough;
  } else {
    body_.release();
    AnswerEncoder::empty_body(step, BBR_PHASE_RESPONSE);
    state_ = State::kForwarding;
  }
  return step;
}

Step ResponseProcessor::run_chain(bool keep_body, bool end_of_stream) {
  if (!keep_body) state_ = State::kComplete;
  const bool sse = is_event_stream();
  // The chunk/event hooks see the whole body only once it is whole.
  const bool stream_hooks = !keep_body && ctx_.chain.has_response_stream_hooks();
  std::string bytes = keep_body ? body_.bytes() : body_.release();
  bool changed = false;
  std::vector<DynamicMetadataEntry> stream_metadata;
  if (stream_hooks) {
    ResponseStream stream(ctx_.chain, ctx_.state, headers_, ctx_.request_path, sse);
    stream.set_envoy_context(ctx_.envoy());
    std::string edited = stream.feed(bytes, /*end_of_stream=*/true);
    changed = edited != bytes;
    bytes = std::move(edited);
    stream_metadata = stream.take_metadata();
  }
  Message msg(BBR_PHASE_RESPONSE, keep_body ? headers_ : std::move(headers_),
              JsonBody(std::move(bytes)), ctx_.state);
  // What the chunk/event hooks set goes with this answer; whole-body plugins
  // after them may set the same keys again.
  msg.dynamic_metadata() = std::move(stream_metadata);
  ctx_.give_context(msg);
  Step step;
  BodyOutcome outcome;
  if (!stream_hooks || ctx_.chain.response_needs_whole_body(sse)) {
    if (std::string error = msg.body().map_decode_error(); !error.empty()) {
      // The reference's rule: a response that is not JSON goes through untouched.
      log::debug("Failed to parse response body as JSON, skipping whole-body response plugins");
    } else {
      if (!ctx_.run_chain(msg, stream_hooks ? std::optional<bool>(sse) : std::nullopt, step)) {
        return step;
      }
      outcome.chain_ran = true;
    }
  }
  outcome.changed = changed || msg.body().changed();
  outcome.streamed = streamed();
  outcome.end_of_stream = end_of_stream;
  ctx_.encoder.body_answers(step, msg, msg.body().release(), outcome);
  return step;
}

Step ResponseProcessor::on_trailers() {
  Step step;
  if (state_ == State::kStreamingPlugins) {
    // Trailers end the body: flush and end the plugins' stream; the last
    // chunk keeps end_of_stream false, the trailers still follow.
    std::string last = stream_->finish();
    ctx_.encoder.chunks(step, BBR_PHASE_RESPONSE, std::move(last), false, stream_->take_metadata());
    stream_.reset();
    state_ = State::kComplete;
  } else if (state_ == State::kHoldingHeaders) {
    // Trailers end the body that never carried end_of_stream: answer it now
    // (the reference never does, and the stream hangs). The last chunk keeps
    // end_of_stream false, since the trailers still follow it.
    step = run_chain(/*keep_body=*/false, /*end_of_stream=*/false);
    if (step.finish) return step;
  }
  if (state_ != State::kPassingThrough && state_ != State::kForwarding) state_ = State::kComplete;
  AnswerEncoder::trailers(step, BBR_PHASE_RESPONSE);
  return step;
}

}  // namespace bbr
