// The host side of the C ABI, called exactly as a plugin calls it: through
// the bbr_host_api_t table with opaque handles.
#include "chain/host_api.hpp"
#include "chain/message.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace {

const bbr_host_api_t& api() { return *bbr::host_api(); }

bbr_json_value_t value_struct() {
  bbr_json_value_t v{};
  v.struct_size = sizeof(v);
  return v;
}

std::string str(bbr_buffer_t b) { return std::string(b.data, b.length); }

struct Fixture {
  bbr::RequestState state;
  bbr::Message msg;
  explicit Fixture(std::string body, bbr::Headers headers = {{"content-type", "application/json"}})
      : msg(BBR_PHASE_REQUEST, std::move(headers), bbr::JsonBody(std::move(body)), state) {}
  bbr_message_t* handle() { return bbr::to_handle(&msg); }
};

}  // namespace

TEST_CASE("the table announces its size and ABI version", "[host_api]") {
  CHECK(api().struct_size == sizeof(bbr_host_api_t));
  CHECK(api().abi_major == BBR_ABI_MAJOR);
  CHECK(BBR_HAS_FIELD(&api(), bbr_host_api_t, parameter_get));
}

TEST_CASE("parameter_get reads the instance's parameters by JSON Pointer", "[host_api]") {
  bbr_plugin_context ctx;
  ctx.parameters = nlohmann::json::parse(R"({"headerName":"x-tenant","limit":7,"on":true,"list":[1]})");
  auto v = value_struct();
  REQUIRE(api().parameter_get(&ctx, "/headerName", 11, &v) == BBR_OK);
  CHECK(v.type == BBR_JSON_STRING);
  CHECK(str(v.string) == "x-tenant");
  REQUIRE(api().parameter_get(&ctx, "/limit", 6, &v) == BBR_OK);
  CHECK((v.type == BBR_JSON_INTEGER && v.integer == 7));
  REQUIRE(api().parameter_get(&ctx, "/list", 5, &v) == BBR_OK);
  CHECK((v.type == BBR_JSON_ARRAY && v.size == 1));
  CHECK(api().parameter_get(&ctx, "/absent", 7, &v) == BBR_NOT_FOUND);
  CHECK(api().parameter_get(&ctx, "/list/x", 7, &v) == BBR_NOT_FOUND);  // no such element
  CHECK(api().parameter_get(&ctx, "nope", 4, &v) == BBR_INVALID_ARGUMENT);

  bbr_plugin_context none;  // no parameters given
  CHECK(api().parameter_get(&none, "/headerName", 11, &v) == BBR_NOT_FOUND);
}

TEST_CASE("json_get writes no more than an older plugin's smaller struct", "[host_api]") {
  Fixture f(R"({"model":"m","n":3})");
  // A plugin built when bbr_json_value_t ended after `integer`.
  struct {
    bbr_json_value_t v;
    char guard[8];
  } old{};
  std::memset(old.guard, 0x5A, sizeof old.guard);
  old.v.struct_size = offsetof(bbr_json_value_t, number);
  REQUIRE(api().json_get(f.handle(), "/n", 2, &old.v) == BBR_OK);
  CHECK(old.v.struct_size == offsetof(bbr_json_value_t, number));
  CHECK(old.v.type == BBR_JSON_INTEGER);
  CHECK(old.v.integer == 3);
  CHECK(old.v.number == 0);  // beyond its size: untouched
}

TEST_CASE("headers: set replaces, remove hides, lookups ignore case", "[host_api]") {
  Fixture f("{}", {{"x-gateway-model-name", "client-says"}, {"x-keep", "1"}});
  CHECK(api().set_header(f.handle(), "X-Gateway-Model-Name", 20, "body-says", 9) == BBR_OK);
  bbr_buffer_t out{};
  REQUIRE(api().get_header(f.handle(), "x-gateway-model-name", 20, &out) == BBR_OK);
  CHECK(str(out) == "body-says");
  CHECK(api().remove_header(f.handle(), "X-KEEP", 6) == BBR_OK);
  CHECK(api().get_header(f.handle(), "x-keep", 6, &out) == BBR_NOT_FOUND);
  CHECK(api().remove_header(f.handle(), "x-never", 7) == BBR_NOT_FOUND);
  CHECK(api().header_count(f.handle()) == 1);
  bbr_buffer_t name{}, value{};
  REQUIRE(api().header_at(f.handle(), 0, &name, &value) == BBR_OK);
  CHECK(str(name) == "X-Gateway-Model-Name");
  CHECK(api().header_at(f.handle(), 1, &name, &value) == BBR_NOT_FOUND);
}

