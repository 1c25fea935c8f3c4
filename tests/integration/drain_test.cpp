// Draining at SIGTERM with a short --grace-period, on the
// real binary in streaming mode: a stream that outlives the grace period is
// ended by the server and the process exits 0; a new stream after SIGTERM is
// refused; a stream that finishes inside the grace period completes normally.
//
// "The server has this stream" cannot be seen on a streaming-mode request
// alone (its headers are held until the body ends), so each test also opens a
// stream whose request headers carry end_of_stream, which is answered at once:
// that answer proves the server serves the stream, and streams opened before
// it on the same connection reached the server before it.
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

using namespace bbr::test;
using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;

namespace {

ServerOptions streaming_server(const TempDir& dir, const std::string& grace_seconds) {
  ServerOptions options = reference_harness(dir, /*streaming=*/true);
  options.extra_args.push_back("--grace-period=" + grace_seconds);
  return options;
}

// Opens a stream whose request ended with its headers (answered at once) and
// whose response is streaming in: the response headers and a first body chunk.
// Returns once the request headers were answered.
void open_response_stream(ProcessStream& stream, const std::string& first_chunk) {
  REQUIRE(stream.send(request_headers({{":method", "GET"}, {":path", "/v1/models"}}, true)));
  const auto answer = stream.receive();
  REQUIRE(answer.has_value());
  REQUIRE(answer->has_request_headers());
  REQUIRE(stream.send(response_headers({{":status", "200"}}, false)));
  REQUIRE(stream.send(response_body(first_chunk, false)));
  // No response plugin: the headers and the chunk pass through at once, and
  // the stream stays open waiting for the rest of the body.
  const auto headers_answer = stream.receive();
  REQUIRE(headers_answer.has_value());
  REQUIRE(headers_answer->has_response_headers());
  const auto chunk_answer = stream.receive();
  REQUIRE(chunk_answer.has_value());
  REQUIRE(chunk_answer->response_body().response().body_mutation().streamed_response().body() ==
          first_chunk);
}

// Waits (bounded) until the health service says NOT_SERVING: the server has
// begun to drain.
bool saw_draining(const ServerProcess& server) {
  for (int i = 0; i < 250; ++i) {
    if (check_health(server.health_port()).serving == HealthCheckResponse::NOT_SERVING) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool ended_by_server(grpc::StatusCode code) {
  return code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNAVAILABLE;
}

}  // namespace

TEST_CASE("drain: a stream that outlives --grace-period is ended, new streams are refused, "
          "and the process exits 0",
          "[drain]") {
  TempDir dir;
  ServerProcess server(streaming_server(dir, "1"));
  const auto channel = server.channel();

  // A request whose body never finishes ...
  ProcessStream request_stream(channel);
  REQUIRE(request_stream.send(request_headers({{":method", "POST"}, {":path", "/v1/completions"}}, false)));
  REQUIRE(request_stream.send(request_body(R"({"model":"never-fini)", false)));
  // ... and a response whose body never finishes, on the same connection.
  ProcessStream response_stream(channel);
  open_response_stream(response_stream, "data: {\"id\":\"1\"}\n\n");

  server.send_signal(SIGTERM);
  REQUIRE(saw_draining(server));

  // New streams are refused while the old ones drain. Between NOT_SERVING and
  // the listener closing a new stream may still slip in (and is served), so
  // try until one is refused.
  bool refused = false;
  grpc::Status last;
  for (int attempt = 0; attempt < 50 && !refused && server.running(); ++attempt) {
    const Exchange fresh = run(plaintext_channel(server.grpc_port()),
                               {request_headers({{":path", "/"}}, true)}, 5s);
    last = fresh.status;
    refused = !fresh.status.ok() && fresh.responses.empty();
    if (!refused) std::this_thread::sleep_for(20ms);
  }
  INFO("last new-stream status: " << last.error_code() << " " << last.error_message());
  CHECK(refused);

  // The open streams end without an answer once the grace period is over.
  CHECK_FALSE(request_stream.receive().has_value());
  const grpc::Status request_status = request_stream.close();
  INFO("request stream: " << request_status.error_code() << " " << request_status.error_message());
  CHECK(ended_by_server(request_status.error_code()));
  CHECK(request_stream.leftovers().empty());

  CHECK_FALSE(response_stream.receive().has_value());
  const grpc::Status response_status = response_stream.close();
  INFO("response stream: " << response_status.error_code() << " " << response_status.error_message());
  CHECK(ended_by_server(response_status.error_code()));

  // Grace (1 s) plus a margin for a loaded machine.
  const auto exit_code = server.wait_exit(15s);
  INFO(server.output());
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 0);
}

TEST_CASE("drain: streams that finish inside --grace-period complete normally, then exit 0",
          "[drain]") {
  TempDir dir;
  ServerProcess server(streaming_server(dir, "20"));
  const auto channel = server.channel();

  const std::string body = llm_body("drain", "foo");
  ProcessStream request_stream(channel);
  REQUIRE(request_stream.send(request_headers({{":method", "POST"}, {":path", "/v1/completions"}}, false)));
  REQUIRE(request_stream.send(request_body(body.substr(0, 20), false)));
  ProcessStream response_stream(channel);
  const std::string chunk1 = "data: {\"id\":\"1\"}\n\n";
  const std::string chunk2 = "data: [DONE]\n\n";
  open_response_stream(response_stream, chunk1);

  server.send_signal(SIGTERM);
  REQUIRE(saw_draining(server));
  CHECK(server.running());

  // The request finishes: held headers with the routing header, then the body.
  REQUIRE(request_stream.send(request_body(body.substr(20), true)));
  const auto headers_answer = request_stream.receive();
  REQUIRE(headers_answer.has_value());
  REQUIRE(headers_answer->has_request_headers());
  bool routed = false;
  for (const auto& option : headers_answer->request_headers().response().header_mutation().set_headers()) {
    if (option.header().key() == "X-Gateway-Model-Name") routed = option.header().raw_value() == "foo";
  }
  CHECK(routed);
  std::string echoed;
  while (echoed.size() < body.size()) {
    const auto chunk = request_stream.receive();
    REQUIRE(chunk.has_value());
    REQUIRE(chunk->has_request_body());
    echoed += chunk->request_body().response().body_mutation().streamed_response().body();
  }
  CHECK(echoed == body);
  const grpc::Status request_status = request_stream.close();
  INFO("request stream: " << request_status.error_message());
  CHECK(request_status.ok());

  // The response finishes: its headers and first chunk passed through before
  // SIGTERM (open_response_stream checked them); the last chunk follows now.
  REQUIRE(response_stream.send(response_body(chunk2, true)));
  const grpc::Status response_status = response_stream.close();
  INFO("response stream: " << response_status.error_message());
  CHECK(response_status.ok());
  std::string response_echo;
  for (const auto& answer : response_stream.leftovers()) {
    if (answer.has_response_body()) {
      response_echo += answer.response_body().response().body_mutation().streamed_response().body();
    }
  }
  CHECK(response_echo == chunk2);

  // Nothing is left open, so the server exits long before its 20 s grace.
  const auto exit_code = server.wait_exit(15s);
  INFO(server.output());
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 0);
}
