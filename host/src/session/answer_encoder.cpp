#include "session/answer_encoder.hpp"

#include "body/body_buffer_pool.hpp"

#include "log/log.hpp"

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

namespace bbr {
namespace {

namespace ext_proc = envoy::service::ext_proc::v3;
using envoy::config::core::v3::HeaderValueOption;
using google::protobuf::Struct;
using google::protobuf::Value;
using ProcessingResponse = Session::ProcessingResponse;
using Step = Session::Step;

ext_proc::HeadersResponse* headers_response(ProcessingResponse& out, bbr_phase_t phase) {
  return phase == BBR_PHASE_REQUEST ? out.mutable_request_headers() : out.mutable_response_headers();
}

ext_proc::BodyResponse* body_response(ProcessingResponse& out, bbr_phase_t phase) {
  return phase == BBR_PHASE_REQUEST ? out.mutable_request_body() : out.mutable_response_body();
}

ext_proc::ImmediateResponse* immediate_response(ProcessingResponse& out, uint32_t status,
                                                std::string body) {
  auto* ir = out.mutable_immediate_response();
  ir->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(status));
  ir->set_body(std::move(body));
  return ir;
}

Step finishing(ProcessingResponse out) {
  Step step;
  step.add(std::move(out));
  step.finish = true;
  return step;
}

}  // namespace

void set_overwriting(ext_proc::HeaderMutation* out, std::string key, std::string value) {
  auto* option = out->add_set_headers();
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  auto* header = option->mutable_header();
  header->set_key(std::move(key));
  header->set_raw_value(std::move(value));
}

// ------------------------------------------------------------ header mutation

bool AnswerEncoder::is_routing_header(std::string_view key) const {
  return std::any_of(options_.routing_headers->begin(), options_.routing_headers->end(),
                     [&](const std::string& r) { return header_name_equals(r, key); });
}