TEST_CASE("headers Envoy will not let ext_proc change are refused up front", "[host_api]") {
  Fixture f("{}", {{":path", "/v1/chat/completions"}, {"host", "h"}});
  CHECK(api().set_header(f.handle(), "x-envoy-original-path", 21, "/x", 2) == BBR_INVALID_ARGUMENT);
  CHECK(api().set_header(f.handle(), ":authority", 10, "evil", 4) == BBR_INVALID_ARGUMENT);
  CHECK(api().set_header(f.handle(), "Host", 4, "evil", 4) == BBR_INVALID_ARGUMENT);
  CHECK(api().remove_header(f.handle(), ":path", 5) == BBR_INVALID_ARGUMENT);
  CHECK(api().set_header(f.handle(), ":path", 5, "/v2", 3) == BBR_OK);  // Envoy allows :path
  CHECK(api().set_header(f.handle(), "bad name", 8, "v", 1) == BBR_INVALID_ARGUMENT);
  CHECK_FALSE(f.msg.immediate_response().has_value());
}

TEST_CASE("a header value with CR or LF is refused and the request answered 400", "[host_api]") {
  Fixture f("{}");
  CHECK(api().set_header(f.handle(), "x-a", 3, "1\r\nx-b: 2", 9) == BBR_INVALID_ARGUMENT);
  REQUIRE(f.msg.immediate_response().has_value());
  CHECK(f.msg.immediate_response()->http_status == 400);
  CHECK(f.msg.header_mutations().empty());
}

TEST_CASE("body edits are visible to later lookups and serialised once", "[host_api]") {
  Fixture f(R"({"model":"m","messages":[]})");
  CHECK(api().json_set(f.handle(), "/model", 6, "\"other\"", 7) == BBR_OK);
  auto v = value_struct();
  REQUIRE(api().json_get(f.handle(), "/model", 6, &v) == BBR_OK);
  CHECK(str(v.string) == "other");
  CHECK(api().json_set(f.handle(), "/x", 2, "{bad", 4) == BBR_INVALID_ARGUMENT);
  CHECK(api().json_remove(f.handle(), "/messages", 9) == BBR_OK);
  bbr_buffer_t body{};
  REQUIRE(api().get_body(f.handle(), &body) == BBR_OK);
  CHECK(str(body) == R"({"model":"other"})");
  bbr_buffer_t key{};
  REQUIRE(api().json_member_name(f.handle(), "", 0, 0, &key) == BBR_OK);
  CHECK(str(key) == "model");
  CHECK(api().json_member_name(f.handle(), "", 0, 1, &key) == BBR_NOT_FOUND);
}

TEST_CASE("reject validates the status; state values are destroyed with the request",
          "[host_api]") {
  static int destroyed = 0;
  {
    Fixture f("{}");
    CHECK(api().reject(f.handle(), 99, "x", 1) == BBR_INVALID_ARGUMENT);
    CHECK(api().reject(f.handle(), 451, "no", 2) == BBR_OK);
    CHECK(f.msg.immediate_response()->http_status == 451);
    int* value = new int(42);
    CHECK(api().state_put(f.handle(), "k", 1, value, [](void* p) {
      delete static_cast<int*>(p);
      ++destroyed;
    }) == BBR_OK);
    void* out = nullptr;
    REQUIRE(api().state_get(f.handle(), "k", 1, &out) == BBR_OK);
    CHECK(*static_cast<int*>(out) == 42);
    CHECK(api().state_get(f.handle(), "other", 5, &out) == BBR_NOT_FOUND);
  }
  CHECK(destroyed == 1);
}

TEST_CASE("two json_get_text views held at once both stay valid until the callback returns",
          "[host_api]") {
  Fixture f(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"n":1.5})");
  bbr_buffer_t first{}, second{};
  REQUIRE(api().json_get_text(f.handle(), "/messages", 9, &first) == BBR_OK);
  REQUIRE(api().json_get_text(f.handle(), "/model", 6, &second) == BBR_OK);
  bbr_buffer_t third{};
  REQUIRE(api().json_get_text(f.handle(), "/n", 2, &third) == BBR_OK);
  CHECK(str(first) == R"([{"content":"hi","role":"user"}])");
  CHECK(str(second) == R"("m")");
  CHECK(str(third) == "1.5");
  CHECK(f.msg.scratch_text_count() == 3);
  // The chain calls clear_error() after each plugin call: the texts go with it.
  f.msg.clear_error();
  CHECK(f.msg.scratch_text_count() == 0);
}

