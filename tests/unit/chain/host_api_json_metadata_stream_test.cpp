// The host calls for JSON walks and typed setters, Envoy's attributes and
// metadata, the route cache, reject_with, SSE events, metrics and parameter
// walks, called exactly as a plugin calls them: through the bbr_host_api_t
// table with opaque handles.
#include "chain/host_api.hpp"
#include "chain/message.hpp"
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace {

const bbr_host_api_t& api() { return *bbr::host_api(); }

std::string str(bbr_buffer_t b) { return std::string(b.data, b.length); }

struct Fixture {
  bbr::RequestState state;
  bbr::Message msg;
  explicit Fixture(std::string body, bbr_phase_t phase = BBR_PHASE_REQUEST)
      : msg(phase, {{"content-type", "application/json"}}, bbr::JsonBody(std::move(body)), state) {}
  bbr_message_t* handle() { return bbr::to_handle(&msg); }
  std::string body() { return msg.body().raw(); }
};

struct Seen {
  size_t index;
  std::string name;
  std::string pointer;
  bbr_json_type_t type;
  std::string string;
  int64_t integer;
};

struct Walk {
  std::vector<Seen> seen;
  // Views handed to earlier visits, read again after the walk.
  std::vector<bbr_buffer_t> pointers;
  size_t stop_after = SIZE_MAX;
};

int32_t record(void* user, const bbr_json_entry_t* e) {
  auto* w = static_cast<Walk*>(user);
  w->seen.push_back(Seen{e->index, str(e->name), str(e->pointer), e->value.type,
                         e->value.type == BBR_JSON_STRING ? str(e->value.string) : "",
                         e->value.integer});
  w->pointers.push_back(e->pointer);
  return w->seen.size() >= w->stop_after ? 1 : 0;
}

}  // namespace

TEST_CASE("the table is the whole 1.1 table", "[host_api][table]") {
  CHECK(api().struct_size == sizeof(bbr_host_api_t));
  CHECK(api().abi_major == BBR_ABI_MAJOR);
  CHECK(api().abi_minor == BBR_ABI_MINOR);
  CHECK(BBR_HAS_FIELD(&api(), bbr_host_api_t, parameter_for_each));
  // Every slot is filled.
  const void* const* slots = reinterpret_cast<const void* const*>(
      reinterpret_cast<const char*>(&api()) + offsetof(bbr_host_api_t, phase));
  size_t count = (sizeof(bbr_host_api_t) - offsetof(bbr_host_api_t, phase)) / sizeof(void*);
  for (size_t i = 0; i < count; ++i) CHECK(slots[i] != nullptr);
}

TEST_CASE("message_info reports the unit, the position and the request path", "[host_api][message_info]") {
  Fixture f("{}", BBR_PHASE_RESPONSE);
  f.msg.set_request_path("/v1/chat/completions");
  bbr::BodyPosition p;
  p.unit = BBR_BODY_SSE_EVENT;
  p.sequence = 4;
  p.sse_done = true;
  p.event_name = "delta";
  p.event_id = "7";
  f.msg.set_position(p);
  bbr_message_info_t info{};
  info.struct_size = sizeof(info);
  REQUIRE(api().message_info(f.handle(), &info) == BBR_OK);
  CHECK(info.unit == BBR_BODY_SSE_EVENT);
  CHECK(info.sequence == 4);
  CHECK(info.end_of_stream == 0);
  CHECK(info.sse_done == 1);
  CHECK(str(info.request_path) == "/v1/chat/completions");
  CHECK(str(info.event_name) == "delta");
  CHECK(str(info.event_id) == "7");

  // A plugin whose struct ends before request_path gets no more than that.
  struct {
    bbr_message_info_t info;
  } old{};
  std::memset(&old, 0x5A, sizeof old);
  old.info.struct_size = offsetof(bbr_message_info_t, request_path);
  REQUIRE(api().message_info(f.handle(), &old.info) == BBR_OK);
  CHECK(old.info.struct_size == offsetof(bbr_message_info_t, request_path));
  CHECK(old.info.sequence == 4);
  CHECK(reinterpret_cast<const unsigned char*>(&old.info.request_path)[0] == 0x5A);

  bbr_message_info_t zero{};
  CHECK(api().message_info(f.handle(), &zero) == BBR_INVALID_ARGUMENT);
}

