// The session's answers, message for message, against real plugins. Expected
// answers follow docs/reference-behaviour.md (the reference's own tests, §8).
#include "session_fixture.hpp"

#include "extproc/chunk_envelope.hpp"

using namespace session_test;

namespace {

bbr::SessionOptions buffered() { return bbr::SessionOptions{}; }
bbr::SessionOptions streamed() {
  bbr::SessionOptions o;
  o.streaming = true;
  return o;
}

std::string llm_body(const std::string& prompt, const std::string& model) {
  std::string b = R"({"max_tokens":100,)";
  if (!model.empty()) b += R"("model":")" + model + R"(",)";
  return b + R"("prompt":")" + prompt + R"(","temperature":0})";
}

std::string header(const std::string& key, const std::string& value) {
  return "set_headers { header { key: \"" + key + "\" raw_value: \"" + value +
         "\" } append_action: OVERWRITE_IF_EXISTS_OR_ADD }";
}

}  // namespace

TEST_CASE("buffered: the body answer carries sorted model headers and clear_route_cache",
          "[session][buffered]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, llm_body("test", "qwen"), true)});
  CHECK(text_of(run.responses) ==
        text_of_expected({"request_body { response { header_mutation { " +
                          header("X-Gateway-Base-Model-Name", "qwen") + " " +
                          header("X-Gateway-Model-Name", "qwen") +
                          " } clear_route_cache: true } }"}));
  CHECK_FALSE(run.finished);
}

TEST_CASE("buffered: no model answers an empty but present header mutation", "[session][buffered]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {request_headers(false), body_message(true, llm_body("t", ""), true),
                            parse_request("request_trailers {}")});
  CHECK(text_of(run.responses) ==
        text_of_expected({"request_headers {}",
                          "request_body { response { header_mutation {} clear_route_cache: true } }",
                          "request_trailers {}"}));
}

TEST_CASE("buffered: empty, numeric and unknown models follow the reference", "[session][buffered]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  auto answer = [&](const std::string& body) {
    bbr::Session session(*chain, buffered());
    return text_of(feed(session, {body_message(true, body, true)}).responses);
  };
  CHECK(answer(R"({"model":"","prompt":"x"})") ==
        text_of_expected({"request_body { response { header_mutation { " +
                          header("X-Gateway-Base-Model-Name", "") +
                          " } clear_route_cache: true } }"}));
  CHECK(answer(R"({"model":1,"prompt":"x"})") ==
        text_of_expected({"request_body { response { header_mutation { " +
                          header("X-Gateway-Base-Model-Name", "qwen") + " " +
                          header("X-Gateway-Model-Name", "1") + " } clear_route_cache: true } }"}));
  CHECK(answer(R"({"model":"  foo  "})") ==
        text_of_expected({"request_body { response { header_mutation { " +
                          header("X-Gateway-Base-Model-Name", "qwen") + " " +
                          header("X-Gateway-Model-Name", "  foo  ") +
                          " } clear_route_cache: true } }"}));
  CHECK(answer(R"({"model":"unknown-model"})") ==
        text_of_expected({"request_body { response { header_mutation { " +
                          header("X-Gateway-Base-Model-Name", "") + " " +
                          header("X-Gateway-Model-Name", "unknown-model") +
                          " } clear_route_cache: true } }"}));
}

TEST_CASE("streamed: headers wait for the body, then come with Content-Length, then the body",
          "[session][streamed]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  auto first = session.on_request(request_headers(false));
  CHECK(first.exhausted());
  const std::string body = llm_body("test", "foo");
  REQUIRE(body.size() == 64);
  auto run = feed(session, {body_message(true, body, true)});
  CHECK(text_of(run.responses) ==
        text_of_expected({"request_headers { response { header_mutation { " +
                              header("Content-Length", "64") + " " +
                              header("X-Gateway-Base-Model-Name", "qwen") + " " +
                              header("X-Gateway-Model-Name", "foo") +
                              " } clear_route_cache: true } }",
                          R"(request_body { response { body_mutation { streamed_response { body: ')" +
                              body + R"(' end_of_stream: true } } } })"}));
}

