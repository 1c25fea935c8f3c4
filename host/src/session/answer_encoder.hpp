// AnswerEncoder: every ProcessingResponse the session sends is written here,
// and nowhere else: header mutations (sorted, overwriting, routing headers the
// client sent and no plugin set removed), immediate responses, the route-cache
// choice, dynamic metadata, and bodies re-sent as streamed_response chunks.
// The request and response processors decide *what* to answer; this decides
// how it looks on the wire (docs/session.md lists the answers).
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "session/session.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bbr {

// What the session did with one body, for the answer to it.
struct BodyOutcome {
  bool chain_ran = false;  // plugins ran on the whole body (their edits are answered)
  bool changed = false;    // the body differs from what Envoy sent
  bool streamed = false;   // FULL_DUPLEX_STREAMED: headers answer + chunks; else one body answer
  bool end_of_stream = false;  // streamed: the last chunk carries end_of_stream
};

class AnswerEncoder {
 public:
  using Step = Session::Step;

  explicit AnswerEncoder(const SessionOptions& options) : options_(options) {}

  // The answer to headers no chain runs for: empty, or (request) with the
  // removal of client-sent routing headers.
  void plain_headers(Step& step, bbr_phase_t phase, const Headers& received) const;
  // The response headers answer when the body goes through chunk/event hooks:
  // a Content-Length Envoy sent is removed (the plugins may change the size).
  void streaming_headers(Step& step, const Headers& received) const;
  // A body message answered with nothing changed.
  static void empty_body(Step& step, bbr_phase_t phase);
  // A body message nothing keeps, answered as it is: streamed, its bytes go
  // on as chunks; buffered, an empty body answer.
  void as_received(Step& step, bbr_phase_t phase, bool streamed,
                   envoy::service::ext_proc::v3::HttpBody& body) const;
  // `bytes` re-sent as streamed_response chunks; `metadata` (what chunk and
  // event hooks set) goes with the first of them.
  void chunks(Step& step, bbr_phase_t phase, std::string bytes, bool end_of_stream,
              const std::vector<DynamicMetadataEntry>& metadata = {}) const;
  static void trailers(Step& step, bbr_phase_t phase);

  // The one way from a body the session is done with to its answers.
  // `msg` carries what the plugins decided (headers, route cache, metadata);
  // `body` is the body to send on.
  //   buffered: body_response{header_mutation, body_mutation when changed,
  //             clear_route_cache} (only an empty body answer when neither a
  //             chain ran nor the body changed nor metadata was set)
  //   streamed: headers_response{header_mutation + Content-Length, ...}, then
  //             the body as chunks (plain headers when nothing ran or changed)
  void body_answers(Step& step, const Message& msg, std::string body,
                    const BodyOutcome& outcome) const;

  // Immediate answers; each ends the stream (step.finish).
  static Step immediate(uint32_t status, std::string body, bool json = false);
  // A stopped chain: the plugin's rejection, or the reference's failure text.
  static Step stopped(const ChainOutcome& outcome, const Message& msg);
  // 503 with Retry-After (load shedding, the in-flight budget).
  static Step shed(unsigned retry_after_seconds, const char* reason);

 private:
  // Over half the in-flight budget is in use: body buffers are freed, not
  // pooled, so that pooled memory never crowds out live bodies.
  bool memory_tight() const;
  bool is_routing_header(std::string_view key) const;
  void strip_routing_headers(const Headers& received, const std::vector<HeaderMutation>* mutations,
                             std::vector<std::string>& removes) const;
  void encode_mutation(const Message& msg, std::optional<std::size_t> content_length,
                       envoy::service::ext_proc::v3::HeaderMutation* out) const;

  const SessionOptions& options_;
};

// A set header that replaces whatever the client sent: with Envoy's default
// action (APPEND_IF_EXISTS_OR_ADD) a client's own x-gateway-model-name would
// survive next to ours and could steer routing. Every header the session
// sets, in mutations and in immediate responses, goes through this.
void set_overwriting(envoy::service::ext_proc::v3::HeaderMutation* out, std::string key,
                     std::string value);

// ProcessingResponse.dynamic_metadata: Struct{namespace: Struct{key: Value}}
// from the message's entries (nothing when there are none).
void encode_dynamic_metadata(const Message& msg,
                             envoy::service::ext_proc::v3::ProcessingResponse& out);
void encode_dynamic_metadata(const std::vector<DynamicMetadataEntry>& entries,
                             envoy::service::ext_proc::v3::ProcessingResponse& out);

// CommonResponse.clear_route_cache for the message's merged choice. DEFAULT
// is the host's rule: an answer carrying the chain's result clears the route
// cache (as the reference does, whether or not a header changed); CLEAR sets
// it, KEEP leaves it false.
void encode_route_cache(const Message& msg, envoy::service::ext_proc::v3::CommonResponse* common);

// An immediate answer's headers and details. A content-type the plugin set
// replaces the guess (`json_guess`: the body is announced as JSON).
void encode_immediate_extras(const ImmediateResponse& answer, bool json_guess,
                             envoy::service::ext_proc::v3::ImmediateResponse* out);

}  // namespace bbr
