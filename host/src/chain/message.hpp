// Message: one HTTP request or response as the plugins see it, and what they
// did to it. The host side of the opaque bbr_message_t.
#pragma once

#include <bbr/plugin.h>

#include "body/json_body.hpp"

#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bbr {

// One header as received (key lower-cased by Envoy).
struct Header {
  std::string key;
  std::string value;
};
using Headers = std::vector<Header>;

// A header change to send to Envoy. Each key appears once, in the order it was
// first touched; the last plugin to touch it decides.
struct HeaderMutation {
  std::string key;                   // as the plugin spelt it
  std::optional<std::string> value;  // nullopt: remove
};

struct ImmediateResponse {
  uint32_t http_status = 0;
  std::string body;
  std::string details;  // goes to ImmediateResponse.details (logged by Envoy)
  // Headers a plugin chose (reject_with, since 1.1). A content-type among them
  // replaces the guess from the body's first byte.
  std::vector<Header> headers;
};

// Where in a response body the current call is (bbr_message_info_t): set by
// the session before each chunk/event call; BBR_BODY_WHOLE otherwise.
struct BodyPosition {
  bbr_body_unit_t unit = BBR_BODY_WHOLE;
  uint64_t sequence = 0;
  bool end_of_stream = false;
  bool sse_done = false;     // SSE_EVENT whose data is "[DONE]"
  std::string event_name;    // SSE `event:` field
  std::string event_id;      // SSE `id:` field
};

// One event a plugin added with event_add (since 1.1), in order.
struct AddedEvent {
  std::string event_name;
  std::string data;
};

// One ProcessingResponse.dynamic_metadata entry (since 1.1).
struct DynamicMetadataEntry {
  std::string ns;
  std::string key;
  std::string json_value;  // validated JSON text
};

// Sets namespace/key in `entries`: the same namespace and key again keeps
// its place and takes the later value.
void set_metadata_entry(std::vector<DynamicMetadataEntry>& entries, std::string_view ns,
                        std::string_view key, std::string_view json_value);

// One value Envoy sent (an attribute, a metadata key): kept as Envoy encoded
// it and turned into JSON text the first time a plugin reads it. Most streams
// never ask, and the conversion (protobuf's JSON printer) costs more than the
// rest of a small request's header work. The encoding and its converter come
// from the session (session/envoy_context.cpp); the chain sees JSON text only.
class EnvoyValue {
 public:
  using ToJson = std::string (*)(std::string_view encoded);
  EnvoyValue() = default;
  // Already JSON text (the offline driver's and the tests' values).
  EnvoyValue(std::string json) : text_(std::move(json)) {}  // NOLINT: implicit on purpose
  EnvoyValue(const char* json) : text_(json) {}              // NOLINT: implicit on purpose
  EnvoyValue(std::string encoded, ToJson to_json) : text_(std::move(encoded)), to_json_(to_json) {}

  // The JSON text; converts on the first call. A stream's values are only
  // read on the stream's own thread (plugin.h: a message is touched by one
  // thread at a time), so the conversion needs no lock.
  const std::string& json() const;

 private:
  mutable std::string text_;  // encoded until converted, then JSON text
  mutable ToJson to_json_ = nullptr;
};

// What Envoy sent besides headers and body (ProcessingRequest.attributes and
// metadata_context), kept by the session for the whole stream.
struct EnvoyContext {
  // attribute name ("request.id") -> its value
  std::map<std::string, EnvoyValue, std::less<>> attributes;
  // namespace -> key -> value
  std::map<std::string, std::map<std::string, EnvoyValue, std::less<>>, std::less<>> metadata;
};

// Per-stream values shared by the plugins across request and response phases
// (the reference's CycleState). Owns the values: runs their destructors.
class RequestState {
 public:
  RequestState() = default;
  RequestState(const RequestState&) = delete;
  RequestState& operator=(const RequestState&) = delete;
  ~RequestState();

  void put(std::string key, void* value, void (*destroy)(void*));
  void* get(std::string_view key) const;

 private:
  struct Entry {
    void* value;
    void (*destroy)(void*);
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

class Message {
 public:
  Message(bbr_phase_t phase, Headers headers, JsonBody body, RequestState& state)
      : phase_(phase), owned_(std::move(headers)), body_(std::move(body)), state_(state) {}
  // Reads `headers` where they are instead of copying them: for messages made
  // many times over the same headers (one per SSE event). They must outlive
  // the message.
  struct BorrowHeaders {};
  Message(bbr_phase_t phase, const Headers& headers, BorrowHeaders, JsonBody body,
          RequestState& state)
      : phase_(phase), borrowed_(&headers), body_(std::move(body)), state_(state) {}

  bbr_phase_t phase() const { return phase_; }

  // Current header view: the received headers with the plugins' changes
  // applied (keys compared case-insensitively).
  std::optional<std::string_view> header(std::string_view name) const;
  std::size_t header_count() const { return current_view().size(); }
  const Header* header_at(std::size_t index) const;
  bbr_status_t set_header(std::string_view name, std::string_view value);
  bbr_status_t remove_header(std::string_view name);

  // The headers as received, untouched by plugins.
  const Headers& received_headers() const { return borrowed_ != nullptr ? *borrowed_ : owned_; }
  // What the plugins changed, one entry per key (see HeaderMutation).
  const std::vector<HeaderMutation>& header_mutations() const { return mutations_; }

