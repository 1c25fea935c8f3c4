// What both directions of one ext_proc stream share: the chain and options,
// the plugins' per-stream state, the in-flight budget share, what Envoy told
// about the stream, and the one answer encoder. Plus HeldBody, the body bytes
// a direction keeps until its chain runs.
#pragma once

#include "body/body_buffer_pool.hpp"
#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "session/answer_encoder.hpp"
#include "session/envoy_context.hpp"
#include "session/inflight_budget.hpp"
#include "session/session.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <utility>

namespace bbr {

// How a direction's body reaches the session.
enum class BodyMode { kBuffered, kStreamed, kNone };

struct StreamContext {
  StreamContext(const Chain& c, const SessionOptions& o)
      : chain(c), options(o), budget(o.inflight_budget), encoder(o) {}

  const Chain& chain;
  const SessionOptions& options;
  RequestState state;  // shared by request and response plugins (CycleState)
  BudgetShare budget;
  EnvoyContext envoy_context;  // attributes and metadata Envoy sent
  bool has_envoy_context = false;
  std::string request_path;  // the request's :path (message_info, both phases)
  AnswerEncoder encoder;

  const EnvoyContext* envoy() const { return has_envoy_context ? &envoy_context : nullptr; }
  // The stream's :path and Envoy context, for message_info, prompt_text,
  // get_attribute and get_metadata.
  void give_context(Message& msg) const {
    msg.set_request_path(request_path);
    msg.set_envoy_context(envoy());
  }
  bool over_limit(std::size_t size) const {
    return options.max_body_bytes != 0 && size > options.max_body_bytes;
  }
  // Runs the chain's whole-body hooks over `msg` (`whole_only_for`: as
  // Chain::run) and reports the outcome. A chain that stopped leaves its
  // answer in `stop` and returns false.
  bool run_chain(Message& msg, std::optional<bool> whole_only_for, Session::Step& stop) const {
    ChainOutcome outcome = chain.run(msg, whole_only_for);
    if (options.on_chain_outcome) options.on_chain_outcome(msg.phase(), outcome);
    if (outcome.kind == ChainOutcome::Kind::kContinue) return true;
    stop = AnswerEncoder::stopped(outcome, msg);
    return false;
  }
};

// The body bytes one direction keeps until its chain runs, counted against
// --max-body-bytes and the in-flight budget.
//
// The buffer comes from BodyBufferPool when it must grow (a large body then
// reuses resident pages instead of faulting in fresh ones), sized at once
// for the whole body when Envoy sent its Content-Length, so it never regrows
// and copies what came before.
class HeldBody {
 public:
  enum class Taken { kKept, kOverLimit, kOverBudget };

  HeldBody() = default;
  HeldBody(const HeldBody&) = delete;
  HeldBody& operator=(const HeldBody&) = delete;
  ~HeldBody() { BodyBufferPool::give_back(std::move(bytes_)); }

  // The body's length as Envoy announced it (the Content-Length header), or
  // none: used only to size the buffer, never trusted for anything else.
  void expect(const Headers& headers) {
    expected_ = 0;
    for (const Header& h : headers) {
      if (h.key.size() != 14 || !header_name_equals(h.key, "content-length")) continue;
      std::size_t value = 0;
      const char* end = h.value.data() + h.value.size();
      auto [at, ec] = std::from_chars(h.value.data(), end, value);
      if (ec == std::errc() && at == end) expected_ = value;
    }
  }

  // Adds a body message's bytes (moved out of `incoming` when nothing is
  // held yet and no larger buffer is wanted). `last`: no more bytes follow.
  Taken take(std::string& incoming, bool last, StreamContext& ctx) {
    if (ctx.over_limit(bytes_.size() + incoming.size())) return Taken::kOverLimit;
    if (!ctx.budget.grow(incoming.size())) {
      BodyBufferPool::drain();  // memory is tight: pooled buffers go first
      return Taken::kOverBudget;
    }
    const std::size_t size = bytes_.size() + incoming.size();
    // The parser's padding is in place from the start, so the joined body is
    // never copied again to make room for it.
    const std::size_t needed = size + JsonBody::kParsePadding;
    if (bytes_.capacity() >= needed) {
      bytes_.append(incoming);
      return Taken::kKept;
    }
    if (bytes_.empty() && (last || (expected_ != 0 && expected_ <= incoming.size()))) {
      bytes_.swap(incoming);  // the whole body in one message: taken, not copied
      return Taken::kKept;
    }
    // The whole announced body at once, when it is plausible (not below what
    // came, not over the stream's limit).
    std::size_t want = needed;
    if (expected_ > size && !ctx.over_limit(expected_)) want = expected_ + JsonBody::kParsePadding;
    std::string bigger;
    if (!BodyBufferPool::take_pooled(want, bigger)) {
      if (bytes_.empty() && want == needed) {
        bytes_.swap(incoming);  // length unknown, no pooled buffer: the first chunk is taken
        return Taken::kKept;
      }
      bigger.reserve(std::max(want, 2 * bytes_.capacity()));  // geometric: amortised copies
    }
    bigger.append(bytes_);
    bigger.append(incoming);
    bytes_.swap(bigger);
    return Taken::kKept;
  }
  const std::string& bytes() const { return bytes_; }
  // The bytes, handed over (nothing is held afterwards).
  std::string release() { return std::exchange(bytes_, std::string()); }

 private:
  std::string bytes_;
  std::size_t expected_ = 0;
};

}  // namespace bbr
