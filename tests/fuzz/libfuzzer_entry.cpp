// libFuzzer's entry point for one target, chosen at compile time with
// BBR_FUZZ_TARGET (e.g. bbr_fuzz::session_one_input).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return BBR_FUZZ_TARGET(data, size);
}