TEST_CASE("streamed: chunks are held silently and answered once at the end", "[session][streamed]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  CHECK(session.on_request(request_headers(false)).exhausted());
  CHECK(session.on_request(body_message(true, R"({"max_tokens":100,"model":"sql-lo)", false))
            .exhausted());
  auto run = feed(session, {body_message(true, R"(ra-sheddable","prompt":"test","temperature":0})", true)});
  REQUIRE(run.responses.size() == 2);
  CHECK(run.responses[0].request_headers().response().header_mutation().set_headers(0).header().raw_value() ==
        "79");
  CHECK(run.responses[1].request_body().response().body_mutation().streamed_response().body().size() == 79);
}

TEST_CASE("streamed: a large body comes back in 62000-byte chunks, end_of_stream on the last only",
          "[session][streamed]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  const std::string body = R"({"model":"foo","prompt":")" + std::string(1 << 20, 'a') + R"("})";
  auto run = feed(session, {request_headers(false), body_message(true, body, true)});
  REQUIRE(run.responses.size() == 1 + (body.size() + 61999) / 62000);
  std::string reassembled;
  for (std::size_t i = 1; i < run.responses.size(); ++i) {
    const auto& chunk = run.responses[i].request_body().response().body_mutation().streamed_response();
    CHECK(chunk.body().size() == (i + 1 < run.responses.size() ? 62000u : body.size() % 62000));
    CHECK(chunk.end_of_stream() == (i + 1 == run.responses.size()));
    reassembled += chunk.body();
  }
  CHECK(reassembled == body);
}

TEST_CASE("streamed: headers with end_of_stream are answered at once", "[session][streamed]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  CHECK(text_of(feed(session, {request_headers(true)}).responses) ==
        text_of_expected({"request_headers {}"}));
}

TEST_CASE("invalid JSON answers 400 with the reference's text and ends the stream",
          "[session][errors]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  for (auto options : {buffered(), streamed()}) {
    bbr::Session session(*chain, options);
    auto run = feed(session, {body_message(true, "not json", true), body_message(true, "{}", true)});
    CHECK(run.finished);
    CHECK_FALSE(run.error);
    CHECK(text_of(run.responses) ==
          text_of_expected({"immediate_response { status { code: BadRequest } body: 'inference error: "
                            "BadRequest - failed to parse request body: invalid character \\'o\\' in "
                            "literal null (expecting \\'u\\')' }"}));
  }
}

TEST_CASE("a top-level array is refused like Go refuses to decode it into a map", "[session][errors]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, "[1,2]", true)});
  REQUIRE(run.responses.size() == 1);
  CHECK(run.responses[0].immediate_response().body() ==
        "inference error: BadRequest - failed to parse request body: json: cannot unmarshal array "
        "into Go value of type map[string]interface {}");
}

TEST_CASE("a body mutation is sent Go-encoded with its Content-Length", "[session][mutation]") {
  auto chain = make_chain({{"test-body-mutator", "test-body-mutator", ""}});
  SECTION("buffered") {
    bbr::Session session(*chain, buffered());
    auto run = feed(session, {body_message(true, R"({"prompt":"hello"})", true)});
    CHECK(text_of(run.responses) ==
          text_of_expected({"request_body { response { header_mutation { " +
                            header("Content-Length", "42") +
                            R"( } body_mutation { body: '{"injected":"test-value","prompt":"hello"}' })"
                            " clear_route_cache: true } }"}));
  }
  SECTION("streamed") {
    bbr::Session session(*chain, streamed());
    auto run = feed(session, {request_headers(false), body_message(true, R"({"prompt":"hello"})", true)});
    CHECK(text_of(run.responses) ==
          text_of_expected({"request_headers { response { header_mutation { " +
                                header("Content-Length", "42") + " } clear_route_cache: true } }",
                            R"(request_body { response { body_mutation { streamed_response { body: '{"injected":"test-value","prompt":"hello"}' end_of_stream: true } } } })"}));
  }
}

