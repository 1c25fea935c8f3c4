// What Envoy tells about a stream, read into the host's types: headers, and
// what it sends besides headers and body (attributes and metadata_context)
// into the EnvoyContext the plugins query with get_attribute / get_metadata.
#pragma once

#include "chain/message.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

namespace bbr {

// Headers as Envoy sends them: each value from raw_value when set, else value.
Headers to_headers(const envoy::config::core::v3::HeaderMap& map);

// Adds what this ProcessingRequest carries to `context`:
// attributes (map<string, Struct>: each struct's fields, flattened into
// attribute name -> value; a later message's value replaces an earlier one)
// and metadata_context.filter_metadata (namespace -> key -> value). Each value
// is kept encoded and becomes JSON text only when a plugin reads it
// (EnvoyValue).
// True when the request carried either.
bool absorb_envoy_context(const envoy::service::ext_proc::v3::ProcessingRequest& request,
                          EnvoyContext& context);

}  // namespace bbr
