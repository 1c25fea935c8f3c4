// How the chain treats one plugin instance's calls: its failure policy and
// time budget (config `failurePolicy` and `timeout`). Separate from chain.hpp
// so the configuration can carry it without the chain's dependencies.
#pragma once

#include <chrono>

namespace bbr {

// What the chain does when an instance's call fails (returns neither
// BBR_CONTINUE nor a reject()).
enum class FailurePolicy {
  kFailClose,  // the reference's answer: the chain stops, the request is answered with the mapped
               // status
  kFailOpen,   // the failure is logged and counted, the chain goes on as if the call had continued
};

// "FailClose" / "FailOpen", as the configuration spells them.
constexpr const char* failure_policy_name(FailurePolicy policy) {
  return policy == FailurePolicy::kFailOpen ? "FailOpen" : "FailClose";
}

struct PluginPolicy {
  FailurePolicy failure = FailurePolicy::kFailClose;
  // Time budget per call; zero: none. Observed only (logged and counted when
  // exceeded): a C call cannot be pre-empted, so its result still counts.
  std::chrono::nanoseconds timeout{0};
};

}  // namespace bbr
