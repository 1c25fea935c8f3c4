// bbr/plugin.hpp's own pieces: the Json value, JSON Pointer helpers, and the
// 1.1 wrappers' answer on a 1.0 host.
#include <bbr/plugin.hpp>

#include "chain/host_api.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <limits>

TEST_CASE("bbr::Json serialises every type as compact JSON text") {
  CHECK(bbr::Json().dump() == "null");
  CHECK(bbr::Json(nullptr).dump() == "null");
  CHECK(bbr::Json(true).dump() == "true");
  CHECK(bbr::Json(false).dump() == "false");
  CHECK(bbr::Json(42).dump() == "42");
  CHECK(bbr::Json(-7L).dump() == "-7");
  CHECK(bbr::Json(std::numeric_limits<int64_t>::min()).dump() == "-9223372036854775808");
  CHECK(bbr::Json(0.1).dump() == "0.1");
  CHECK(bbr::Json(2.5).dump() == "2.5");
  CHECK(bbr::Json(3.0).dump() == "3.0");
  CHECK(bbr::Json(1e300).dump() == "1e+300");
  CHECK(bbr::Json("text").dump() == "\"text\"");
  CHECK(bbr::Json(std::string("s")).dump() == "\"s\"");
  CHECK(bbr::Json(std::string_view("v")).dump() == "\"v\"");
  CHECK(bbr::Json::array().dump() == "[]");
  CHECK(bbr::Json::object().dump() == "{}");
}

TEST_CASE("bbr::Json escapes strings and member names as JSON requires") {
  CHECK(bbr::Json("a\"b\\c").dump() == R"("a\"b\\c")");
  CHECK(bbr::Json("line\nnext\ttab\r\b\f").dump() == R"("line\nnext\ttab\r\b\f")");
  CHECK(bbr::Json(std::string("nul\0x", 5)).dump() == R"("nul\u0000x")");
  CHECK(bbr::Json("\x1f").dump() == R"("\u001f")");
  CHECK(bbr::Json("caf\xc3\xa9").dump() == "\"caf\xc3\xa9\"");  // UTF-8 passes through
  CHECK(bbr::Json::object({{"k\"ey", 1}}).dump() == R"({"k\"ey":1})");
  CHECK(bbr::json_quote("x\"") == R"("x\"")");
}

TEST_CASE("bbr::Json spells non-finite numbers null (JSON has no NaN or infinity)") {
  CHECK(bbr::Json(std::nan("")).dump() == "null");
  CHECK(bbr::Json(std::numeric_limits<double>::infinity()).dump() == "null");
}

TEST_CASE("bbr::Json objects keep insertion order and replace a member set twice") {
  bbr::Json v = bbr::Json::object({{"model", "m1"}, {"n", 2}});
  v.set("tags", bbr::Json::array({"a", true, nullptr, 1.5}));
  v.set("model", "m2");
  CHECK(v.dump() == R"({"model":"m2","n":2,"tags":["a",true,null,1.5]})");
  CHECK(v.size() == 3);
  REQUIRE(v.find("n") != nullptr);
  CHECK(v.find("n")->as_integer() == 2);
  CHECK(v.find("absent") == nullptr);
  CHECK(v.member_names() == std::vector<std::string>{"model", "n", "tags"});

  bbr::Json built;  // null grows into what is asked of it
  built.push_back(1).push_back("two");
  CHECK(built.dump() == R"([1,"two"])");
  CHECK_THROWS_AS(built.set("k", 1), std::logic_error);
}

TEST_CASE("bbr::Json gives scalars back typed, and nothing of another type") {
  CHECK(bbr::Json(true).as_bool() == true);
  CHECK(bbr::Json(5).as_integer() == 5);
  CHECK(bbr::Json(5).as_number() == 5.0);
  CHECK(bbr::Json(0.5).as_number() == 0.5);
  CHECK_FALSE(bbr::Json(0.5).as_integer());
  CHECK(bbr::Json("s").as_string() == "s");
  CHECK_FALSE(bbr::Json(1).as_string());
  CHECK(bbr::Json::array({1}) == bbr::Json::array({1}));
  CHECK(bbr::Json::array({1}) != bbr::Json::array({2}));
}

TEST_CASE("bbr::pointer builds escaped JSON Pointers from names and indexes") {
  CHECK(bbr::pointer() == "");
  CHECK(bbr::pointer("messages", 0, "content") == "/messages/0/content");
  CHECK(bbr::pointer("a/b", "c~d") == "/a~1b/c~0d");
  CHECK(bbr::pointer(std::string("x"), std::string_view("y"), std::size_t{12}) == "/x/y/12");
  CHECK(bbr::pointer("") == "/");
  CHECK(bbr::pointer("-") == "/-");
  CHECK(bbr::pointer_join("/messages/3", "content", 1) == "/messages/3/content/1");
  CHECK(bbr::escape_pointer_token("~/~") == "~0~1~0");
  CHECK(bbr::unescape_pointer_token("~0~1x~2") == "~/x~2");
  CHECK(bbr::unescape_pointer_token(bbr::escape_pointer_token("a~1/b")) == "a~1/b");
}