TEST_CASE("json_get views stay valid across later lookups on the same message", "[host_api]") {
  Fixture f(R"({"model":"llama","user":"u1","messages":[]})");
  auto model = value_struct();
  REQUIRE(api().json_get(f.handle(), "/model", 6, &model) == BBR_OK);
  auto user = value_struct();
  REQUIRE(api().json_get(f.handle(), "/user", 5, &user) == BBR_OK);
  bbr_buffer_t text{}, name{};
  REQUIRE(api().json_get_text(f.handle(), "", 0, &text) == BBR_OK);
  REQUIRE(api().json_member_name(f.handle(), "", 0, 2, &name) == BBR_OK);
  CHECK(str(model.string) == "llama");
  CHECK(str(user.string) == "u1");
  CHECK(str(name) == "messages");
}

TEST_CASE("json_member_name walks members in document order, each name once", "[host_api]") {
  Fixture f(R"({"stream":true,"model":"m","b":{"y":1,"x":2},"model":"last","a":0})");
  std::vector<std::string> names;
  bbr_buffer_t name{};
  for (std::size_t i = 0; api().json_member_name(f.handle(), "", 0, i, &name) == BBR_OK; ++i) {
    names.push_back(str(name));
  }
  CHECK(names == std::vector<std::string>{"stream", "model", "b", "a"});
  auto root = value_struct();
  REQUIRE(api().json_get(f.handle(), "", 0, &root) == BBR_OK);
  CHECK(root.type == BBR_JSON_OBJECT);
  CHECK(root.size == 4);  // distinct names, as Go's map holds them
  REQUIRE(api().json_member_name(f.handle(), "/b", 2, 0, &name) == BBR_OK);
  CHECK(str(name) == "y");
  CHECK(api().json_member_name(f.handle(), "/model", 6, 0, &name) == BBR_WRONG_TYPE);
  CHECK(api().json_member_name(f.handle(), "/none", 5, 0, &name) == BBR_NOT_FOUND);
  // A duplicate name reads as its last value, as Go's decoder keeps it.
  auto model = value_struct();
  REQUIRE(api().json_get(f.handle(), "/model", 6, &model) == BBR_OK);
  CHECK(str(model.string) == "last");
}

TEST_CASE("json_member_name after an edit: the order the body will be sent in", "[host_api]") {
  // plugin.h: the order the body will be sent in. A spliced edit keeps every
  // member where it was and puts an added one before the first name that
  // sorts after it (docs/session.md, "Body edits"), so a later plugin reads
  // the members in the order the upstream will.
  Fixture f(R"({"stream":true,"model":"m","b":{"y":1,"x":2}})");
  REQUIRE(api().json_set(f.handle(), "/a", 2, "0", 1) == BBR_OK);
  std::vector<std::string> names;
  bbr_buffer_t name{};
  for (std::size_t i = 0; api().json_member_name(f.handle(), "", 0, i, &name) == BBR_OK; ++i) {
    names.push_back(str(name));
  }
  CHECK(names == std::vector<std::string>{"a", "stream", "model", "b"});
  REQUIRE(api().json_member_name(f.handle(), "/b", 2, 0, &name) == BBR_OK);
  CHECK(str(name) == "y");
  bbr_buffer_t body{};
  REQUIRE(api().get_body(f.handle(), &body) == BBR_OK);
  CHECK(str(body) == R"({"a":0,"stream":true,"model":"m","b":{"y":1,"x":2}})");
  // json_get_text is Go's encoding of the value, whatever the bytes.
  bbr_buffer_t text{};
  REQUIRE(api().json_get_text(f.handle(), "", 0, &text) == BBR_OK);
  CHECK(str(text) == R"({"a":0,"b":{"x":2,"y":1},"model":"m","stream":true})");
}

TEST_CASE("an exception inside a host callback answers BBR_INTERNAL and never escapes",
          "[host_api]") {
  Fixture f(R"({"model":"m"})");
  // A bogus length makes std::string's constructor throw (length_error)
  // before any byte is read: the host must not unwind into the plugin.
  const char text[] = "x";
  const std::size_t huge = static_cast<std::size_t>(-1);
  CHECK(api().reject(f.handle(), 403, text, huge) == BBR_INTERNAL);
  CHECK_FALSE(f.msg.immediate_response().has_value());
  int value = 1;
  CHECK(api().state_put(f.handle(), text, huge, &value, nullptr) == BBR_INTERNAL);
  CHECK(api().replace_body(f.handle(), text, huge) == BBR_INTERNAL);
  CHECK_NOTHROW(api().set_error(f.handle(), text, huge));  // void: swallowed, logged once
  CHECK(f.msg.error().empty());
  // The message still works afterwards.
  auto v = value_struct();
  REQUIRE(api().json_get(f.handle(), "/model", 6, &v) == BBR_OK);
  CHECK(str(v.string) == "m");
}
