// The body of one message: its raw bytes plus one lazily built JSON view.
//
// Why this shape: the body is parsed at most once, however many plugins read
// it. An edit is a splice (json_splice.hpp): the edited value's bytes are
// replaced in the text and every other byte stays as the client sent it; only
// an edit that cannot be spliced moves the body into the mutable document,
// which is re-serialised once, after the whole chain (docs/session.md, "Body
// edits", says which). When nothing changed, raw() is the bytes the client sent.
//
// Three levels, each reached only when needed:
//   - a validating scan (simdjson's SIMD stage 1 plus our check of Go's
//     grammar over its structural indexes; no tape, no string copies)
//     decides whether Go would decode the body and indexes its top-level
//     members: a lookup of a top-level scalar (`/model`) is served from it;
//   - a read-only simdjson DOM (about 2-3 GB/s) serves every other lookup
//     (get, get_text, member_name) while nothing edited the body;
//   - a mutable nlohmann document (about 0.1 GB/s) is built from the bytes
//     only for an edit that cannot be spliced, or when simdjson refuses a
//     body Go accepts (invalid UTF-8 inside strings, integers beyond 64
//     bits): then the old, slower, Go-compatible path decides, and serves
//     the lookups.
// After a splice the scan's index of top-level members is moved along with
// the bytes; the DOM is rebuilt from the new bytes when a read needs it.
#pragma once

#include "body/json_value.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bbr {

struct ScanResult;
struct Splice;

class JsonBody {
 public:
  // simdjson reads up to this many bytes past the end of the body: raw bytes
  // whose capacity leaves this much room are parsed in place, without a copy.
  static constexpr std::size_t kParsePadding = 64;

  JsonBody();
  explicit JsonBody(std::string raw);
  JsonBody(const JsonBody& other);
  JsonBody& operator=(const JsonBody& other);
  JsonBody(JsonBody&& other) noexcept;
  JsonBody& operator=(JsonBody&& other) noexcept;
  ~JsonBody();

  // Current bytes: the original (with spliced edits), the replaced body, or
  // the edited document serialised (serialisation happens here, once, then
  // cached).
  const std::string& raw();
  // Moves the current bytes out and drops both documents, for the encoder
  // once nothing reads the body any more: the parse's memory goes before the
  // bytes are copied into chunks. changed() keeps its answer.
  std::string release();

  // Validates (and parses) if not yet done. False (with parse_error()) when the
  // body is not a JSON document Go would decode. The reference additionally
  // requires a top-level object (or null); see map_decode_error().
  bool parse();
  const std::string& parse_error() const { return parse_error_; }
  // Why the reference would refuse this body as a request: Go's error text for
  // a body that does not decode into map[string]any (a syntax error, or a
  // top-level value other than an object or null). Empty when acceptable.
  std::string map_decode_error();

  // --- read-only lookups by RFC 6901 JSON Pointer (what plugins call) ---
  // Duplicate member names resolve to the last one, as Go's decoder keeps it.
  // A JsonRead's string borrows from the body's parse: it stays valid until
  // the body is edited, replaced, released or destroyed.
  JsonError get(std::string_view pointer, JsonRead& out);
  // The value as compact JSON, encoded as Go's encoding/json would (keys
  // sorted, duplicates collapsed to the last); `out` is overwritten.
  JsonError get_text(std::string_view pointer, std::string& out);
  // Name of the index-th distinct member of the object at `pointer`, in
  // document order (first appearance): the order it will be sent in (after an
  // edit that could not be spliced, the document is Go-encoded with sorted
  // keys: then that order). The view
  // lives as long as a JsonRead's. Walking index 0, 1, 2, ... costs O(1) a step.
  JsonError member_name(std::string_view pointer, std::size_t index, std::string_view& out);

  // Walks the array or object at `pointer` once, in the order it will be sent
  // in (as member_name), calling visit(index, name, value)
  // for each element (name null) or distinct member (duplicates: the last value
  // at the first position, as Go decodes them). O(1) a step: the container is
  // resolved once, never per child. visit returns true to stop. Views live as
  // long as a JsonRead's. kWrongType when the value is neither.
  using Visit = std::function<bool(std::size_t, const std::string_view*, const JsonRead&)>;
  JsonError for_each(std::string_view pointer, const Visit& visit);

  // --- the mutable document (built on first use) ---
  // The whole document; only meaningful after parse() returned true. For
  // tests and the fuzz target, which hold the fast paths to it.
  const Json& document();
  // Lookup in the mutable document; nullptr with `err` set when absent.
  const Json* find(std::string_view pointer, JsonError& err);

  // Edits (mark the body changed): spliced into the bytes when they can be,
  // else applied to the mutable document and serialised lazily by raw().
  // The value goes in as Go encodes it.
  JsonError set(std::string_view pointer, std::string_view json_text);
  // set() of a JSON string holding `utf8` (valid UTF-8: the caller checks).
  JsonError set_string(std::string_view pointer, std::string_view utf8);
  JsonError remove(std::string_view pointer);
  void replace(std::string raw);

  // True when the bytes differ from what the client sent.
  bool changed() const { return changed_; }

 private:
  struct Dom;      // the simdjson side (kept out of this header: simdjson.h is large)
  struct Located;  // where a pointer led: a DOM element or a mutable node
  struct MemberCache {
    std::string pointer;
    uint64_t generation = 0;
    std::vector<std::string_view> names;
  };
  enum class ParseState { kNotParsed, kParsed, kFailed };

  bool parse_slow();
  bool build_dom();
  JsonError locate(std::string_view pointer, Located& out);
  bool read_from_scan(std::string_view pointer, JsonRead& out, JsonError& err);
  bool ensure_mutable();
  void drop_documents();
  void edited();
  bool splicing() const;
  const ScanResult* scan_index() const;
  // nullopt: the edit cannot be spliced (the caller edits the document).
  std::optional<JsonError> splice_set(std::string_view pointer, std::string encoded);
  void apply(const Splice& s);
  JsonError set_in_document(std::string_view pointer, Json value);
  JsonError remove_in_document(std::string_view pointer);

  std::string raw_;
  std::unique_ptr<Dom> dom_;  // set while the simdjson parse serves lookups
  Json doc_;
  bool mutable_ready_ = false;  // doc_ is the document of raw_ (plus edits)
  ParseState state_ = ParseState::kNotParsed;
  bool dirty_ = false;  // doc_ edited since raw_ was last produced (no more splices)
  bool changed_ = false;
  uint64_t generation_ = 1;  // bumped whenever views into the documents die
  std::string parse_error_;
  MemberCache members_;
};

}  // namespace bbr
