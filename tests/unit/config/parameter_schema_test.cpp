// The JSON Schema subset plugin parameters are checked against.
#include "config/parameter_schema.hpp"

#include <catch2/catch.hpp>

using bbr::SchemaError;
using bbr::validate_against_schema;
using nlohmann::json;

namespace {

std::vector<std::string> check(const char* value, const char* schema) {
  return validate_against_schema(json::parse(value), json::parse(schema), "p.parameters");
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("a conforming object yields no problems") {
  CHECK(check(R"({"fieldName":"model","limit":3})",
              R"({"type":"object","required":["fieldName"],
                  "properties":{"fieldName":{"type":"string","minLength":1},"limit":{"type":"integer"}}})")
            .empty());
}

TEST_CASE("missing required members are named one by one") {
  CHECK(check("{}", R"({"type":"object","required":["fieldName","headerName"]})") ==
        Lines{"p.parameters.fieldName: required", "p.parameters.headerName: required"});
}

TEST_CASE("type mismatches say what was expected and what was found") {
  const char* schema = R"({"properties":{"limit":{"type":"integer"},"name":{"type":"string"},
      "on":{"type":"boolean"},"opt":{"type":["string","null"]},"any":{"type":["string","integer","array"]},
      "n":{"type":"number"},"o":{"type":"object"},"nul":{"type":"null"}}})";
  CHECK(check(R"({"limit":"3"})", schema) == Lines{"p.parameters.limit: must be an integer (got a string)"});
  CHECK(check(R"({"limit":2.5})", schema) == Lines{"p.parameters.limit: must be an integer (got a number)"});
  CHECK(check(R"({"limit":2.0})", schema).empty());  // JSON Schema: the value decides
  CHECK(check(R"({"name":1})", schema) == Lines{"p.parameters.name: must be a string (got an integer)"});
  CHECK(check(R"({"on":"yes"})", schema) == Lines{"p.parameters.on: must be a boolean (got a string)"});
  CHECK(check(R"({"opt":null})", schema).empty());
  CHECK(check(R"({"opt":[]})", schema) == Lines{"p.parameters.opt: must be a string or null (got an array)"});
  CHECK(check(R"({"any":{}})", schema) ==
        Lines{"p.parameters.any: must be a string, an integer or an array (got an object)"});
  CHECK(check(R"({"n":1})", schema).empty());
  CHECK(check(R"({"o":[]})", schema) == Lines{"p.parameters.o: must be an object (got an array)"});
  CHECK(check(R"({"nul":false})", schema) == Lines{"p.parameters.nul: must be null (got a boolean)"});
}

TEST_CASE("additionalProperties false refuses unknown members with a suggestion") {
  const char* schema = R"({"properties":{"fieldName":{},"headerName":{}},"additionalProperties":false})";
  CHECK(check(R"({"fieldname":"x"})", schema) ==
        Lines{"p.parameters.fieldname: unknown field (did you mean fieldName?)"});
  CHECK(check(R"({"zzzzzzzz":1})", schema) ==
        Lines{"p.parameters.zzzzzzzz: unknown field (allowed: fieldName, headerName)"});
}

TEST_CASE("additionalProperties as a schema checks every other member") {
  CHECK(check(R"({"a":1,"b":"x"})", R"({"additionalProperties":{"type":"integer"}})") ==
        Lines{"p.parameters.b: must be an integer (got a string)"});
}

TEST_CASE("enum and const compare whole values") {
  CHECK(check(R"("c")", R"({"enum":["a","b"]})") == Lines{R"(p.parameters: must be one of "a", "b" (got "c"))"});
  CHECK(check(R"("a")", R"({"enum":["a","b"]})").empty());
  CHECK(check("2", R"({"const":1})") == Lines{"p.parameters: must be 1 (got 2)"});
}