TEST_CASE("response plugins mutate a JSON response; a non-JSON response passes untouched",
          "[session][response]") {
  auto chain = make_chain({{"test-body-mutator", "guardrail", R"({"field":"guardrail","value":"applied"})",
                            false, true}});
  const std::string response = R"({"choices":[{"text":"Hello!"}]})";
  SECTION("buffered JSON") {
    bbr::Session session(*chain, buffered());
    auto run = feed(session, {parse_request("response_headers { end_of_stream: false }"),
                              body_message(false, response, true)});
    CHECK(text_of(run.responses) ==
          text_of_expected({"response_headers {}",
                            "response_body { response { header_mutation { " +
                                header("Content-Length", "53") +
                                R"( } body_mutation { body: '{"choices":[{"text":"Hello!"}],"guardrail":"applied"}' })"
                                " clear_route_cache: true } }"}));
  }
  SECTION("buffered, not JSON") {
    bbr::Session session(*chain, buffered());
    auto run = feed(session, {body_message(false, "data: [DONE]\n\n", true)});
    CHECK(text_of(run.responses) == text_of_expected({"response_body {}"}));
  }
  SECTION("streamed, not JSON: empty headers answer then the same bytes") {
    bbr::Session session(*chain, streamed());
    auto run = feed(session, {parse_request("response_headers { end_of_stream: false }"),
                              body_message(false, "data: x\n\n", false),
                              body_message(false, "data: [DONE]\n\n", true)});
    CHECK(text_of(run.responses) ==
          text_of_expected({"response_headers {}",
                            "response_body { response { body_mutation { streamed_response { body: "
                            "'data: x\\n\\ndata: [DONE]\\n\\n' end_of_stream: true } } } }"}));
  }
}

TEST_CASE("without response plugins a buffered response is answered empty, a streamed one passes through chunk by chunk",
          "[session][response]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  const std::string response = R"({"choices":[{"text":"Hello!"}]})";
  {
    bbr::Session session(*chain, buffered());
    auto run = feed(session, {body_message(false, response, true), parse_request("response_trailers {}")});
    CHECK(text_of(run.responses) == text_of_expected({"response_body {}", "response_trailers {}"}));
  }
  {
    // Each message is answered before the next is fed: nothing is held.
    bbr::Session session(*chain, streamed());
    CHECK(text_of(session.on_request(parse_request("response_headers { end_of_stream: false }")).take_all()) ==
          text_of_expected({"response_headers {}"}));
    CHECK(text_of(session.on_request(body_message(false, response.substr(0, 10), false)).take_all()) ==
          text_of_expected({R"(response_body { response { body_mutation { streamed_response { body: '{"choices"' } } } })"}));
    CHECK(text_of(session.on_request(body_message(false, response.substr(10), true)).take_all()) ==
          text_of_expected({R"(response_body { response { body_mutation { streamed_response { body: ':[{"text":"Hello!"}]}' end_of_stream: true } } } })"}));
  }
}

TEST_CASE("a streamed response chunk larger than 62000 bytes passes through split as the reference splits",
          "[session][response]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  session.on_request(parse_request("response_headers { end_of_stream: false }"));
  const std::string chunk(70027, 'x');
  auto answers = session.on_request(body_message(false, chunk, false)).take_all();
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].response_body().response().body_mutation().streamed_response().body().size() == 62000);
  CHECK(answers[1].response_body().response().body_mutation().streamed_response().body().size() == 8027);
  CHECK_FALSE(answers[1].response_body().response().body_mutation().streamed_response().end_of_stream());
  auto last = session.on_request(body_message(false, "", true)).take_all();
  REQUIRE(last.size() == 1);
  CHECK(last[0].response_body().response().body_mutation().streamed_response().end_of_stream());
}

