// What ABI 1.1 adds to the ext_proc conversation, kept out of session.cpp:
// reading Envoy's attributes and metadata context into an EnvoyContext, and
// writing a Message's dynamic metadata, route-cache choice and a plugin's
// reject headers/details into the ProcessingResponse.
#pragma once

#include "chain/message.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

namespace bbr {

// Adds what this ProcessingRequest carries to `context`:
// attributes (map<string, Struct>: each struct's fields, flattened into
// attribute name -> JSON text; a later message's value replaces an earlier
// one) and metadata_context.filter_metadata (namespace -> key -> JSON text).
// True when the request carried either.
bool absorb_envoy_context(const envoy::service::ext_proc::v3::ProcessingRequest& request,
                          EnvoyContext& context);

// ProcessingResponse.dynamic_metadata: Struct{namespace: Struct{key: Value}}
// from the message's entries (nothing when there are none).
void encode_dynamic_metadata(const Message& msg,
                             envoy::service::ext_proc::v3::ProcessingResponse& out);

// CommonResponse.clear_route_cache for the message's merged choice: DEFAULT
// keeps `default_clear` (the host's own decision), CLEAR sets it, KEEP
// leaves it false.
void encode_route_cache(const Message& msg, bool default_clear,
                        envoy::service::ext_proc::v3::CommonResponse* common);

// An immediate answer's headers and details. A content-type the plugin set
// replaces the guess (`json_guess`: the body is announced as JSON).
void encode_immediate_extras(const ImmediateResponse& answer, bool json_guess,
                             envoy::service::ext_proc::v3::ImmediateResponse* out);

}  // namespace bbr
