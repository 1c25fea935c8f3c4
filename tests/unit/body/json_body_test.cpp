#include "body/json_body.hpp"
#include "body/go_json.hpp"
#include "body/string_scan.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using bbr::JsonBody;
using bbr::JsonError;

TEST_CASE("an untouched body keeps the client's exact bytes", "[json_body]") {
  const std::string original = "{ \"model\" : \"m\",\n  \"z\":1, \"a\":2 }";
  JsonBody body(original);
  REQUIRE(body.parse());
  JsonError err;
  REQUIRE(body.find("/model", err) != nullptr);
  CHECK_FALSE(body.changed());
  CHECK(body.raw() == original);
}

TEST_CASE("a failed parse is forgotten when the bytes are replaced", "[json_body]") {
  JsonBody body("{\"model\":\"sql-lo");
  CHECK_FALSE(body.parse());
  CHECK(body.parse_error() == "unexpected end of JSON input");
  body.replace("{\"model\":\"sql-lora\"}");
  REQUIRE(body.parse());
  JsonError err;
  CHECK(body.find("/model", err)->get<std::string>() == "sql-lora");
}

TEST_CASE("JSON Pointer lookups follow RFC 6901", "[json_body]") {
  JsonBody body(R"({"messages":[{"role":"user"}],"a/b":1,"m~n":2,"":3})");
  JsonError err;
  CHECK(body.find("/messages/0/role", err)->get<std::string>() == "user");
  CHECK(body.find("/a~1b", err)->get<int>() == 1);
  CHECK(body.find("/m~0n", err)->get<int>() == 2);
  CHECK(body.find("/", err)->get<int>() == 3);
  CHECK(body.find("", err)->is_object());
  CHECK(body.find("/messages/1", err) == nullptr);
  CHECK(err == JsonError::kNotFound);
  CHECK(body.find("/messages/01", err) == nullptr);
  CHECK(body.find("/missing", err) == nullptr);
  CHECK(err == JsonError::kNotFound);
  CHECK(body.find("no-slash", err) == nullptr);
  CHECK(err == JsonError::kInvalidPointer);
}

TEST_CASE("edits are serialised once, Go-style, and mark the body changed", "[json_body]") {
  JsonBody body(R"({"prompt":"hello"})");
  REQUIRE(body.set("/injected", "\"test-value\"") == JsonError::kNone);
  CHECK(body.changed());
  CHECK(body.raw() == R"({"injected":"test-value","prompt":"hello"})");
  CHECK(body.raw().size() == 42);
}

TEST_CASE("set and remove handle arrays, missing parents and bad values", "[json_body]") {
  JsonBody body(R"({"list":[1,2],"o":{}})");
  CHECK(body.set("/list/-", "3") == JsonError::kNone);
  CHECK(body.set("/list/0", "0") == JsonError::kNone);
  CHECK(body.set("/list/9", "0") == JsonError::kNotFound);
  CHECK(body.set("/nope/x", "1") == JsonError::kNotFound);
  CHECK(body.set("/o/k", "{not json") == JsonError::kInvalidValue);
  CHECK(body.remove("/list/1") == JsonError::kNone);
  CHECK(body.remove("/o/absent") == JsonError::kNotFound);
  CHECK(body.remove("") == JsonError::kInvalidPointer);
  CHECK(body.raw() == R"({"list":[0,3],"o":{}})");
}

TEST_CASE("replace swaps the bytes and a later read parses the new ones", "[json_body]") {
  JsonBody body(R"({"a":1})");
  body.replace(R"({"b":2})");
  JsonError err;
  CHECK(body.find("/b", err)->get<int>() == 2);
  CHECK(body.raw() == R"({"b":2})");
  body.replace("plain text");
  CHECK_FALSE(body.parse());
  CHECK(body.set("/x", "1") == JsonError::kNotJson);
}

TEST_CASE("invalid UTF-8 inside strings decodes as U+FFFD, as Go does", "[json_body]") {
  JsonBody body(std::string("{\"model\":\"a\xff") + "b\"}");
  REQUIRE(body.parse());
  JsonError err;
  CHECK(body.find("/model", err)->get<std::string>() == "a\xef\xbf\xbd" "b");
  CHECK(body.raw() == std::string("{\"model\":\"a\xff") + "b\"}");
}

