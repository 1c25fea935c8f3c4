#include "sse/sse.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using bbr::sse::Event;
using bbr::sse::Splitter;

namespace {

std::vector<Event> split_at(const std::string& stream, const std::vector<std::size_t>& cuts,
                            std::string* tail = nullptr) {
  Splitter splitter;
  std::vector<Event> events;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    splitter.feed(std::string_view(stream).substr(from, cut - from), events);
    from = cut;
  }
  splitter.feed(std::string_view(stream).substr(from), events);
  if (tail != nullptr) *tail = splitter.take_tail();
  return events;
}

std::string fixture(const char* name) {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string joined_raw(const std::vector<Event>& events) {
  std::string all;
  for (const auto& e : events) all += e.raw;
  return all;
}

}  // namespace

TEST_CASE("events end at a blank line and carry name, id and joined data", "[sse]") {
  auto events = split_at("event: delta\nid: 7\ndata: a\ndata: b\n\ndata: [DONE]\n\n", {});
  REQUIRE(events.size() == 2);
  CHECK(events[0].name == "delta");
  CHECK(events[0].id == "7");
  CHECK(events[0].data == "a\nb");
  CHECK(events[0].raw == "event: delta\nid: 7\ndata: a\ndata: b\n\n");
  CHECK_FALSE(events[0].done());
  CHECK(events[1].done());
  CHECK(events[1].name.empty());
  CHECK(events[1].id.empty());
}

TEST_CASE("\\r\\n, \\r and \\n all end lines", "[sse]") {
  auto events = split_at("data: a\r\n\r\ndata: b\r\rdata: c\n\n", {});
  REQUIRE(events.size() == 3);
  CHECK(events[0].data == "a");
  CHECK(events[0].raw == "data: a\r\n\r\n");
  CHECK(events[1].data == "b");
  CHECK(events[2].data == "c");
}

TEST_CASE("a \\r\\n split across chunks ends the event at the \\r without waiting", "[sse]") {
  Splitter splitter;
  std::vector<Event> events;
  splitter.feed("data: a\r\n\r", events);
  REQUIRE(events.size() == 1);  // not held for the next chunk
  CHECK(events[0].data == "a");
  events.clear();
  splitter.feed("\ndata: b\r\n\r\n", events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "b");
  // The LF of the split CRLF stays in the byte stream, at the head of the next event.
  CHECK(events[0].raw == "\ndata: b\r\n\r\n");
  CHECK(splitter.tail().empty());
}

TEST_CASE("a chunk ending inside a UTF-8 sequence is held until the event completes", "[sse]") {
  const std::string stream = "data: {\"content\":\"\xE2\x82\xAC\"}\n\n";  // the euro sign
  const std::size_t inside = stream.find('\xE2') + 1;
  std::string tail;
  Splitter splitter;
  std::vector<Event> events;
  splitter.feed(std::string_view(stream).substr(0, inside), events);
  CHECK(events.empty());
  CHECK(splitter.tail() == stream.substr(0, inside));
  splitter.feed(std::string_view(stream).substr(inside), events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "{\"content\":\"\xE2\x82\xAC\"}");
  CHECK(events[0].raw == stream);
}

TEST_CASE("comments and data-less blocks are blocks without data", "[sse]") {
  auto events = split_at(": keep-alive\n\nretry: 10\n\ndata\n\n", {});
  REQUIRE(events.size() == 3);
  CHECK_FALSE(events[0].has_data);
  CHECK(events[0].raw == ": keep-alive\n\n");
  CHECK_FALSE(events[1].has_data);
  CHECK(events[2].has_data);
  CHECK(events[2].data.empty());
}