TEST_CASE("a plugin's reject answers with its status and body and ends the stream", "[session][errors]") {
  auto chain = make_chain({{"test-rejecter", "guard", R"({"status":403,"body":"{\"error\":\"no\"}"})"},
                           {"test-header-setter", "never-reached", ""}});
  bbr::Session session(*chain, streamed());
  auto run = feed(session, {request_headers(false), body_message(true, R"({"model":"m"})", true)});
  CHECK(run.finished);
  CHECK(text_of(run.responses) ==
        text_of_expected({R"(immediate_response { status { code: Forbidden } headers { set_headers { header { key: "content-type" raw_value: "application/json" } append_action: OVERWRITE_IF_EXISTS_OR_ADD } } body: '{"error":"no"}' })"}));
}

TEST_CASE("a typed plugin failure becomes the reference's immediate response", "[session][errors]") {
  auto chain = make_chain({{"test-failer", "f", R"({"result":429,"message":"slow down"})"}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, "{}", true)});
  CHECK(run.finished);
  CHECK(text_of(run.responses) ==
        text_of_expected({"immediate_response { status { code: TooManyRequests } body: 'inference "
                          "error: ResourceExhausted - slow down' }"}));
}

TEST_CASE("a plugin that throws becomes 500 with the exception's text", "[session][errors]") {
  auto chain = make_chain({{"test-failer", "f", R"({"throw":true,"message":"boom"})"}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, "{}", true)});
  CHECK(text_of(run.responses) ==
        text_of_expected({"immediate_response { status { code: InternalServerError } body: "
                          "'inference error: Internal - boom' }"}));
}

TEST_CASE("a plugin result outside bbr_result_t is answered 500 naming the plugin and the value",
          "[session][errors]") {
  auto chain = make_chain({{"test-failer", "odd", R"({"result":7,"message":"strange"})"}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, "{}", true)});
  CHECK_FALSE(run.error);
  CHECK(text_of(run.responses) ==
        text_of_expected({"immediate_response { status { code: InternalServerError } body: "
                          "'inference error: Internal - plugin odd returned unknown result 7' }"}));
}

TEST_CASE("a header value with CR or LF is refused with 400, never forwarded", "[session][errors]") {
  auto chain = make_chain({{"body-field-to-header", "m",
                            R"({"fieldName":"model","headerName":"X-Gateway-Model-Name"})"}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, R"({"model":"a\r\nx-evil: 1"})", true)});
  REQUIRE(run.responses.size() == 1);
  CHECK(run.responses[0].immediate_response().status().code() == 400);
  CHECK(run.responses[0].immediate_response().body().find("X-Gateway-Model-Name") != std::string::npos);
}

TEST_CASE("reject_with refuses a header value with CR or LF as set_header does: 400, never forwarded",
          "[session][errors]") {
  // The same value through set_header and through reject_with: one answer.
  auto setter = make_chain({{"test-header-setter", "s", R"({"name":"x-a","value":"a\r\nx-evil: 1"})"}});
  auto rejecter = make_chain({{"test-rejecter", "r",
                               R"({"status":429,"headerName":"x-a","headerValue":"a\r\nx-evil: 1"})"}});
  bbr::Session by_set(*setter, buffered());
  bbr::Session by_reject(*rejecter, buffered());
  auto set_run = feed(by_set, {body_message(true, "{}", true)});
  auto reject_run = feed(by_reject, {body_message(true, "{}", true)});
  REQUIRE(set_run.responses.size() == 1);
  CHECK(set_run.responses[0].immediate_response().status().code() == 400);
  CHECK(text_of(reject_run.responses) == text_of(set_run.responses));
  CHECK(reject_run.finished);
}

