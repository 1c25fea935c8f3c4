// The ext_proc session: see docs/session.md for the state machine and
// docs/reference-behaviour.md for the reference behaviour it reproduces.
#include "session/session.hpp"

#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace bbr {
namespace {

namespace ext_proc = envoy::service::ext_proc::v3;
using envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;

enum class BodyMode { kBuffered, kStreamed, kNone };

BodyMode mode_from_protocol(ProcessingMode::BodySendMode mode) {
  switch (mode) {
    case ProcessingMode::FULL_DUPLEX_STREAMED: return BodyMode::kStreamed;
    case ProcessingMode::NONE: return BodyMode::kNone;
    default: return BodyMode::kBuffered;
  }
}

// Header value as Envoy sends it: raw_value when set, else value.
Headers to_headers(const envoy::config::core::v3::HeaderMap& map) {
  Headers out;
  out.reserve(static_cast<std::size_t>(map.headers_size()));
  for (const auto& h : map.headers()) {
    out.push_back(Header{h.key(), h.raw_value().empty() ? h.value() : h.raw_value()});
  }
  return out;
}

ext_proc::ImmediateResponse* immediate(Session::ProcessingResponse& out, uint32_t status,
                                       std::string body) {
  auto* ir = out.mutable_immediate_response();
  ir->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(status));
  ir->set_body(std::move(body));
  return ir;
}

// One direction of the stream (request or response).
struct Direction {
  bbr_phase_t phase;
  Headers headers;
  std::string body;
  bool headers_held = false;  // streamed: the headers answer waits for the body
  bool passing_through = false;  // streamed response past the body limit
};

}  // namespace

struct Session::Impl {
  const Chain& chain;
  SessionOptions options;
  RequestState state;  // shared by request and response plugins (CycleState)
  bool first_message = true;
  BodyMode request_mode;
  BodyMode response_mode;
  Direction request{BBR_PHASE_REQUEST, {}, {}, false, false};
  Direction response{BBR_PHASE_RESPONSE, {}, {}, false, false};
  bool finished = false;

  Impl(const Chain& c, const SessionOptions& o)
      : chain(c),
        options(o),
        request_mode(o.streaming ? BodyMode::kStreamed : BodyMode::kBuffered),
        response_mode(request_mode) {}

  bool has_plugins(const Direction& d) const {
    return d.phase == BBR_PHASE_REQUEST ? !chain.request_plugins().empty()
                                        : !chain.response_plugins().empty();
  }
  BodyMode mode(const Direction& d) const {
    return d.phase == BBR_PHASE_REQUEST ? request_mode : response_mode;
  }

  // ------------------------------------------------------------------ encoders

  static ext_proc::HeadersResponse* headers_response(ProcessingResponse& out, const Direction& d) {
    return d.phase == BBR_PHASE_REQUEST ? out.mutable_request_headers()
                                        : out.mutable_response_headers();
  }
  static ext_proc::BodyResponse* body_response(ProcessingResponse& out, const Direction& d) {
    return d.phase == BBR_PHASE_REQUEST ? out.mutable_request_body() : out.mutable_response_body();
  }

  // The header mutation as the reference encodes it: sets as {key, raw_value},
  // sorted by key; a set the client's exact key and value already hold is dropped;
  // a removal only of a header that is there.
  static void encode_mutation(const Message& msg, std::optional<std::size_t> content_length,
                              ext_proc::HeaderMutation* out) {
    std::vector<std::pair<std::string, std::string>> sets;
    std::vector<std::string> removes;
    for (const auto& m : msg.header_mutations()) {
      if (content_length && header_name_equals(m.key, "content-length")) continue;
      if (m.value) {
        bool unchanged = std::any_of(
            msg.received_headers().begin(), msg.received_headers().end(),
            [&](const Header& h) { return h.key == m.key && h.value == *m.value; });
        if (!unchanged) sets.emplace_back(m.key, *m.value);
      } else {
        bool present = std::any_of(msg.received_headers().begin(), msg.received_headers().end(),
                                   [&](const Header& h) { return header_name_equals(h.key, m.key); });
        if (present) removes.push_back(m.key);
      }
    }
    if (content_length) sets.emplace_back("Content-Length", std::to_string(*content_length));
    std::sort(sets.begin(), sets.end());
    std::sort(removes.begin(), removes.end());
    for (auto& [key, value] : sets) {
      auto* header = out->add_set_headers()->mutable_header();
      header->set_key(std::move(key));
      header->set_raw_value(std::move(value));
    }
    for (auto& key : removes) out->add_remove_headers(std::move(key));
  }

