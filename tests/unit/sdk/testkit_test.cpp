// The test kit (bbr/testkit.hpp) on a plugin written with plugin.hpp alone
// (probe_plugin.cpp), linked in and loaded from its .so, and on the in-tree
// plugins: what the kit reports is what the server's session answers.
#include <bbr/testkit.hpp>

#include "probe_plugin.hpp"

#include <catch2/catch.hpp>

#include <string>

using bbr::testkit::Plugin;

namespace {

const char* kChat = R"({"model":"m1","n":3,"temperature":0.5,"stream":true,
  "messages":[{"role":"user","content":"hello"}]})";

Plugin probe(const std::string& params = "") { return Plugin::from_type(probe_type(), params); }

}  // namespace

TEST_CASE("testkit: a linked-in plugin type runs on a request and its headers are reported") {
  auto r = probe().request({{":path", "/v1/chat/completions"}}, kChat);
  CHECK_FALSE(r.rejected());
  CHECK(r.status() == 0);
  CHECK(r.header("x-probe-model") == "m1");
  CHECK(r.header("X-PROBE-MODEL") == "m1");  // names compare case-insensitively
  CHECK(r.header("x-probe-n") == "3");
  CHECK(r.header("x-probe-temperature") == "0.500000");
  CHECK(r.header("x-probe-stream") == "yes");
  CHECK(r.header("x-probe-members") == "model,n,temperature,stream,messages");
  // json_text is the value's compact text (members in the host's order).
  auto first = r.header("x-probe-first-message").value_or("");
  CHECK(first.find(R"("role":"user")") != std::string::npos);
  CHECK(first.find(R"("content":"hello")") != std::string::npos);
  CHECK(r.header("x-probe-first-content") == "hello");
  // :method, :path, content-type: the kit's defaults fill what the test left out.
  CHECK(r.header("x-probe-header-count") == "3");
  CHECK_FALSE(r.header("x-not-set"));
  CHECK_FALSE(r.body_changed());
  CHECK(r.body() == kChat);
  CHECK(r.clear_route_cache());
}

TEST_CASE("testkit: a plugin loaded from its .so by type name behaves as the linked-in one") {
  auto p = Plugin::load(BBR_SDK_PROBE_SO, "sdk-probe", R"({"prefix":"x-so-"})");
  CHECK(p.type_name() == "sdk-probe");
  CHECK((p.capabilities() & BBR_CAP_REQUEST) != 0);
  auto r = p.request({}, kChat);
  CHECK(r.header("x-so-model") == "m1");
}

TEST_CASE("testkit: what a plugin logs while created is kept in create_logs") {
  auto p = Plugin::load(std::string(BBR_PLUGIN_OUTPUT_DIR) + "/base-model-to-header.so",
                        "base-model-to-header", R"({"adaptersDir":"/nonexistent/adapters"})");
  REQUIRE_FALSE(p.create_logs().empty());
  CHECK(p.create_logs()[0].level == BBR_LOG_WARN);
  CHECK(p.create_logs()[0].plugin == "base-model-to-header");
  CHECK(p.create_logs()[0].text.find("/nonexistent/adapters") != std::string::npos);
}

TEST_CASE("testkit: a missing library, a missing type and a failing create throw with the text") {
  CHECK_THROWS_WITH(Plugin::load("/nonexistent/x.so", "t"), Catch::Contains("/nonexistent/x.so"));
  CHECK_THROWS_WITH(
      Plugin::load(BBR_SDK_PROBE_SO, "no-such-type"),
      Catch::Contains("no plugin type 'no-such-type'") && Catch::Contains("sdk-probe"));
  CHECK_THROWS_AS(probe(R"({"refuse":true})"), bbr::testkit::Error);
  CHECK_THROWS_WITH(probe(R"({"refuse":true})"),
                    Catch::Contains("probe refuses: parameter refuse is true"));
}