TEST_CASE(
    "json_for_each walks an array and an object once, in document order, with escaped "
    "pointers",
    "[host_api][json]") {
  Fixture f(R"({"list":["a",2,{"k":1}],"obj":{"z":1,"a/b":"s","t~x":3,"z":9}})");
  Walk w;
  REQUIRE(api().json_for_each(f.handle(), "/list", 5, record, &w) == BBR_OK);
  REQUIRE(w.seen.size() == 3);
  CHECK(w.seen[0].pointer == "/list/0");
  CHECK(w.seen[0].name.empty());
  CHECK(w.seen[0].string == "a");
  CHECK(w.seen[1].integer == 2);
  CHECK(w.seen[2].type == BBR_JSON_OBJECT);
  CHECK(w.seen[2].pointer == "/list/2");
  // Every pointer view handed out is still good after the walk.
  CHECK(str(w.pointers[0]) == "/list/0");

  Walk o;
  REQUIRE(api().json_for_each(f.handle(), "/obj", 4, record, &o) == BBR_OK);
  REQUIRE(o.seen.size() == 3);  // the duplicate "z": once, first place, last value
  CHECK(o.seen[0].name == "z");
  CHECK(o.seen[0].integer == 9);
  CHECK(o.seen[1].name == "a/b");
  CHECK(o.seen[1].pointer == "/obj/a~1b");
  CHECK(o.seen[2].pointer == "/obj/t~0x");
  CHECK(o.seen[2].index == 2);
  // The entry's pointer resolves with json_get.
  bbr_json_value_t v{};
  v.struct_size = sizeof(v);
  REQUIRE(api().json_get(f.handle(), o.seen[1].pointer.data(), o.seen[1].pointer.size(), &v) ==
          BBR_OK);
  CHECK(str(v.string) == "s");

  Walk stop;
  stop.stop_after = 1;
  CHECK(api().json_for_each(f.handle(), "", 0, record, &stop) == BBR_OK);
  CHECK(stop.seen.size() == 1);

  Walk none;
  CHECK(api().json_for_each(f.handle(), "/list/0", 7, record, &none) == BBR_WRONG_TYPE);
  CHECK(api().json_for_each(f.handle(), "/absent", 7, record, &none) == BBR_NOT_FOUND);
  Fixture bad("not json");
  CHECK(api().json_for_each(bad.handle(), "", 0, record, &none) == BBR_NOT_JSON);
}

TEST_CASE("json_for_each walks an edited document too (the mutable side)", "[host_api][json]") {
  Fixture f(R"({"a":[1,2]})");
  REQUIRE(api().json_set_integer(f.handle(), "/a/-", 4, 3) == BBR_OK);
  Walk w;
  REQUIRE(api().json_for_each(f.handle(), "/a", 2, record, &w) == BBR_OK);
  REQUIRE(w.seen.size() == 3);
  CHECK(w.seen[2].integer == 3);
  CHECK(w.seen[2].pointer == "/a/2");
}

namespace {
struct EditInWalk {
  bbr_message_t* msg;
  std::vector<bbr_status_t> statuses;
};
int32_t edit_during_walk(void* user, const bbr_json_entry_t*) {
  auto* e = static_cast<EditInWalk*>(user);
  e->statuses.push_back(api().json_set(e->msg, "/x", 2, "1", 1));
  e->statuses.push_back(api().json_set_string(e->msg, "/x", 2, "s", 1));
  e->statuses.push_back(api().json_remove(e->msg, "/a", 2));
  e->statuses.push_back(api().replace_body(e->msg, "{}", 2));
  return 1;
}
}  // namespace

TEST_CASE("edits during json_for_each answer BBR_UNSUPPORTED; after the walk they work",
          "[host_api][json]") {
  Fixture f(R"({"a":[1]})");
  EditInWalk e{f.handle(), {}};
  REQUIRE(api().json_for_each(f.handle(), "/a", 2, edit_during_walk, &e) == BBR_OK);
  CHECK(e.statuses == std::vector<bbr_status_t>{BBR_UNSUPPORTED, BBR_UNSUPPORTED, BBR_UNSUPPORTED,
                                                BBR_UNSUPPORTED});
  CHECK(api().json_set(f.handle(), "/x", 2, "1", 1) == BBR_OK);
}