TEST_CASE("route cache DEFAULT: every answer carrying the chain's result clears it, changed or not",
          "[session][headers]") {
  // The set is the client's own header and value: nothing changes, the
  // route cache is still cleared (plugin.h, BBR_ROUTE_CACHE_DEFAULT).
  auto chain = make_chain({{"test-header-setter", "same", R"({"name":"hi","value":"mom"})"}});
  for (bool streamed_mode : {false, true}) {
    bbr::Session session(*chain, streamed_mode ? streamed() : buffered());
    auto run = feed(session, {request_headers(false), body_message(true, "{}", true)});
    REQUIRE(run.responses.size() >= 2);
    const auto& answer = streamed_mode ? run.responses[0].request_headers().response()
                                       : run.responses[1].request_body().response();
    CHECK(answer.header_mutation().set_headers_size() == (streamed_mode ? 1 : 0));  // Content-Length
    CHECK(answer.clear_route_cache());
  }
}

TEST_CASE("the body limit answers 413 as soon as it is crossed", "[session][limits]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::SessionOptions options = streamed();
  options.max_body_bytes = 100;
  bbr::Session session(*chain, options);
  CHECK(session.on_request(body_message(true, std::string(60, ' '), false)).exhausted());
  auto run = feed(session, {body_message(true, std::string(60, ' '), false)});
  CHECK(run.finished);
  REQUIRE(run.responses.size() == 1);
  CHECK(run.responses[0].immediate_response().status().code() == 413);
}

TEST_CASE("a streamed response over the limit passes through with the same bytes", "[session][limits]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::SessionOptions options = streamed();
  options.max_body_bytes = 100;
  bbr::Session session(*chain, options);
  std::string sent;
  std::string received;
  std::vector<ProcessingRequest> requests{parse_request("response_headers { end_of_stream: false }")};
  for (int i = 0; i < 5; ++i) {
    std::string chunk(40, static_cast<char>('a' + i));
    sent += chunk;
    requests.push_back(body_message(false, chunk, i == 4));
  }
  auto run = feed(session, requests);
  REQUIRE(!run.responses.empty());
  CHECK(run.responses[0].has_response_headers());
  for (const auto& r : run.responses) {
    if (r.has_response_body()) received += r.response_body().response().body_mutation().streamed_response().body();
  }
  CHECK(received == sent);
  CHECK(run.responses.back().response_body().response().body_mutation().streamed_response().end_of_stream());
}

TEST_CASE("protocol_config decides the mode over the flag", "[session][modes]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  SECTION("FULL_DUPLEX_STREAMED announced while the flag says buffered") {
    bbr::Session session(*chain, buffered());
    auto req = request_headers(false);
    req.mutable_protocol_config()->set_request_body_mode(
        envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::FULL_DUPLEX_STREAMED);
    CHECK(session.on_request(req).exhausted());
  }
  SECTION("NONE: no body will come, so headers are answered at once even with --streaming") {
    bbr::Session session(*chain, streamed());
    auto req = request_headers(false);
    req.mutable_protocol_config()->set_request_body_mode(
        envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::NONE);
    CHECK(text_of(session.on_request(req).take_all()) == text_of_expected({"request_headers {}"}));
  }
}