TEST_CASE("testkit: body edits come back as the body the host forwards") {
  auto r = probe().request({{"x-probe", "edit"}}, R"({"model":"m1","stream":true})");
  CHECK(r.body_changed());
  // The Json value arrived as built (the host orders members its own way).
  CHECK(r.body().find(R"("quote":"say \"hi\"\n")") != std::string::npos);
  CHECK(r.body().find(R"("list":[1,2.5,true,null])") != std::string::npos);
  CHECK(r.body().find("stream") == std::string::npos);
  // The host sets Content-Length for a changed body, as it does for Envoy.
  CHECK(r.header("content-length") == std::to_string(r.body().size()));
}

TEST_CASE("testkit: reject answers with the plugin's status, body and the JSON content-type") {
  auto r = probe().request({{"x-probe", "reject"}}, kChat);
  CHECK(r.rejected());
  CHECK(r.status() == 429);
  CHECK(r.rejection_body() == R"({"error":"slow down"})");
  CHECK(r.rejection_header("content-type") == "application/json");
}

TEST_CASE("testkit: a failing plugin is answered with the reference's error text") {
  auto r = probe().request({{"x-probe", "fail"}}, kChat);
  CHECK(r.rejected());
  CHECK(r.status() == 403);
  CHECK(r.rejection_body() == "inference error: Forbidden - probe failed on purpose");

  auto t = probe().request({{"x-probe", "throw"}}, kChat);
  CHECK(t.status() == 500);
  CHECK(t.rejection_body() == "inference error: Internal - probe threw on purpose");
}

TEST_CASE("testkit: a body that is not JSON is answered 400 by the host, not the plugin") {
  auto r = probe().request({}, "not json");
  CHECK(r.status() == 400);
  CHECK(r.rejection_body().find("failed to parse request body") != std::string::npos);
}

TEST_CASE("testkit: counters report how much they grew during the call, by label value") {
  auto p = probe();
  auto first = p.request({}, R"({"model":"a"})");
  CHECK(first.counter("probe_models_total") == 1);
  CHECK(first.counter("probe_models_total", "a") == 1);
  CHECK(first.counter("probe_models_total", "b") == 0);
  auto second = p.request({}, R"({"model":"b"})");
  CHECK(second.counter("probe_models_total", "a") == 0);  // growth, not the total
  CHECK(second.counter("probe_models_total", "b") == 1);
  // The host's own per-plugin series are there too.
  CHECK(second.observations("bbr_plugin_duration_seconds") == 1);
}

TEST_CASE("testkit: 1.1 calls answer through plugin.hpp as the host's table allows") {
  auto r = probe().request({{"x-probe", "metadata"}}, R"({"model":"a"})");
  REQUIRE(r.header("x-probe-abi-minor"));
  if (*r.header("x-probe-abi-minor") == "0") {
    // A 1.0 host: every 1.1 wrapper says BBR_UNSUPPORTED (5) and counts nothing.
    CHECK(r.header("x-probe-counter-status") == "5");
    CHECK(r.header("x-probe-metadata-status") == "5");
    CHECK(r.counter("probe_requests_total") == 0);
  } else {
    CHECK(r.header("x-probe-counter-status") == "0");
    CHECK(r.counter("probe_requests_total", "a") == 1);
    CHECK(r.observations("probe_body_bytes") == 1);
    CHECK(r.header("x-probe-metadata-status") == "0");
  }
}

TEST_CASE("testkit: plugin.hpp's for_each walks, stops early, and rethrows the lambda's throw") {
  auto r = probe(R"({"prefix":"x-probe-","refuse":false})")
               .request({{"x-probe", "walk"}}, R"({"model":"m","messages":[{"role":"system"},
                 {"role":"user"}],"z":1})");
  if (r.header("x-probe-abi-minor") == "0") return;  // 1.0 host: no for_each
  CHECK(r.header("x-probe-roles") == "0:system,1:user");
  CHECK(r.header("x-probe-first-two") == "model,messages");
  CHECK(r.header("x-probe-walk-threw") == "from lambda");
  CHECK(r.header("x-probe-walk-scalar") == std::to_string(BBR_WRONG_TYPE));
  CHECK(r.header("x-probe-params") == "prefix,refuse");
}