TEST_CASE("hostile nesting is refused before the parser sees it", "[json_body]") {
  JsonBody body(std::string(100000, '[') + std::string(100000, ']'));
  CHECK_FALSE(body.parse());
  CHECK(body.parse_error() == "exceeded max depth");
}

TEST_CASE("a body with a number beyond float64 is refused in Go's words", "[json_body]") {
  JsonBody body(R"({"model":"m","n":1e400})");
  CHECK_FALSE(body.parse());
  CHECK(body.parse_error() == "json: cannot unmarshal number 1e400 into Go value of type float64");
  CHECK(body.map_decode_error() == body.parse_error());
}

TEST_CASE("a pointer that is not UTF-8 is refused: it could name no key on the wire",
          "[json_body]") {
  JsonBody body(R"({"model":"m"})");
  CHECK(body.set("/k\xff", "1") == JsonError::kInvalidPointer);
  CHECK(body.remove("/k\xff") == JsonError::kInvalidPointer);
  CHECK_FALSE(body.changed());
}

TEST_CASE("map_decode_error accepts objects and null, refuses other top-level values",
          "[json_body]") {
  CHECK(JsonBody(R"({"a":1})").map_decode_error().empty());
  CHECK(JsonBody("null").map_decode_error().empty());
  CHECK(JsonBody("[1]").map_decode_error() ==
        "json: cannot unmarshal array into Go value of type map[string]interface {}");
  CHECK(JsonBody("").map_decode_error() == "unexpected end of JSON input");
}

// --- the read-only lookups (simdjson parse) ---------------------------------

namespace {

bbr::JsonRead read(JsonBody& body, std::string_view pointer) {
  bbr::JsonRead out;
  REQUIRE(body.get(pointer, out) == JsonError::kNone);
  return out;
}

std::string text(JsonBody& body, std::string_view pointer) {
  std::string out;
  REQUIRE(body.get_text(pointer, out) == JsonError::kNone);
  return out;
}

std::vector<std::string> member_names(JsonBody& body, std::string_view pointer) {
  std::vector<std::string> names;
  std::string_view name;
  for (std::size_t i = 0; body.member_name(pointer, i, name) == JsonError::kNone; ++i) {
    names.emplace_back(name);
  }
  return names;
}

}  // namespace

TEST_CASE("read-only lookups keep the bytes untouched and the body unchanged", "[json_body]") {
  const std::string original = R"({"model": "m", "n": [1, 2.5, true, null], "o": {"k": "v"}})";
  JsonBody body(original);
  CHECK(read(body, "/model").string == "m");
  CHECK(read(body, "/n/1").number == 2.5);
  CHECK(read(body, "/n").size == 4);
  CHECK(text(body, "/o") == R"({"k":"v"})");
  CHECK(member_names(body, "") == std::vector<std::string>{"model", "n", "o"});
  CHECK_FALSE(body.changed());
  CHECK(body.raw() == original);
}

TEST_CASE("lookups report types and numbers as the mutable document did", "[json_body]") {
  JsonBody body(
      R"({"i":-7,"u":9223372036854775807,"big":18446744073709551615,"f":1.0,"e":1e2,)"
      R"("t":true,"z":null,"s":"a\"b\u00e9","tiny":1e-400})");
  CHECK(read(body, "/i").type == bbr::JsonType::kInteger);
  CHECK(read(body, "/i").integer == -7);
  CHECK(read(body, "/u").type == bbr::JsonType::kInteger);
  CHECK(read(body, "/u").integer == INT64_MAX);
  CHECK(read(body, "/big").type == bbr::JsonType::kNumber);
  CHECK(read(body, "/big").number == 18446744073709551615.0);
  CHECK(read(body, "/f").type == bbr::JsonType::kNumber);
  CHECK(read(body, "/e").number == 100.0);
  CHECK(read(body, "/t").boolean);
  CHECK(read(body, "/z").type == bbr::JsonType::kNull);
  CHECK(read(body, "/s").string == "a\"b\xc3\xa9");
  CHECK(read(body, "/tiny").number == 0.0);  // Go rounds underflow to 0, no error
  bbr::JsonRead out;
  CHECK(body.get("/s/0", out) == JsonError::kNotFound);
  CHECK(body.get("/i/x", out) == JsonError::kNotFound);
  CHECK(body.get("s", out) == JsonError::kInvalidPointer);
  CHECK(body.get("/~2", out) == JsonError::kInvalidPointer);
  CHECK(body.get("/k\xff", out) == JsonError::kInvalidPointer);
}

