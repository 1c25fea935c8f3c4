#include "body/go_json.hpp"

#include <catch2/catch.hpp>

using bbr::go_json_decode_error;
using bbr::to_go_json;
using nlohmann::json;

TEST_CASE("Go encoding sorts object keys and writes compact JSON", "[go_json]") {
  json v = json::parse(R"({"prompt":"hello", "injected":"test-value", "a":{"z":1,"b":[true,null]}})");
  CHECK(to_go_json(v) == R"({"a":{"b":[true,null],"z":1},"injected":"test-value","prompt":"hello"})");
}

TEST_CASE("Go encoding escapes HTML characters and line separators like encoding/json", "[go_json]") {
  json v = std::string("<a href=\"x\">&</a>\n\t\x01 \xe2\x80\xa8");
  CHECK(to_go_json(v) == "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\\n\\t\\u0001 \\u2028\"");
}

TEST_CASE("Go encoding writes \\b and \\f as short escapes and keeps UTF-8 as is", "[go_json]") {
  json v = std::string("\b\f caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(to_go_json(v) == "\"\\b\\f caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST_CASE("Go encoding writes floats in Go's shortest form", "[go_json]") {
  CHECK(to_go_json(json(0.7)) == "0.7");
  CHECK(to_go_json(json(100.0)) == "100");
  CHECK(to_go_json(json(1e21)) == "1e+21");
  CHECK(to_go_json(json(1e20)) == "100000000000000000000");
  CHECK(to_go_json(json(1e-7)) == "1e-7");
  CHECK(to_go_json(json(0.000001)) == "0.000001");
  CHECK(to_go_json(json(-2.5)) == "-2.5");
}

TEST_CASE("Go encoding keeps integers exact", "[go_json]") {
  CHECK(to_go_json(json::parse("12345678901234567890")) == "12345678901234567890");
  CHECK(to_go_json(json::parse("-42")) == "-42");
}

TEST_CASE("decode errors carry encoding/json's texts", "[go_json]") {
  CHECK(go_json_decode_error("") == "unexpected end of JSON input");
  CHECK(go_json_decode_error("{") == "unexpected end of JSON input");
  CHECK(go_json_decode_error("{\"model\":\"x") == "unexpected end of JSON input");
  CHECK(go_json_decode_error("not json") == "invalid character 'o' in literal null (expecting 'u')");
  CHECK(go_json_decode_error("{\"model\": }") ==
        "invalid character '}' looking for beginning of value");
  CHECK(go_json_decode_error("{} x") == "invalid character 'x' after top-level value");
  CHECK(go_json_decode_error("{1:2}") ==
        "invalid character '1' looking for beginning of object key string");
  CHECK(go_json_decode_error("{\"a\" 1}") == "invalid character '1' after object key");
  CHECK(go_json_decode_error("{\"a\":1 \"b\":2}") ==
        "invalid character '\"' after object key:value pair");
  CHECK(go_json_decode_error("[1 2]") == "invalid character '2' after array element");
  CHECK(go_json_decode_error("{\"a\":-x}") == "invalid character 'x' in numeric literal");
  CHECK(go_json_decode_error("{\"a\":1.}") ==
        "invalid character '}' after decimal point in numeric literal");
  CHECK(go_json_decode_error("{\"a\":1e}") == "invalid character '}' in exponent of numeric literal");
  CHECK(go_json_decode_error("{\"a\":\"\\q\"}") == "invalid character 'q' in string escape code");
  CHECK(go_json_decode_error("{\"a\":\"\x01\"}") == "invalid character '\\x01' in string literal");
  CHECK(go_json_decode_error("{\"a\":tru}") == "invalid character '}' in literal true (expecting 'e')");
}

TEST_CASE("top-level values other than an object or null do not decode into a map", "[go_json]") {
  CHECK(go_json_decode_error("[1]") ==
        "json: cannot unmarshal array into Go value of type map[string]interface {}");
  CHECK(go_json_decode_error("\"s\"") ==
        "json: cannot unmarshal string into Go value of type map[string]interface {}");
  CHECK(go_json_decode_error("12") ==
        "json: cannot unmarshal number into Go value of type map[string]interface {}");
  CHECK(go_json_decode_error("true") ==
        "json: cannot unmarshal bool into Go value of type map[string]interface {}");
  CHECK(go_json_decode_error("null").empty());
  CHECK(go_json_decode_error(" {\"a\": [1, {\"b\": null}]} \n").empty());
}

TEST_CASE("nesting deeper than Go's limit is refused without recursion", "[go_json]") {
  std::string deep(20000, '[');
  CHECK(go_json_decode_error(deep) == "exceeded max depth");
}

TEST_CASE("a number beyond float64 gets Go's unmarshal error text", "[go_json]") {
  CHECK(bbr::go_number_range_error(R"({"a":"1e999","c":10501004493863612e7295})") ==
        "json: cannot unmarshal number 10501004493863612e7295 into Go value of type float64");
  CHECK(bbr::go_number_range_error(R"({"a":1e308,"b":-2.5e-400,"s":"9e999"})").empty());
  CHECK(bbr::go_number_range_error(R"({"a":-1e999})") ==
        "json: cannot unmarshal number -1e999 into Go value of type float64");
}

TEST_CASE("UTF-8 validation refuses overlong forms, surrogates and stray bytes", "[go_json]") {
  CHECK(bbr::is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  CHECK_FALSE(bbr::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(bbr::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(bbr::is_valid_utf8("a\xff"));
  CHECK_FALSE(bbr::is_valid_utf8("\xe2\x82"));          // truncated
}