TEST_CASE("testkit: parameter_for_each walks the parameters in the order they were written") {
  // plugin.h promises document order: not sorted, not the order of any map.
  auto r = probe(R"({"refuse":false,"zeta":1,"prefix":"x-probe-","alpha":2})")
               .request({{"x-probe", "walk"}}, R"({"model":"m","messages":[]})");
  if (r.header("x-probe-abi-minor") == "0") return;  // 1.0 host: no for_each
  CHECK(r.header("x-probe-params") == "refuse,zeta,prefix,alpha");
}

TEST_CASE("testkit: plugin.hpp's typed setters write JSON the host makes") {
  auto r = probe().request({{"x-probe", "typed"}}, R"({"model":"m"})");
  if (r.header("x-probe-abi-minor") == "0") return;  // 1.0 host: no typed setters
  CHECK(r.body_changed());
  CHECK(r.body().find(R"("s":"a\"b")") != std::string::npos);
  CHECK(r.body().find(R"("i":7)") != std::string::npos);
  CHECK(r.body().find(R"("f":0.25)") != std::string::npos);
  CHECK(r.body().find(R"("b":false)") != std::string::npos);
}

TEST_CASE("testkit: plugin.hpp's message info and prompt text") {
  auto r = probe().request({{"x-probe", "info"}, {":path", "/v1/chat/completions"}},
                           R"({"model":"m","messages":[{"role":"user","content":"hi"},
                             {"role":"user","content":"there"}]})");
  if (r.header("x-probe-abi-minor") == "0") return;  // 1.0 host
  CHECK(r.header("x-probe-unit") == std::to_string(BBR_BODY_WHOLE));
  CHECK(r.header("x-probe-path") == "/v1/chat/completions");
  CHECK(r.header("x-probe-prompt") == "hi|there");
}

TEST_CASE("testkit: dynamic metadata a plugin sets reaches the answer") {
  auto r = probe().request({{"x-probe", "metadata"}}, R"({"model":"a"})");
  CHECK(r.metadata("envoy.lb", "probe") == R"({"model":"a"})");
}

TEST_CASE("testkit: reject_with's headers and details reach the answer") {
  auto r = probe().request({{"x-probe", "reject-with"}}, R"({"model":"a"})");
  CHECK(r.status() == 429);
  CHECK(r.rejection_body() == "slow down");
  CHECK(r.rejection_header("retry-after") == "3");
  CHECK(r.rejection_header("content-type") == "text/plain");
  CHECK(r.details() == "probe says no");
  CHECK(r.stopped_by() == "sdk-probe");
}

TEST_CASE("testkit: a plugin's route-cache choice reaches the answer") {
  auto changed = probe().request({}, R"({"model":"a"})");
  CHECK(changed.clear_route_cache());  // headers changed: the host's default clears it
  auto kept = probe().request({{"x-probe", "keep-route"}}, R"({"model":"a"})");
  CHECK(kept.header("x-probe-route-status") == "0");
  CHECK_FALSE(kept.clear_route_cache());
}

TEST_CASE("testkit: Envoy's attributes and metadata given to an exchange reach the plugin") {
  bbr::testkit::Exchange x;
  x.request_headers = {{"x-probe", "context"}};
  x.request_body = R"({"model":"a"})";
  x.attributes["request.id"] = R"("req-1")";
  x.metadata["envoy.lb"]["tenant"] = R"({"name":"t1"})";
  auto r = probe().exchange(x).request;
  CHECK(r.header("x-probe-attribute") == R"("req-1")");
  CHECK(r.header("x-probe-tenant") == R"({"name":"t1"})");
  CHECK_THROWS_AS(
      [&] {
        auto bad = x;
        bad.attributes["request.id"] = "not json";
        probe().exchange(bad);
      }(),
      bbr::testkit::Error);
}

