#include "session/outcome_encoding.hpp"

#include "log/log.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

namespace bbr {
namespace {

namespace ext_proc = envoy::service::ext_proc::v3;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string to_json_text(const Value& value) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "null";
  return out;
}

}  // namespace

bool absorb_envoy_context(const ext_proc::ProcessingRequest& request, EnvoyContext& context) {
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

void encode_dynamic_metadata(const Message& msg, ext_proc::ProcessingResponse& out) {
  const auto& entries = msg.dynamic_metadata();
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

void encode_route_cache(const Message& msg, bool default_clear, ext_proc::CommonResponse* common) {
  switch (msg.route_cache()) {
    case BBR_ROUTE_CACHE_CLEAR:
      common->set_clear_route_cache(true);
      break;
    case BBR_ROUTE_CACHE_KEEP:
      common->set_clear_route_cache(false);
      break;
    default:
      common->set_clear_route_cache(default_clear);
      break;
  }
}

void encode_immediate_extras(const ImmediateResponse& answer, bool json_guess,
                             ext_proc::ImmediateResponse* out) {
  bool content_type = false;
  for (const Header& h : answer.headers) {
    if (header_name_equals(h.key, "content-type")) content_type = true;
  }
  auto add = [&](const std::string& key, const std::string& value) {
    auto* option = out->mutable_headers()->add_set_headers();
    option->set_append_action(
        envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
    option->mutable_header()->set_key(key);
    option->mutable_header()->set_raw_value(value);
  };
  if (json_guess && !content_type) add("content-type", "application/json");
  for (const Header& h : answer.headers) add(h.key, h.value);
  if (!answer.details.empty()) out->set_details(answer.details);
}

}  // namespace bbr