  // The body re-sent as streamed_response chunks; eos only on the last. An
  // empty body is one empty chunk with eos. A body that fits one chunk (the
  // common case) moves into it without a copy.
  void append_stream_chunks(Step& step, const Direction& d, std::string body,
                            bool end_of_stream) const {
    std::size_t chunk = std::max<std::size_t>(options.stream_chunk_bytes, 1);
    if (body.size() <= chunk) {
      ProcessingResponse out;
      auto* streamed = body_response(out, d)->mutable_response()->mutable_body_mutation()
                           ->mutable_streamed_response();
      streamed->set_body(std::move(body));
      streamed->set_end_of_stream(end_of_stream);
      step.responses.push_back(std::move(out));
      return;
    }
    std::size_t offset = 0;
    do {
      std::size_t n = std::min(chunk, body.size() - offset);
      ProcessingResponse out;
      auto* streamed = body_response(out, d)->mutable_response()->mutable_body_mutation()
                           ->mutable_streamed_response();
      streamed->set_body(body.substr(offset, n));
      offset += n;
      streamed->set_end_of_stream(end_of_stream && offset == body.size());
      step.responses.push_back(std::move(out));
    } while (offset < body.size());
  }

  // ------------------------------------------------------------------ outcomes

  Step finish_immediate(uint32_t status, std::string body) {
    Step step;
    ProcessingResponse out;
    immediate(out, status, std::move(body));
    step.responses.push_back(std::move(out));
    step.finish = true;
    finished = true;
    return step;
  }

  Step finish_with_error(std::string message) {
    Step step;
    step.finish = true;
    step.finish_with_error = true;
    step.error_message = std::move(message);
    finished = true;
    return step;
  }

  // Turns a stopped chain into the reference's answer.
  Step stopped(const ChainOutcome& outcome, Message& msg) {
    if (outcome.kind == ChainOutcome::Kind::kRejected) {
      const auto& ir = *msg.immediate_response();
      Step step = finish_immediate(ir.http_status, ir.body);
      // An OpenAI-style JSON error body is announced as JSON.
      if (!ir.body.empty() && ir.body.front() == '{') {
        auto* h = step.responses.back().mutable_immediate_response()->mutable_headers()
                      ->add_set_headers()->mutable_header();
        h->set_key("content-type");
        h->set_raw_value("application/json");
      }
      return step;
    }
    if (auto answer = reference_failure_response(outcome)) {
      return finish_immediate(answer->http_status, std::move(answer->body));
    }
    return finish_with_error(
        fmt::format("failed to handle request: plugin {}: {}", outcome.plugin, outcome.error));
  }

  // ------------------------------------------------------------------ handlers

  Step on_headers(Direction& d, const ext_proc::HttpHeaders& headers) {
    d.headers = to_headers(headers.headers());
    Step step;
    if (mode(d) == BodyMode::kStreamed && !headers.end_of_stream()) {
      d.headers_held = true;  // answered with the body's end
      return step;
    }
    ProcessingResponse out;
    headers_response(out, d);
    step.responses.push_back(std::move(out));
    return step;
  }

  Step on_trailers(Direction& d) {
    Step step;
    ProcessingResponse out;
    if (d.phase == BBR_PHASE_REQUEST) {
      out.mutable_request_trailers();
    } else {
      out.mutable_response_trailers();
    }
    step.responses.push_back(std::move(out));
    return step;
  }

  bool over_limit(std::size_t size) const {
    return options.max_body_bytes != 0 && size > options.max_body_bytes;
  }

  Step on_body(Direction& d, const ext_proc::HttpBody& body) {
    const bool streamed = mode(d) == BodyMode::kStreamed;

    if (d.passing_through) {
      Step step;
      append_stream_chunks(step, d, body.body(), body.end_of_stream());
      return step;
    }

    // A buffered response with no response plugins is never kept or parsed.
    if (!streamed && d.phase == BBR_PHASE_RESPONSE && !has_plugins(d)) {
      Step step;
      ProcessingResponse out;
      body_response(out, d);
      step.responses.push_back(std::move(out));
      return step;
    }

    if (over_limit(d.body.size() + body.body().size())) {
      if (d.phase == BBR_PHASE_REQUEST) {
        log::info("request body over the limit of {} bytes: answering 413", options.max_body_bytes);
        return finish_immediate(
            413, fmt::format("inference error: BadRequest - request body exceeds the limit of {} bytes",
                             options.max_body_bytes));
      }
      // A response cannot be refused: stop holding it and let it through unchanged.
      return start_pass_through(d, body);
    }
    d.body.append(body.body());

    if (streamed && !body.end_of_stream()) return Step{};
    // Buffered mode answers every message on the bytes so far; only when more
    // may follow must the accumulated bytes outlive this answer.
    return process_body(d, /*keep_body=*/!streamed && !body.end_of_stream());
  }

