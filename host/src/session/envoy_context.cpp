#include "session/envoy_context.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace bbr {
namespace {

std::string to_json_text(const google::protobuf::Value& value) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "null";
  return out;
}

}  // namespace

Headers to_headers(const envoy::config::core::v3::HeaderMap& map) {
  Headers out;
  out.reserve(static_cast<std::size_t>(map.headers_size()));
  for (const auto& h : map.headers()) {
    out.push_back(Header{h.key(), h.raw_value().empty() ? h.value() : h.raw_value()});
  }
  return out;
}

bool absorb_envoy_context(const envoy::service::ext_proc::v3::ProcessingRequest& request,
                          EnvoyContext& context) {
  bool any = false;
  for (const auto& [space, fields] : request.attributes()) {
    (void)space;  // Envoy keys the attributes by the filter's name; plugins ask by attribute
    for (const auto& [name, value] : fields.fields()) {
      context.attributes[name] = to_json_text(value);
      any = true;
    }
  }
  if (request.has_metadata_context()) {
    for (const auto& [space, fields] : request.metadata_context().filter_metadata()) {
      auto& keys = context.metadata[space];
      for (const auto& [key, value] : fields.fields()) {
        keys[key] = to_json_text(value);
        any = true;
      }
    }
  }
  return any;
}

}  // namespace bbr
