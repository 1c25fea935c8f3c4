#include "session/request_processor.hpp"

#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>

namespace bbr {

using Step = Session::Step;

Step RequestProcessor::on_headers(const envoy::service::ext_proc::v3::HttpHeaders& headers) {
  headers_ = to_headers(headers.headers());
  body_.expect(headers_);
  for (const Header& h : headers_) {
    if (h.key == ":path") ctx_.request_path = h.value;
  }
  Step step;
  if (headers.end_of_stream() || mode_ == BodyMode::kNone) {
    ctx_.encoder.plain_headers(step, BBR_PHASE_REQUEST, headers_);
    state_ = State::kComplete;
  } else if (mode_ == BodyMode::kStreamed) {
    state_ = State::kHoldingHeaders;  // answered with the body's end
  } else {
    ctx_.encoder.plain_headers(step, BBR_PHASE_REQUEST, headers_);
    state_ = State::kBuffering;
  }
  return step;
}

Step RequestProcessor::on_body(envoy::service::ext_proc::v3::HttpBody& body) {
  const bool streamed = mode_ == BodyMode::kStreamed;
  switch (state_) {
    case State::kComplete: {
      // A body after the end of one is not the reference's protocol: it is
      // answered as it is.
      Step step;
      ctx_.encoder.as_received(step, BBR_PHASE_REQUEST, streamed, body);
      return step;
    }
    case State::kAwaitingHeaders:
      // Headers skipped by Envoy's processing mode: the body starts the
      // request as headers would have, with no headers answer owed.
      state_ = streamed ? State::kHoldingHeaders : State::kBuffering;
      break;
    case State::kBuffering:
    case State::kHoldingHeaders: break;
  }

  switch (body_.take(*body.mutable_body(), body.end_of_stream(), ctx_)) {
    case HeldBody::Taken::kKept: break;
    case HeldBody::Taken::kOverLimit:
      log::info("request body over the limit of {} bytes: answering 413",
                ctx_.options.max_body_bytes);
      return AnswerEncoder::immediate(
          413,
          fmt::format(R"({{"error":{{"message":"request body exceeds the limit of {} bytes","type":"invalid_request_error","code":"request_too_large"}}}})",
                      ctx_.options.max_body_bytes),
          /*json=*/true);
    case HeldBody::Taken::kOverBudget:
      if (ctx_.options.metrics != nullptr) ctx_.options.metrics->record_shed("inflight_body_bytes");
      log::debug("in-flight body bytes over the limit of {}: answering 503",
                 ctx_.options.inflight_budget->limit());
      return AnswerEncoder::shed(ctx_.options.retry_after_seconds,
                                 "in-flight body bytes over the server's limit");
  }
  if (streamed && !body.end_of_stream()) return Step{};
  // Buffered mode answers every message on the bytes so far; only when more
  // may follow must the accumulated bytes outlive this answer.
  return run_chain(/*keep_body=*/!streamed && !body.end_of_stream(), body.end_of_stream());
}

Step RequestProcessor::run_chain(bool keep_body, bool end_of_stream) {
  if (!keep_body) state_ = State::kComplete;
  // The body moves into the message: parsed once, copied never (unless more
  // chunks may follow in buffered mode).
  Message msg(BBR_PHASE_REQUEST, keep_body ? headers_ : std::move(headers_),
              JsonBody(keep_body ? body_.bytes() : body_.release()), ctx_.state);
  ctx_.give_context(msg);
  if (std::string error = msg.body().map_decode_error(); !error.empty()) {
    log::debug("request body is not JSON: {}", error);
    return AnswerEncoder::immediate(
        400, "inference error: BadRequest - failed to parse request body: " + error);
  }
  Step step;
  if (!ctx_.run_chain(msg, std::nullopt, step)) return step;
  if (ctx_.options.metrics != nullptr) ctx_.options.metrics->record_success();
  BodyOutcome outcome;
  outcome.chain_ran = true;
  outcome.changed = msg.body().changed();
  outcome.streamed = mode_ == BodyMode::kStreamed;
  outcome.end_of_stream = end_of_stream;
  ctx_.encoder.body_answers(step, msg, msg.body().release(), outcome);
  return step;
}

Step RequestProcessor::on_trailers() {
  Step step;
  if (state_ == State::kHoldingHeaders) {
    // Trailers end the body that never carried end_of_stream: answer it now
    // (the reference never does, and the stream hangs). The last chunk keeps
    // end_of_stream false, since the trailers still follow it.
    step = run_chain(/*keep_body=*/false, /*end_of_stream=*/false);
    if (step.finish) return step;
  }
  state_ = State::kComplete;
  AnswerEncoder::trailers(step, BBR_PHASE_REQUEST);
  return step;
}

}  // namespace bbr
