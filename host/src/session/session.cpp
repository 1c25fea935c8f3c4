// The ext_proc session: see docs/session.md for the state machine and
// docs/reference-behaviour.md for the reference behaviour it reproduces.
#include "session/session.hpp"

#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "session/outcome_encoding.hpp"
#include "session/response_stream.hpp"
#include "sse/sse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace bbr {
namespace {

namespace ext_proc = envoy::service::ext_proc::v3;
using envoy::config::core::v3::HeaderValueOption;
using envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
using ProcessingResponse = Session::ProcessingResponse;
using Step = Session::Step;

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

ext_proc::ImmediateResponse* immediate(ProcessingResponse& out, uint32_t status, std::string body) {
  auto* ir = out.mutable_immediate_response();
  ir->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(status));
  ir->set_body(std::move(body));
  return ir;
}

void add_immediate_header(ext_proc::ImmediateResponse* ir, const char* key, std::string value) {
  auto* option = ir->mutable_headers()->add_set_headers();
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  option->mutable_header()->set_key(key);
  option->mutable_header()->set_raw_value(std::move(value));
}

// Where one direction (request or response) of the stream stands.
// docs/session.md draws these states and their transitions.
enum class Stage {
  kAwaitingHeaders,  // nothing of this direction seen yet
  kBuffering,        // headers answered; body kept, each body message answered (buffered mode)
  kHoldingHeaders,   // streamed: the headers answer waits for the body's end; body kept
  kPassingThrough,   // streamed: each body chunk answered as it arrives, nothing kept
  kForwarding,       // buffered: each body message answered empty, nothing kept
  kStreamingPlugins, // streamed response: each chunk runs through the response
                     // plugins' chunk/event hooks and goes on at once; only an
                     // incomplete SSE event is kept (ResponseStream)
  kComplete,         // the body was answered; only trailers may follow
};

struct Direction {
  explicit Direction(bbr_phase_t p) : phase(p) {}

  bbr_phase_t phase;
  Stage stage = Stage::kAwaitingHeaders;
  Headers headers;
  std::string body;

  bool request() const { return phase == BBR_PHASE_REQUEST; }
};

ext_proc::HeadersResponse* headers_response(ProcessingResponse& out, const Direction& d) {
  return d.request() ? out.mutable_request_headers() : out.mutable_response_headers();
}
ext_proc::BodyResponse* body_response(ProcessingResponse& out, const Direction& d) {
  return d.request() ? out.mutable_request_body() : out.mutable_response_body();
}

}  // namespace

// ------------------------------------------------------------------------ Step

