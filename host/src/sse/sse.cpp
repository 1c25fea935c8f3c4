#include "sse/sse.hpp"

#include <algorithm>
#include <cctype>

namespace bbr::sse {

void Splitter::feed(std::string_view chunk, std::vector<Event>& out) {
  if (chunk.empty()) return;
  pending_.append(chunk);
  std::size_t consumed = 0;  // pending_ bytes handed out as whole events
  std::size_t i = scanned_;
  const std::size_t size = pending_.size();
  while (i < size) {
    const char c = pending_[i];
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') {
        // The second half of a "\r\n" whose "\r" ended the previous chunk.
        eol_ = "\r\n";
        line_start_ = ++i;
        continue;
      }
    }
    if (c != '\n' && c != '\r') {
      // Jump to the next line end: most bytes are payload.
      const char* p = pending_.data() + i;
      const char* end = pending_.data() + size;
      const char* hit = std::find_if(p, end, [](char x) { return x == '\n' || x == '\r'; });
      i += static_cast<std::size_t>(hit - p);
      continue;
    }
    std::string_view text(pending_.data() + line_start_, i - line_start_);
    std::size_t next = i + 1;
    if (c == '\r') {
      if (next < size) {
        if (pending_[next] == '\n') ++next;
      } else {
        skip_lf_ = true;  // a "\n" may open the next chunk
      }
    }
    if (text.empty()) {
      // The stream's line-end style, for finish(): kept at block ends only.
      eol_ = next - i == 2 ? "\r\n" : c == '\r' ? "\r" : "\n";
      // An empty line ends the block: hand it out with its raw bytes.
      Event& ev = out.emplace_back(std::move(current_));
      ev.raw.assign(pending_, consumed, next - consumed);
      if (ev.has_data && !ev.data.empty() && ev.data.back() == '\n') ev.data.pop_back();
      current_ = Event{};
      consumed = next;
    } else {
      line(text);
    }
    i = next;
    line_start_ = next;
  }
  scanned_ = size;
  if (consumed > 0) {
    pending_.erase(0, consumed);
    scanned_ -= consumed;
    line_start_ -= consumed;
  }
}

void Splitter::line(std::string_view text) {
  if (at_start_) {
    at_start_ = false;
    // A byte-order mark before the first line is not part of it (spec).
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    if (text.empty()) return;
  }
  if (text.front() == ':') return;  // a comment
  std::string_view field = text;
  std::string_view value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    current_.data.append(value);
    current_.data.push_back('\n');
    current_.has_data = true;
  } else if (field == "event") {
    current_.name.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) current_.id.assign(value);
  }
  // `retry:` and unknown fields only matter to the client: their bytes stay in raw.
}

std::string Splitter::take_tail() {
  std::string tail = std::move(pending_);
  pending_.clear();
  scanned_ = 0;
  line_start_ = 0;
  current_ = Event{};
  return tail;
}

bool Splitter::finish(Event& out) {
  if (pending_.find_first_not_of("\r\n") == std::string::npos) return false;
  const std::string_view unterminated(pending_.data() + line_start_, pending_.size() - line_start_);
  if (!unterminated.empty()) line(unterminated);
  // The line end the stream uses: the block's last one, else the one that
  // ended the block before (a lone "\n" first is the rest of that one).
  std::string_view eol = eol_;
  if (const std::size_t last = pending_.find_last_of("\r\n"); last != std::string::npos && last > 0) {
    if (pending_[last] == '\r') {
      eol = "\r";
    } else if (last > 0 && pending_[last - 1] == '\r') {
      eol = "\r\n";
    }
  }
  out = std::move(current_);
  out.raw = std::move(pending_);
  if (!unterminated.empty()) out.raw.append(eol);  // ends the last line
  out.raw.append(eol);                             // the empty line ends the block
  if (out.has_data && !out.data.empty() && out.data.back() == '\n') out.data.pop_back();
  take_tail();
  return true;
}

void encode_to(std::string& out, std::string_view name, std::string_view id,
               std::string_view data) {
  if (!name.empty()) {
    out.append("event: ").append(name).push_back('\n');
  }
  if (!id.empty()) {
    out.append("id: ").append(id).push_back('\n');
  }
  // A hand loop: find_first_of with a set calls memchr on the set for every
  // byte of the data, which showed in profiles of the event path.
  const char* p = data.data();
  const char* end = p + data.size();
  while (true) {
    const char* line_end = std::find_if(p, end, [](char c) { return c == '\n' || c == '\r'; });
    out.append("data: ").append(p, static_cast<std::size_t>(line_end - p));
    out.push_back('\n');
    if (line_end == end) break;
    p = line_end + 1;
    if (*line_end == '\r' && p != end && *p == '\n') ++p;
  }
  out.push_back('\n');
}

std::string encode(std::string_view name, std::string_view id, std::string_view data) {
  std::string out;
  out.reserve(name.size() + id.size() + data.size() + 24);
  encode_to(out, name, id, data);
  return out;
}

bool is_event_stream(std::string_view content_type) {
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  constexpr std::string_view kType = "text/event-stream";
  if (content_type.size() < kType.size()) return false;
  for (std::size_t i = 0; i < kType.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(content_type[i])) != kType[i]) return false;
  }
  std::string_view rest = content_type.substr(kType.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ' || rest.front() == '\t';
}

}  // namespace bbr::sse
