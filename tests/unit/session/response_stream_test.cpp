// Streamed responses through the response plugins' chunk and event hooks (ABI
// 1.1): the session chooses the least buffering the plugins allow, forwards
// each event as soon as the chain is done with it, and holds only an
// incomplete event. Real plugins (tests/plugins/stream_test_plugins.c).
#include "session_fixture.hpp"

#include "chain/host_api.hpp"
#include "sse/sse.hpp"

#include <fstream>
#include <random>
#include <sstream>

using namespace session_test;

namespace {

bbr::SessionOptions buffered_mode() { return bbr::SessionOptions{}; }
bbr::SessionOptions streamed_mode() {
  bbr::SessionOptions o;
  o.streaming = true;
  return o;
}

std::string sse_fixture() {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/chat-completions.response.sse", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessingRequest response_headers(const std::string& content_type, const std::string& length = "") {
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
    if (r.has_response_body() && r.response_body().response().body_mutation().has_streamed_response()) {
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
                           const std::vector<std::size_t>& cuts) {
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
    CHECK(events_of(f.bytes).size() >= completed.size());
    if (!last && completed.empty()) CHECK(f.chunks == 0);
    out += f.bytes;
  }
  return out;
}

}  // namespace

TEST_CASE("streamed SSE with an event-hook chain: headers answered at once, Content-Length removed",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
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
  auto chain = make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
  const std::string stream = sse_fixture();
  for (unsigned seed = 1; seed <= 20; ++seed) {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("text/event-stream"));
    const std::string out = stream_through(session, stream, random_cuts(stream.size(), seed % 7 + 1, seed));
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
    CHECK(stream_through(session, stream, random_cuts(stream.size(), seed % 5 + 1, seed)) == stream);
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
  // At the end the incomplete tail goes out as it came, with end_of_stream.
  f = forwarded(session.on_request(body_message(false, ":2}\n", true)));
  CHECK(f.bytes == "data: {\"b\":2}\n");
  CHECK(f.end_of_stream);
}

TEST_CASE("trailers end a streamed SSE body: the tail goes out, end_of_stream stays false",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", "", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  CHECK(session.on_request(body_message(false, "data: x", false)).take_all().empty());
  auto f = forwarded(session.on_request(parse_request("response_trailers {}")));
  CHECK(f.bytes == "data: x");
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
    WARN("the host table has no event_drop/event_add/message_info yet (ABI 1.1 host calls): skipped");
    return;
  }
  // The first drops the comma events and adds one after the usage event; the
  // second sees the added event (it runs after the adder) and drops [DONE];
  // at the end the first adds a last event.
  auto chain = make_chain(
      {{"test-event-editor", "dropper",
        R"({"dropContaining":"\"content\":\",\"","addAfter":"usage","addAtEnd":"{\"end\":true}"})",
        false, true},
       {"test-event-editor", "second", R"({"setModel":"client-model","dropDone":true})", false, true}});
  const std::string stream = sse_fixture();
  for (unsigned seed = 1; seed <= 10; ++seed) {
    bbr::Session session(*chain, streamed_mode());
    session.on_request(response_headers("text/event-stream"));
    const auto events = events_of(stream_through(session, stream, random_cuts(stream.size(), 3, seed)));
    // 14 events - 5 comma events - [DONE] + 1 added + 1 at the end.
    REQUIRE(events.size() == 10);
    for (const auto& e : events) CHECK(e.data.find("\"content\":\",\"") == std::string::npos);
    CHECK(events[7].data.find("usage") != std::string::npos);
    CHECK(events[8].name == "added");
    CHECK(events[8].data.find("\"added\":true") != std::string::npos);
    CHECK(events[9].data == "{\"end\":true}");
  }
}

TEST_CASE("chunk hooks on a streamed JSON response: each chunk goes on at once through them",
          "[session][stream]") {
  auto chain = make_chain({{"test-chunk-counter", "counter", R"({"mark":"|","trailer":true})", false, true}});
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

TEST_CASE("an SSE stream with only chunk hooks is not split: chunks go through as they come",
          "[session][stream]") {
  auto chain = make_chain({{"test-chunk-counter", "counter", R"({"mark":"|"})", false, true}});
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  CHECK(forwarded(session.on_request(body_message(false, "data: {\"a\"", false))).bytes ==
        "|data: {\"a\"");
}

TEST_CASE("a mixed chain with a whole-body plugin holds the response as today, event hooks still run per event",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true},
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
    if (s.header().key() == "Content-Length") length_set = s.header().raw_value() == std::to_string(body.size());
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
    CHECK(answers[1].response_body().response().body_mutation().streamed_response().body() == "{\"a\":1}");
  }
}

TEST_CASE("buffered mode: a whole SSE body is split, run event by event, and answered joined with its Content-Length",
          "[session][stream]") {
  auto chain = make_chain({{"test-event-editor", "editor", R"({"setModel":"client-model"})", false, true}});
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
  CHECK(common.header_mutation().set_headers(0).header().raw_value() == std::to_string(body.size()));
}

TEST_CASE("without stream hooks a streamed SSE response still passes through unparsed",
          "[session][stream]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed_mode());
  session.on_request(response_headers("text/event-stream"));
  // Half an event is forwarded at once: nothing splits it into events.
  CHECK(forwarded(session.on_request(body_message(false, "data: {\"a\"", false))).bytes == "data: {\"a\"");
}