TEST_CASE("typed setters make the JSON text; bad UTF-8 and non-finite numbers are refused",
          "[host_api][json]") {
  Fixture f(R"({"model":"m"})");
  const char quoted[] = "say \"hi\"\n\\";
  CHECK(api().json_set_string(f.handle(), "/s", 2, quoted, sizeof(quoted) - 1) == BBR_OK);
  CHECK(api().json_set_integer(f.handle(), "/i", 2, std::numeric_limits<int64_t>::min()) == BBR_OK);
  CHECK(api().json_set_number(f.handle(), "/n", 2, 0.1) == BBR_OK);
  CHECK(api().json_set_bool(f.handle(), "/b", 2, 5) == BBR_OK);
  CHECK(f.body() ==
        R"({"b":true,"i":-9223372036854775808,"model":"m","n":0.1,"s":"say \"hi\"\n\\"})");

  const char bad_utf8[] = "\xC3\x28";
  CHECK(api().json_set_string(f.handle(), "/s", 2, bad_utf8, 2) == BBR_INVALID_ARGUMENT);
  CHECK(api().json_set_number(f.handle(), "/n", 2, std::nan("")) == BBR_INVALID_ARGUMENT);
  CHECK(api().json_set_number(f.handle(), "/n", 2, INFINITY) == BBR_INVALID_ARGUMENT);
  CHECK(api().json_set_string(f.handle(), "/no/parent", 10, "x", 1) == BBR_NOT_FOUND);
  bbr_json_value_t v{};
  v.struct_size = sizeof(v);
  REQUIRE(api().json_get(f.handle(), "/s", 2, &v) == BBR_OK);
  CHECK(str(v.string) == quoted);
}

TEST_CASE("prompt_text reads the prompt by endpoint, only in the request phase",
          "[host_api][prompt_text]") {
  Fixture f(R"({"messages":[{"role":"user","content":"hi"},{"role":"user","content":"there"}]})");
  bbr_buffer_t text{};
  CHECK(api().prompt_text(f.handle(), &text) == BBR_NOT_FOUND);  // no path: no endpoint
  f.msg.set_request_path("/v1/chat/completions");
  REQUIRE(api().prompt_text(f.handle(), &text) == BBR_OK);
  CHECK(str(text) == "hi\nthere");
  Fixture r(R"({})", BBR_PHASE_RESPONSE);
  r.msg.set_request_path("/v1/chat/completions");
  CHECK(api().prompt_text(r.handle(), &text) == BBR_UNSUPPORTED);
}