TEST_CASE("get_text from the simdjson parse writes what Go's encoder writes", "[json_body]") {
  const char* bodies[] = {
      R"({"z":"<a&b>\u2028","a":[1,2.5,1e21,1e-7,-0,true,null,{}],"m":{"b":1,"a":{"d":[],"c":""}}})",
      R"({"n":123456789,"f":0.1,"x":-1.5e300,"s":"tab\there\u0001"})",
      R"(null)",
  };
  for (const char* b : bodies) {
    JsonBody fast(b);
    JsonBody slow(b);
    const std::string expected = bbr::to_go_json(slow.document());
    CHECK(text(fast, "") == expected);
  }
}

TEST_CASE("duplicate member names resolve to the last, as Go's decoder keeps it", "[json_body]") {
  JsonBody body(R"({"model":"first","x":1,"model":"last"})");
  CHECK(read(body, "/model").string == "last");
  CHECK(read(body, "").size == 2);
  CHECK(member_names(body, "") == std::vector<std::string>{"model", "x"});
  CHECK(text(body, "") == R"({"model":"last","x":1})");
  JsonError err;
  CHECK(body.find("/model", err)->get<std::string>() == "last");  // the mutable document agrees
}

TEST_CASE("member names follow the document until an edit, then the sorted order sent",
          "[json_body]") {
  JsonBody body(R"({"stream":false,"model":"m","messages":[]})");
  CHECK(member_names(body, "") == std::vector<std::string>{"stream", "model", "messages"});
  REQUIRE(body.set("/max_tokens", "5") == JsonError::kNone);
  CHECK(member_names(body, "") ==
        std::vector<std::string>{"max_tokens", "messages", "model", "stream"});
  CHECK(body.raw() == R"({"max_tokens":5,"messages":[],"model":"m","stream":false})");
}

TEST_CASE("views from earlier lookups survive later lookups", "[json_body]") {
  JsonBody body(R"({"model":"llama","user":"u1","o":{"b":1,"a":2}})");
  std::string_view model = read(body, "/model").string;
  std::string_view name;
  REQUIRE(body.member_name("/o", 1, name) == JsonError::kNone);
  std::string_view user = read(body, "/user").string;
  std::string scratch;
  REQUIRE(body.get_text("", scratch) == JsonError::kNone);
  REQUIRE(body.member_name("", 0, name) == JsonError::kNone);
  CHECK(model == "llama");
  CHECK(user == "u1");
  CHECK(name == "model");
}

TEST_CASE("lookups after an edit read the edited document", "[json_body]") {
  JsonBody body(R"({"model":"m","messages":[{"role":"user"}]})");
  CHECK(read(body, "/messages/0/role").string == "user");
  REQUIRE(body.set("/messages/0/role", "\"system\"") == JsonError::kNone);
  CHECK(read(body, "/messages/0/role").string == "system");
  CHECK(text(body, "/messages") == R"([{"role":"system"}])");
  REQUIRE(body.remove("/model") == JsonError::kNone);
  bbr::JsonRead out;
  CHECK(body.get("/model", out) == JsonError::kNotFound);
}

