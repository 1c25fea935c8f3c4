// The server's mechanics, on the real binary: health, TLS, flag validation,
// draining on SIGTERM, message size, concurrency, metrics endpoint.
#include "extproc/self_signed_certificate.hpp"
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace bbr::test;
using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;

namespace {

// A socket listening on 0.0.0.0:port until destroyed, to make a port busy.
class BusyPort {
 public:
  explicit BusyPort(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
  }
  ~BusyPort() { ::close(fd_); }

 private:
  int fd_;
};

std::vector<std::string> port_args(int grpc, int health, int metrics) {
  return {"serve", "--grpc-port=" + std::to_string(grpc),
          "--grpc-health-port=" + std::to_string(health),
          "--metrics-port=" + std::to_string(metrics), "--secure-serving=false"};
}

}  // namespace

TEST_CASE("health answers SERVING for any service name once the chain is built",
          "[health]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  for (const std::string service :
       {"", "envoy.service.ext_proc.v3.ExternalProcessor", "no.such.Service"}) {
    const HealthAnswer answer = check_health(server.health_port(), service);
    INFO("service '" << service << "': " << answer.status.error_message());
    CHECK(answer.status.ok());
    CHECK(answer.serving == HealthCheckResponse::SERVING);
  }
}

TEST_CASE("health List names the ext_proc service and Watch is unimplemented", "[health]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  auto stub = grpc::health::v1::Health::NewStub(plaintext_channel(server.health_port()));
  {
    grpc::ClientContext context;
    grpc::health::v1::HealthListResponse list;
    REQUIRE(stub->List(&context, {}, &list).ok());
    REQUIRE(list.statuses().size() == 1);
    CHECK(list.statuses().at("envoy.service.ext_proc.v3.ExternalProcessor").status() ==
          HealthCheckResponse::SERVING);
  }
  {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    auto reader = stub->Watch(&context, request);
    grpc::health::v1::HealthCheckResponse response;
    CHECK_FALSE(reader->Read(&response));
    const grpc::Status status = reader->Finish();
    CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    CHECK(status.error_message() == "Watch is not implemented");
  }
}

TEST_CASE("the ext_proc port is not the health port: no health service there", "[health]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const HealthAnswer answer = check_health(server.grpc_port());
  CHECK(answer.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("secure serving by default answers over TLS with a self-signed certificate, "
          "health stays plaintext",
          "[tls]") {
  TempDir dir;
  ServerOptions options = reference_harness(dir, false);
  options.secure_serving = true;
  ServerProcess server(options);

  // Health is plaintext even with secure serving (as the reference).
  CHECK(check_health(server.health_port()).serving == HealthCheckResponse::SERVING);

  const Exchange tls = run(tls_channel_without_verification(server.grpc_port()),
                           {request_headers({{":path", "/v1/completions"}}, false)});
  CHECK(tls.status.ok());
  CHECK(canonical(tls.responses) == canonical(std::vector<ProcessingResponse>{empty_response(Phase::kRequestHeaders)}));

  const Exchange plaintext = run(plaintext_channel(server.grpc_port()),
                                 {request_headers({{":path", "/"}}, false)}, 5s);
  CHECK_FALSE(plaintext.status.ok());
  CHECK(plaintext.responses.empty());
}

TEST_CASE("given --cert-path and --key-path, the server presents that certificate, which a verifying "
          "client accepts",
          "[tls]") {
  TempDir dir;
  const bbr::PemCertificate pem = bbr::make_self_signed_certificate();
  const auto cert = dir.write("server.crt", pem.certificate_pem);
  const auto key = dir.write("server.key", pem.private_key_pem);
  ServerOptions options = reference_harness(dir, false);
  options.secure_serving = true;
  options.extra_args.push_back("--cert-path=" + cert.string());
  options.extra_args.push_back("--key-path=" + key.string());
  ServerProcess server(options);

  const Exchange verified = run(tls_channel_trusting(server.grpc_port(), pem.certificate_pem),
                                {request_headers({{":path", "/"}}, false)});
  INFO(verified.status.error_message());
  CHECK(verified.status.ok());
  CHECK(verified.responses.size() == 1);

  // A client trusting some other certificate refuses the server.
  const bbr::PemCertificate other = bbr::make_self_signed_certificate();
  const Exchange refused = run(tls_channel_trusting(server.grpc_port(), other.certificate_pem),
                               {request_headers({{":path", "/"}}, false)}, 5s);
  CHECK(refused.status.error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("port flags are validated with the reference's messages", "[flags]") {
  SECTION("a port conflict is refused") {
    const CommandResult result = run_bbr_host(port_args(9090, 9005, 9090));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output,
               Catch::Contains("port conflict: grpc-port (9090), grpc-health-port (9005), and "
                               "metrics-port (9090) must all be different"));
  }
  SECTION("all three equal is a conflict") {
    const CommandResult result = run_bbr_host(port_args(8080, 8080, 8080));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains("port conflict: grpc-port (8080), grpc-health-port "
                                              "(8080), and metrics-port (8080) must all be "
                                              "different"));
  }
  SECTION("grpc-port 0 is out of range") {
    const CommandResult result = run_bbr_host(port_args(0, 9005, 9090));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains(
                                  R"(invalid value 0 for flag "grpc-port": must be between 1 and 65535)"));
  }
  SECTION("grpc-port 70000 is out of range") {
    const CommandResult result = run_bbr_host(port_args(70000, 9005, 9090));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains(
                                  R"(invalid value 70000 for flag "grpc-port": must be between 1 and 65535)"));
  }
  SECTION("range is checked before conflicts, health before metrics") {
    const CommandResult result = run_bbr_host(port_args(9004, 0, 65536));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains(R"(invalid value 0 for flag "grpc-health-port")"));
  }
  SECTION("metrics-port 65536 is out of range") {
    const CommandResult result = run_bbr_host(port_args(9004, 9005, 65536));
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains(
                                  R"(invalid value 65536 for flag "metrics-port": must be between 1 and 65535)"));
  }
}