TEST_CASE("reject_with keeps status, body, headers and details; headers checked as set_header's",
          "[host_api][reject]") {
  Fixture f("{}");
  bbr_header_pair_t headers[] = {{{"retry-after", 11}, {"30", 2}},
                                 {{"content-type", 12}, {"text/plain", 10}}};
  bbr_reject_t r{};
  r.struct_size = sizeof(r);
  r.http_status = 429;
  r.body = {"slow down", 9};
  r.headers = headers;
  r.header_count = 2;
  r.details = {"guard_rate_limited", 18};
  REQUIRE(api().reject_with(f.handle(), &r) == BBR_OK);
  const auto& answer = f.msg.immediate_response();
  REQUIRE(answer.has_value());
  CHECK(answer->http_status == 429);
  CHECK(answer->body == "slow down");
  CHECK(answer->details == "guard_rate_limited");
  REQUIRE(answer->headers.size() == 2);
  CHECK(answer->headers[0].key == "retry-after");
  CHECK(answer->headers[1].value == "text/plain");

  // A value that could split the request: as with set_header, refused and
  // the answer becomes a 400 naming the header.
  Fixture split_reject("{}");
  bbr_header_pair_t split[] = {{{"x-a", 3}, {"a\r\nb", 4}}};
  r.headers = split;
  r.header_count = 1;
  CHECK(api().reject_with(split_reject.handle(), &r) == BBR_INVALID_ARGUMENT);
  Fixture split_set("{}");
  CHECK(api().set_header(split_set.handle(), "x-a", 3, "a\r\nb", 4) == BBR_INVALID_ARGUMENT);
  REQUIRE(split_reject.msg.immediate_response().has_value());
  REQUIRE(split_set.msg.immediate_response().has_value());
  CHECK(split_reject.msg.immediate_response()->http_status == 400);
  CHECK(split_reject.msg.immediate_response()->body == split_set.msg.immediate_response()->body);

  Fixture g("{}");
  bbr_header_pair_t protected_name[] = {{{"host", 4}, {"x", 1}}};
  r.headers = protected_name;
  CHECK(api().reject_with(g.handle(), &r) == BBR_INVALID_ARGUMENT);
  bbr_header_pair_t not_token[] = {{{"a b", 3}, {"x", 1}}};
  r.headers = not_token;
  CHECK(api().reject_with(g.handle(), &r) == BBR_INVALID_ARGUMENT);
  CHECK_FALSE(g.msg.immediate_response().has_value());
  r.headers = nullptr;
  r.header_count = 0;
  r.http_status = 600;
  CHECK(api().reject_with(g.handle(), &r) == BBR_INVALID_ARGUMENT);

  // The response has started: no answer can replace it.
  r.http_status = 500;
  for (bbr_body_unit_t unit : {BBR_BODY_CHUNK, BBR_BODY_SSE_EVENT, BBR_BODY_STREAM_END}) {
    Fixture s("{}", BBR_PHASE_RESPONSE);
    bbr::BodyPosition p;
    p.unit = unit;
    s.msg.set_position(p);
    CHECK(api().reject_with(s.handle(), &r) == BBR_UNSUPPORTED);
  }
}

TEST_CASE("dynamic metadata is validated JSON, one entry per namespace and key",
          "[host_api][metadata]") {
  Fixture f("{}");
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "model", 5, "\"m1\"", 4) == BBR_OK);
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "n", 1, "{\"a\":[1]}", 9) == BBR_OK);
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "model", 5, "\"m2\"", 4) == BBR_OK);
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "bad", 3, "{nope", 5) ==
        BBR_INVALID_ARGUMENT);
  CHECK(api().set_dynamic_metadata(f.handle(), "", 0, "k", 1, "1", 1) == BBR_INVALID_ARGUMENT);
  const auto& entries = f.msg.dynamic_metadata();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "model");
  CHECK(entries[0].json_value == "\"m2\"");
  CHECK(entries[1].json_value == "{\"a\":[1]}");
}

TEST_CASE("dynamic metadata nesting is bounded outside strings only", "[host_api][metadata]") {
  Fixture f("{}");
  // Brackets inside a string are text, not nesting.
  const std::string brackets = "\"" + std::string(2000, '[') + "\"";
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "s", 1, brackets.data(),
                                    brackets.size()) == BBR_OK);
  // Real nesting past 1000 levels is refused before the parse.
  const std::string deep = std::string(1001, '[') + std::string(1001, ']');
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "d", 1, deep.data(), deep.size()) ==
        BBR_INVALID_ARGUMENT);
  const std::string within = std::string(1000, '[') + std::string(1000, ']');
  CHECK(api().set_dynamic_metadata(f.handle(), "envoy.lb", 8, "w", 1, within.data(),
                                   within.size()) == BBR_OK);
}

TEST_CASE("route cache: any CLEAR wins, else any KEEP, else DEFAULT", "[host_api][route_cache]") {
  Fixture f("{}");
  CHECK(f.msg.route_cache() == BBR_ROUTE_CACHE_DEFAULT);
  CHECK(api().set_route_cache(f.handle(), BBR_ROUTE_CACHE_KEEP) == BBR_OK);
  CHECK(f.msg.route_cache() == BBR_ROUTE_CACHE_KEEP);
  CHECK(api().set_route_cache(f.handle(), BBR_ROUTE_CACHE_DEFAULT) == BBR_OK);
  CHECK(f.msg.route_cache() == BBR_ROUTE_CACHE_KEEP);
  CHECK(api().set_route_cache(f.handle(), BBR_ROUTE_CACHE_CLEAR) == BBR_OK);
  CHECK(api().set_route_cache(f.handle(), BBR_ROUTE_CACHE_KEEP) == BBR_OK);
  CHECK(f.msg.route_cache() == BBR_ROUTE_CACHE_CLEAR);
  CHECK(api().set_route_cache(f.handle(), 3) == BBR_INVALID_ARGUMENT);
}

