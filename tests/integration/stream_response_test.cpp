// Streamed responses through the running server with event- and chunk-hook
// plugins (ABI 1.1): each SSE event is forwarded as soon as the chunk that
// completes it arrives, whatever the chunk boundaries; buffered mode answers
// the whole SSE body edited event by event.
#include "extproc_client.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

using namespace bbr::test;

namespace {

std::string sse_fixture() {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/chat-completions.response.sse",
                   std::ios::binary);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ServerOptions stream_server(const TempDir& dir, bool streaming) {
  const auto config = dir.write(
      "bbr.yaml",
      "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
      "kind: BodyBasedRoutingConfig\n"
      "plugins:\n"
      "  - {type: test-event-editor, name: rewrite, parameters: {setModel: client-model}}\n"
      "  - {type: test-chunk-counter, name: count}\n"
      "request: []\n"
      "response: [{pluginRef: rewrite}, {pluginRef: count}]\n");
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {"--config", config.string(), "--plugin-dir", BBR_TEST_PLUGIN_DIR,
                        "--allow-insecure-plugin-permissions"};
  return options;
}

// The complete events in `bytes` (a tiny splitter: the fixture uses "\n" only).
std::vector<std::string> event_blocks(const std::string& bytes) {
  std::vector<std::string> blocks;
  std::size_t from = 0;
  for (std::size_t end; (end = bytes.find("\n\n", from)) != std::string::npos; from = end + 2) {
    blocks.push_back(bytes.substr(from, end + 2 - from));
  }
  return blocks;
}

void check_edited(const std::vector<std::string>& blocks) {
  REQUIRE(blocks.size() == 14);
  for (std::size_t i = 0; i + 1 < blocks.size(); ++i) {
    INFO(blocks[i]);
    CHECK(blocks[i].find(R"("model":"client-model")") != std::string::npos);
  }
  CHECK(blocks.back() == "data: [DONE]\n\n");
}

}  // namespace

TEST_CASE("streaming: SSE cut at random boundaries goes out event by event, edited, never held",
          "[stream][integration]") {
  TempDir dir;
  ServerProcess server(stream_server(dir, true));
  const std::string stream = sse_fixture();
  for (unsigned seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> cuts;
    for (int i = 0; i < 12; ++i)
      cuts.push_back(std::uniform_int_distribution<std::size_t>(1, stream.size() - 1)(rng));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    cuts.push_back(stream.size());

    ProcessStream s(server.channel());
    REQUIRE(s.send(response_headers({{"content-type", "text/event-stream"}}, false)));
    auto headers = s.receive();  // answered at once, before any body
    REQUIRE(headers.has_value());
    CHECK(headers->has_response_headers());

    std::string forwarded;
    std::size_t from = 0;
    for (std::size_t i = 0; i < cuts.size(); ++i) {
      const bool last = i + 1 == cuts.size();
      REQUIRE(s.send(response_body(stream.substr(from, cuts[i] - from), last)));
      from = cuts[i];
      // Every event the input has completed so far must come back before the
      // next chunk is sent: read until it has.
      const std::size_t due = event_blocks(stream.substr(0, from)).size();
      bool ended = false;
      while (event_blocks(forwarded).size() < due || (last && !ended)) {
        auto r = s.receive();
        REQUIRE(r.has_value());
        const auto& chunk = r->response_body().response().body_mutation().streamed_response();
        forwarded += chunk.body();
        ended = chunk.end_of_stream();
      }
      INFO("seed " << seed << " chunk " << i);
      CHECK(event_blocks(forwarded).size() == due);
    }
    CHECK(s.close().ok());
    check_edited(event_blocks(forwarded));
  }
}

TEST_CASE("buffered: a whole SSE body is answered edited event by event with its Content-Length",
          "[stream][integration]") {
  TempDir dir;
  ServerProcess server(stream_server(dir, false));
  const Exchange exchange =
      run(server.channel(), {response_headers({{"content-type", "text/event-stream"}}, false),
                             response_body(sse_fixture(), true)});
  REQUIRE(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 2);
  const auto& common = exchange.responses[1].response_body().response();
  const std::string body = common.body_mutation().body();
  check_edited(event_blocks(body));
  REQUIRE(common.header_mutation().set_headers_size() == 1);
  CHECK(common.header_mutation().set_headers(0).header().raw_value() ==
        std::to_string(body.size()));
}
