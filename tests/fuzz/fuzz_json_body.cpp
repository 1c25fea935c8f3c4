// JsonBody against arbitrary bytes. Input: <body> NUL <pointer> NUL <value>
// (missing parts default to "/model" and "\"fuzz\"").
// Checks: Go's syntax verdict and JsonBody::parse agree; an untouched body
// keeps its bytes; every successful edit re-encodes to JSON that parses back
// to the same document and that Go would decode.
#include "fuzz_targets.hpp"

#include "body/go_json.hpp"
#include "body/json_body.hpp"

#include <string>
#include <string_view>

namespace bbr_fuzz {
namespace {

void check(bool condition, const char* what) {
  if (!condition) invariant_failed("json_body", what);
}

bool go_decodes_into_map(const bbr::Json& doc) { return doc.is_object() || doc.is_null(); }

bool valid_utf8(std::string_view s) {
  return bbr::go_json_decode_error("\"" + std::string(s) + "\"").empty() &&
         !bbr::Json::parse("\"" + std::string(s) + "\"", nullptr, false).is_discarded();
}

// After an edit: the re-encoded bytes parse back to the edited document. A
// pointer holding invalid UTF-8 puts those bytes in a key, which the Go
// encoding writes as U+FFFD (as Go does): then only re-parsing is checked
// (README.md, finding 1).
void check_round_trip(bbr::JsonBody& body, bool exact) {
  const std::string encoded = body.raw();
  bbr::JsonBody again(encoded);
  check(again.parse(), "re-encoded body does not parse");
  if (exact) {
    check(again.document() == body.document(), "re-encoded body parses to a different document");
  }
  if (go_decodes_into_map(body.document())) {
    check(bbr::go_json_decode_error(encoded).empty(), "Go would not decode the re-encoded body");
  }
}

}  // namespace

int json_body_one_input(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body_bytes = input, pointer = "/model", value = "\"fuzz\"";
  if (auto nul = input.find('\0'); nul != std::string_view::npos) {
    body_bytes = input.substr(0, nul);
    std::string_view rest = input.substr(nul + 1);
    auto nul2 = rest.find('\0');
    pointer = rest.substr(0, nul2);
    if (nul2 != std::string_view::npos) value = rest.substr(nul2 + 1);
  }

  bbr::JsonBody body{std::string(body_bytes)};
  const bool parsed = body.parse();
  const std::string go_error = bbr::go_json_decode_error(body_bytes);
  if (go_error.empty()) check(parsed, "Go decodes the body but JsonBody::parse refuses it");
  if (parsed && go_decodes_into_map(body.document())) {
    check(go_error.empty(), "JsonBody::parse accepts an object Go refuses");
  }
  if (!parsed) check(!body.parse_error().empty(), "parse failed without an error text");
  check(body.raw() == body_bytes, "an untouched body changed its bytes");
  check(!body.changed(), "an untouched body says it changed");

  bbr::JsonError err = bbr::JsonError::kNone;
  const bbr::Json* found = body.find(pointer, err);
  check((found != nullptr) == (err == bbr::JsonError::kNone), "find's result and error disagree");
  if (!parsed) check(err == bbr::JsonError::kNotJson, "find on a non-JSON body not kNotJson");

  if (body.set(pointer, value) == bbr::JsonError::kNone) {
    check(body.changed(), "a successful set did not mark the body changed");
    const bbr::Json* now = body.find(pointer, err);
    check(now != nullptr || pointer.empty() || pointer.back() == '-',
          "a value just set cannot be found");
    check_round_trip(body, valid_utf8(pointer));
  }
  if (body.remove(pointer) == bbr::JsonError::kNone) check_round_trip(body, valid_utf8(pointer));
  (void)body.find("/model", err);
  return 0;
}

}  // namespace bbr_fuzz