TEST_CASE("serve refuses --config and --plugin together", "[flags]") {
  TempDir dir;
  const auto config = dir.write("bbr.yaml", "plugins: []\n");
  const CommandResult result = run_bbr_host(
      {"serve", "--config", config.string(), "--plugin", "body-field-to-header:x:{}"});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Catch::Contains("--config and --plugin cannot be used together"));
}

TEST_CASE("a bad --plugin flag is refused with pflag's wording", "[flags]") {
  const CommandResult result = run_bbr_host({"serve", "--plugin", "only-a-type"});
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output,
             Catch::Contains(R"(invalid argument "only-a-type" for "--plugin" flag: usage: --plugin <type>:<name>:<json>)"));
}

TEST_CASE("a busy gRPC port makes serve fail with exit 1 naming the address", "[flags]") {
  TempDir dir;
  const int busy = free_port();
  BusyPort holder(busy);
  ServerOptions options = reference_harness(dir, false);
  std::vector<std::string> args = port_args(busy, free_port(), free_port());
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  const CommandResult result = run_bbr_host(args);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Catch::Contains(std::to_string(busy)));
  CHECK_THAT(result.output, Catch::Contains("cannot listen"));
}

TEST_CASE("a second bbr-host on a port the first serves refuses to start (no SO_REUSEPORT sharing)",
          "[flags]") {
  TempDir dir;
  ServerProcess first(reference_harness(dir, false));
  ServerOptions options = reference_harness(dir, false);
  std::vector<std::string> args = port_args(first.grpc_port(), free_port(), free_port());
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  const CommandResult second = run_bbr_host(args);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.output, Catch::Contains("cannot listen"));
  CHECK(first.running());
}

TEST_CASE("SIGTERM drains: health turns NOT_SERVING, an open stream completes, exit 0",
          "[drain]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  ProcessStream stream(server.channel());
  REQUIRE(stream.send(request_headers({{":path", "/v1/completions"}}, false)));
  const auto headers_answer = stream.receive();
  REQUIRE(headers_answer.has_value());
  CHECK(headers_answer->has_request_headers());

  server.send_signal(SIGTERM);
  // While the stream is open the server waits for it, saying NOT_SERVING.
  bool saw_not_serving = false;
  for (int i = 0; i < 100 && !saw_not_serving; ++i) {
    saw_not_serving =
        check_health(server.health_port()).serving == HealthCheckResponse::NOT_SERVING;
    if (!saw_not_serving) std::this_thread::sleep_for(20ms);
  }
  CHECK(saw_not_serving);
  CHECK(server.running());

  REQUIRE(stream.send(request_body(llm_body("test", "qwen"), true)));
  const auto body_answer = stream.receive();
  REQUIRE(body_answer.has_value());
  CHECK(body_answer->has_request_body());
  const grpc::Status status = stream.close();
  CHECK(status.ok());

  const auto exit_code = server.wait_exit(10s);
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 0);
  INFO(server.output());
}

TEST_CASE("SIGINT with no open stream stops at once with exit 0", "[drain]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  server.send_signal(SIGINT);
  const auto exit_code = server.wait_exit(5s);
  REQUIRE(exit_code.has_value());
  CHECK(*exit_code == 0);
}

TEST_CASE("a 5 MiB buffered body in one message is accepted (over gRPC's 4 MiB default)",
          "[limits]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const std::string body =
      R"({"model":"foo","prompt":")" + std::string(5 * 1024 * 1024, 'a') + R"("})";
  const Exchange exchange = run(server.channel(), {request_body(body, true)});
  INFO(exchange.status.error_message());
  CHECK(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 1);
  CHECK(exchange.responses[0].has_request_body());
}

