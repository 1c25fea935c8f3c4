// Streamed responses through the response plugins' chunk and event hooks (ABI
// 1.1): the session chooses the least buffering the plugins allow, forwards
// each event as soon as the chain is done with it, and holds only an
// incomplete event. Real plugins (tests/plugins/stream_test_plugins.c).
#include "session_fixture.hpp"

#include "chain/host_api.hpp"
#include "sse/sse.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

using namespace session_test;

namespace {

bbr::SessionOptions buffered_mode() { return bbr::SessionOptions{}; }
bbr::SessionOptions streamed_mode() {
  bbr::SessionOptions o;
  o.streaming = true;
  return o;
}

std::string sse_fixture() {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/chat-completions.response.sse",
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessingRequest response_headers(const std::string& content_type,
                                   const std::string& length = "") {
  ProcessingRequest r;
  auto* h = r.mutable_response_headers();
  auto* kv = h->mutable_headers()->add_headers();
  kv->set_key("content-type");
  kv->set_raw_value(content_type);
  if (!length.empty()) {
    kv = h->mutable_headers()->add_headers();
    kv->set_key("content-length");
    kv->set_raw_value(length);
  }
  return r;
}

// What one Step forwards of the response body, and whether it ended it.
struct Forwarded {
  std::string bytes;
  std::size_t chunks = 0;
  bool end_of_stream = false;
  std::vector<ProcessingResponse> others;  // everything that is not a body chunk
};

Forwarded forwarded(bbr::Session::Step step) {
  Forwarded f;
  for (auto& r : step.take_all()) {
    if (r.has_response_body() &&
        r.response_body().response().body_mutation().has_streamed_response()) {
      const auto& s = r.response_body().response().body_mutation().streamed_response();
      f.bytes += s.body();
      ++f.chunks;
      f.end_of_stream = f.end_of_stream || s.end_of_stream();
    } else {
      f.others.push_back(std::move(r));
    }
  }
  return f;
}

std::vector<bbr::sse::Event> events_of(const std::string& bytes) {
  bbr::sse::Splitter splitter;
  std::vector<bbr::sse::Event> events;
  splitter.feed(bytes, events);
  return events;
}

// Random cut points (a fixed seed per run of the test: reproducible).
std::vector<std::size_t> random_cuts(std::size_t size, std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, size);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < count; ++i) cuts.push_back(pick(rng));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

bool host_has_event_calls() {
  return BBR_HAS_FIELD(bbr::host_api(), bbr_host_api_t, event_add) &&
         BBR_HAS_FIELD(bbr::host_api(), bbr_host_api_t, message_info);
}

// Feeds `stream` cut at `cuts` as streamed response chunks; checks that each
// chunk's answer forwards exactly the events it completed (nothing held but
// the incomplete tail) and returns everything forwarded.
std::string stream_through(bbr::Session& session, const std::string& stream,
                           const std::vector<std::size_t>& cuts, bool plugins_drop = false) {
  std::string out;
  std::size_t from = 0;
  bbr::sse::Splitter oracle;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(stream.size());
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const bool last = i + 1 == bounds.size();
    const std::string piece = stream.substr(from, bounds[i] - from);
    from = bounds[i];
    std::vector<bbr::sse::Event> completed;
    oracle.feed(piece, completed);
    auto f = forwarded(session.on_request(body_message(false, piece, last)));
    INFO("chunk " << i << " of " << bounds.size());
    CHECK(f.end_of_stream == last);
    // Every event this chunk completed has gone out with its answer.
    if (!plugins_drop) CHECK(events_of(f.bytes).size() >= completed.size());
    if (!last && completed.empty()) CHECK(f.chunks == 0);
    out += f.bytes;
  }
  return out;
}

}  // namespace

TEST_CASE("streamed SSE with an event-hook chain: headers answered at once, Content-Length removed",
          "[session][stream]") {
  auto chain =
      make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  auto answer = session.on_request(response_headers("text/event-stream", "2793")).take_all();
  CHECK(text_of(answer) ==
        text_of_expected({"response_headers { response { header_mutation { remove_headers: "
                          "'content-length' } } }"}));
  bbr::Session without_length(*chain, streamed_mode());
  CHECK(text_of(without_length.on_request(response_headers("text/event-stream")).take_all()) ==
        text_of_expected({"response_headers {}"}));
}