TEST_CASE("plugin.hpp's 1.1 wrappers answer BBR_UNSUPPORTED or nullopt on a 1.0 host") {
  // The host's real table, cut to the size a 1.0 host announces: the wrappers
  // must look at struct_size and never call past it.
  bbr_host_api_t api10 = *bbr::host_api();
  api10.struct_size = offsetof(bbr_host_api_t, message_info);
  api10.abi_minor = 0;
  bbr::Message msg(&api10, nullptr);
  CHECK_FALSE(msg.message_info());
  CHECK_FALSE(msg.prompt_text());
  CHECK_FALSE(msg.attribute("request.id"));
  CHECK_FALSE(msg.metadata("ns", "key"));
  CHECK(msg.json_for_each("", [](const bbr::JsonEntry&) {}) == BBR_UNSUPPORTED);
  CHECK(msg.json_set_string("/a", "x") == BBR_UNSUPPORTED);
  CHECK(msg.json_set_integer("/a", 1) == BBR_UNSUPPORTED);
  CHECK(msg.json_set_number("/a", 1.5) == BBR_UNSUPPORTED);
  CHECK(msg.json_set_bool("/a", true) == BBR_UNSUPPORTED);
  CHECK(msg.reject_with(429, "x", {{"retry-after", "1"}}, "d") == BBR_UNSUPPORTED);
  CHECK(msg.set_dynamic_metadata("ns", "k", bbr::Json(1)) == BBR_UNSUPPORTED);
  CHECK(msg.set_dynamic_metadata_json("ns", "k", "1") == BBR_UNSUPPORTED);
  CHECK(msg.set_route_cache(BBR_ROUTE_CACHE_KEEP) == BBR_UNSUPPORTED);
  CHECK(msg.event_drop() == BBR_UNSUPPORTED);
  CHECK(msg.event_add("", "data") == BBR_UNSUPPORTED);

  bbr::PluginContext ctx(&api10, nullptr);
  CHECK(ctx.host_abi_minor() == 0);
  bbr::Counter c = ctx.counter("x_total");
  CHECK_FALSE(c.ok());
  CHECK(c.add() == BBR_UNSUPPORTED);
  bbr::Histogram h = ctx.histogram("x_seconds");
  CHECK(h.observe(1.0) == BBR_UNSUPPORTED);
  CHECK(ctx.parameter_for_each("", [](const bbr::JsonEntry&) { return true; }) == BBR_UNSUPPORTED);
  CHECK_FALSE(ctx.parameter_names());
}

TEST_CASE("plugin_type declares the capability of every hook the class defines") {
  struct RequestOnly {
    explicit RequestOnly(const bbr::CreateContext&) {}
    bbr_result_t on_request(bbr::Message&) { return BBR_CONTINUE; }
  };
  struct Streaming {
    explicit Streaming(const bbr::CreateContext&) {}
    bbr_result_t on_response(bbr::Message&) { return BBR_CONTINUE; }
    bbr_result_t on_response_chunk(bbr::Message&) { return BBR_CONTINUE; }
    bbr_result_t on_response_event(bbr::Message&) { return BBR_CONTINUE; }
  };
  const bbr_plugin_type_t* r = bbr::plugin_type<RequestOnly>("r", "1", "d", BBR_CAP_THREAD_SAFE);
  CHECK(r->capabilities == (BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE));
  CHECK(r->process_request != nullptr);
  CHECK(r->process_response == nullptr);
  CHECK(r->process_response_chunk == nullptr);
  CHECK(r->process_response_event == nullptr);
  CHECK(r->struct_size == sizeof(bbr_plugin_type_t));

  const bbr_plugin_type_t* s = bbr::plugin_type<Streaming>("s", "1", "d");
  CHECK(s->capabilities == (BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_CHUNK | BBR_CAP_RESPONSE_EVENT));
  CHECK(s->process_request == nullptr);
  CHECK(s->process_response_chunk != nullptr);
  CHECK(s->process_response_event != nullptr);
}

TEST_CASE("BBR_EXPORT_PLUGINS_REQUIRING refuses an older host and loads on a new enough one") {
  bbr_host_info_t v10{sizeof(bbr_host_info_t), 1, 0, "test"};
  bbr_host_info_t v11{sizeof(bbr_host_info_t), 1, 1, "test"};
  CHECK(bbr::detail::host_allows(&v10, 0));
  CHECK(bbr::detail::host_allows(nullptr, 0));
  CHECK_FALSE(bbr::detail::host_allows(&v10, 1));
  CHECK(bbr::detail::host_allows(&v11, 1));
  CHECK_FALSE(bbr::detail::host_allows(nullptr, 1));
}
