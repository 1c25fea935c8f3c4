// The body of one message: its raw bytes plus one lazily built JSON view.
//
// Why this shape: the body is parsed at most once, however many plugins read it,
// and it is re-serialised at most once, after the whole chain, and only when a
// plugin edited it. When nothing changed, raw() is the bytes the client sent.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace bbr {

// nlohmann::json keeps object members in a std::map: sorted by byte order, the
// order Go's encoding/json writes map keys in, which the reference's re-encoded
// bodies use (see go_json.hpp).
using Json = nlohmann::json;

enum class JsonError { kNone, kNotFound, kWrongType, kInvalidPointer, kInvalidValue, kNotJson };

class JsonBody {
 public:
  JsonBody() = default;
  explicit JsonBody(std::string raw) : raw_(std::move(raw)) {}

  // Current bytes: the original, the replaced body, or the edited document
  // serialised (serialisation happens here, once, then cached).
  const std::string& raw();
  std::size_t size() const { return raw_.size(); }
  // Moves the current bytes out and drops the parsed document, for the encoder
  // once nothing reads the body any more: the parse's memory goes before the
  // bytes are copied into chunks. changed() keeps its answer.
  std::string release();

  void append(std::string_view chunk);

  // Parses if not yet done. False (with parse_error()) when the body is not a
  // JSON document. The reference additionally requires a top-level object (or
  // null); see is_request_object().
  bool parse();
  const std::string& parse_error() const { return parse_error_; }
  // Why the reference would refuse this body as a request: Go's error text for
  // a body that does not decode into map[string]any (a syntax error, or a
  // top-level value other than an object or null). Empty when acceptable.
  std::string map_decode_error();
  // The parsed document; only meaningful after parse() returned true.
  const Json& document() const { return doc_; }

  // Lookup by RFC 6901 JSON Pointer; nullptr with `err` set when absent.
  const Json* find(std::string_view pointer, JsonError& err);

  // Edits (mark the body changed; serialised lazily by raw()).
  JsonError set(std::string_view pointer, std::string_view json_text);
  JsonError remove(std::string_view pointer);
  void replace(std::string raw);

  // True when the bytes differ from what the client sent.
  bool changed() const { return changed_; }

 private:
  enum class ParseState { kNotParsed, kParsed, kFailed };
  std::string raw_;
  Json doc_;
  ParseState state_ = ParseState::kNotParsed;
  bool dirty_ = false;  // doc_ edited since raw_ was last produced
  bool changed_ = false;
  std::string parse_error_;
};

}  // namespace bbr