TEST_CASE("streamed SSE cut anywhere: each event goes out edited as soon as its chunk completes it",
          "[session][stream]") {
  auto chain =
      make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
  const std::string stream = sse_fixture();
  for (unsigned seed = 1; seed <= 20; ++seed) {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("text/event-stream"));
    const std::string out =
        stream_through(session, stream, random_cuts(stream.size(), seed % 7 + 1, seed));
    const auto events = events_of(out);
    REQUIRE(events.size() == 14);
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
      INFO(events[i].data);
      CHECK(events[i].data.find(R"("model":"client-model")") != std::string::npos);
      CHECK(events[i].data.find("Llama") == std::string::npos);
    }
    CHECK(events.back().done());
    CHECK(events.back().raw == "data: [DONE]\n\n");  // untouched: byte-identical
  }
}

TEST_CASE("an event chain that changes nothing forwards the stream byte for byte, CRLF included",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", "", false, true}});
  std::string stream;
  for (char c : sse_fixture()) {
    if (c == '\n') stream += '\r';
    stream += c;
  }
  stream = ": keep-alive\r\n\r\n" + stream;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("text/event-stream"));
    CHECK(stream_through(session, stream, random_cuts(stream.size(), seed % 5 + 1, seed)) ==
          stream);
  }
}

TEST_CASE("a chunk that completes no event sends nothing, the event goes out when its end arrives",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", "", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  CHECK(session.on_request(body_message(false, "data: {\"a\"", false)).take_all().empty());
  auto f = forwarded(session.on_request(body_message(false, ":1}\n\ndata: {\"b\"", false)));
  CHECK(f.bytes == "data: {\"a\":1}\n\n");
  CHECK_FALSE(f.end_of_stream);
  // At the end the unfinished last event is completed (its blank line added)
  // and goes out with end_of_stream.
  f = forwarded(session.on_request(body_message(false, ":2}\n", true)));
  CHECK(f.bytes == "data: {\"b\":2}\n\n");
  CHECK(f.end_of_stream);
}

TEST_CASE("trailers end a streamed SSE body: the tail goes out completed, end_of_stream stays false",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", "", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  CHECK(session.on_request(body_message(false, "data: x", false)).take_all().empty());
  auto f = forwarded(session.on_request(parse_request("response_trailers {}")));
  CHECK(f.bytes == "data: x\n\n");
  CHECK_FALSE(f.end_of_stream);
  REQUIRE(f.others.size() == 1);
  CHECK(f.others[0].has_response_trailers());
}

TEST_CASE("a failing event hook is logged and counted, the event goes on as the plugin left it",
          "[session][stream]") {
  auto chain = make_chain(
      {{"test-event-editor", "editor", R"({"setModel":"client-model","fail":500})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  auto f = forwarded(session.on_request(body_message(false, sse_fixture(), true)));
  const auto events = events_of(f.bytes);
  REQUIRE(events.size() == 14);
  CHECK(events[0].data.find(R"("model":"client-model")") != std::string::npos);
  CHECK(f.end_of_stream);
  CHECK(f.others.empty());  // never an immediate response: the response has started
}

TEST_CASE("events dropped and added by plugins, [DONE] recognised, STREAM_END additions before eos",
          "[session][stream]") {
  if (!host_has_event_calls()) {
    WARN(
        "the host table has no event_drop/event_add/message_info yet (ABI 1.1 host calls): "
        "skipped");
    return;
  }
  // The first drops the comma events and adds one after the usage event; the
  // second rewrites the model and drops [DONE] (recognised: message_info's
  // sse_done); at STREAM_END the first adds a last event, sent before eos.
  auto chain = make_chain(
      {{"test-event-editor", "dropper",
        R"({"dropContaining":"\"content\":\",\"","addAfter":"usage","addAtEnd":"{\"end\":true}"})",
        false, true},
       {"test-event-editor", "second", R"({"setModel":"client-model","dropDone":true})", false,
        true}});
  const std::string stream = sse_fixture();
  for (unsigned seed = 1; seed <= 10; ++seed) {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("text/event-stream"));
    const auto events =
        events_of(stream_through(session, stream, random_cuts(stream.size(), 3, seed), true));
    // 14 events - 4 comma events - [DONE] + 1 added + 1 at the end.
    REQUIRE(events.size() == 11);
    for (const auto& e : events) CHECK(e.data.find("\"content\":\",\"") == std::string::npos);
    CHECK(events[8].data.find("usage") != std::string::npos);
    CHECK(events[9].name == "added");
    CHECK(events[9].data == "{\"added\":true}");
    CHECK(events[10].data == "{\"end\":true}");
  }
}

