// The reference's wire behaviour, message for message
// (docs/reference-behaviour.md §2-§5 and the test cases of §8), against the
// real binary with the in-tree plugins.
#include "extproc_client.hpp"
#include "reference_harness.hpp"

#include <catch2/catch.hpp>

using namespace bbr::test;
using namespace std::chrono_literals;

namespace {

ProcessingResponse request_body_with_headers(const Headers& set) {
  Common c;
  c.set = set;
  c.header_mutation = true;
  c.clear_route_cache = true;
  return response_with(Phase::kRequestBody, c);
}

ProcessingResponse streaming_headers(const Headers& set) {
  Common c;
  c.set = set;
  c.header_mutation = true;
  c.clear_route_cache = true;
  return response_with(Phase::kRequestHeaders, c);
}

ProcessingResponse streamed_chunk(Phase phase, const std::string& chunk, bool end_of_stream) {
  Common c;
  c.streamed = std::pair{chunk, end_of_stream};
  return response_with(phase, c);
}

#define CHECK_RESPONSES(exchange, ...)                                        \
  do {                                                                        \
    INFO("gRPC status: " << (exchange).status.error_message());               \
    CHECK((exchange).status.ok());                                            \
    CHECK(canonical((exchange).responses) ==                                  \
          canonical(std::vector<ProcessingResponse>{__VA_ARGS__}));           \
  } while (0)

}  // namespace

// ---- §8.2 TestBodyBasedRouting (buffered) --------------------------------------

TEST_CASE("buffered: model in body sets model and base-model headers on the body reply",
          "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const std::string body = llm_body("test", "qwen");
  REQUIRE(body.size() == 65);
  const Exchange exchange = run(server.channel(), {request_body(body, true)});
  CHECK_RESPONSES(exchange, request_body_with_headers({{"X-Gateway-Model-Name", "qwen"},
                                                       {"X-Gateway-Base-Model-Name", "qwen"}}));
}

TEST_CASE("buffered: a body without model answers an empty but present header mutation",
          "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange = run(server.channel(), {request_body(llm_body("test1", ""), true)});
  CHECK_RESPONSES(exchange, request_body_with_headers({}));
}

TEST_CASE("buffered: request headers answer an empty HeadersResponse, trailers an empty "
          "TrailersResponse",
          "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange =
      run(server.channel(),
          {request_headers({{":path", "/v1/completions"}, {"x-request-id", "r1"}}, false),
           request_body(llm_body("test", "sql-lora-sheddable"), true), request_trailers()});
  CHECK_RESPONSES(exchange, empty_response(Phase::kRequestHeaders),
                  request_body_with_headers({{"X-Gateway-Model-Name", "sql-lora-sheddable"},
                                             {"X-Gateway-Base-Model-Name", "qwen"}}),
                  empty_response(Phase::kRequestTrailers));
}

TEST_CASE("buffered: model values map through the adapter store, unknown models get an empty "
          "base header",
          "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false, AdapterStore::kEmpty));
  SECTION("empty model: no model header, empty base-model header") {
    const Exchange exchange =
        run(server.channel(), {request_body(R"({"model":"","prompt":"Tell me a joke"})", true)});
    CHECK_RESPONSES(exchange, request_body_with_headers({{"X-Gateway-Base-Model-Name", ""}}));
  }
  SECTION("numeric model is stringified") {
    const Exchange exchange =
        run(server.channel(), {request_body(R"({"model":1,"prompt":"Tell me a joke"})", true)});
    CHECK_RESPONSES(exchange, request_body_with_headers({{"X-Gateway-Model-Name", "1"},
                                                         {"X-Gateway-Base-Model-Name", ""}}));
  }
  SECTION("unknown model") {
    const Exchange exchange = run(
        server.channel(), {request_body(R"({"model":"foo","prompt":"Tell me a joke"})", true)});
    CHECK_RESPONSES(exchange, request_body_with_headers({{"X-Gateway-Model-Name", "foo"},
                                                         {"X-Gateway-Base-Model-Name", ""}}));
  }
  SECTION("no model at all") {
    const Exchange exchange =
        run(server.channel(), {request_body(R"({"prompt":"Tell me a joke"})", true)});
    CHECK_RESPONSES(exchange, request_body_with_headers({}));
  }
}

