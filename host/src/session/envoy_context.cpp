#include "session/envoy_context.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace bbr {
namespace {

// EnvoyValue's converter: the value as absorb_envoy_context encoded it.
std::string value_to_json(std::string_view encoded) {
  google::protobuf::Value value;
  std::string out;
  if (!value.ParseFromArray(encoded.data(), static_cast<int>(encoded.size())) ||
      !google::protobuf::util::MessageToJsonString(value, &out).ok()) {
    return "null";
  }
  return out;
}

EnvoyValue keep(const google::protobuf::Value& value) {
  return EnvoyValue(value.SerializeAsString(), &value_to_json);
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
      context.attributes[name] = keep(value);
      any = true;
    }
  }
  if (request.has_metadata_context()) {
    for (const auto& [space, fields] : request.metadata_context().filter_metadata()) {
      auto& keys = context.metadata[space];
      for (const auto& [key, value] : fields.fields()) {
        keys[key] = keep(value);
        any = true;
      }
    }
  }
  return any;
}

}  // namespace bbr
