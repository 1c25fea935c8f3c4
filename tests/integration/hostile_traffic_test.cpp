// What an attacker (or a broken client) gets from the real binary: spoofed
// routing headers, over-limit single messages, garbage on the stream, more
// load than the server's bounds, trailers that end a streamed body. Each case
// is one the first server let through.
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <grpcpp/generic/generic_stub.h>
#include <nlohmann/json.hpp>

#include <thread>

#include <catch2/catch.hpp>

namespace bbr::test {
namespace {

const envoy::config::core::v3::HeaderValueOption* find_set(
    const envoy::service::ext_proc::v3::HeaderMutation& mutation, const std::string& key) {
  for (const auto& set : mutation.set_headers()) {
    if (set.header().key() == key) return &set;
  }
  return nullptr;
}

std::string header_value(const envoy::service::ext_proc::v3::ImmediateResponse& ir,
                         const std::string& key) {
  for (const auto& set : ir.headers().set_headers()) {
    if (set.header().key() == key) return set.header().raw_value();
  }
  return {};
}

// Writes raw bytes as one Process message (what a broken client could send)
// and returns how the server ended the stream.
grpc::Status send_raw_message(const std::shared_ptr<grpc::Channel>& channel, const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(&context, "/envoy.service.ext_proc.v3.ExternalProcessor/Process", &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(queue.Next(&tag, &ok));
  REQUIRE(ok);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);
  call->Write(buffer, reinterpret_cast<void*>(2));
  REQUIRE(queue.Next(&tag, &ok));
  call->WritesDone(reinterpret_cast<void*>(3));
  REQUIRE(queue.Next(&tag, &ok));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  REQUIRE(queue.Next(&tag, &ok));
  CHECK_FALSE(ok);  // no answer to garbage
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  REQUIRE(queue.Next(&tag, &ok));
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

}  // namespace

TEST_CASE("a client's own x-gateway-model-name cannot steer routing, in both modes",
          "[hostile][integration]") {
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    TempDir dir;
    ServerProcess server(reference_harness(dir, streaming));
    const Exchange exchange =
        run(server.channel(), {request_headers({{"x-gateway-model-name", "attacker-choice"},
                                                {"x-gateway-base-model-name", "attacker-base"}},
                                               false),
                               request_body(llm_body("hi", "real"), true)});
    REQUIRE(exchange.status.ok());
    REQUIRE(exchange.responses.size() == 2);
    const auto& common = streaming ? exchange.responses[0].request_headers().response()
                                   : exchange.responses[1].request_body().response();
    const auto* model = find_set(common.header_mutation(), "X-Gateway-Model-Name");
    REQUIRE(model != nullptr);
    CHECK(model->header().raw_value() == "real");
    CHECK(model->append_action() ==
          envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
    const auto* base = find_set(common.header_mutation(), "X-Gateway-Base-Model-Name");
    REQUIRE(base != nullptr);  // "" for an unknown model: overwrites the client's too
    CHECK(base->append_action() ==
          envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
}

TEST_CASE("a client's routing header on a body without model is removed", "[hostile][integration]") {
  TempDir dir;
  ServerOptions options;
  options.extra_args = {"--plugin",
                        R"(body-field-to-header:m:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})"};
  ServerProcess server(options);
  const Exchange exchange = run(server.channel(),
                                {request_headers({{"x-gateway-model-name", "attacker-choice"}}, false),
                                 request_body(R"({"prompt":"no model here"})", true)});
  REQUIRE(exchange.responses.size() == 2);
  const auto& mutation = exchange.responses[1].request_body().response().header_mutation();
  REQUIRE(mutation.remove_headers_size() == 1);
  CHECK(mutation.remove_headers(0) == "x-gateway-model-name");
}

TEST_CASE("a buffered body over --max-body-bytes in ONE message answers 413; the connection goes on",
          "[hostile][integration]") {
  TempDir dir;
  ServerOptions options = reference_harness(dir, false);
  options.extra_args.push_back("--max-body-bytes");
  options.extra_args.push_back("1048576");
  ServerProcess server(options);
  auto channel = server.channel();
  for (std::size_t size : {std::size_t{2} << 20, std::size_t{5} << 20}) {
    INFO("body of " << size << " bytes");
    const Exchange refused = run(channel, {request_headers({}, false),
                                           request_body(std::string(size, ' '), true)});
    REQUIRE(refused.status.ok());
    REQUIRE(refused.responses.size() == 2);
    const auto& ir = refused.responses[1].immediate_response();
    CHECK(ir.status().code() == envoy::type::v3::PayloadTooLarge);
    CHECK(header_value(ir, "content-type") == "application/json");
    CHECK(nlohmann::json::accept(ir.body()));
  }
  // The next stream on the same connection is served.
  const Exchange next = run(channel, {request_headers({}, false), request_body(llm_body("hi", "foo"), true)});
  CHECK(next.status.ok());
  CHECK(next.responses.size() == 2);
}

TEST_CASE("bytes that are not a ProcessingRequest end the stream with INVALID_ARGUMENT, counted",
          "[hostile][integration]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  // Field 2 (request_headers) announced with a length longer than the message.
  const grpc::Status status = send_raw_message(server.channel(), std::string("\x12\x7f\x01\x02", 4));
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("malformed ProcessingRequest") != std::string::npos);
  CHECK(http_get(server.metrics_port(), "/metrics").find("bbr_malformed_messages_total 1") !=
        std::string::npos);
  // The server is still up and serving.
  const Exchange next = run(server.channel(), {request_headers({}, true)});
  CHECK(next.status.ok());
}

TEST_CASE("past --max-concurrent-streams a stream is answered 503 with Retry-After",
          "[hostile][integration]") {
  TempDir dir;
  // Buffered: the holder's headers are answered at once, so once its answer
  // is back the server has surely counted its stream (in streaming mode the
  // headers are held, and the second stream could overtake the first).
  ServerOptions options = reference_harness(dir, false);
  options.extra_args.insert(options.extra_args.end(),
                            {"--max-concurrent-streams", "1", "--retry-after", "3"});
  ServerProcess server(options);
  ProcessStream holder(server.channel());
  REQUIRE(holder.send(request_headers({}, false)));  // held open, counted
  REQUIRE(holder.receive().has_value());
  const Exchange shed = run(server.channel(), {request_headers({}, false)});
  REQUIRE(shed.responses.size() == 1);
  const auto& ir = shed.responses[0].immediate_response();
  CHECK(ir.status().code() == envoy::type::v3::ServiceUnavailable);
  CHECK(header_value(ir, "retry-after") == "3");
  CHECK(http_get(server.metrics_port(), "/metrics")
            .find(R"(bbr_shed_total{reason="concurrent_streams"} 1)") != std::string::npos);
  REQUIRE(holder.send(request_body(llm_body("hi", "foo"), true)));
  CHECK(holder.receive().has_value());
}

TEST_CASE("past --max-inflight-body-bytes a request is answered 503 at once", "[hostile][integration]") {
  TempDir dir;
  ServerOptions options = reference_harness(dir, true);
  options.extra_args.insert(options.extra_args.end(), {"--max-inflight-body-bytes", "100000"});
  ServerProcess server(options);
  ProcessStream holder(server.channel());
  REQUIRE(holder.send(request_headers({}, false)));
  REQUIRE(holder.send(request_body(std::string(90000, ' '), false)));  // held: 90000 of 100000
  // Give the server the time to read it before the second stream competes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const Exchange shed =
      run(server.channel(), {request_headers({}, false), request_body(std::string(20000, ' '), false)});
  INFO("status " << shed.status.error_message() << "; server output:\n" << server.output());
  REQUIRE(shed.responses.size() == 1);
  CHECK(shed.responses[0].immediate_response().status().code() == envoy::type::v3::ServiceUnavailable);
  CHECK(http_get(server.metrics_port(), "/metrics")
            .find(R"(bbr_shed_total{reason="inflight_body_bytes"} 1)") != std::string::npos);
}

TEST_CASE("streaming: each response chunk is answered before the next is sent (first token not held)",
          "[integration][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  ProcessStream stream(server.channel());
  REQUIRE(stream.send(request_headers({}, false)));
  REQUIRE(stream.send(request_body(llm_body("hi", "foo"), true)));
  REQUIRE(stream.receive().has_value());  // held headers answer
  REQUIRE(stream.receive().has_value());  // the body
  REQUIRE(stream.send(response_headers({{"content-type", "text/event-stream"}}, false)));
  auto headers = stream.receive();
  REQUIRE(headers.has_value());
  CHECK(headers->has_response_headers());
  for (int i = 0; i < 5; ++i) {
    const std::string event = "data: {\"choices\":[{\"delta\":{\"content\":\"t" + std::to_string(i) + "\"}}]}\n\n";
    REQUIRE(stream.send(response_body(event, i == 4)));
    auto answer = stream.receive();
    REQUIRE(answer.has_value());
    const auto& chunk = answer->response_body().response().body_mutation().streamed_response();
    CHECK(chunk.body() == event);
    CHECK(chunk.end_of_stream() == (i == 4));
  }
  CHECK(stream.close().ok());
}

TEST_CASE("streaming: trailers that end a request body release the held answer",
          "[integration][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string body = llm_body("hi", "foo");
  const Exchange exchange = run(server.channel(), {request_headers({}, false), request_body(body, false),
                                                   request_trailers({{"grpc-status", "0"}})});
  REQUIRE(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 3);
  CHECK(exchange.responses[0].has_request_headers());
  CHECK(exchange.responses[1].request_body().response().body_mutation().streamed_response().body() == body);
  CHECK(exchange.responses[2].has_request_trailers());
}

}  // namespace bbr::test