TEST_CASE("buffered: invalid JSON answers 400 with the reference's text and ends the stream OK",
          "[reference][buffered][errors]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const std::string prefix = "inference error: BadRequest - failed to parse request body: ";
  const struct {
    std::string body;
    std::string go_error;
  } cases[] = {
      {"{", "unexpected end of JSON input"},
      {"not json", "invalid character 'o' in literal null (expecting 'u')"},
      {R"({"model": })", "invalid character '}' looking for beginning of value"},
      {"{} x", "invalid character 'x' after top-level value"},
      {"[1,2]", "json: cannot unmarshal array into Go value of type map[string]interface {}"},
  };
  for (const auto& c : cases) {
    INFO("body: " << c.body);
    const Exchange exchange = run(server.channel(), {request_body(c.body, true),
                                                      request_trailers()});
    CHECK_RESPONSES(exchange, immediate_response(400, prefix + c.go_error));
  }
}

TEST_CASE("buffered: a JSON null body is accepted as a body without fields",
          "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange = run(server.channel(), {request_body("null", true)});
  CHECK_RESPONSES(exchange, request_body_with_headers({}));
}

TEST_CASE("header values are read from raw_value, else value", "[reference][buffered]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  // Headers sent in `value` (as the reference's tests do) are accepted too.
  const Exchange exchange =
      run(server.channel(), {request_headers({{"hi", "mom"}}, false, /*in_value=*/true),
                             request_body(llm_body("x", "foo"), true)});
  CHECK_RESPONSES(exchange, empty_response(Phase::kRequestHeaders),
                  request_body_with_headers({{"X-Gateway-Model-Name", "foo"},
                                             {"X-Gateway-Base-Model-Name", "qwen"}}));
}

// ---- §8.3 TestResponsePlugins: no response plugins -----------------------------

TEST_CASE("buffered full lifecycle without response plugins: response passes through",
          "[reference][buffered][response]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange = run(
      server.channel(),
      {request_body(llm_body("test", "qwen"), true),
       response_headers({{"content-type", "application/json"}}, false, /*in_value=*/true),
       response_body(R"({"choices":[{"text":"Hi there!"}]})", true), response_trailers()});
  CHECK_RESPONSES(exchange,
                  request_body_with_headers({{"X-Gateway-Model-Name", "qwen"},
                                             {"X-Gateway-Base-Model-Name", "qwen"}}),
                  empty_response(Phase::kResponseHeaders), empty_response(Phase::kResponseBody),
                  empty_response(Phase::kResponseTrailers));
}

// ---- §8.4 TestFullDuplexStreamed_BodyBasedRouting -------------------------------

TEST_CASE("streaming: headers are held back and answered with Content-Length and model "
          "headers after the body, then the body comes back streamed",
          "[reference][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string body = llm_body("test", "foo");
  REQUIRE(body.size() == 64);
  const Exchange exchange = run(
      server.channel(),
      {request_headers({{"hi", "mom"},
                        {"x-request-id", "test-request-id"},
                        {"x-gateway-inference-objective", "foo"},
                        {"x-gateway-model-name-rewrite", "bar"}},
                       false, /*in_value=*/true),
       request_body(body, true)});
  CHECK_RESPONSES(exchange,
                  streaming_headers({{"Content-Length", "64"},
                                     {"X-Gateway-Base-Model-Name", "qwen"},
                                     {"X-Gateway-Model-Name", "foo"}}),
                  streamed_chunk(Phase::kRequestBody, body, true));
}

TEST_CASE("streaming: a body split in two chunks is buffered and answered once",
          "[reference][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string chunk1 = R"({"max_tokens":100,"model":"sql-lo)";
  const std::string chunk2 = R"(ra-sheddable","prompt":"test","temperature":0})";
  REQUIRE((chunk1 + chunk2).size() == 79);
  const Exchange exchange =
      run(server.channel(), {request_headers({{"hi", "mom"}}, false, true),
                             request_body(chunk1, false), request_body(chunk2, true)});
  CHECK_RESPONSES(exchange,
                  streaming_headers({{"Content-Length", "79"},
                                     {"X-Gateway-Base-Model-Name", "qwen"},
                                     {"X-Gateway-Model-Name", "sql-lora-sheddable"}}),
                  streamed_chunk(Phase::kRequestBody, chunk1 + chunk2, true));
}