TEST_CASE("200 concurrent streams are served without a thread per stream", "[concurrency]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  auto channel = server.channel();
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<ProcessStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<ProcessStream>(channel));
    REQUIRE(streams.back()->send(request_headers({{":path", "/"}}, false)));
  }
  // Every stream is open and answered its headers before any body is sent.
  for (auto& stream : streams) {
    const auto answer = stream->receive();
    REQUIRE(answer.has_value());
    REQUIRE(answer->has_request_headers());
  }
  const int threads = server.thread_count();
  INFO("server threads with " << kStreams << " open streams: " << threads);
  CHECK(threads > 0);
  CHECK(threads < kStreams / 2);

  for (int i = 0; i < kStreams; ++i) {
    // Appended, not `"p" + std::to_string(i)`: GCC 12 at -O3 misreads that as an
    // overlapping memcpy (-Werror=restrict, a known false positive).
    std::string prompt = "p";
    prompt += std::to_string(i);
    REQUIRE(streams[i]->send(request_body(llm_body(prompt, "foo"), true)));
  }
  for (int i = 0; i < kStreams; ++i) {
    const auto answer = streams[i]->receive();
    REQUIRE(answer.has_value());
    Common c;
    c.set = {{"X-Gateway-Model-Name", "foo"}, {"X-Gateway-Base-Model-Name", "qwen"}};
    c.header_mutation = true;
    c.clear_route_cache = true;
    const auto expected = response_with(Phase::kRequestBody, c);
    REQUIRE(canonical(*answer) == canonical(expected));
    REQUIRE(streams[i]->close().ok());
  }
}

TEST_CASE("metrics are served at /metrics with the reference's names", "[metrics]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange =
      run(server.channel(), {request_body(R"({"prompt":"no model here"})", true)});
  REQUIRE(exchange.status.ok());

  const std::string page = http_get(server.metrics_port(), "/metrics");
  CHECK_THAT(page, Catch::StartsWith("HTTP/1.1 200") || Catch::StartsWith("HTTP/1.0 200"));
  CHECK_THAT(page, Catch::Contains("bbr_info{"));
  // build_ref is the version; commit the checkout's commit (or "unknown").
  CHECK_THAT(page, Catch::Contains(std::string("build_ref=\"v") + BBR_HOST_VERSION_FOR_TESTS + "\""));
  CHECK_THAT(page, Catch::Contains("bbr_success_total 1"));
  CHECK_THAT(page, Catch::Contains("bbr_body_field_not_found_total{"));
  CHECK_THAT(page, Catch::Contains("field=\"model\""));
}

TEST_CASE("the reference's flags-only command line (no subcommand) runs serve", "[flags]") {
  const CommandResult result =
      run_bbr_host({"--grpc-port=9004", "--grpc-health-port=9004", "--metrics-port=9090"});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Catch::Contains("port conflict: grpc-port (9004)"));
}

TEST_CASE("the reference chart's flags are accepted: --streaming --v=3 --tracing=false and "
          "friends",
          "[flags]") {
  TempDir dir;
  ServerOptions options = reference_harness(dir, true);
  for (const char* flag : {"--tracing=false", "--metrics-endpoint-auth=false",
                           "--enable-pprof=false", "--zap-log-level=info", "-v", "4"}) {
    options.extra_args.emplace_back(flag);
  }
  ServerProcess server(options);
  const std::string body = llm_body("test", "foo");
  const Exchange exchange =
      run(server.channel(), {request_headers({{"hi", "mom"}}, false), request_body(body, true)});
  CHECK(exchange.status.ok());
  CHECK(exchange.responses.size() == 2);
}

TEST_CASE("the reference chart's --plugin flags, verbatim, start and route", "[flags]") {
  // As the reference Helm chart writes them: the base-model plugin has no JSON.
  ServerOptions options;
  options.streaming = true;
  options.extra_args = {
      "--plugin",
      R"(body-field-to-header:model-extractor:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})",
      "--plugin", "base-model-to-header:base-model-mapper", "--v=3"};
  ServerProcess server(options);
  const std::string body = llm_body("test", "foo");
  const Exchange exchange =
      run(server.channel(), {request_headers({{"hi", "mom"}}, false), request_body(body, true)});
  CHECK(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 2);
  CHECK(canonical(exchange.responses[0]) ==
        canonical(response_with(Phase::kRequestHeaders,
                                {.set = {{"Content-Length", "64"},
                                         {"X-Gateway-Base-Model-Name", ""},
                                         {"X-Gateway-Model-Name", "foo"}},
                                 .header_mutation = true,
                                 .clear_route_cache = true})));
}

TEST_CASE("a body over --max-body-bytes is answered 413 without growing the buffer",
          "[limits]") {
  TempDir dir;
  ServerOptions options = reference_harness(dir, true);
  options.extra_args.emplace_back("--max-body-bytes=100");
  ServerProcess server(options);
  const Exchange exchange =
      run(server.channel(), {request_headers({}, false),
                             request_body(R"({"model":"foo","prompt":")" + std::string(60, 'a'), false),
                             request_body(std::string(60, 'b') + R"("})", true)});
  INFO(canonical(exchange.responses));
  CHECK(exchange.status.ok());
  REQUIRE(exchange.responses.size() == 1);
  REQUIRE(exchange.responses[0].has_immediate_response());
  CHECK(exchange.responses[0].immediate_response().status().code() == 413);
}
