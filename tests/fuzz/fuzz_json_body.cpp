// JsonBody against arbitrary bytes. Input: <body> NUL <pointer> NUL <value>
// (missing parts default to "/model" and "\"fuzz\"").
// Checks: Go's syntax verdict and JsonBody::parse agree; an untouched body
// keeps its bytes; the read-only lookups (simdjson parse) agree with the
// mutable document (nlohmann) on status, value and Go encoding; every
// successful edit re-encodes to JSON that parses back to the same document
// and that Go would decode.
#include "fuzz_targets.hpp"

#include "body/go_json.hpp"
#include "body/json_body.hpp"
#include "body/string_scan.hpp"

#include <string>
#include <string_view>

namespace bbr_fuzz {
namespace {

void check(bool condition, const char* what) {
  if (!condition) invariant_failed("json_body", what);
}

bool go_decodes_into_map(const bbr::Json& doc) { return doc.is_object() || doc.is_null(); }

// After an edit: the re-encoded bytes parse back to the edited document.
void check_round_trip(bbr::JsonBody& body) {
  const std::string encoded = body.raw();
  bbr::JsonBody again(encoded);
  check(again.parse(), "re-encoded body does not parse");
  check(again.document() == body.document(), "re-encoded body parses to a different document");
  if (go_decodes_into_map(body.document())) {
    check(bbr::go_json_decode_error(encoded).empty(), "Go would not decode the re-encoded body");
  }
}

// Every build of the scan's string check (portable, AVX2, AVX-512: as many
// as this CPU runs) reaches the same verdict and reads the same `model`.
void check_scan_builds_agree(std::string_view bytes, bool parsed, const std::string& error) {
  for (int level = 0; level < bbr::string_scan_levels(); ++level) {
    bbr::set_string_scan_level_for_testing(level);
    bbr::JsonBody other{std::string(bytes)};
    const bool other_parsed = other.parse();
    check(other_parsed == parsed, "the scan's builds disagree on a body");
    check(other.parse_error() == error, "the scan's builds give different error texts");
  }
  bbr::set_string_scan_level_for_testing(-1);
}

// The read-only lookup path and the mutable document must describe the same
// value: same status, same type and scalar, same Go encoding.
void check_lookups_agree(bbr::JsonBody& body, std::string_view pointer) {
  bbr::JsonRead read;
  const bbr::JsonError get_err = body.get(pointer, read);
  std::string text;
  const bbr::JsonError text_err = body.get_text(pointer, text);
  check(get_err == text_err, "get and get_text disagree on the status");
  bbr::JsonError find_err = bbr::JsonError::kNone;
  const bbr::Json* found = body.find(pointer, find_err);
  check(get_err == find_err, "get and the mutable document disagree on the status");
  if (found == nullptr || get_err != bbr::JsonError::kNone) return;
  check(text == bbr::to_go_json(*found), "get_text and the mutable document encode differently");
  if (found->is_string()) {
    check(
        read.type == bbr::JsonType::kString && read.string == found->get_ref<const std::string&>(),
        "get and the mutable document read different strings");
  } else if (found->is_object() || found->is_array()) {
    check(read.size == found->size(), "get and the mutable document count differently");
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
  const bool go_decodes = go_error.empty() && bbr::go_number_range_error(body_bytes).empty();
  if (go_decodes) check(parsed, "Go decodes the body but JsonBody::parse refuses it");
  if (parsed && go_decodes_into_map(body.document())) {
    check(go_error.empty(), "JsonBody::parse accepts an object Go refuses");
  }
  if (parsed) {
    // Whatever path accepted it (the validating scan, the DOM, the slow
    // path), Go's syntax check agrees: at most a top-level type error.
    const bool type_error_only =
        go_error.starts_with("json: cannot unmarshal ") &&
        go_error.ends_with("into Go value of type map[string]interface {}");
    check(go_error.empty() || type_error_only, "JsonBody::parse accepts a body Go refuses");
    check(bbr::go_number_range_error(body_bytes).empty(),
          "JsonBody::parse accepts a number beyond float64");
  }
  if (!parsed) check(!body.parse_error().empty(), "parse failed without an error text");
  check(body.raw() == body_bytes, "an untouched body changed its bytes");
  check(!body.changed(), "an untouched body says it changed");

  check_scan_builds_agree(body_bytes, parsed, body.parse_error());
  if (parsed) {
    check_lookups_agree(body, pointer);
    check_lookups_agree(body, "/model");
    check_lookups_agree(body, "");
  }

  bbr::JsonError err = bbr::JsonError::kNone;
  const bbr::Json* found = body.find(pointer, err);
  check((found != nullptr) == (err == bbr::JsonError::kNone), "find's result and error disagree");
  if (!parsed) check(err == bbr::JsonError::kNotJson, "find on a non-JSON body not kNotJson");

  if (body.set(pointer, value) == bbr::JsonError::kNone) {
    check(body.changed(), "a successful set did not mark the body changed");
    const bbr::Json* now = body.find(pointer, err);
    check(now != nullptr || pointer.empty() || pointer.back() == '-',
          "a value just set cannot be found");
    check(bbr::is_valid_utf8(pointer), "a pointer with invalid UTF-8 was accepted");
    check_round_trip(body);
  }
  if (body.remove(pointer) == bbr::JsonError::kNone) check_round_trip(body);
  (void)body.find("/model", err);
  return 0;
}

}  // namespace bbr_fuzz
