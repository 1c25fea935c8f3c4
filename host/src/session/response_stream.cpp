#include "session/response_stream.hpp"

#include "log/log.hpp"

#include <utility>

namespace bbr {

ResponseStream::ResponseStream(const Chain& chain, RequestState& state, Headers headers,
                               std::string request_path, bool event_stream)
    : chain_(chain),
      state_(state),
      headers_(std::move(headers)),
      request_path_(std::move(request_path)),
      event_stream_(event_stream),
      split_events_(false) {
  if (event_stream) {
    for (const auto& plugin : chain.response_plugins()) {
      if (plugin->response_unit(true) == ResponseUnit::kEvent) split_events_ = true;
    }
  }
}

std::string ResponseStream::Item::bytes() const {
  if (!edited) return event.raw;
  return sse::encode(event.name, event.id, event.data);
}

Message ResponseStream::make_message(std::string body, BodyPosition position) {
  Message msg(BBR_PHASE_RESPONSE, headers_, Message::BorrowHeaders{}, JsonBody(std::move(body)),
              state_);  // the stream's headers outlive each event's message: read, not copied
  msg.set_request_path(request_path_);
  msg.set_envoy_context(envoy_context_);
  msg.set_position(std::move(position));
  return msg;
}

void ResponseStream::run_hook(PluginInstance& plugin, Message& msg, ResponseUnit unit) {
  chain_.run_stream_hook(plugin, msg, unit);
  for (const DynamicMetadataEntry& e : msg.dynamic_metadata()) {
    set_metadata_entry(metadata_, e.ns, e.key, e.json_value);
  }
}

std::string ResponseStream::feed(std::string_view chunk, bool end_of_stream) {
  std::string out;
  if (ended_) {
    // Nothing after the end is processed (a body after the end of one is not
    // the protocol; it is let through).
    out.assign(chunk);
    return out;
  }
  if (!split_events_) {
    out = run_chunk(std::string(chunk), end_of_stream);
    if (end_of_stream) stream_end(out);
  } else {
    completed_.clear();
    splitter_.feed(chunk, completed_);
    for (auto& event : completed_) dispatch(std::move(event), out);
    completed_.clear();
    if (end_of_stream) {
      // An unfinished last event is completed and goes through the plugins
      // as the final event, so nothing added at the end can glue onto it.
      sse::Event last;
      if (splitter_.finish(last)) {
        dispatch(std::move(last), out);
      } else {
        out.append(splitter_.take_tail());  // a lone line end
      }
      stream_end(out);
    }
  }
  if (end_of_stream) ended_ = true;
  return out;
}

void ResponseStream::dispatch(sse::Event event, std::string& out) {
  if (!event.has_data) {
    // A comment or a lone retry: nothing to dispatch, forwarded as it came.
    out.append(event.raw);
    return;
  }
  Item item;
  item.event = std::move(event);
  item.sequence = sequence_++;
  run_event(std::move(item), 0, out);
}

void ResponseStream::run_event(Item item, std::size_t from, std::string& out) {
  const auto& plugins = chain_.response_plugins();
  // Events added while this one ran: each goes out right after it and runs
  // through the plugins after the one that added it.
  std::vector<std::pair<Item, std::size_t>> added;
  bool dropped = false;
  for (std::size_t i = from; i < plugins.size() && !dropped; ++i) {
    PluginInstance& plugin = *plugins[i];
    const ResponseUnit unit = plugin.response_unit(true);
    if (unit == ResponseUnit::kEvent) {
      if (item.opaque) continue;  // a chunk hook made it bytes, not an event
      BodyPosition position;
      position.unit = BBR_BODY_SSE_EVENT;
      position.sequence = item.sequence;
      position.sse_done = item.event.done();
      position.event_name = item.event.name;
      position.event_id = item.event.id;
      Message msg = make_message(item.event.data, std::move(position));
      run_hook(plugin, msg, unit);
      if (msg.body().changed()) {
        item.event.data = msg.body().release();
        item.edited = true;
      }
      for (auto& add : msg.added_events()) added.emplace_back(added_item(add), i + 1);
      dropped = msg.event_dropped();
    } else if (unit == ResponseUnit::kChunk) {
      BodyPosition position;
      position.unit = BBR_BODY_CHUNK;
      position.sequence = item.sequence;  // the event's number, as its event hooks see
      Message msg = make_message(item.bytes(), std::move(position));
      run_hook(plugin, msg, unit);
      if (msg.body().changed()) {
        item.event.raw = msg.body().release();
        item.edited = false;
        item.opaque = true;
      }
    }
  }
  if (!dropped) out.append(item.bytes());
  for (auto& [next, start] : added) run_event(std::move(next), start, out);
}

ResponseStream::Item ResponseStream::added_item(AddedEvent& added) {
  Item item;
  item.event.name = std::move(added.event_name);
  item.event.data = std::move(added.data);
  item.event.has_data = true;
  item.edited = true;
  item.sequence = sequence_++;
  return item;
}

std::string ResponseStream::run_chunk(std::string bytes, bool end_of_stream) {
  for (const auto& plugin : chain_.response_plugins()) {
    if (plugin->response_unit(event_stream_) != ResponseUnit::kChunk) continue;
    BodyPosition position;
    position.unit = BBR_BODY_CHUNK;
    position.sequence = sequence_;
    position.end_of_stream = end_of_stream;
    Message msg = make_message(std::move(bytes), std::move(position));
    run_hook(*plugin, msg, ResponseUnit::kChunk);
    bytes = msg.body().release();
  }
  ++sequence_;
  return bytes;
}

void ResponseStream::stream_end(std::string& out) {
  const auto& plugins = chain_.response_plugins();
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    PluginInstance& plugin = *plugins[i];
    const ResponseUnit unit = plugin.response_unit(event_stream_);
    if (unit != ResponseUnit::kEvent && unit != ResponseUnit::kChunk) continue;
    BodyPosition position;
    position.unit = BBR_BODY_STREAM_END;
    position.sequence = sequence_;
    position.end_of_stream = true;
    Message msg = make_message(std::string(), std::move(position));
    run_hook(plugin, msg, unit);
    if (unit == ResponseUnit::kChunk) {
      // Bytes a chunk hook writes at the end go out last, before end_of_stream.
      if (msg.body().changed()) out.append(msg.body().release());
      continue;
    }
    for (auto& add : msg.added_events()) run_event(added_item(add), i + 1, out);
  }
}

}  // namespace bbr