TEST_CASE("streaming: a body without model still gets Content-Length", "[reference][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string body = llm_body("test", "");
  REQUIRE(body.size() == 50);
  const Exchange exchange = run(server.channel(), {request_headers({{"hi", "mom"}}, false, true),
                                                   request_body(body, true)});
  CHECK_RESPONSES(exchange, streaming_headers({{"Content-Length", "50"}}),
                  streamed_chunk(Phase::kRequestBody, body, true));
}

TEST_CASE("streaming: headers with end_of_stream are answered at once", "[reference][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const Exchange exchange =
      run(server.channel(), {request_headers({{":method", "GET"}}, true)});
  CHECK_RESPONSES(exchange, empty_response(Phase::kRequestHeaders));
}

TEST_CASE("streaming: a 70027-byte body comes back in chunks of 62000 and 8027",
          "[reference][streaming]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true, AdapterStore::kEmpty));
  const std::string body = R"({"model":"foo","prompt":")" + std::string(70000, 'a') + R"("})";
  REQUIRE(body.size() == 70027);
  const Exchange exchange = run(server.channel(), {request_headers({}, false),
                                                   request_body(body, true)});
  CHECK_RESPONSES(exchange,
                  streaming_headers({{"Content-Length", "70027"},
                                     {"X-Gateway-Model-Name", "foo"},
                                     {"X-Gateway-Base-Model-Name", ""}}),
                  streamed_chunk(Phase::kRequestBody, body.substr(0, 62000), false),
                  streamed_chunk(Phase::kRequestBody, body.substr(62000), true));
}

TEST_CASE("streaming: invalid JSON answers 400 with the reference's text",
          "[reference][streaming][errors]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const Exchange exchange = run(server.channel(), {request_headers({}, false),
                                                   request_body("{", true)});
  CHECK_RESPONSES(exchange,
                  immediate_response(400, "inference error: BadRequest - failed to parse "
                                          "request body: unexpected end of JSON input"));
}

// Deliberate difference: the reference holds the whole response and re-sends
// it at its end; with no response plugin we answer each chunk as it comes.
TEST_CASE("streaming: response without response plugins passes through chunk by chunk",
          "[reference][streaming][response]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, true));
  const std::string request = llm_body("test", "foo");
  const std::string answer = R"({"choices":[{"text":"Hello!"}]})";
  const Exchange exchange = run(
      server.channel(),
      {request_headers({{"hi", "mom"}}, false), request_body(request, true),
       response_headers({{"content-type", "application/json"}}, false),
       response_body(answer.substr(0, 10), false), response_body(answer.substr(10, 10), false),
       response_body(answer.substr(20), true), response_trailers()});
  CHECK_RESPONSES(exchange,
                  streaming_headers({{"Content-Length", "64"},
                                     {"X-Gateway-Base-Model-Name", "qwen"},
                                     {"X-Gateway-Model-Name", "foo"}}),
                  streamed_chunk(Phase::kRequestBody, request, true),
                  empty_response(Phase::kResponseHeaders),
                  streamed_chunk(Phase::kResponseBody, answer.substr(0, 10), false),
                  streamed_chunk(Phase::kResponseBody, answer.substr(10, 10), false),
                  streamed_chunk(Phase::kResponseBody, answer.substr(20), true),
                  empty_response(Phase::kResponseTrailers));
}

// ---- §2 stream-level errors -------------------------------------------------------

// Deliberate difference: the reference ends such a stream with UNKNOWN
// "unknown request type"; a malformed message is the client's error.
TEST_CASE("a ProcessingRequest with no request set ends the stream with INVALID_ARGUMENT",
          "[reference][errors]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange = run(server.channel(), {ProcessingRequest{}});
  CHECK(exchange.responses.empty());
  CHECK(exchange.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(exchange.status.error_message().find("none of request_headers") != std::string::npos);
}

TEST_CASE("a stream closed by the client without messages ends OK", "[reference]") {
  TempDir dir;
  ServerProcess server(reference_harness(dir, false));
  const Exchange exchange = run(server.channel(), {});
  CHECK(exchange.status.ok());
  CHECK(exchange.responses.empty());
}
