#include "body/json_body.hpp"

#include <catch2/catch.hpp>

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

TEST_CASE("chunks append and are parsed as one document", "[json_body]") {
  JsonBody body;
  body.append("{\"model\":\"sql-lo");
  CHECK_FALSE(body.parse());
  CHECK(body.parse_error() == "unexpected end of JSON input");
  body.append("ra\"}");
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