  Step start_pass_through(Direction& d, const ext_proc::HttpBody& body) {
    Step step;
    d.passing_through = true;
    if (mode(d) == BodyMode::kStreamed) {
      if (d.headers_held) {
        ProcessingResponse out;
        headers_response(out, d);
        step.responses.push_back(std::move(out));
        d.headers_held = false;
      }
      std::string held = std::move(d.body);
      d.body.clear();
      held.append(body.body());
      append_stream_chunks(step, d, std::move(held), body.end_of_stream());
    } else {
      ProcessingResponse out;
      body_response(out, d);
      step.responses.push_back(std::move(out));
    }
    return step;
  }

  Step process_body(Direction& d, bool keep_body) {
    const bool streamed = mode(d) == BodyMode::kStreamed;
    const bool request = d.phase == BBR_PHASE_REQUEST;

    // Streamed response with nothing to run: re-send as the reference does.
    if (!request && !has_plugins(d)) return send_streamed(d, nullptr, std::move(d.body));

    // The body moves into the message: parsed once, copied never (unless more
    // chunks may follow in buffered mode).
    Message msg(d.phase, keep_body ? d.headers : std::move(d.headers),
                JsonBody(keep_body ? d.body : std::move(d.body)), state);
    if (std::string error = msg.body().map_decode_error(); !error.empty()) {
      if (!request) {
        log::debug("Failed to parse response body as JSON, skipping response plugins");
        if (streamed) return send_streamed(d, nullptr, msg.body().release());
        Step step;
        ProcessingResponse out;
        body_response(out, d);
        step.responses.push_back(std::move(out));
        return step;
      }
      log::debug("request body is not JSON: {}", error);
      return finish_immediate(
          400, "inference error: BadRequest - failed to parse request body: " + error);
    }

    ChainOutcome outcome = chain.run(msg);
    if (outcome.kind != ChainOutcome::Kind::kContinue) return stopped(outcome, msg);
    if (request && options.metrics != nullptr) options.metrics->record_success();

    const bool changed = msg.body().changed();
    if (streamed) {
      std::optional<std::size_t> length;
      if (request || changed) length = msg.body().raw().size();
      return send_streamed(d, &msg, msg.body().release(), length);
    }

    Step step;
    ProcessingResponse out;
    auto* common = body_response(out, d)->mutable_response();
    std::optional<std::size_t> length;
    if (changed) length = msg.body().raw().size();
    encode_mutation(msg, length, common->mutable_header_mutation());
    if (changed) common->mutable_body_mutation()->set_body(msg.body().release());
    common->set_clear_route_cache(true);
    step.responses.push_back(std::move(out));
    return step;
  }

  // Streamed mode's answer at the body's end: the held headers answer (with the
  // mutation when plugins ran: `msg` not null), then the body in chunks.
  Step send_streamed(Direction& d, const Message* msg, std::string bytes,
                     std::optional<std::size_t> content_length = std::nullopt) {
    Step step;
    ProcessingResponse headers_out;
    auto* hr = headers_response(headers_out, d);
    if (msg != nullptr) {
      auto* common = hr->mutable_response();
      encode_mutation(*msg, content_length, common->mutable_header_mutation());
      common->set_clear_route_cache(true);
    }
    step.responses.push_back(std::move(headers_out));
    d.headers_held = false;
    append_stream_chunks(step, d, std::move(bytes), true);
    return step;
  }

  Step on_request(const ProcessingRequest& req) {
    if (finished) return Step{};
    if (first_message) {
      first_message = false;
      if (req.has_protocol_config()) {
        request_mode = mode_from_protocol(req.protocol_config().request_body_mode());
        response_mode = mode_from_protocol(req.protocol_config().response_body_mode());
      }
    }
    switch (req.request_case()) {
      case ProcessingRequest::kRequestHeaders: return on_headers(request, req.request_headers());
      case ProcessingRequest::kResponseHeaders: return on_headers(response, req.response_headers());
      case ProcessingRequest::kRequestBody: return on_body(request, req.request_body());
      case ProcessingRequest::kResponseBody: return on_body(response, req.response_body());
      case ProcessingRequest::kRequestTrailers: return on_trailers(request);
      case ProcessingRequest::kResponseTrailers: return on_trailers(response);
      default: return finish_with_error("unknown request type");
    }
  }
};

Session::Session(const Chain& chain, const SessionOptions& options)
    : impl_(std::make_unique<Impl>(chain, options)) {}

Session::~Session() = default;

Session::Step Session::on_request(const ProcessingRequest& request) {
  return impl_->on_request(request);
}

}  // namespace bbr