TEST_CASE("bodies simdjson refuses but Go decodes are served by the slow path", "[json_body]") {
  // Invalid UTF-8 inside a string decodes as U+FFFD.
  JsonBody utf8(std::string("{\"model\":\"a\xff") + "b\"}");
  REQUIRE(utf8.map_decode_error().empty());
  CHECK(read(utf8, "/model").string == "a\xef\xbf\xbd" "b");
  CHECK(member_names(utf8, "") == std::vector<std::string>{"model"});
  CHECK(utf8.raw() == std::string("{\"model\":\"a\xff") + "b\"}");
  // An integer beyond 64 bits decodes as a float64.
  JsonBody big(R"({"n":123456789012345678901234567890})");
  REQUIRE(big.map_decode_error().empty());
  CHECK(read(big, "/n").type == bbr::JsonType::kNumber);
  CHECK(read(big, "/n").number == 123456789012345678901234567890.0);
}

TEST_CASE("nesting: Go's limit of 10000 levels holds exactly", "[json_body]") {
  JsonBody at_limit(std::string(10000, '[') + std::string(10000, ']'));
  CHECK(at_limit.parse());
  JsonBody over(std::string(10001, '[') + std::string(10001, ']'));
  CHECK_FALSE(over.parse());
  CHECK(over.parse_error() == "exceeded max depth");
  std::string deep_object = "{\"a\":" + std::string(9999, '[') + std::string(9999, ']') + "}";
  JsonBody object(deep_object);
  CHECK(object.map_decode_error().empty());
}

TEST_CASE("refusals keep Go's texts on the fast path's error route", "[json_body]") {
  CHECK(JsonBody("\xEF\xBB\xBF{}").map_decode_error() ==
        "invalid character '\xC3\xAF' looking for beginning of value");
  CHECK(JsonBody(R"({"a":1} x)").map_decode_error() ==
        "invalid character 'x' after top-level value");
  CHECK(JsonBody("{\"a\":\"x\x01\"}").map_decode_error() ==
        "invalid character '\\x01' in string literal");
  CHECK(JsonBody(R"({"a":tru})").map_decode_error() ==
        "invalid character '}' in literal true (expecting 'e')");
  CHECK(JsonBody(R"({"a":-9223372036854775809})").map_decode_error().empty());
  CHECK(JsonBody(R"("s")").map_decode_error() ==
        "json: cannot unmarshal string into Go value of type map[string]interface {}");
  CHECK(JsonBody(R"({"a":1,"b":2.5e999})").map_decode_error() ==
        "json: cannot unmarshal number 2.5e999 into Go value of type float64");
}

TEST_CASE("a body without spare capacity and a copied body both parse", "[json_body]") {
  std::string tight = R"({"model":"m"})";
  tight.shrink_to_fit();
  JsonBody body(std::move(tight));
  CHECK(read(body, "/model").string == "m");
  JsonBody copy(body);
  CHECK(read(copy, "/model").string == "m");
  body.release();
  CHECK(read(copy, "/model").string == "m");
}

TEST_CASE("a lone surrogate escape decodes as U+FFFD, as Go does", "[json_body]") {
  JsonBody body(R"({"s":"a\ud800b\udc00c\ud83d\ude00","t":"\ud800\ud800"})");
  REQUIRE(body.map_decode_error().empty());
  CHECK(read(body, "/s").string == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xF0\x9F\x98\x80");
  CHECK(read(body, "/t").string == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(body.raw() == R"({"s":"a\ud800b\udc00c\ud83d\ude00","t":"\ud800\ud800"})");
}

TEST_CASE("every refusal on the fast paths is Go's, in Go's words", "[json_body]") {
  const char* refused[] = {
      R"({"a":1,})",   R"({,})",        R"({"a"})",      R"({"a":})",     R"([:])",
      R"([1,])",       R"([1 2])",      R"({"a":1 "b":2})", R"({"a":"x"x})", R"({"a":1x})",
      R"({"a":tru e})", R"({"a":01})",  R"({"a":1.})",   R"({"a":-})",    R"({"a":.5})",
      R"({"a":1e})",   R"({"a":"\x"})", R"({"a":"\u12g4"})", R"({"a":[}})", R"({"a":{]})",
      R"({"a":1}})",   R"({"a":1}{})",  R"({1:2})",      R"({"a";1})",    R"({"a":nul})",
      R"({"a":NaN})",  R"({"a":+1})",   "{\"a\":\"\t\"}", "{\"a\":1}\x0b", "",
      "   ",           R"({"a":"unterminated})", R"({"a":[1,2)", R"(})"};
  for (const char* b : refused) {
    INFO(b);
    const std::string go = bbr::go_json_decode_error(b);
    REQUIRE_FALSE(go.empty());
    CHECK(JsonBody(b).map_decode_error() == go);
  }
  const char* accepted[] = {R"( {"a" : [ 1 , -0.5e-3 , "x\"y\\z\/\b\f\n\r\t\u00e9" ] } )",
                            R"({"":{},"b":[],"c":[[]],"d":{"e":null}})", "null", " \n{}\t"};
  for (const char* b : accepted) {
    INFO(b);
    CHECK(JsonBody(b).map_decode_error().empty());
  }
}