TEST_CASE("chunk hooks on a streamed JSON response: each chunk goes on at once through them",
          "[session][stream]") {
  auto chain = make_chain(
      {{"test-chunk-counter", "counter", R"({"mark":"|","trailer":true})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  CHECK(text_of(session.on_request(response_headers("application/json", "28")).take_all()) ==
        text_of_expected({"response_headers { response { header_mutation { remove_headers: "
                          "'content-length' } } }"}));
  CHECK(forwarded(session.on_request(body_message(false, R"({"choices":)", false))).bytes ==
        R"(|{"choices":)");
  auto f = forwarded(session.on_request(body_message(false, R"([{"text":"Hi"}]})", true)));
  CHECK(f.end_of_stream);
  if (host_has_event_calls()) {
    CHECK(f.bytes == R"(|[{"text":"Hi"}]}chunks=2)");  // STREAM_END's bytes go before eos
  } else {
    CHECK(f.bytes == R"(|[{"text":"Hi"}]})");
  }
}

namespace {
// test.chunks/count of a response's dynamic metadata; nullopt when absent.
std::optional<double> chunk_count(const ProcessingResponse& r) {
  const auto& spaces = r.dynamic_metadata().fields();
  auto space = spaces.find("test.chunks");
  if (space == spaces.end()) return std::nullopt;
  const auto& keys = space->second.struct_value().fields();
  auto count = keys.find("count");
  if (count == keys.end()) return std::nullopt;
  return count->second.number_value();
}
}  // namespace

TEST_CASE(
    "metadata a chunk hook sets at the stream's end goes with the last chunk (streamed) or with "
    "the body's answer (buffered)",
    "[session][stream][protobuf_map]") {
  if (!host_has_event_calls()) return;
  auto chain = make_chain({{"test-chunk-counter", "counter", R"({"metadata":true})", false, true}});
  {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("application/json"));
    for (const auto& r : session.on_request(body_message(false, R"({"a":)", false)).take_all())
      CHECK_FALSE(r.has_dynamic_metadata());
    auto last = session.on_request(body_message(false, "1}", true)).take_all();
    REQUIRE(last.size() == 1);
    CHECK(last[0].response_body().response().body_mutation().streamed_response().body() == "1}");
    CHECK(last[0].response_body().response().body_mutation().streamed_response().end_of_stream());
    CHECK(chunk_count(last[0]) == 2.0);
  }
  {
    bbr::Session session(*chain, buffered_mode());
    session.on_request(response_headers("application/json"));
    auto answer = session.on_request(body_message(false, R"({"a":1})", true)).take_all();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].has_response_body());
    CHECK(chunk_count(answer[0]) == 1.0);
  }
}

TEST_CASE("an SSE stream with only chunk hooks is not split: chunks go through as they come",
          "[session][stream]") {
  auto chain = make_chain({{"test-chunk-counter", "counter", R"({"mark":"|"})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  CHECK(forwarded(session.on_request(body_message(false, "data: {\"a\"", false))).bytes ==
        "|data: {\"a\"");
}