TEST_CASE("a set the client's exact header already holds is dropped, as in the reference",
          "[session][headers]") {
  auto chain = make_chain({{"test-header-setter", "same", R"({"name":"hi","value":"mom"})"},
                           {"test-header-setter", "other", R"({"name":"X-Other","value":"v","remove":"hi"})"}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {request_headers(false), body_message(true, "{}", true)});
  REQUIRE(run.responses.size() == 2);
  const auto& mutation = run.responses[1].request_body().response().header_mutation();
  REQUIRE(mutation.set_headers_size() == 1);
  CHECK(mutation.set_headers(0).header().key() == "X-Other");
  REQUIRE(mutation.remove_headers_size() == 1);
  CHECK(mutation.remove_headers(0) == "hi");
}

TEST_CASE("per-request state carries from the request plugins to the response plugins",
          "[session][state]") {
  auto chain = make_chain({{"test-state-carrier", "carrier", "", true, true}});
  bbr::Session session(*chain, buffered());
  auto run = feed(session, {body_message(true, R"({"model":"llama"})", true),
                            body_message(false, R"({"ok":true})", true)});
  REQUIRE(run.responses.size() == 2);
  const auto& mutation = run.responses[1].response_body().response().header_mutation();
  REQUIRE(mutation.set_headers_size() == 1);
  CHECK(mutation.set_headers(0).header().key() == "x-request-model");
  CHECK(mutation.set_headers(0).header().raw_value() == "llama");
}

TEST_CASE("a message with no request set ends the stream as malformed", "[session][errors]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, buffered());
  auto step = session.on_request(ProcessingRequest{});
  CHECK(step.finish);
  CHECK(step.error == bbr::Session::StreamError::kMalformedRequest);
  CHECK(step.error_message.find("none of request_headers") != std::string::npos);
}

// ---- hostile traffic (issue: routing headers only the chain decides) ---------------------

namespace {

ProcessingRequest headers_with(const std::vector<std::pair<std::string, std::string>>& headers,
                               bool end_of_stream) {
  ProcessingRequest r;
  auto* h = r.mutable_request_headers();
  for (const auto& [key, value] : headers) {
    auto* kv = h->mutable_headers()->add_headers();
    kv->set_key(key);
    kv->set_raw_value(value);
  }
  h->set_end_of_stream(end_of_stream);
  return r;
}

bbr::SessionOptions with_routing_headers(bbr::SessionOptions o) {
  o.routing_headers = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"x-gateway-model-name", "x-gateway-base-model-name"});
  return o;
}

}  // namespace

TEST_CASE("a client's own routing header is overwritten when the body decides it, removed when not",
          "[session][hostile]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  for (bool streaming : {false, true}) {
    INFO("streaming " << streaming);
    bbr::Session session(*chain, with_routing_headers(streaming ? streamed() : buffered()));
    // The body names model "real"; the client claims "attacker-choice" for
    // the model and sends a base-model header the body cannot back up.
    auto run = feed(session, {headers_with({{"x-gateway-model-name", "attacker-choice"},
                                            {"x-gateway-base-model-name", "spoofed-base"}},
                                           false),
                              body_message(true, llm_body("hi", "real"), true)});
    REQUIRE_FALSE(run.responses.empty());
    const auto& common = streaming ? run.responses[0].request_headers().response()
                                   : run.responses.back().request_body().response();
    bool model_overwritten = false;
    for (const auto& set : common.header_mutation().set_headers()) {
      if (set.header().key() == "X-Gateway-Model-Name") {
        CHECK(set.header().raw_value() == "real");
        CHECK(set.append_action() ==
              envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
        model_overwritten = true;
      }
    }
    CHECK(model_overwritten);
    // base-model-to-header sets "" for an unknown model, which overwrites too.
    bool base_decided = false;
    for (const auto& set : common.header_mutation().set_headers()) {
      if (set.header().key() == "X-Gateway-Base-Model-Name") base_decided = true;
    }
    CHECK(base_decided);
  }
}

TEST_CASE("a routing header no plugin sets is removed, also on a headers-only request",
          "[session][hostile]") {
  auto chain = make_chain({{"test-header-setter", "other", ""}});
  bbr::Session session(*chain, with_routing_headers(buffered()));
  auto run = feed(session, {headers_with({{"x-gateway-model-name", "attacker-choice"}}, true)});
  REQUIRE(run.responses.size() == 1);
  const auto& mutation = run.responses[0].request_headers().response().header_mutation();
  REQUIRE(mutation.remove_headers_size() == 1);
  CHECK(mutation.remove_headers(0) == "x-gateway-model-name");

  bbr::Session quiet(*chain, buffered());  // no routing headers configured: kept
  auto kept = feed(quiet, {headers_with({{"x-gateway-model-name", "client"}}, true)});
  CHECK(text_of(kept.responses) == text_of_expected({"request_headers {}"}));
}

