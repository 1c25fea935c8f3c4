// What both directions of one ext_proc stream share: the chain and options,
// the plugins' per-stream state, the in-flight budget share, what Envoy told
// about the stream, and the one answer encoder. Plus HeldBody, the body bytes
// a direction keeps until its chain runs.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "session/answer_encoder.hpp"
#include "session/envoy_context.hpp"
#include "session/inflight_budget.hpp"
#include "session/session.hpp"

#include <algorithm>
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
class HeldBody {
 public:
  enum class Taken { kKept, kOverLimit, kOverBudget };

  // Adds a body message's bytes (moved out of `incoming` when nothing is held yet).
  Taken take(std::string& incoming, StreamContext& ctx) {
    if (ctx.over_limit(bytes_.size() + incoming.size())) return Taken::kOverLimit;
    if (!ctx.budget.grow(incoming.size())) return Taken::kOverBudget;
    if (bytes_.empty()) {
      bytes_.swap(incoming);  // the first chunk is taken, not copied
    } else {
      // Grow geometrically with the parser's padding already in place, so the
      // joined body is never copied again to make room for it.
      const std::size_t needed = bytes_.size() + incoming.size() + JsonBody::kParsePadding;
      if (bytes_.capacity() < needed) bytes_.reserve(std::max(needed, 2 * bytes_.capacity()));
      bytes_.append(incoming);
    }
    return Taken::kKept;
  }
  const std::string& bytes() const { return bytes_; }
  // The bytes, handed over (nothing is held afterwards).
  std::string release() { return std::exchange(bytes_, std::string()); }

 private:
  std::string bytes_;
};

}  // namespace bbr