TEST_CASE("get_attribute and get_metadata read what Envoy sent, NOT_FOUND otherwise",
          "[host_api][attributes]") {
  Fixture f("{}");
  bbr_buffer_t out{};
  CHECK(api().get_attribute(f.handle(), "request.id", 10, &out) == BBR_NOT_FOUND);
  bbr::EnvoyContext context;
  context.attributes["request.id"] = std::string("\"abc\"");
  context.metadata["envoy.filters.http.jwt"]["sub"] = std::string("\"alice\"");
  f.msg.set_envoy_context(&context);
  REQUIRE(api().get_attribute(f.handle(), "request.id", 10, &out) == BBR_OK);
  CHECK(str(out) == "\"abc\"");
  CHECK(api().get_attribute(f.handle(), "source.address", 14, &out) == BBR_NOT_FOUND);
  REQUIRE(api().get_metadata(f.handle(), "envoy.filters.http.jwt", 22, "sub", 3, &out) == BBR_OK);
  CHECK(str(out) == "\"alice\"");
  CHECK(api().get_metadata(f.handle(), "envoy.filters.http.jwt", 22, "aud", 3, &out) ==
        BBR_NOT_FOUND);
  CHECK(api().get_metadata(f.handle(), "other", 5, "sub", 3, &out) == BBR_NOT_FOUND);
}

TEST_CASE("event_drop works on an SSE event only; event_add also at the stream's end",
          "[host_api][sse]") {
  Fixture whole("{}", BBR_PHASE_RESPONSE);
  CHECK(api().event_drop(whole.handle()) == BBR_UNSUPPORTED);
  CHECK(api().event_add(whole.handle(), "", 0, "x", 1) == BBR_UNSUPPORTED);

  Fixture f("{}", BBR_PHASE_RESPONSE);
  bbr::BodyPosition p;
  p.unit = BBR_BODY_SSE_EVENT;
  f.msg.set_position(p);
  CHECK(api().event_drop(f.handle()) == BBR_OK);
  CHECK(f.msg.event_dropped());
  CHECK(api().event_add(f.handle(), "note", 4, "a\nb", 3) == BBR_OK);
  CHECK(api().event_add(f.handle(), "bad\n", 4, "x", 1) == BBR_INVALID_ARGUMENT);
  CHECK(api().event_add(f.handle(), "", 0, "x\ry", 3) == BBR_INVALID_ARGUMENT);
  REQUIRE(f.msg.added_events().size() == 1);
  CHECK(f.msg.added_events()[0].event_name == "note");
  CHECK(f.msg.added_events()[0].data == "a\nb");

  // The stream's end: no event to drop, a last chance to add one.
  Fixture end("", BBR_PHASE_RESPONSE);
  bbr::BodyPosition e;
  e.unit = BBR_BODY_STREAM_END;
  end.msg.set_position(e);
  CHECK(api().event_drop(end.handle()) == BBR_UNSUPPORTED);
  CHECK(api().event_add(end.handle(), "", 0, "[DONE]", 6) == BBR_OK);
  CHECK(end.msg.added_events().size() == 1);
}

