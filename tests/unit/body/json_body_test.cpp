#include "body/json_body.hpp"
#include "body/go_json.hpp"
#include "body/string_scan.hpp"
#include "body/work_counters.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <random>
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

TEST_CASE("member names follow the document, edits included: the order sent", "[json_body]") {
  // A spliced edit keeps the members where they were; an added one goes
  // before the first member whose name sorts after it.
  JsonBody body(R"({"stream":false,"model":"m","messages":[]})");
  CHECK(member_names(body, "") == std::vector<std::string>{"stream", "model", "messages"});
  REQUIRE(body.set("/max_tokens", "5") == JsonError::kNone);
  CHECK(member_names(body, "") ==
        std::vector<std::string>{"max_tokens", "stream", "model", "messages"});
  CHECK(body.raw() == R"({"max_tokens":5,"stream":false,"model":"m","messages":[]})");
}

TEST_CASE("member names after an edit that is not spliced: the sorted order sent", "[json_body]") {
  // A name given twice: the edit goes to the document, Go-encoded when sent.
  JsonBody body(R"({"stream":false,"model":"m","messages":[],"stream":true})");
  REQUIRE(body.set("/stream", "false") == JsonError::kNone);
  CHECK(member_names(body, "") == std::vector<std::string>{"messages", "model", "stream"});
  CHECK(body.raw() == R"({"messages":[],"model":"m","stream":false})");
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

// --- edits as splices -------------------------------------------------------

TEST_CASE("a spliced edit keeps every other byte: white space, escapes, numbers, order",
          "[json_body][splice]") {
  const std::string head = "{ \"messages\" : [ {\"role\":\"user\", \"content\":\"caf\\u00e9 \\/ ok\"} ],\n"
                           "  \"model\":\"";
  const std::string tail = "\", \"n\": 1.0, \"e\": 1E+2, \"z\": -0, \"big\": 12345678901234567890 }";
  JsonBody body(head + "llama" + tail);
  REQUIRE(read(body, "/model").string == "llama");
  REQUIRE(body.set_string("/model", "qwen-2.5-7b") == JsonError::kNone);
  CHECK(body.changed());
  CHECK(body.raw() == head + "qwen-2.5-7b" + tail);
  CHECK(read(body, "/model").string == "qwen-2.5-7b");
  CHECK(read(body, "/messages/0/content").string == "caf\xC3\xA9 / ok");
  // The value goes in as Go writes it: its HTML escapes, compact.
  REQUIRE(body.set_string("/model", "a<b>&c") == JsonError::kNone);
  CHECK(body.raw() == head + "a\\u003cb\\u003e\\u0026c" + tail);
  CHECK(read(body, "/model").string == "a<b>&c");
  REQUIRE(body.set("/n", " { \"y\" : 1.50, \"x\" : [ ] } ") == JsonError::kNone);
  CHECK(body.raw() == head + "a\\u003cb\\u003e\\u0026c" +
                          "\", \"n\": {\"x\":[],\"y\":1.5}, \"e\": 1E+2, \"z\": -0, \"big\": "
                          "12345678901234567890 }");
}

TEST_CASE("edits at nested pointers and array elements are spliced", "[json_body][splice]") {
  JsonBody body(R"({"a": {"b": [10, {"c": "x"}, 30]}, "model": "m"})");
  REQUIRE(body.set("/a/b/1/c", "\"y\"") == JsonError::kNone);
  CHECK(body.raw() == R"({"a": {"b": [10, {"c": "y"}, 30]}, "model": "m"})");
  REQUIRE(body.set("/a/b/0", "11") == JsonError::kNone);
  REQUIRE(body.set("/a/b/-", "40") == JsonError::kNone);
  REQUIRE(body.set("/a/b/4", "50") == JsonError::kNone);
  CHECK(body.set("/a/b/9", "0") == JsonError::kNotFound);
  CHECK(body.set("/a/b/x", "0") == JsonError::kNotFound);
  CHECK(body.raw() == R"({"a": {"b": [11, {"c": "y"}, 30,40,50]}, "model": "m"})");
  REQUIRE(body.remove("/a/b/2") == JsonError::kNone);  // a middle element: its comma before it
  CHECK(body.raw() == R"({"a": {"b": [11, {"c": "y"},40,50]}, "model": "m"})");
  REQUIRE(body.remove("/a/b/0") == JsonError::kNone);  // the first: up to the next
  CHECK(body.raw() == R"({"a": {"b": [{"c": "y"},40,50]}, "model": "m"})");
  CHECK(read(body, "/a/b/0/c").string == "y");
  CHECK(read(body, "/a/b").size == 3);
  CHECK(read(body, "/model").string == "m");
  CHECK(body.remove("/a/b/3") == JsonError::kNotFound);
  CHECK(body.remove("/a/b/-") == JsonError::kNotFound);
  CHECK(body.remove("/model/x") == JsonError::kNotFound);
  CHECK(body.set("/model/x", "1") == JsonError::kWrongType);
  CHECK(body.set("/nope/x", "1") == JsonError::kNotFound);
  CHECK(body.set("/a/b/0/c/d", "1") == JsonError::kWrongType);
  REQUIRE(body.remove("/a/b/0/c") == JsonError::kNone);  // the only member
  CHECK(body.raw() == R"({"a": {"b": [{},40,50]}, "model": "m"})");
}

TEST_CASE("several edits in one chain: over earlier edits, removed then set", "[json_body][splice]") {
  JsonBody body(R"({"model":"m","o":{"k":"v","w":[1,2]},"x":1})");
  REQUIRE(body.set("/o", R"({"new":true})") == JsonError::kNone);
  REQUIRE(body.set("/o/new", "false") == JsonError::kNone);  // inside the value just set
  CHECK(body.raw() == R"({"model":"m","o":{"new":false},"x":1})");
  REQUIRE(body.remove("/x") == JsonError::kNone);
  CHECK(body.raw() == R"({"model":"m","o":{"new":false}})");
  bbr::JsonRead out;
  CHECK(body.get("/x", out) == JsonError::kNotFound);
  REQUIRE(body.set("/x", "\"again\"") == JsonError::kNone);
  CHECK(body.raw() == R"({"model":"m","o":{"new":false},"x":"again"})");
  REQUIRE(body.set("/o/a", "\"<b>\"") == JsonError::kNone);  // sorts before "new"
  CHECK(body.raw() == R"({"model":"m","o":{"a":"\u003cb\u003e","new":false},"x":"again"})");
  REQUIRE(body.remove("/model") == JsonError::kNone);
  CHECK(body.raw() == R"({"o":{"a":"\u003cb\u003e","new":false},"x":"again"})");
  CHECK(read(body, "/x").string == "again");
  CHECK(text(body, "/o") == R"({"a":"\u003cb\u003e","new":false})");
  REQUIRE(body.set("/x", "2") == JsonError::kNone);
  REQUIRE(body.set("/x", "3") == JsonError::kNone);  // the same member again: still one
  CHECK(body.raw() == R"({"o":{"a":"\u003cb\u003e","new":false},"x":3})");
  CHECK(member_names(body, "") == std::vector<std::string>{"o", "x"});
}

TEST_CASE("an added member goes before the first name that sorts after it", "[json_body][splice]") {
  // So a body in Go's order (compact, sorted) edited here is what the
  // reference's re-encoding sends: its own test body is.
  JsonBody sorted(R"({"prompt":"hello"})");
  REQUIRE(sorted.set_string("/injected", "test-value") == JsonError::kNone);
  CHECK(sorted.raw() == R"({"injected":"test-value","prompt":"hello"})");
  JsonBody empty(R"({ "o": { }, "l": [ ] })");
  REQUIRE(empty.set("/o/k", "1") == JsonError::kNone);
  REQUIRE(empty.set("/l/-", "1") == JsonError::kNone);
  REQUIRE(empty.set("/l/1", "2") == JsonError::kNone);
  CHECK(empty.raw() == R"({ "o": {"k":1 }, "l": [1,2 ] })");
  JsonBody pretty("{\n  \"b\": 1\n}");
  REQUIRE(pretty.set("/c", "2") == JsonError::kNone);
  REQUIRE(pretty.set("/a", "0") == JsonError::kNone);
  REQUIRE(pretty.set("/~1d", "3") == JsonError::kNone);  // the name "/d", Go-encoded
  CHECK(pretty.raw() == "{\n  \"/d\":3,\"a\":0,\"b\": 1,\"c\":2\n}");
  CHECK(read(pretty, "/~1d").integer == 3);
  CHECK(member_names(pretty, "") == std::vector<std::string>{"/d", "a", "b", "c"});
}

TEST_CASE("a top-level edit moves the scan's index: later top-level reads build no DOM",
          "[json_body][splice]") {
  JsonBody body(R"({"messages":[{"role":"user","content":"hi"}],"model":"m","stream":false})");
  REQUIRE(read(body, "/model").string == "m");
  const auto doms = bbr::work_counters::dom_builds.load();
  REQUIRE(body.set_string("/model", "a much longer model name") == JsonError::kNone);
  REQUIRE(body.set("/stream", "true") == JsonError::kNone);
  REQUIRE(body.set("/max_tokens", "64") == JsonError::kNone);
  REQUIRE(body.remove("/messages") == JsonError::kNone);
  CHECK(read(body, "/model").string == "a much longer model name");
  CHECK(read(body, "/stream").boolean);
  CHECK(read(body, "/max_tokens").integer == 64);
  bbr::JsonRead out;
  CHECK(body.get("/messages", out) == JsonError::kNotFound);
  CHECK(bbr::work_counters::dom_builds.load() == doms);
  CHECK(body.raw() == R"({"max_tokens":64,"model":"a much longer model name","stream":true})");
  CHECK(body.map_decode_error().empty());
}

TEST_CASE("reads after a nested splice see the edit, in document order", "[json_body][splice]") {
  JsonBody body(R"({"model":"m","messages":[{"role":"user","content":"my card is 4111"}]})");
  REQUIRE(read(body, "/messages/0/content").string == "my card is 4111");  // the DOM, before
  REQUIRE(body.set_string("/messages/0/content", "my card is [REDACTED]") == JsonError::kNone);
  CHECK(read(body, "/messages/0/content").string == "my card is [REDACTED]");
  CHECK(member_names(body, "/messages/0") == std::vector<std::string>{"role", "content"});
  std::vector<std::string> seen;
  REQUIRE(body.for_each("/messages/0", [&](std::size_t, const std::string_view* name,
                                           const bbr::JsonRead& v) {
    seen.push_back(std::string(*name) + "=" + std::string(v.string));
    return false;
  }) == JsonError::kNone);
  CHECK(seen == std::vector<std::string>{"role=user", "content=my card is [REDACTED]"});
  CHECK(body.raw() == R"({"model":"m","messages":[{"role":"user","content":"my card is [REDACTED]"}]})");
  JsonError err;
  CHECK(body.find("/messages/0/content", err)->get<std::string>() == "my card is [REDACTED]");
}

TEST_CASE("a splice that outgrows the bytes' capacity still parses after", "[json_body][splice]") {
  JsonBody body(R"({"model":"m","messages":[{"role":"user"}]})");
  REQUIRE(read(body, "/messages/0/role").string == "user");
  const std::string big(200000, 'x');
  REQUIRE(body.set_string("/model", big) == JsonError::kNone);
  CHECK(read(body, "/messages/0/role").string == "user");
  CHECK(read(body, "/model").string == big);
  CHECK(body.raw() == R"({"model":")" + big + R"(","messages":[{"role":"user"}]})");
}

TEST_CASE("edits that cannot be spliced go to the document, Go-encoded", "[json_body][splice]") {
  SECTION("the name given twice on the way: Go keeps the last, the others go") {
    JsonBody body(R"({"o":{"k":1},"o":{"k":2},"z":0})");
    REQUIRE(body.set("/o/k", "5") == JsonError::kNone);
    CHECK(body.raw() == R"({"o":{"k":5},"z":0})");
  }
  SECTION("a name given twice off the way is left as sent") {
    JsonBody body(R"({"d":{"a":1,"a":2},"model":"m"})");
    REQUIRE(body.set_string("/model", "n") == JsonError::kNone);
    CHECK(body.raw() == R"({"d":{"a":1,"a":2},"model":"n"})");
  }
  SECTION("a name written with escapes in an object on the way") {
    JsonBody body(R"({"z":0,"mo\u0064el":"m"})");
    REQUIRE(body.set("/z", "1") == JsonError::kNone);
    CHECK(body.raw() == R"({"model":"m","z":1})");
  }
  SECTION("a body only the Go-compatible slow path decodes (invalid UTF-8)") {
    JsonBody body(std::string("{\"n\":1,\"model\":\"a\xff") + "b\"}");
    REQUIRE(body.set("/n", "2") == JsonError::kNone);
    CHECK(body.raw() == "{\"model\":\"a\xEF\xBF\xBD" "b\",\"n\":2}");
  }
  SECTION("once an edit went to the document, later ones follow it") {
    JsonBody body(R"({"b":1,"a":1,"b":2})");
    REQUIRE(body.set("/b", "3") == JsonError::kNone);
    REQUIRE(body.set("/a", "4") == JsonError::kNone);
    CHECK(read(body, "/a").integer == 4);
    CHECK(body.raw() == R"({"a":4,"b":3})");
    REQUIRE(body.set("/c", "5") == JsonError::kNone);  // after raw(): still the document
    CHECK(body.raw() == R"({"a":4,"b":3,"c":5})");
  }
  SECTION("the whole document set: the value as Go writes it, later edits spliced again") {
    JsonBody body(R"({"x":1})");
    REQUIRE(body.set("", R"({"b":1, "a":[2]})") == JsonError::kNone);
    CHECK(body.raw() == R"({"a":[2],"b":1})");
    REQUIRE(body.set("/0", "3") == JsonError::kNone);
    CHECK(body.raw() == R"({"0":3,"a":[2],"b":1})");
    CHECK(body.remove("") == JsonError::kInvalidPointer);
  }
}

TEST_CASE("spliced edits decode to what the document edits give, error for error",
          "[json_body][splice]") {
  // `dup` is given twice: an edit naming it cannot be spliced, so `doc` is
  // moved into the document by its first edit; `spliced` never is.
  const std::string original =
      R"({"a": {"b": [1, {"c": "\u00e9"}], "s": "t"}, "l": [[], {}, 3], "s": 1.50,)"
      R"( "~1odd": null, "dup": 0, "dup": 1})";
  JsonBody spliced(original);
  JsonBody doc(original);
  REQUIRE(doc.set("/dup", "1") == JsonError::kNone);
  const char* pointers[] = {"/a",     "/a/b",   "/a/b/0", "/a/b/1",   "/a/b/1/c", "/a/b/-",
                            "/a/b/5", "/a/s",   "/a/new", "/l",       "/l/0",     "/l/0/-",
                            "/l/1/k", "/l/2",   "/l/-",   "/l/9",     "/s",       "/s/x",
                            "/new",   "/~0odd", "/~1odd", "/l/1/k/z", "/a/b/1/c/d"};
  const char* values[] = {"1", "\"str\"", R"({"k":[1,{"j":2}]})", "[]", "null", "{}", "-0.5e2"};
  std::mt19937 random(20261202);
  for (int step = 0; step < 400; ++step) {
    const char* pointer = pointers[random() % std::size(pointers)];
    const bool removal = random() % 3 == 0;
    const char* value = values[random() % std::size(values)];
    INFO(step << (removal ? " remove " : " set ") << pointer << " " << value);
    const JsonError a = removal ? spliced.remove(pointer) : spliced.set(pointer, value);
    const JsonError b = removal ? doc.remove(pointer) : doc.set(pointer, value);
    REQUIRE(a == b);
    JsonBody decoded(spliced.raw());
    REQUIRE(decoded.document() == doc.document());
    REQUIRE(spliced.document() == doc.document());
  }
  CHECK(spliced.raw().find("\"dup\": 0, \"dup\": 1") != std::string::npos);  // never re-encoded
}