TEST_CASE(
    "a mixed chain with a whole-body plugin holds the response as today, event hooks still run per "
    "event",
    "[session][stream]") {
  auto chain = make_chain(
      {{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true},
       {"test-header-setter", "whole", R"({"name":"x-whole","value":"yes"})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  CHECK(session.on_request(response_headers("text/event-stream")).take_all().empty());  // held
  const std::string stream = sse_fixture();
  CHECK(session.on_request(body_message(false, stream.substr(0, 700), false)).take_all().empty());
  auto answers = session.on_request(body_message(false, stream.substr(700), true)).take_all();
  REQUIRE(answers.size() >= 2);
  REQUIRE(answers[0].has_response_headers());
  // The body changed size: its new Content-Length comes with the held headers.
  const auto& sets = answers[0].response_headers().response().header_mutation().set_headers();
  std::string body;
  for (std::size_t i = 1; i < answers.size(); ++i) {
    body += answers[i].response_body().response().body_mutation().streamed_response().body();
  }
  bool length_set = false;
  for (const auto& s : sets) {
    if (s.header().key() == "Content-Length")
      length_set = s.header().raw_value() == std::to_string(body.size());
  }
  CHECK(length_set);
  const auto events = events_of(body);
  REQUIRE(events.size() == 14);
  CHECK(events[0].data.find(R"("model":"client-model")") != std::string::npos);
}

TEST_CASE("a plugin with both hooks takes events on SSE and the whole body on JSON",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-whole", "both", "", false, true}});
  {
    bbr::Session session(*chain, streamed_mode());
    CHECK(text_of(session.on_request(response_headers("text/event-stream")).take_all()) ==
          text_of_expected({"response_headers {}"}));  // answered at once: events
    auto f = forwarded(session.on_request(body_message(false, "data: {\"a\":1}\n\n", true)));
    CHECK(f.bytes == "data: {\"a\":1,\"seen\":true}\n\n");
  }
  {
    bbr::Session session(*chain, streamed_mode());
    CHECK(session.on_request(response_headers("application/json")).take_all().empty());  // held
    auto answers = session.on_request(body_message(false, "{\"a\":1}", true)).take_all();
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].ShortDebugString().find("x-whole") != std::string::npos);
    CHECK(answers[1].response_body().response().body_mutation().streamed_response().body() ==
          "{\"a\":1}");
  }
}

TEST_CASE(
    "buffered mode: a whole SSE body is split, run event by event, and answered joined with its "
    "Content-Length",
    "[session][stream]") {
  auto chain =
      make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
  bbr::Session session(*chain, buffered_mode());
  CHECK(text_of(session.on_request(response_headers("text/event-stream")).take_all()) ==
        text_of_expected({"response_headers {}"}));
  auto answers = session.on_request(body_message(false, sse_fixture(), true)).take_all();
  REQUIRE(answers.size() == 1);
  const auto& common = answers[0].response_body().response();
  const std::string body = common.body_mutation().body();
  const auto events = events_of(body);
  REQUIRE(events.size() == 14);
  CHECK(events[3].data.find(R"("model":"client-model")") != std::string::npos);
  REQUIRE(common.header_mutation().set_headers_size() == 1);
  CHECK(common.header_mutation().set_headers(0).header().key() == "Content-Length");
  CHECK(common.header_mutation().set_headers(0).header().raw_value() ==
        std::to_string(body.size()));
}

TEST_CASE("without stream hooks a streamed SSE response still passes through unparsed",
          "[session][stream]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  // Half an event is forwarded at once: nothing splits it into events.
  CHECK(forwarded(session.on_request(body_message(false, "data: {\"a\"", false))).bytes ==
        "data: {\"a\"");
}

namespace {

// What a client following the SSE spec (WHATWG HTML, "Parsing an event
// stream") dispatches from `stream`: the event type ("message" when none) and
// data of every block with data. A block the stream does not end with an
// empty line is dropped, as the spec says. Written here from the spec, apart
// from the host's splitter, so the host is not checked against itself.
std::vector<std::pair<std::string, std::string>> client_events(const std::string& stream) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string type, data;
  bool has_data = false;
  std::size_t i = 0;
  while (i < stream.size()) {
    const std::size_t end = stream.find_first_of("\r\n", i);
    if (end == std::string::npos) break;  // an unterminated line: discarded at the end
    const std::string line = stream.substr(i, end - i);
    i = end + 1;
    if (stream[end] == '\r' && i < stream.size() && stream[i] == '\n') ++i;
    if (line.empty()) {
      if (has_data) {
        data.pop_back();  // the last data line's "\n"
        out.emplace_back(type.empty() ? "message" : type, data);
      }
      type.clear();
      data.clear();
      has_data = false;
      continue;
    }
    if (line[0] == ':') continue;
    const std::size_t colon = line.find(':');
    const std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "data") {
      data += value + "\n";
      has_data = true;
    } else if (field == "event") {
      type = value;
    }
  }
  return out;
}

// The response body a session sends on for `stream` (one message in
// buffered mode; cut at `cuts` in streamed mode).
std::string response_out(bbr::Session& session, bool streamed, const std::string& stream,
                         const std::vector<std::size_t>& cuts) {
  session.on_request(response_headers("text/event-stream"));
  if (!streamed) {
    auto answers = session.on_request(body_message(false, stream, true)).take_all();
    REQUIRE(answers.size() == 1);
    const auto& common = answers[0].response_body().response();
    return common.has_body_mutation() ? common.body_mutation().body() : stream;
  }
  std::string out;
  std::size_t from = 0;
  std::vector<std::size_t> bounds = cuts;
  bounds.push_back(stream.size());
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const std::string piece = stream.substr(from, bounds[i] - from);
    from = bounds[i];
    out += forwarded(session.on_request(body_message(false, piece, i + 1 == bounds.size()))).bytes;
  }
  return out;
}

}  // namespace

