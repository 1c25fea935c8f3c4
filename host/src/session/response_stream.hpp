// ResponseStream: one response body fed to the response plugins' streamed
// hooks (ABI 1.1) piece by piece, as plugin.h lays out above
// process_response_chunk. docs/session.md draws where the session uses it.
//
// For a text/event-stream response with at least one event-hook plugin the
// body is split into Server-Sent Events; each complete event runs through the
// response plugins in chain order (event hooks see the event, chunk hooks the
// event's bytes) and is forwarded at once: only the incomplete tail is held.
// Any other body runs chunk by chunk through the chunk hooks. At the end an
// unfinished last event is completed and runs as the final event; then the
// stream ends with one BBR_BODY_STREAM_END call per streamed-hook plugin.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "sse/sse.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bbr {

class ResponseStream {
 public:
  // `headers` are the response headers the plugins may read; `event_stream`
  // says the response is text/event-stream.
  ResponseStream(const Chain& chain, RequestState& state, Headers headers, std::string request_path,
                 bool event_stream);

  // Runs one body piece through the plugins and returns the bytes to forward
  // now (possibly none: the piece completed no event). At end_of_stream the
  // held tail goes out as it came, then the STREAM_END calls run and what
  // they add follows.
  std::string feed(std::string_view chunk, bool end_of_stream);
  // The end of the body without an end_of_stream message (trailers came).
  std::string finish() { return feed({}, true); }

  // Envoy's attributes and metadata for this stream (get_attribute /
  // get_metadata in the hooks); null when Envoy sent none. Must outlive this.
  void set_envoy_context(const EnvoyContext* context) { envoy_context_ = context; }

  // The dynamic metadata the hooks set so far and not yet taken, merged
  // (the same namespace and key: the later value). The caller sends it with
  // the next answer it gives to Envoy; Envoy takes metadata from any answer.
  std::vector<DynamicMetadataEntry> take_metadata() { return std::move(metadata_); }

  // Bytes held back (the incomplete event).
  std::size_t held_bytes() const { return splitter_.tail().size(); }
  // Hands the held bytes out unchanged and stops processing: the caller lets
  // the rest of the body through untouched (e.g. past the body limit).
  std::string abandon() { return splitter_.take_tail(); }

 private:
  // An event on its way through the chain.
  struct Item {
    sse::Event event;
    bool edited = false;  // re-encode: a plugin changed its data
    bool opaque = false;  // a chunk hook replaced its bytes: no longer an event
    uint64_t sequence = 0;
    std::string bytes() const;
  };

  const EnvoyContext* envoy_context_ = nullptr;

  // One block from the splitter: an event goes through the plugins, a block
  // without data goes on as it came.
  void dispatch(sse::Event event, std::string& out);
  void run_event(Item item, std::size_t from, std::string& out);
  // An event a plugin added: encoded from its name and data, numbered next.
  Item added_item(AddedEvent& added);
  std::string run_chunk(std::string bytes, bool end_of_stream);
  void stream_end(std::string& out);
  Message make_message(std::string body, BodyPosition position);
  // Runs one hook on `msg` and keeps the dynamic metadata it set.
  void run_hook(PluginInstance& plugin, Message& msg, ResponseUnit unit);

  const Chain& chain_;
  RequestState& state_;
  Headers headers_;
  std::string request_path_;
  bool event_stream_;
  bool split_events_;
  sse::Splitter splitter_;
  std::vector<sse::Event> completed_;  // scratch for the splitter's output
  // The next unit's number (bbr_message_info_t.sequence): a unit (an event,
  // or a chunk in chunk mode) is numbered once, as it enters the chain, and
  // every plugin sees that number for it; STREAM_END sees the count.
  uint64_t sequence_ = 0;
  bool ended_ = false;
  std::vector<DynamicMetadataEntry> metadata_;
};

}  // namespace bbr