  JsonBody& body() { return body_; }

  void reject(uint32_t http_status, std::string body) {
    immediate_ = ImmediateResponse{http_status, std::move(body), {}, {}};
  }
  // reject_with (since 1.1): status, body, headers and details.
  void reject(ImmediateResponse response) { immediate_ = std::move(response); }
  const std::optional<ImmediateResponse>& immediate_response() const { return immediate_; }

  void set_error(std::string text) { error_ = std::move(text); }
  const std::string& error() const { return error_; }
  // The chain calls this after every plugin call, so it also ends the life of
  // the texts handed to that call (see scratch_text()).
  void clear_error() {
    error_.clear();
    release_scratch_texts();
  }

  RequestState& state() { return state_; }

  // --- since ABI 1.1 ---
  // The request's :path, in both phases (the session sets it).
  void set_request_path(std::string path) { request_path_ = std::move(path); }
  const std::string& request_path() const { return request_path_; }
  // The unit of body the current call is given (the session sets it).
  void set_position(BodyPosition position) { position_ = std::move(position); }
  const BodyPosition& position() const { return position_; }
  // True in a chunk, event or stream-end call: the response headers were
  // answered before the body's pieces, so header changes, rejections and
  // route-cache choices would go nowhere. (Dynamic metadata still goes, on
  // a body answer: ResponseStream collects it.)
  bool response_started() const { return position_.unit != BBR_BODY_WHOLE; }
  // SSE edits made through event_drop / event_add during an SSE_EVENT call.
  void drop_event() { event_dropped_ = true; }
  bool event_dropped() const { return event_dropped_; }
  void add_event(AddedEvent event) { added_events_.push_back(std::move(event)); }
  std::vector<AddedEvent>& added_events() { return added_events_; }
  // The chain's merged route-cache choice (any CLEAR wins, then any KEEP).
  void choose_route_cache(bbr_route_cache_t choice) {
    if (choice == BBR_ROUTE_CACHE_CLEAR || route_cache_ == BBR_ROUTE_CACHE_DEFAULT) {
      route_cache_ = choice;
    }
  }
  bbr_route_cache_t route_cache() const { return route_cache_; }
  std::vector<DynamicMetadataEntry>& dynamic_metadata() { return dynamic_metadata_; }
  const std::vector<DynamicMetadataEntry>& dynamic_metadata() const { return dynamic_metadata_; }
  // Envoy's attributes and metadata for this stream; null when none were sent.
  void set_envoy_context(const EnvoyContext* context) { envoy_context_ = context; }
  const EnvoyContext* envoy_context() const { return envoy_context_; }
  // Set while json_for_each walks: mutating calls answer BBR_UNSUPPORTED.
  bool walking() const { return walk_depth_ > 0; }
  void begin_walk() { ++walk_depth_; }
  void end_walk() { --walk_depth_; }

  // A fresh string for a text whose view goes to a plugin (json_get_text).
  // Every such text stays valid until the plugin callback returns, however
  // many the plugin asks for: a list never moves its elements as it grows,
  // and an empty one allocates nothing (a deque allocates its map and a
  // block when constructed: two allocations per message that asks for none).
  std::string& scratch_text() { return scratch_texts_.emplace_back(); }
  std::size_t scratch_text_count() const { return scratch_texts_.size(); }
  // Drops the texts of the callback that just returned.
  void release_scratch_texts() { scratch_texts_.clear(); }

 private:
  const Headers& current_view() const;

  bbr_phase_t phase_;
  Headers owned_;                      // the received headers, when the message owns them
  const Headers* borrowed_ = nullptr;  // or where they are (BorrowHeaders)
  mutable Headers view_;  // received headers + mutations_, rebuilt when stale
  mutable bool view_stale_ = true;
  JsonBody body_;
  RequestState& state_;
  std::vector<HeaderMutation> mutations_;
  std::optional<ImmediateResponse> immediate_;
  std::string error_;
  std::list<std::string> scratch_texts_;
  std::string request_path_;
  BodyPosition position_;
  bool event_dropped_ = false;
  std::vector<AddedEvent> added_events_;
  bbr_route_cache_t route_cache_ = BBR_ROUTE_CACHE_DEFAULT;
  std::vector<DynamicMetadataEntry> dynamic_metadata_;
  const EnvoyContext* envoy_context_ = nullptr;
  int walk_depth_ = 0;
};

// ASCII case-insensitive equality, as header names compare.
bool header_name_equals(std::string_view a, std::string_view b);
// True when `value` may go on the wire as a header value (no CR, LF or NUL).
bool is_safe_header_value(std::string_view value);
// Headers Envoy refuses to let an ext_proc server change (x-envoy-*, host,
// :method, :authority, :scheme; for removal any ':' header): refused up front
// so a plugin learns it at once instead of Envoy ignoring it silently.
bool is_envoy_protected_header(std::string_view name, bool removal);
// True for an RFC 9110 token (plus a leading ':' for pseudo-headers).
bool is_valid_header_name(std::string_view name);
// The one check of a header a plugin asks the host to send (set_header,
// reject_with): a valid name, not one Envoy protects, a safe value.
bool is_sendable_header(std::string_view name, std::string_view value);

}  // namespace bbr