TEST_CASE("top-level scalars are read as the DOM reads them", "[json_body]") {
  const std::string b =
      R"({"s":"plain","e":"esc\"aped","i":-42,"u":18446744073709551615,"d":2.5e-3,)"
      R"("t":true,"f":false,"z":null,"o":{"k":"v"},"a":[1],"m":"first","m":"second"})";
  JsonBody scanned(b);
  JsonBody dom(b);
  CHECK(text(dom, "") == text(dom, ""));  // builds dom's DOM: every later read uses it
  for (const char* p : {"/s", "/e", "/i", "/u", "/d", "/t", "/f", "/z", "/o", "/a", "/m"}) {
    INFO(p);
    bbr::JsonRead x = read(scanned, p);
    bbr::JsonRead y = read(dom, p);
    CHECK(x.type == y.type);
    CHECK(x.integer == y.integer);
    CHECK(x.number == y.number);
    CHECK(x.boolean == y.boolean);
    CHECK(x.string == y.string);
    CHECK(x.size == y.size);
  }
  bbr::JsonRead out;
  CHECK(scanned.get("/absent", out) == JsonError::kNotFound);
  CHECK(scanned.get("/o/absent", out) == JsonError::kNotFound);
}

TEST_CASE("every build of the scan's string check gives the same verdicts", "[json_body]") {
  // Escapes and quotes around the 64-byte block edges of the string scan.
  std::vector<std::string> bodies;
  for (std::size_t pad = 50; pad < 80; ++pad) {
    const std::string fill(pad, 'a');
    for (const char* piece : {"\\\"", "\\\\", "\\u00e9", "\\u12", "\\x", "\\\\\\\"", "\"",
                              "\\ud83d\\ude00", "\\u00G0", "\\/"}) {
      std::string b = "{\"model\":\"";
      b += fill;
      b += piece;
      b += "tail\",\"n\":1}";
      bodies.push_back(b);
    }
  }
  for (const std::string& b : bodies) {
    INFO(b);
    bbr::set_string_scan_level_for_testing(-1);
    JsonBody reference(b);
    const std::string verdict = reference.map_decode_error();
    CHECK(verdict == bbr::go_json_decode_error(b));
    for (int level = 0; level < bbr::string_scan_levels(); ++level) {
      bbr::set_string_scan_level_for_testing(level);
      JsonBody body(b);
      CHECK(body.map_decode_error() == verdict);
      if (verdict.empty()) {
        bbr::JsonRead model;
        REQUIRE(body.get("/model", model) == JsonError::kNone);
        bbr::JsonRead expected;
        REQUIRE(reference.get("/model", expected) == JsonError::kNone);
        CHECK(model.string == expected.string);
      }
    }
  }
  bbr::set_string_scan_level_for_testing(-1);
}

TEST_CASE("a top-level string Go decodes only with U+FFFD is JSON, refused by type", "[json_body]") {
  JsonBody body(R"("a\ud800b")");
  CHECK(body.parse());
  CHECK(body.document().get<std::string>() == "a\xEF\xBF\xBD" "b");
  CHECK(body.parse());
  CHECK(body.map_decode_error() ==
        "json: cannot unmarshal string into Go value of type map[string]interface {}");
}