TEST_CASE("only one space after the colon is stripped, a field without colon has an empty value",
          "[sse]") {
  auto events = split_at("data:  two\ndata:none\nevent\n\n", {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == " two\nnone");
  CHECK(events[0].name.empty());
}

TEST_CASE("a leading byte-order mark is skipped", "[sse]") {
  auto events = split_at(
      "\xEF\xBB\xBF"
      "data: x\n\n",
      {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "x");
  CHECK(events[0].raw ==
        "\xEF\xBB\xBF"
        "data: x\n\n");
}

TEST_CASE("the incomplete tail is held and handed out as it came", "[sse]") {
  std::string tail;
  auto events = split_at("data: a\n\ndata: b\n", {3}, &tail);
  REQUIRE(events.size() == 1);
  CHECK(tail == "data: b\n");
}

TEST_CASE("the encoder writes event, id and one data line per line", "[sse]") {
  CHECK(bbr::sse::encode("", "", "x") == "data: x\n\n");
  CHECK(bbr::sse::encode("delta", "3", "a\nb\r\nc") ==
        "event: delta\nid: 3\ndata: a\ndata: b\ndata: c\n\n");
  CHECK(bbr::sse::encode("", "", "") == "data: \n\n");
  auto round = split_at(bbr::sse::encode("n", "i", "l1\nl2"), {});
  REQUIRE(round.size() == 1);
  CHECK(round[0].name == "n");
  CHECK(round[0].id == "i");
  CHECK(round[0].data == "l1\nl2");
}

TEST_CASE("content types", "[sse]") {
  CHECK(bbr::sse::is_event_stream("text/event-stream"));
  CHECK(bbr::sse::is_event_stream("Text/Event-Stream; charset=utf-8"));
  CHECK_FALSE(bbr::sse::is_event_stream("application/json"));
  CHECK_FALSE(bbr::sse::is_event_stream("text/event-streamx"));
}

TEST_CASE("every split of the fixture stream into 1..3 cut points gives the same events",
          "[sse][property]") {
  // The fixture with its line ends as they are (\n) and once more as \r\n, so
  // splits inside a CRLF are covered too.
  const std::string lf = fixture("chat-completions.response.sse");
  std::string crlf_text;
  for (char c : lf) {
    if (c == '\n') crlf_text += '\r';
    crlf_text += c;
  }
  const std::string& crlf = crlf_text;
  for (const std::string* stream : {&lf, &crlf}) {
    const auto whole = split_at(*stream, {});
    REQUIRE(whole.size() == 14);
    REQUIRE(whole.back().done());
    const std::size_t n = stream->size();
    // Every single cut; pairs and triples on a stride (with primes, so the
    // cuts land on every kind of byte) keep the run short.
    auto check = [&](const std::vector<std::size_t>& cuts) {
      std::string tail;
      const auto events = split_at(*stream, cuts, &tail);
      REQUIRE(events.size() == whole.size());
      for (std::size_t i = 0; i < events.size(); ++i) {
        REQUIRE(events[i].data == whole[i].data);
        REQUIRE(events[i].name == whole[i].name);
        REQUIRE(events[i].id == whole[i].id);
      }
      REQUIRE(joined_raw(events) + tail == *stream);
    };
    for (std::size_t a = 0; a <= n; ++a) check({a});
    for (std::size_t a = 0; a <= n; a += 7) {
      for (std::size_t b = a; b <= n; b += 13) check({a, b});
    }
    for (std::size_t a = 0; a <= n; a += 61) {
      for (std::size_t b = a; b <= n; b += 37) {
        for (std::size_t c = b; c <= n; c += 53) check({a, b, c});
      }
    }
  }
}

TEST_CASE("finish completes an unfinished last block in the stream's line-end style",
          "[sse]") {
  struct Case {
    std::string stream;
    std::string raw;  // the completed block's bytes
    bool has_data;
    std::string data;
  };
  const std::vector<Case> cases = {
      {"data: 1\n\ndata: [DONE]\n", "data: [DONE]\n\n", true, "[DONE]"},
      {"data: 1\n\ndata: [DONE]", "data: [DONE]\n\n", true, "[DONE]"},
      {"data: 1\r\n\r\ndata: [DONE]\r\n", "data: [DONE]\r\n\r\n", true, "[DONE]"},
      {"data: 1\r\n\r\ndata: [DONE]", "data: [DONE]\r\n\r\n", true, "[DONE]"},
      {"data: 1\r\rdata: x\r", "data: x\r\r", true, "x"},
      {"data: a\ndata: b", "data: a\ndata: b\n\n", true, "a\nb"},
      {"event: ping\n", "event: ping\n\n", false, ""},
      {": keep-alive", ": keep-alive\n\n", false, ""},
  };
  for (const auto& c : cases) {
    INFO(c.stream);
    Splitter splitter;
    std::vector<Event> events;
    splitter.feed(c.stream, events);
    Event last;
    REQUIRE(splitter.finish(last));
    CHECK(last.raw == c.raw);
    CHECK(last.has_data == c.has_data);
    CHECK(last.data == c.data);
    CHECK(last.done() == (c.data == "[DONE]"));
    CHECK(splitter.tail().empty());
  }
}

TEST_CASE("finish leaves a lone line end (the rest of a split CRLF) to take_tail", "[sse]") {
  Splitter splitter;
  std::vector<Event> events;
  splitter.feed("data: 1\r\n\r", events);
  splitter.feed("\n", events);
  REQUIRE(events.size() == 1);
  Event last;
  CHECK_FALSE(splitter.finish(last));
  CHECK(splitter.take_tail() == "\n");
  Splitter empty;
  CHECK_FALSE(empty.finish(last));
  // The rest of a split CRLF, then an unterminated line: completed in CRLF.
  Splitter split;
  split.feed("data: 1\r\n\r", events);
  split.feed("\ndata: x", events);
  REQUIRE(split.finish(last));
  CHECK(last.raw == "\ndata: x\r\n\r\n");
  CHECK(last.data == "x");
}