TEST_CASE("an event added at the end never glues onto an unterminated last event ([DONE] kept)",
          "[session][stream][sse-framing]") {
  if (!host_has_event_calls()) return;
  auto chain = make_chain({{"test-event-editor", "tagger",
                            R"({"addAtEnd":"{\"tagged\":true}"})", false, true}});
  for (bool streamed : {false, true}) {
    INFO("streamed " << streamed);
    bbr::Session session(*chain, streamed ? streamed_mode() : buffered_mode());
    const std::string out =
        response_out(session, streamed, "data: {\"n\":1}\n\ndata: [DONE]\n", {});
    CHECK(out == "data: {\"n\":1}\n\ndata: [DONE]\n\ndata: {\"tagged\":true}\n\n");
    const auto events = client_events(out);
    REQUIRE(events.size() == 3);
    CHECK(events[1].second == "[DONE]");
  }
}

TEST_CASE("the unterminated last event reaches the event hooks, sse_done set on [DONE]",
          "[session][stream][sse-framing]") {
  if (!host_has_event_calls()) return;
  // dropDone drops the event message_info marks as [DONE]: it can only do so
  // when the unfinished last event is offered to it.
  auto chain = make_chain({{"test-event-editor", "drop-done", R"({"dropDone":true})", false, true}});
  for (bool streamed : {false, true}) {
    bbr::Session session(*chain, streamed ? streamed_mode() : buffered_mode());
    CHECK(response_out(session, streamed, "data: {\"n\":1}\n\ndata: [DONE]", {}) ==
          "data: {\"n\":1}\n\n");
  }
}

TEST_CASE(
    "property: events dropped or added at every position, stream ends of every kind, LF and "
    "CRLF, both modes: every event a client parses is one the plugins meant",
    "[session][stream][sse-framing]") {
  if (!host_has_event_calls()) return;
  // Blocks of the upstream stream; "" marks a data-less block (event: ping).
  const std::vector<std::vector<std::string>> layouts = {
      {R"({"i":0,"m":"e0"})", R"({"i":1,"m":"e1"})", "", R"({"i":2,"m":"e2"})", "[DONE]"},
      {R"({"i":0,"m":"e0"})", "[DONE]", ""},
  };
  enum class Action { kNone, kDrop, kAddAfter };
  enum class Ending { kBlankLine, kLineEnd, kNothing };
  std::size_t cases = 0;
  for (const auto& layout : layouts) {
    for (const char* eol : {"\n", "\r\n"}) {
      for (Ending ending : {Ending::kBlankLine, Ending::kLineEnd, Ending::kNothing}) {
        std::string stream;
        for (std::size_t b = 0; b < layout.size(); ++b) {
          stream += layout[b].empty() ? "event: ping" : "data: " + layout[b];
          const bool last = b + 1 == layout.size();
          if (!last || ending != Ending::kNothing) stream += eol;
          if (!last || ending == Ending::kBlankLine) stream += eol;
        }
        for (std::size_t at = 0; at < layout.size(); ++at) {
          if (layout[at].empty()) continue;
          const std::string& marker = layout[at];  // each event's data is unique
          for (Action action : {Action::kNone, Action::kDrop, Action::kAddAfter}) {
            for (bool add_at_end : {false, true}) {
              nlohmann::json params = nlohmann::json::object();
              if (action == Action::kDrop) params["dropContaining"] = marker;
              if (action == Action::kAddAfter) params["addAfter"] = marker;
              if (add_at_end) params["addAtEnd"] = R"({"end":true})";
              auto chain = make_chain({{"test-event-editor", "editor", params.dump(), false, true}});
              // What the plugins meant: the upstream events, less the dropped
              // one, the added one right after its event, the end event last.
              std::vector<std::pair<std::string, std::string>> meant;
              for (std::size_t b = 0; b < layout.size(); ++b) {
                if (layout[b].empty()) continue;
                if (!(b == at && action == Action::kDrop)) meant.emplace_back("message", layout[b]);
                if (b == at && action == Action::kAddAfter) {
                  meant.emplace_back("added", R"({"added":true})");
                }
              }
              if (add_at_end) meant.emplace_back("message", R"({"end":true})");
              for (bool streamed : {false, true}) {
                // Streamed: whole, then cut at every byte in turn.
                const std::size_t cut_count = streamed ? stream.size() : 1;
                for (std::size_t cut = 0; cut < cut_count; ++cut) {
                  INFO("stream " << nlohmann::json(stream).dump() << " params " << params.dump()
                                 << " streamed " << streamed << " cut " << cut);
                  bbr::Session session(*chain, streamed ? streamed_mode() : buffered_mode());
                  std::vector<std::size_t> cuts;
                  if (cut > 0) cuts.push_back(cut);
                  CHECK(client_events(response_out(session, streamed, stream, cuts)) == meant);
                  ++cases;
                }
              }
            }
          }
        }
      }
    }
  }
  CHECK(cases > 1000);
}

TEST_CASE("an edited event's JSON keeps its bytes and member order: only the edit changes",
          "[session][stream]") {
  if (!host_has_event_calls()) return;
  // The event's data goes through JsonBody like a request body: spliced
  // (docs/session.md, "Body edits"), the model replaced in place and the
  // added member before the first name that sorts after it.
  auto chain = make_chain({{"test-event-editor", "editor",
                            R"({"setModel":"client-model","sequenceField":"seq"})", false, true}});
  const std::string stream =
      "data: {\"z\": 0, \"model\":\"upstream\", \"id\":\"caf\\u00e9\", \"n\":1.0}\n\n";
  for (bool streamed : {false, true}) {
    INFO((streamed ? "streamed" : "buffered"));
    bbr::Session session(*chain, streamed ? streamed_mode() : buffered_mode());
    CHECK(response_out(session, streamed, stream, {}) ==
          "data: {\"seq\":0,\"z\": 0, \"model\":\"client-model\", \"id\":\"caf\\u00e9\", \"n\":1.0}\n\n");
  }
}

TEST_CASE("every plugin sees the same sequence number for the same event, chunk hooks included",
          "[session][stream][sequence]") {
  if (!host_has_event_calls()) return;
  // The editor writes the number it sees into the event; each chunk hook
  // prefixes the bytes with the number it sees. The editor adds an event
  // after the second: it is numbered when added, before the third arrives.
  auto chain = make_chain(
      {{"test-event-editor", "editor", R"({"sequenceField":"seq","addAfter":"\"x\":1"})", false,
        true},
       {"test-chunk-counter", "a", R"({"mark":"a","markSequence":true})", false, true},
       {"test-chunk-counter", "b", R"({"mark":"b","markSequence":true})", false, true}});
  const std::string stream = "data: {\"x\":0}\n\ndata: {\"x\":1}\n\ndata: {\"x\":2}\n\n";
  for (bool streamed : {false, true}) {
    bbr::Session session(*chain, streamed ? streamed_mode() : buffered_mode());
    CHECK(response_out(session, streamed, stream, {12, 30}) ==
          "b0:a0:data: {\"seq\":0,\"x\":0}\n\n"
          "b1:a1:data: {\"seq\":1,\"x\":1}\n\n"
          "b2:a2:event: added\ndata: {\"added\":true}\n\n"
          "b3:a3:data: {\"seq\":3,\"x\":2}\n\n");
  }
  // Chunk by chunk (no event hook): each chunk's one number for every plugin.
  auto chunks = make_chain(
      {{"test-chunk-counter", "a", R"({"mark":"a","markSequence":true})", false, true},
       {"test-chunk-counter", "b", R"({"mark":"b","markSequence":true})", false, true}});
  bbr::Session session(*chunks, streamed_mode());
  session.on_request(response_headers("application/json"));
  CHECK(forwarded(session.on_request(body_message(false, "{\"a\":", false))).bytes ==
        "b0:a0:{\"a\":");
  CHECK(forwarded(session.on_request(body_message(false, "1}", true))).bytes == "b1:a1:1}");
}

TEST_CASE("the chunk calls into a type without BBR_CAP_THREAD_SAFE are serialised across streams",
          "[session][stream][threads]") {
  if (!host_has_event_calls()) return;
  // One instance shared by every stream, as in serve; each thread drives its
  // own sessions. The plugin notes any two of its calls running at once.
  auto chain = make_chain({{"test-chunk-overlap", "overlap", "", false, true}});
  std::vector<std::string> ends(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < ends.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 10; ++n) {
        bbr::Session session(*chain, streamed_mode());
        session.on_request(response_headers("application/json"));
        for (int c = 0; c < 4; ++c) session.on_request(body_message(false, "{}", false));
        ends[t] = forwarded(session.on_request(body_message(false, "", true))).bytes;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& end : ends) CHECK(end == "overlap=0");
}