// Client-sent routing headers that nothing set: removed (docs/architecture.md).
void AnswerEncoder::strip_routing_headers(const Headers& received,
                                          const std::vector<HeaderMutation>* mutations,
                                          std::vector<std::string>& removes) const {
  if (!options_.routing_headers || options_.routing_headers->empty()) return;
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
void AnswerEncoder::encode_mutation(const Message& msg, std::optional<std::size_t> content_length,
                                    ext_proc::HeaderMutation* out) const {
  std::vector<std::pair<std::string, std::string>> sets;
  std::vector<std::string> removes;
  for (const auto& m : msg.header_mutations()) {
    if (content_length && header_name_equals(m.key, "content-length")) continue;
    if (m.value) {
      bool unchanged =
          std::any_of(msg.received_headers().begin(), msg.received_headers().end(),
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
  for (auto& [key, value] : sets) set_overwriting(out, std::move(key), std::move(value));
  for (auto& key : removes) out->add_remove_headers(std::move(key));
}

// ------------------------------------------------------------------- answers

void AnswerEncoder::plain_headers(Step& step, bbr_phase_t phase, const Headers& received) const {
  ProcessingResponse out;
  auto* hr = headers_response(out, phase);
  std::vector<std::string> removes;
  if (phase == BBR_PHASE_REQUEST) strip_routing_headers(received, nullptr, removes);
  if (!removes.empty()) {
    std::sort(removes.begin(), removes.end());
    auto* mutation = hr->mutable_response()->mutable_header_mutation();
    for (auto& key : removes) mutation->add_remove_headers(std::move(key));
    hr->mutable_response()->set_clear_route_cache(true);
  }
  step.add(std::move(out));
}

void AnswerEncoder::streaming_headers(Step& step, const Headers& received) const {
  ProcessingResponse out;
  auto* hr = headers_response(out, BBR_PHASE_RESPONSE);
  for (const auto& h : received) {
    if (header_name_equals(h.key, "content-length")) {
      hr->mutable_response()->mutable_header_mutation()->add_remove_headers("content-length");
      break;
    }
  }
  step.add(std::move(out));
}

void AnswerEncoder::empty_body(Step& step, bbr_phase_t phase) {
  ProcessingResponse out;
  body_response(out, phase);
  step.add(std::move(out));
}

bool AnswerEncoder::memory_tight() const {
  const InflightBudget* budget = options_.inflight_budget;
  return budget != nullptr && budget->limit() != 0 && budget->used() > budget->limit() / 2;
}

void AnswerEncoder::chunks(Step& step, bbr_phase_t phase, std::string bytes, bool end_of_stream,
                           const std::vector<DynamicMetadataEntry>& metadata) const {
  if (!metadata.empty()) {
    // The first chunk carries the metadata: a ready message (copied), the
    // rest go by reference as usual.
    const std::size_t first =
        std::min(bytes.size(), std::max<std::size_t>(options_.stream_chunk_bytes, 1));
    const bool rest = first < bytes.size();
    ProcessingResponse out;
    auto* streamed = body_response(out, phase)
                         ->mutable_response()
                         ->mutable_body_mutation()
                         ->mutable_streamed_response();
    streamed->set_body(bytes.data(), first);
    streamed->set_end_of_stream(end_of_stream && !rest);
    encode_dynamic_metadata(metadata, out);
    step.add(std::move(out));
    if (!rest) return;
    bytes.erase(0, first);
  }
  step.add_streamed_body(phase, std::move(bytes), end_of_stream, options_.stream_chunk_bytes,
                         /*recycle=*/!memory_tight());
}

void AnswerEncoder::as_received(Step& step, bbr_phase_t phase, bool streamed,
                                ext_proc::HttpBody& body) const {
  if (streamed) {
    chunks(step, phase, std::move(*body.mutable_body()), body.end_of_stream());
  } else {
    empty_body(step, phase);
  }
}

void AnswerEncoder::trailers(Step& step, bbr_phase_t phase) {
  ProcessingResponse out;
  if (phase == BBR_PHASE_REQUEST) {
    out.mutable_request_trailers();
  } else {
    out.mutable_response_trailers();
  }
  step.add(std::move(out));
}

void AnswerEncoder::body_answers(Step& step, const Message& msg, std::string body,
                                 const BodyOutcome& outcome) const {
  const bbr_phase_t phase = msg.phase();
  if (!outcome.chain_ran && !outcome.changed && msg.dynamic_metadata().empty()) {
    // Nothing to tell Envoy but the body itself.
    if (outcome.streamed) {
      plain_headers(step, phase, msg.received_headers());
      chunks(step, phase, std::move(body), outcome.end_of_stream);
    } else {
      empty_body(step, phase);
      if (!memory_tight()) BodyBufferPool::give_back(std::move(body));
    }
    return;
  }
  // Streamed, the request always states its length: the held headers answer
  // goes before the body and Envoy must not fall back to chunked encoding.
  std::optional<std::size_t> length;
  if (outcome.changed || (outcome.streamed && phase == BBR_PHASE_REQUEST)) length = body.size();
  ProcessingResponse out;
  auto* common = outcome.streamed ? headers_response(out, phase)->mutable_response()
                                  : body_response(out, phase)->mutable_response();
  encode_mutation(msg, length, common->mutable_header_mutation());
  if (!outcome.streamed && outcome.changed) common->mutable_body_mutation()->set_body(std::move(body));
  encode_route_cache(msg, common);
  encode_dynamic_metadata(msg, out);
  step.add(std::move(out));
  if (outcome.streamed) chunks(step, phase, std::move(body), outcome.end_of_stream);
}

Step AnswerEncoder::immediate(uint32_t status, std::string body, bool json) {
  ProcessingResponse out;
  auto* ir = immediate_response(out, status, std::move(body));
  if (json) set_overwriting(ir->mutable_headers(), "content-type", "application/json");
  return finishing(std::move(out));
}

Step AnswerEncoder::stopped(const ChainOutcome& outcome, const Message& msg) {
  if (outcome.kind == ChainOutcome::Kind::kRejected) {
    const ImmediateResponse& answer = *msg.immediate_response();
    ProcessingResponse out;
    auto* ir = immediate_response(out, answer.http_status, answer.body);
    // An OpenAI-style JSON error body is announced as JSON (unless the
    // plugin chose a content-type with reject_with).
    encode_immediate_extras(answer, !answer.body.empty() && answer.body.front() == '{', ir);
    encode_dynamic_metadata(msg, out);
    return finishing(std::move(out));
  }
  // A failed chain always carries its status: Chain::run makes a result
  // outside the documented set a 500.
  ImmediateResponse failure = *reference_failure_response(outcome);
  return immediate(failure.http_status, std::move(failure.body));
}

Step AnswerEncoder::shed(unsigned retry_after_seconds, const char* reason) {
  ProcessingResponse out;
  auto* ir = immediate_response(
      out, 503,
      fmt::format(R"({{"error":{{"message":"server busy: {}; retry later","type":"server_error","code":"overloaded"}}}})",
                  reason));
  set_overwriting(ir->mutable_headers(), "content-type", "application/json");
  set_overwriting(ir->mutable_headers(), "retry-after", std::to_string(retry_after_seconds));
  return finishing(std::move(out));
}

// ------------------------------------------------ route cache, metadata, extras

void encode_dynamic_metadata(const Message& msg, ext_proc::ProcessingResponse& out) {
  encode_dynamic_metadata(msg.dynamic_metadata(), out);
}

void encode_dynamic_metadata(const std::vector<DynamicMetadataEntry>& entries,
                             ext_proc::ProcessingResponse& out) {
  if (entries.empty()) return;
  Struct* root = out.mutable_dynamic_metadata();
  for (const DynamicMetadataEntry& e : entries) {
    Value value;
    // Validated when the plugin set it; a value protobuf's JSON reader still
    // refuses (e.g. a number beyond double) is logged and left out.
    if (!google::protobuf::util::JsonStringToMessage(e.json_value, &value).ok()) {
      log::warn("dynamic metadata {}/{} left out: not representable as a protobuf Value", e.ns,
                e.key);
      continue;
    }
    Struct& space = *(*root->mutable_fields())[e.ns].mutable_struct_value();
    (*space.mutable_fields())[e.key] = std::move(value);
  }
}

void encode_route_cache(const Message& msg, ext_proc::CommonResponse* common) {
  common->set_clear_route_cache(msg.route_cache() != BBR_ROUTE_CACHE_KEEP);
}

void encode_immediate_extras(const ImmediateResponse& answer, bool json_guess,
                             ext_proc::ImmediateResponse* out) {
  const bool content_type =
      std::any_of(answer.headers.begin(), answer.headers.end(),
                  [](const Header& h) { return header_name_equals(h.key, "content-type"); });
  if (json_guess && !content_type) {
    set_overwriting(out->mutable_headers(), "content-type", "application/json");
  }
  for (const Header& h : answer.headers) set_overwriting(out->mutable_headers(), h.key, h.value);
  if (!answer.details.empty()) out->set_details(answer.details);
}

}  // namespace bbr
