// A C++ plugin whose constructor throws: plugin.hpp must turn it into create()'s
// error text, never let it cross into the host.
#include <bbr/plugin.hpp>

#include <stdexcept>

namespace {

class CreateThrows {
 public:
  explicit CreateThrows(const bbr::CreateContext& ctx) {
    throw std::invalid_argument("instance '" + std::string(ctx.instance_name) +
                                "': fieldName is required");
  }
  bbr_result_t on_request(bbr::Message&) { return BBR_CONTINUE; }
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<CreateThrows>("abi-test-create-throws", "1.0.0",
                                                  "its constructor always throws"))