TEST_CASE("a request body over the limit in one message answers 413 with a JSON error",
          "[session][hostile]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::SessionOptions options = buffered();
  options.max_body_bytes = 1 << 20;
  bbr::Session session(*chain, options);
  auto run = feed(session, {request_headers(false), body_message(true, std::string(2 << 20, 'x'), true)});
  CHECK(run.finished);
  REQUIRE(run.responses.size() == 2);
  const auto& ir = run.responses[1].immediate_response();
  CHECK(ir.status().code() == envoy::type::v3::PayloadTooLarge);
  CHECK(ir.body().find(R"("code":"request_too_large")") != std::string::npos);
  CHECK(ir.headers().set_headers(0).header().raw_value() == "application/json");
}

TEST_CASE("streamed trailers release the held answer before the trailers answer",
          "[session][streamed]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::Session session(*chain, streamed());
  const std::string body = llm_body("hi", "foo");
  auto run = feed(session, {request_headers(false), body_message(true, body, false),
                            parse_request("request_trailers {}")});
  REQUIRE(run.responses.size() == 3);
  CHECK(run.responses[0].has_request_headers());
  CHECK(run.responses[0].request_headers().response().clear_route_cache());
  const auto& chunk = run.responses[1].request_body().response().body_mutation().streamed_response();
  CHECK(chunk.body() == body);
  CHECK_FALSE(chunk.end_of_stream());  // the trailers still follow
  CHECK(run.responses[2].has_request_trailers());
}

TEST_CASE("a request body past the in-flight budget answers 503 with Retry-After; the share comes back",
          "[session][hostile]") {
  AdaptersDir dir;
  auto chain = reference_chain(dir);
  bbr::InflightBudget budget(100);
  bbr::SessionOptions options = streamed();
  options.inflight_budget = &budget;
  options.retry_after_seconds = 7;
  {
    bbr::Session holding(*chain, options);
    holding.on_request(request_headers(false));
    holding.on_request(body_message(true, std::string(80, ' '), false));
    CHECK(budget.used() == 80);

    bbr::Session shed(*chain, options);
    auto run = feed(shed, {request_headers(false), body_message(true, std::string(30, ' '), false)});
    CHECK(run.finished);
    REQUIRE(run.responses.size() == 1);
    const auto& ir = run.responses[0].immediate_response();
    CHECK(ir.status().code() == envoy::type::v3::ServiceUnavailable);
    bool retry_after = false;
    for (const auto& h : ir.headers().set_headers()) {
      if (h.header().key() == "retry-after") retry_after = h.header().raw_value() == "7";
    }
    CHECK(retry_after);
  }
  CHECK(budget.used() == 0);
}

TEST_CASE("a chunk's hand-made wire form is byte for byte protobuf's serialisation",
          "[session][streamed]") {
  for (auto phase : {BBR_PHASE_REQUEST, BBR_PHASE_RESPONSE}) {
    for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{127}, std::size_t{128},
                               std::size_t{16383}, std::size_t{16384}, std::size_t{62000}}) {
      for (bool eos : {false, true}) {
        INFO("phase " << phase << " length " << length << " eos " << eos);
        bbr::Session::Step::Chunk chunk;
        chunk.phase = phase;
        chunk.body = std::make_shared<const std::string>(length + 10, 'q');
        chunk.offset = 10;
        chunk.length = length;
        chunk.end_of_stream = eos;
        std::string before, after;
        bbr::encode_chunk_envelope(chunk, before, after);
        const std::string handmade = before + chunk.body->substr(10, length) + after;

        ProcessingResponse expected;
        auto* streamed = (phase == BBR_PHASE_REQUEST ? expected.mutable_request_body()
                                                     : expected.mutable_response_body())
                             ->mutable_response()
                             ->mutable_body_mutation()
                             ->mutable_streamed_response();
        streamed->set_body(std::string(length, 'q'));
        streamed->set_end_of_stream(eos);
        CHECK(handmade == expected.SerializeAsString());
      }
    }
  }
}
