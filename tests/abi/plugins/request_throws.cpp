// A C++ plugin whose on_request throws: plugin.hpp turns it into
// BBR_FAIL_INTERNAL (500) with what() as the error text.
#include <bbr/plugin.hpp>

#include <stdexcept>

namespace {

class RequestThrows {
 public:
  explicit RequestThrows(const bbr::CreateContext&) {}
  bbr_result_t on_request(bbr::Message&) { throw std::runtime_error("tokenizer table missing"); }
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<RequestThrows>("abi-test-request-throws", "1.0.0",
                                                   "on_request always throws"))
