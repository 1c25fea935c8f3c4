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
// attribute name -> JSON text; a later message's value replaces an earlier
// one) and metadata_context.filter_metadata (namespace -> key -> JSON text).
// True when the request carried either.
bool absorb_envoy_context(const envoy::service::ext_proc::v3::ProcessingRequest& request,
                          EnvoyContext& context);

}  // namespace bbr