void Step::add_streamed_body(bbr_phase_t phase, std::string bytes, bool end_of_stream,
                             std::size_t chunk_bytes) {
  items_.emplace_back(StreamedBody{phase, std::make_shared<const std::string>(std::move(bytes)),
                                   end_of_stream, std::max<std::size_t>(chunk_bytes, 1)});
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

namespace {

std::size_t varint_size(std::size_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::string& out, std::size_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// A length-delimited field's key: (field number << 3) | wire type 2.
constexpr char length_delimited(int field) { return static_cast<char>((field << 3) | 2); }

}  // namespace

void Session::chunk_envelope(const Step::Chunk& chunk, std::string& before, std::string& after) {
  // Field numbers: ProcessingResponse.request_body 3 / response_body 4,
  // BodyResponse.response 1, CommonResponse.body_mutation 3,
  // BodyMutation.streamed_response 3, StreamedBodyResponse.body 1 and
  // end_of_stream 2 (varint). Proto3 leaves out an empty body and a false
  // end_of_stream, and writes fields in number order, as here.
  const std::size_t body_field = chunk.length == 0 ? 0 : 1 + varint_size(chunk.length) + chunk.length;
  const std::size_t streamed = body_field + (chunk.end_of_stream ? 2 : 0);
  const std::size_t mutation = 1 + varint_size(streamed) + streamed;
  const std::size_t common = 1 + varint_size(mutation) + mutation;
  const std::size_t body_response = 1 + varint_size(common) + common;
  before.clear();
  before.push_back(length_delimited(chunk.phase == BBR_PHASE_REQUEST ? 3 : 4));
  put_varint(before, body_response);
  before.push_back(length_delimited(1));
  put_varint(before, common);
  before.push_back(length_delimited(3));
  put_varint(before, mutation);
  before.push_back(length_delimited(3));
  put_varint(before, streamed);
  if (chunk.length != 0) {
    before.push_back(length_delimited(1));
    put_varint(before, chunk.length);
  }
  after.clear();
  if (chunk.end_of_stream) after.append("\x10\x01", 2);
}

// --------------------------------------------------------------------- Session

struct Session::Impl {
  const Chain& chain;
  const SessionOptions options;
  RequestState state;  // shared by request and response plugins (CycleState)
  BudgetShare budget;
  bool first_message = true;
  bool finished = false;
  BodyMode request_mode;
  BodyMode response_mode;
  Direction request = Direction(BBR_PHASE_REQUEST);
  Direction response = Direction(BBR_PHASE_RESPONSE);
  // ABI 1.1: what every Message of this stream is told (see give_context).
  EnvoyContext envoy_context;  // attributes and metadata Envoy sent
  bool has_envoy_context = false;
  std::string request_path;  // the request's :path (message_info, both phases)
  // The response's streamed-hook processing (stage kStreamingPlugins).
  std::unique_ptr<ResponseStream> response_stream;

  Impl(const Chain& c, const SessionOptions& o)
      : chain(c),
        options(o),
        budget(o.inflight_budget),
        request_mode(o.streaming ? BodyMode::kStreamed : BodyMode::kBuffered),
        response_mode(request_mode) {}

  bool has_plugins(const Direction& d) const {
    return d.request() ? !chain.request_plugins().empty() : !chain.response_plugins().empty();
  }
  BodyMode mode(const Direction& d) const { return d.request() ? request_mode : response_mode; }

  // ------------------------------------------------------------------ encoders

  static void set_header(ext_proc::HeaderMutation* out, std::string key, std::string value) {
    auto* option = out->add_set_headers();
    // Replace whatever the client sent: with Envoy's default action
    // (APPEND_IF_EXISTS_OR_ADD) a client's own x-gateway-model-name would
    // survive next to ours and could steer routing.
    option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
    auto* header = option->mutable_header();
    header->set_key(std::move(key));
    header->set_raw_value(std::move(value));
  }

  bool is_routing_header(std::string_view key) const {
    return std::any_of(options.routing_headers->begin(), options.routing_headers->end(),
                       [&](const std::string& r) { return header_name_equals(r, key); });
  }

  // Client-sent routing headers that nothing set: removed (docs/architecture.md).
  void strip_routing_headers(const Headers& received, const std::vector<HeaderMutation>* mutations,
                             std::vector<std::string>& removes) const {
    if (!options.routing_headers || options.routing_headers->empty()) return;
    for (const auto& h : received) {
      if (!is_routing_header(h.key)) continue;
      const bool decided =
          mutations != nullptr &&
          std::any_of(mutations->begin(), mutations->end(),
                      [&](const HeaderMutation& m) { return header_name_equals(m.key, h.key); });
      if (!decided && std::find(removes.begin(), removes.end(), h.key) == removes.end()) {
        removes.push_back(h.key);
      }
    }
  }

  // The header mutation as the reference encodes it: sets as {key, raw_value},
  // sorted by key; a set the client's exact key and value already hold is dropped;
  // a removal only of a header that is there. Ours on top: every set overwrites,
  // and unclaimed routing headers go.
  void encode_mutation(const Message& msg, std::optional<std::size_t> content_length,
                       ext_proc::HeaderMutation* out) const {
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
    strip_routing_headers(msg.received_headers(), &msg.header_mutations(), removes);
    if (content_length) sets.emplace_back("Content-Length", std::to_string(*content_length));
    std::sort(sets.begin(), sets.end());
    std::sort(removes.begin(), removes.end());
    for (auto& [key, value] : sets) set_header(out, std::move(key), std::move(value));
    for (auto& key : removes) out->add_remove_headers(std::move(key));
  }

  // A headers answer when no chain runs for this direction: empty, or with
  // the removal of client-sent routing headers.
  void add_plain_headers_answer(Step& step, const Direction& d) const {
    ProcessingResponse out;
    auto* hr = headers_response(out, d);
    std::vector<std::string> removes;
    if (d.request()) strip_routing_headers(d.headers, nullptr, removes);
    if (!removes.empty()) {
      std::sort(removes.begin(), removes.end());
      auto* mutation = hr->mutable_response()->mutable_header_mutation();
      for (auto& key : removes) mutation->add_remove_headers(std::move(key));
      hr->mutable_response()->set_clear_route_cache(true);
    }
    step.add(std::move(out));
  }

  static void add_empty_body_answer(Step& step, const Direction& d) {
    ProcessingResponse out;
    body_response(out, d);
    step.add(std::move(out));
  }

  void add_chunks(Step& step, const Direction& d, std::string bytes, bool end_of_stream) const {
    step.add_streamed_body(d.phase, std::move(bytes), end_of_stream, options.stream_chunk_bytes);
  }

  // ------------------------------------------------------------------ outcomes

  Step finish_immediate(uint32_t status, std::string body, bool json = false) {
    Step step;
    ProcessingResponse out;
    auto* ir = immediate(out, status, std::move(body));
    if (json) add_immediate_header(ir, "content-type", "application/json");
    step.add(std::move(out));
    step.finish = true;
    finished = true;
    return step;
  }

  // ABI 1.1: a plugin's reject_with headers and details on the answer.
  Step finish_immediate(const ImmediateResponse& answer, bool json_guess, const Message& msg) {
    Step step;
    ProcessingResponse out;
    auto* ir = immediate(out, answer.http_status, answer.body);
    encode_immediate_extras(answer, json_guess, ir);
    encode_dynamic_metadata(msg, out);
    step.add(std::move(out));
    step.finish = true;
    finished = true;
    return step;
  }

  // ABI 1.1: the stream's :path and Envoy context, for message_info,
  // prompt_text, get_attribute and get_metadata.
  void give_context(Message& msg) const {
    msg.set_request_path(request_path);
    msg.set_envoy_context(has_envoy_context ? &envoy_context : nullptr);
  }

  Step finish_with_error(StreamError error, std::string message) {
    Step step;
    step.finish = true;
    step.error = error;
    step.error_message = std::move(message);
    finished = true;
    return step;
  }

  // Turns a stopped chain into the reference's answer.
  Step stopped(const ChainOutcome& outcome, Message& msg) {
    if (outcome.kind == ChainOutcome::Kind::kRejected) {
      const auto& ir = *msg.immediate_response();
      // An OpenAI-style JSON error body is announced as JSON (unless the
      // plugin chose a content-type with reject_with).
      return finish_immediate(ir, !ir.body.empty() && ir.body.front() == '{', msg);
    }
    // Every failure the chain reports is typed (an unknown result is a 500).
    auto answer = reference_failure_response(outcome);
    if (!answer) answer = ImmediateResponse{500, "inference error: Internal - " + outcome.error, {}, {}};
    return finish_immediate(answer->http_status, std::move(answer->body));
  }

  // ------------------------------------------------------------------ handlers

  Step on_headers(Direction& d, const ext_proc::HttpHeaders& headers) {
    d.headers = to_headers(headers.headers());
    if (d.request()) {
      for (const Header& h : d.headers) {
        if (h.key == ":path") request_path = h.value;
      }
    }
    Step step;
    const BodyMode m = mode(d);
    if (headers.end_of_stream() || m == BodyMode::kNone) {
      add_plain_headers_answer(step, d);
      d.stage = Stage::kComplete;
    } else if (m == BodyMode::kStreamed) {
      if (!d.request() && !has_plugins(d)) {
        // Nothing needs the response body: answer now and let each chunk
        // through as it comes, so the first token is not held back.
        add_plain_headers_answer(step, d);
        d.stage = Stage::kPassingThrough;
      } else if (!d.request() && start_streaming_plugins(d)) {
        add_streaming_headers_answer(step, d);
      } else {
        d.stage = Stage::kHoldingHeaders;  // answered with the body's end
      }
    } else {
      add_plain_headers_answer(step, d);
      d.stage = !d.request() && !has_plugins(d) ? Stage::kForwarding : Stage::kBuffering;
    }
    return step;
  }

  Step on_trailers(Direction& d) {
    Step step;
    if (d.stage == Stage::kStreamingPlugins) {
      // Trailers end the body: flush and end the plugins' stream; the last
      // chunk keeps end_of_stream false, the trailers still follow.
      add_chunks(step, d, response_stream->finish(), false);
      d.stage = Stage::kComplete;
    }
    if (d.stage == Stage::kHoldingHeaders) {
      // Trailers end the body that never carried end_of_stream: answer it
      // now (the reference never does, and the stream hangs). The last chunk
      // keeps end_of_stream false, since the trailers still follow it.
      step = process_body(d, /*keep_body=*/false, /*end_of_stream=*/false);
      if (step.finish) return step;
    }
    if (d.stage != Stage::kPassingThrough && d.stage != Stage::kForwarding) {
      d.stage = Stage::kComplete;
    }
    ProcessingResponse out;
    if (d.request()) {
      out.mutable_request_trailers();
    } else {
      out.mutable_response_trailers();
    }
    step.add(std::move(out));
    return step;
  }

  bool over_limit(std::size_t size) const {
    return options.max_body_bytes != 0 && size > options.max_body_bytes;
  }

  Step on_body(Direction& d, ext_proc::HttpBody& body) {
    const bool streamed = mode(d) == BodyMode::kStreamed;
    switch (d.stage) {
      case Stage::kStreamingPlugins: return stream_through_plugins(d, body);
      case Stage::kPassingThrough: {
        Step step;
        add_chunks(step, d, std::move(*body.mutable_body()), body.end_of_stream());
        if (body.end_of_stream()) d.stage = Stage::kComplete;
        return step;
      }
      case Stage::kForwarding:
      case Stage::kComplete: {
        // Nothing keeps this body: answered as it is (a body after the end
        // of one is not the reference's protocol; it is let through).
        Step step;
        if (streamed) {
          add_chunks(step, d, std::move(*body.mutable_body()), body.end_of_stream());
        } else {
          add_empty_body_answer(step, d);
        }
        return step;
      }
      case Stage::kAwaitingHeaders:
        // Headers skipped by Envoy's processing mode: the body starts the
        // direction as headers would have, with no headers answer owed.
        if (!d.request() && !has_plugins(d)) {
          d.stage = streamed ? Stage::kPassingThrough : Stage::kForwarding;
          return on_body(d, body);
        }
        if (!d.request() && streamed && start_streaming_plugins(d)) {
          return stream_through_plugins(d, body);
        }
        d.stage = streamed ? Stage::kHoldingHeaders : Stage::kBuffering;
        break;
      case Stage::kBuffering:
      case Stage::kHoldingHeaders: break;
    }

    const std::size_t incoming = body.body().size();
    if (over_limit(d.body.size() + incoming)) {
      if (d.request()) {
        log::info("request body over the limit of {} bytes: answering 413", options.max_body_bytes);
        return finish_immediate(
            413, fmt::format(R"({{"error":{{"message":"request body exceeds the limit of {} bytes","type":"invalid_request_error","code":"request_too_large"}}}})",
                             options.max_body_bytes),
            /*json=*/true);
      }
      // A response cannot be refused: stop holding it and let it through unchanged.
      return start_pass_through(d, body);
    }
    if (!budget.grow(incoming)) {
      if (options.metrics != nullptr) options.metrics->record_shed("inflight_body_bytes");
      if (d.request()) {
        log::debug("in-flight body bytes over the limit of {}: answering 503",
                   options.inflight_budget->limit());
        return shed(options.retry_after_seconds, "in-flight body bytes over the server's limit");
      }
      return start_pass_through(d, body);
    }
    if (d.body.empty()) {
      d.body.swap(*body.mutable_body());  // the first chunk is taken, not copied
    } else {
      // Grow geometrically with the parser's padding already in place, so the
      // joined body is never copied again to make room for it.
      const std::size_t needed = d.body.size() + incoming + JsonBody::kParsePadding;
      if (d.body.capacity() < needed) d.body.reserve(std::max(needed, 2 * d.body.capacity()));
      d.body.append(body.body());
    }

    if (streamed && !body.end_of_stream()) return Step{};
    // Buffered mode answers every message on the bytes so far; only when more
    // may follow must the accumulated bytes outlive this answer.
    return process_body(d, /*keep_body=*/!streamed && !body.end_of_stream(), body.end_of_stream());
  }

  Step start_pass_through(Direction& d, ext_proc::HttpBody& body) {
    Step step;
    if (mode(d) == BodyMode::kStreamed) {
      if (d.stage == Stage::kHoldingHeaders) add_plain_headers_answer(step, d);
      std::string held = std::move(d.body);
      d.body = std::string();
      held.append(body.body());
      add_chunks(step, d, std::move(held), body.end_of_stream());
      d.stage = body.end_of_stream() ? Stage::kComplete : Stage::kPassingThrough;
    } else {
      d.body = std::string();
      add_empty_body_answer(step, d);
      d.stage = Stage::kForwarding;
    }
    return step;
  }

  Step process_body(Direction& d, bool keep_body, bool end_of_stream) {
    const bool streamed = mode(d) == BodyMode::kStreamed;
    if (!keep_body) d.stage = Stage::kComplete;
    if (!d.request() && !keep_body && chain.has_response_stream_hooks()) {
      return process_whole_response_with_stream_hooks(d, end_of_stream);
    }

    // Streamed response with nothing to run (only reached past the pass-through
    // choice, e.g. a body before any headers): re-send as the reference does.
    if (!d.request() && !has_plugins(d)) {
      return send_streamed(d, nullptr, std::exchange(d.body, std::string()), {}, end_of_stream);
    }

    // The body moves into the message: parsed once, copied never (unless more
    // chunks may follow in buffered mode).
    Message msg(d.phase, keep_body ? d.headers : std::move(d.headers),
                JsonBody(keep_body ? d.body : std::exchange(d.body, std::string())), state);
    give_context(msg);
    if (std::string error = msg.body().map_decode_error(); !error.empty()) {
      if (!d.request()) {
        log::debug("Failed to parse response body as JSON, skipping response plugins");
        if (streamed) return send_streamed(d, nullptr, msg.body().release(), {}, end_of_stream);
        Step step;
        add_empty_body_answer(step, d);
        return step;
      }
      log::debug("request body is not JSON: {}", error);
      return finish_immediate(
          400, "inference error: BadRequest - failed to parse request body: " + error);
    }

    ChainOutcome outcome = chain.run(msg);
    if (options.on_chain_outcome) options.on_chain_outcome(d.phase, outcome);
    if (outcome.kind != ChainOutcome::Kind::kContinue) return stopped(outcome, msg);
    if (d.request() && options.metrics != nullptr) options.metrics->record_success();

    const bool changed = msg.body().changed();
    if (streamed) {
      std::optional<std::size_t> length;
      if (d.request() || changed) length = msg.body().raw().size();
      return send_streamed(d, &msg, msg.body().release(), length, end_of_stream);
    }

    Step step;
    ProcessingResponse out;
    auto* common = body_response(out, d)->mutable_response();
    std::optional<std::size_t> length;
    if (changed) length = msg.body().raw().size();
    encode_mutation(msg, length, common->mutable_header_mutation());
    if (changed) common->mutable_body_mutation()->set_body(msg.body().release());
    encode_route_cache(msg, /*default_clear=*/true, common);
    encode_dynamic_metadata(msg, out);
    step.add(std::move(out));
    return step;
  }

  // Streamed mode's answer at the body's end: the held headers answer (with the
  // mutation when plugins ran: `msg` not null), then the body in chunks.
  Step send_streamed(Direction& d, const Message* msg, std::string bytes,
                     std::optional<std::size_t> content_length, bool end_of_stream) {
    Step step;
    if (msg != nullptr) {
      ProcessingResponse headers_out;
      auto* common = headers_response(headers_out, d)->mutable_response();
      encode_mutation(*msg, content_length, common->mutable_header_mutation());
      encode_route_cache(*msg, /*default_clear=*/true, common);
      encode_dynamic_metadata(*msg, headers_out);
      step.add(std::move(headers_out));
    } else {
      add_plain_headers_answer(step, d);
    }
    add_chunks(step, d, std::move(bytes), end_of_stream);
    return step;
  }

  // ------------------------------------------- responses through streamed hooks
  // (ABI 1.1; docs/session.md, "Streamed responses and plugins")

  bool is_event_stream(const Direction& d) const {
    for (const auto& h : d.headers) {
      if (h.key == "content-type") return sse::is_event_stream(h.value);
    }
    return false;
  }

  // Chooses the plugins' streamed hooks for this response when every response
  // plugin allows it (none needs the whole body); false leaves today's
  // whole-body handling.
  bool start_streaming_plugins(Direction& d) {
    if (!chain.has_response_stream_hooks()) return false;
    const bool sse = is_event_stream(d);
    if (chain.response_needs_whole_body(sse)) return false;
    response_stream =
        std::make_unique<ResponseStream>(chain, state, d.headers, request_path, sse);
    response_stream->set_envoy_context(has_envoy_context ? &envoy_context : nullptr);
    d.stage = Stage::kStreamingPlugins;
    return true;
  }

  // The headers answer goes at once (the stream is never held). The plugins
  // may change the body's size, so a Content-Length Envoy sent is removed.
  void add_streaming_headers_answer(Step& step, const Direction& d) const {
    ProcessingResponse out;
    auto* hr = headers_response(out, d);
    for (const auto& h : d.headers) {
      if (h.key == "content-length") {
        hr->mutable_response()->mutable_header_mutation()->add_remove_headers("content-length");
        break;
      }
    }
    step.add(std::move(out));
  }

  Step stream_through_plugins(Direction& d, ext_proc::HttpBody& body) {
    Step step;
    const bool eos = body.end_of_stream();
    std::string out = response_stream->feed(body.body(), eos);
    if (!eos && over_limit(response_stream->held_bytes())) {
      // An event that never ends would grow without bound: let it and the
      // rest of the stream through unchanged.
      log::info("SSE event over the limit of {} bytes: the rest of the response passes through",
                options.max_body_bytes);
      out.append(response_stream->abandon());
      response_stream.reset();
      d.stage = Stage::kPassingThrough;
    }
    // A chunk that completed no event sends nothing: FULL_DUPLEX_STREAMED
    // does not pair answers with chunks, and nothing is held but the tail.
    if (!out.empty() || eos) add_chunks(step, d, std::move(out), eos);
    if (eos) {
      d.stage = Stage::kComplete;
      response_stream.reset();
    }
    return step;
  }

  // A whole response body (buffered mode, or streamed mode held because a
  // plugin needs the whole body): the streamed hooks run over it first (an
  // SSE body event by event), then the plugins that take the whole body.
  Step process_whole_response_with_stream_hooks(Direction& d, bool end_of_stream) {
    const bool streamed = mode(d) == BodyMode::kStreamed;
    const bool sse = is_event_stream(d);
    std::string original = std::exchange(d.body, std::string());
    std::string bytes;
    {
      ResponseStream stream(chain, state, d.headers, request_path, sse);
      bytes = stream.feed(original, /*end_of_stream=*/true);
    }
    bool changed = bytes != original;
    original = std::string();
    Message msg(d.phase, std::move(d.headers), JsonBody(std::move(bytes)), state);
    msg.set_request_path(request_path);
    bool ran_whole = false;
    if (chain.response_needs_whole_body(sse)) {
      if (std::string error = msg.body().map_decode_error(); error.empty()) {
        ChainOutcome outcome = chain.run(msg, sse);
        if (outcome.kind != ChainOutcome::Kind::kContinue) return stopped(outcome, msg);
        ran_whole = true;
      } else {
        log::debug("Failed to parse response body as JSON, skipping whole-body response plugins");
      }
    }
    changed = changed || msg.body().changed();
    if (!changed && !ran_whole) {
      // Nothing ran on the whole body and nothing changed: answered as a
      // body no plugin touched (today's rule for a non-JSON response).
      if (streamed) return send_streamed(d, nullptr, msg.body().release(), {}, end_of_stream);
      Step step;
      add_empty_body_answer(step, d);
      return step;
    }
    std::optional<std::size_t> length;
    if (changed) length = msg.body().raw().size();
    if (streamed) return send_streamed(d, &msg, msg.body().release(), length, end_of_stream);

    Step step;
    ProcessingResponse out;
    auto* common = body_response(out, d)->mutable_response();
    encode_mutation(msg, length, common->mutable_header_mutation());
    if (changed) common->mutable_body_mutation()->set_body(msg.body().release());
    common->set_clear_route_cache(true);
    step.add(std::move(out));
    return step;
  }

  Step on_request(ProcessingRequest& req) {
    if (finished) return Step{};
    // ABI 1.1: Envoy sends attributes and metadata with the messages its
    // config names; kept for the whole stream.
    if (absorb_envoy_context(req, envoy_context)) has_envoy_context = true;
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
      case ProcessingRequest::kRequestBody: return on_body(request, *req.mutable_request_body());
      case ProcessingRequest::kResponseBody: return on_body(response, *req.mutable_response_body());
      case ProcessingRequest::kRequestTrailers: return on_trailers(request);
      case ProcessingRequest::kResponseTrailers: return on_trailers(response);
      case ProcessingRequest::REQUEST_NOT_SET: break;
    }
    return finish_with_error(StreamError::kMalformedRequest,
                             "ProcessingRequest carries none of request_headers, response_headers, "
                             "request_body, response_body, request_trailers, response_trailers");
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
  Step step;
  ProcessingResponse out;
  auto* ir = immediate(
      out, 503,
      fmt::format(R"({{"error":{{"message":"server busy: {}; retry later","type":"server_error","code":"overloaded"}}}})",
                  reason));
  add_immediate_header(ir, "content-type", "application/json");
  add_immediate_header(ir, "retry-after", std::to_string(retry_after_seconds));
  step.add(std::move(out));
  step.finish = true;
  return step;
}

}  // namespace bbr