TEST_CASE("testkit: a plugin's log lines come back with the result, every level") {
  auto r = probe().request({}, R"({"model":"a"})");
  REQUIRE(r.logs().size() == 2);
  CHECK(r.logs()[0].level == BBR_LOG_INFO);
  CHECK(r.logs()[0].plugin == "sdk-probe");
  CHECK(r.logs()[0].text == "probe saw model a");
  // DEBUG is kept whatever the process's verbosity.
  CHECK(r.logs()[1].level == BBR_LOG_DEBUG);
  CHECK(r.logs()[1].text == "probe debug line");
  CHECK(r.logged("saw model a"));
  CHECK_FALSE(r.logged("nothing like this"));
}

TEST_CASE("testkit: the plugin that stopped the chain and its error are reported") {
  auto r = probe().request({{"x-probe", "fail"}}, kChat);
  CHECK(r.stopped_by() == "sdk-probe");
  CHECK(r.error() == "probe failed on purpose");
  auto host = probe().request({}, "not json");
  CHECK(host.stopped_by().empty());  // the host answered, not a plugin
}

TEST_CASE("testkit: a response plugin sees the response and its edits are forwarded") {
  auto r = probe().response({{":status", "200"}}, R"({"id":"x"})");
  CHECK_FALSE(r.rejected());
  CHECK(r.header("x-probe-response") == "200");
  CHECK(r.body() == R"({"id":"x","probed":true})");
  CHECK(r.body_changed());
}

TEST_CASE("testkit: an exchange reports the request and the response separately") {
  bbr::testkit::Exchange x;
  x.request_headers = {{":path", "/v1/completions"}};
  x.request_body = R"({"model":"m9"})";
  x.response_headers =
      bbr::testkit::Headers{{":status", "200"}, {"content-type", "application/json"}};
  x.response_body = {R"({"id":)", R"("y"})"};  // delivered in two pieces
  auto out = probe().exchange(x);
  CHECK(out.request.header("x-probe-model") == "m9");
  CHECK_FALSE(out.request.header("x-probe-response"));
  CHECK(out.response.header("x-probe-response") == "200");
  CHECK(out.response.body() == R"({"id":"y","probed":true})");
}

TEST_CASE("testkit: a streamed text/event-stream response comes back as chunks and events") {
  auto r = Plugin::from_type(stream_probe_type())
               .response_sse({}, {"data: {\"a\":1}\n\n", "event: note\ndata: x\n",
                                  "\ndata: drop-me\n\ndata: add-after\n\ndata: [DONE]\n\n"});
  CHECK_FALSE(r.rejected());
  CHECK(r.chunks().size() >= 2);  // forwarded as events complete, not held to the end
  auto events = r.events();
  // The plugin dropped "drop-me" and added an event after "add-after".
  REQUIRE(events.size() == 5);
  CHECK(events[0].data == R"({"a":1})");
  CHECK(events[1].name == "note");
  CHECK(events[1].data == "x");
  CHECK(events[2].data == "add-after");
  CHECK(events[3].name == "added");
  CHECK(events[3].data == "extra");
  CHECK(events[4].data == "[DONE]");
}

TEST_CASE("testkit: chains run plugins in order; later ones see earlier headers") {
  std::string so_dir = BBR_PLUGIN_OUTPUT_DIR;
  auto model = Plugin::load(so_dir + "/body-field-to-header.so", "body-field-to-header",
                            R"({"fieldName":"model","headerName":"x-model"})");
  auto echo = probe(R"({"prefix":"x-after-"})");
  bbr::testkit::Chain chain({model, echo});
  auto r = chain.request({}, R"({"model":"m1"})");
  CHECK(r.header("x-model") == "m1");
  // The probe counted the headers after body-field-to-header set its one.
  CHECK(r.header("x-after-header-count") == "4");
}
