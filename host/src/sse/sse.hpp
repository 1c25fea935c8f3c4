// Server-Sent Events (WHATWG HTML, "Parsing an event stream"): a splitter fed
// raw body chunks that yields complete events whatever the chunk boundaries,
// and an encoder that writes an edited event back.
//
// Why the raw bytes travel with each event: an event no plugin changed must
// reach the client byte for byte as it came (comments, `retry:`, line-end
// style included), so only edited or added events are re-encoded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bbr::sse {

// One block of the stream, up to and including the blank line that ends it.
struct Event {
  std::string raw;   // the bytes as received (may start with the "\n" of a
                     // "\r\n" split across chunks: see Splitter)
  std::string name;  // the `event:` field ("" when none)
  std::string id;    // the `id:` field of this block ("" when none)
  std::string data;  // the `data:` lines joined with "\n"
  // False for a block without any data line (a comment such as ": ping", a
  // lone `retry:`): the spec dispatches nothing for it, so it is not an event
  // for the plugins; it is forwarded as it came.
  bool has_data = false;

  bool done() const { return has_data && data == "[DONE]"; }
};

// Splits a byte stream into events. Line ends are "\r\n", "\n" or "\r"; an
// event ends at an empty line. A "\r" that ends a chunk ends its line at once
// (the event is not held for the next chunk); a "\n" that then starts the next
// chunk is the rest of that line end and is skipped by the parser. Its byte
// stays in the stream: it begins the next event's (or the tail's) raw bytes.
// Bytes are never split inside a UTF-8 sequence, since only CR and LF (ASCII)
// end lines.
class Splitter {
 public:
  // Appends each event completed by `chunk` to `out`, in order.
  void feed(std::string_view chunk, std::vector<Event>& out);
  // The bytes of the incomplete event held so far.
  const std::string& tail() const { return pending_; }
  // Hands the incomplete event's bytes out (e.g. past a size limit) and
  // starts over.
  std::string take_tail();
  // The end of the stream. An unfinished block held (anything but a lone
  // line end) is completed: the line ends that close it are appended to its
  // raw bytes, in the stream's line-end style, and it is handed out in `out`
  // as a complete block (true). Without this, bytes sent after it (an event
  // added at the end) would glue onto it, and a spec-following client drops
  // an unterminated block at the end of the stream. False when nothing is
  // held but a line end: take_tail() still has it. The splitter starts over.
  bool finish(Event& out);
  // True before any byte was fed.
  bool at_start() const { return at_start_; }

 private:
  void line(std::string_view text);

  std::string pending_;      // raw bytes of the event in progress
  std::size_t scanned_ = 0;  // pending_ bytes already split into lines
  std::size_t line_start_ = 0;
  bool skip_lf_ = false;  // the last byte seen was a CR ending a line
  bool at_start_ = true;  // a leading BOM is skipped (spec)
  std::string_view eol_ = "\n";  // the line end of the last block end (finish() writes it)
  Event current_;
};

// The wire form of an event: `event:` (when named), `id:` (when set), one
// `data:` line per line of `data` (split at "\r\n", "\n", "\r"), and the
// empty line. Lines end with "\n".
std::string encode(std::string_view name, std::string_view id, std::string_view data);
void encode_to(std::string& out, std::string_view name, std::string_view id, std::string_view data);

// True when a Content-Type value is text/event-stream (parameters ignored).
bool is_event_stream(std::string_view content_type);

}  // namespace bbr::sse