TEST_CASE("metric_define / metric_add / metric_observe through the table", "[host_api][metrics]") {
  bbr::Metrics metrics;
  bbr::PluginCounters counters(&metrics, "inst");
  bbr_plugin_context ctx;
  ctx.instance_name = "inst";
  ctx.metrics = &counters;
  bbr_metric_def_t def{};
  def.struct_size = sizeof(def);
  def.kind = BBR_METRIC_COUNTER;
  def.name = {"inst_hits_total", 15};
  def.help = {"", 0};
  def.label_name = {"route", 5};
  uint32_t hits = 99;
  REQUIRE(api().metric_define(&ctx, &def, &hits) == BBR_OK);
  const double buckets[] = {1, 10};
  def.kind = BBR_METRIC_HISTOGRAM;
  def.name = {"inst_sizes", 10};
  def.label_name = {"", 0};
  def.buckets = buckets;
  def.bucket_count = 2;
  uint32_t sizes = 99;
  REQUIRE(api().metric_define(&ctx, &def, &sizes) == BBR_OK);
  CHECK(hits != sizes);
  CHECK(api().metric_add(&ctx, hits, "a", 1, 3) == BBR_OK);
  CHECK(api().metric_observe(&ctx, sizes, "", 0, 5) == BBR_OK);
  CHECK(api().metric_observe(&ctx, hits, "", 0, 5) == BBR_INVALID_ARGUMENT);
  CHECK(api().metric_add(&ctx, 1000, "", 0, 1) == BBR_INVALID_ARGUMENT);
  def.kind = 7;
  uint32_t unused = 0;
  CHECK(api().metric_define(&ctx, &def, &unused) == BBR_INVALID_ARGUMENT);
  const std::string text = metrics.render_text();
  CHECK_THAT(text, Catch::Contains(R"(inst_hits_total{plugin_name="inst",route="a"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(inst_sizes_bucket{plugin_name="inst",le="10"} 1)"));
}

TEST_CASE("parameter_for_each walks the parameters in document order; views live until destroy",
          "[host_api][parameters]") {
  bbr_plugin_context ctx;
  ctx.parameters =
      nlohmann::ordered_json::parse(R"({"rules":[{"header":"x-a"},{"header":"x-b"}],"n":1})");
  Walk top;
  REQUIRE(api().parameter_for_each(&ctx, "", 0, record, &top) == BBR_OK);
  REQUIRE(top.seen.size() == 2);
  CHECK(top.seen[0].pointer == "/rules");
  CHECK(top.seen[1].name == "n");
  Walk rules;
  REQUIRE(api().parameter_for_each(&ctx, "/rules", 6, record, &rules) == BBR_OK);
  REQUIRE(rules.seen.size() == 2);
  CHECK(rules.seen[1].pointer == "/rules/1");
  // Walk again: the earlier views are still good (kept until destroy).
  Walk again;
  REQUIRE(api().parameter_for_each(&ctx, "/rules", 6, record, &again) == BBR_OK);
  CHECK(str(rules.pointers[0]) == "/rules/0");
  CHECK(api().parameter_for_each(&ctx, "/n", 2, record, &again) == BBR_WRONG_TYPE);
  CHECK(api().parameter_for_each(&ctx, "/x", 2, record, &again) == BBR_NOT_FOUND);
  bbr_plugin_context none;
  CHECK(api().parameter_for_each(&none, "", 0, record, &again) == BBR_NOT_FOUND);
}

TEST_CASE("chunk and event hooks cannot change headers or the route cache, but set metadata",
          "[host_api][streaming]") {
  // Those hooks run after the response headers were answered: a header or
  // route-cache change would go nowhere, so plugin.h promises BBR_UNSUPPORTED
  // instead of a silent drop. Dynamic metadata goes with a body answer.
  for (bbr_body_unit_t unit : {BBR_BODY_CHUNK, BBR_BODY_SSE_EVENT, BBR_BODY_STREAM_END}) {
    Fixture s("{}", BBR_PHASE_RESPONSE);
    bbr::BodyPosition p;
    p.unit = unit;
    s.msg.set_position(p);
    CHECK(api().set_header(s.handle(), "x-a", 3, "1", 1) == BBR_UNSUPPORTED);
    CHECK(api().remove_header(s.handle(), "content-type", 12) == BBR_UNSUPPORTED);
    CHECK(api().set_dynamic_metadata(s.handle(), "envoy.lb", 8, "k", 1, "1", 1) == BBR_OK);
    CHECK(api().set_route_cache(s.handle(), BBR_ROUTE_CACHE_KEEP) == BBR_UNSUPPORTED);
    CHECK(s.msg.header_mutations().empty());
    REQUIRE(s.msg.dynamic_metadata().size() == 1);
    CHECK(s.msg.dynamic_metadata()[0].json_value == "1");
  }
  Fixture whole("{}", BBR_PHASE_RESPONSE);
  CHECK(api().set_header(whole.handle(), "x-a", 3, "1", 1) == BBR_OK);
}