TEST_CASE("numeric bounds are inclusive unless exclusive") {
  const char* schema = R"({"minimum":1,"maximum":10})";
  CHECK(check("1", schema).empty());
  CHECK(check("10", schema).empty());
  CHECK(check("0", schema) == Lines{"p.parameters: must be >= 1 (got 0)"});
  CHECK(check("10.5", schema) == Lines{"p.parameters: must be <= 10 (got 10.5)"});
  CHECK(check("0", R"({"exclusiveMinimum":0})") == Lines{"p.parameters: must be > 0 (got 0)"});
  CHECK(check("5", R"({"exclusiveMaximum":5})") == Lines{"p.parameters: must be < 5 (got 5)"});
}

TEST_CASE("string lengths count characters, not bytes") {
  CHECK(check(R"("")", R"({"minLength":1})") == Lines{"p.parameters: must be at least 1 character long"});
  CHECK(check(R"("héé")", R"({"maxLength":3})").empty());
  CHECK(check(R"("abcd")", R"({"maxLength":3})") == Lines{"p.parameters: must be at most 3 characters long"});
}

TEST_CASE("pattern is an unanchored ECMAScript regular expression") {
  CHECK(check(R"("X-Model")", R"({"pattern":"^[A-Za-z-]+$"})").empty());
  CHECK(check(R"("bad header")", R"({"pattern":"^[A-Za-z-]+$"})") ==
        Lines{R"(p.parameters: must match the pattern "^[A-Za-z-]+$" (got "bad header"))"});
  CHECK(check(R"("xxabcxx")", R"({"pattern":"abc"})").empty());
}

TEST_CASE("array items and sizes are checked with element paths") {
  const char* schema = R"({"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2})";
  CHECK(check(R"(["a"])", schema).empty());
  CHECK(check("[]", schema) == Lines{"p.parameters: must have at least 1 item"});
  CHECK(check(R"(["a","b","c"])", schema) == Lines{"p.parameters: must have at most 2 items"});
  CHECK(check(R"(["a",1])", schema) == Lines{"p.parameters[1]: must be a string (got an integer)"});
  CHECK(check(R"({"list":[{"k":1}]})",
              R"({"properties":{"list":{"items":{"required":["name"]}}}})") ==
        Lines{"p.parameters.list[0].name: required"});
}

TEST_CASE("anyOf, oneOf and allOf combine schemas") {
  CHECK(check("1", R"({"anyOf":[{"type":"string"},{"type":"integer"}]})").empty());
  CHECK(check("true", R"({"anyOf":[{"type":"string"},{"type":"integer"}]})") ==
        Lines{"p.parameters: matches none of the 2 allowed forms (first: p.parameters: must be a string (got a boolean))"});
  CHECK(check("1", R"({"oneOf":[{"type":"integer"},{"type":"number"}]})") ==
        Lines{"p.parameters: matches 2 of the allowed forms, exactly one is required"});
  CHECK(check("0", R"({"allOf":[{"type":"integer"},{"minimum":1}]})") ==
        Lines{"p.parameters: must be >= 1 (got 0)"});
}

TEST_CASE("boolean schemas accept everything or nothing") {
  CHECK(check("{}", "true").empty());
  CHECK(check(R"({"x":1})", R"({"properties":{"x":false}})") == Lines{"p.parameters.x: is not allowed"});
}

TEST_CASE("annotations are ignored") {
  CHECK(check(R"({"a":1})", R"({"$schema":"http://json-schema.org/draft-07/schema#","title":"t",
      "description":"d","default":{},"examples":[]})")
            .empty());
}

TEST_CASE("a malformed schema is a SchemaError, not an operator problem") {
  CHECK_THROWS_AS(check("1", R"({"type":"integr"})"), SchemaError);
  CHECK_THROWS_AS(check("1", R"({"type":7})"), SchemaError);
  CHECK_THROWS_AS(check(R"("x")", R"({"pattern":"("})"), SchemaError);
  CHECK_THROWS_AS(check("1", R"({"minimum":"1"})"), SchemaError);
  CHECK_THROWS_AS(check("{}", R"({"required":"a"})"), SchemaError);
  CHECK_THROWS_AS(check("{}", R"({"$ref":"#/definitions/x"})"), SchemaError);
  CHECK_THROWS_AS(check("1", "[]"), SchemaError);
}
