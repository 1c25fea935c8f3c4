// The vocabulary every part of the body module speaks: the mutable document
// type, what a lookup returns, and why it failed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bbr {

// nlohmann::json keeps object members in a std::map: sorted by byte order, the
// order Go's encoding/json writes map keys in, which the reference's re-encoded
// bodies use (see go_json.hpp).
using Json = nlohmann::json;

enum class JsonError { kNone, kNotFound, kWrongType, kInvalidPointer, kInvalidValue, kNotJson };

enum class JsonType { kNull, kBool, kInteger, kNumber, kString, kArray, kObject };

// One value read out of a document. `string` borrows from the document: it
// stays valid as long as the value it was read from.
struct JsonRead {
  JsonType type = JsonType::kNull;
  bool boolean = false;
  int64_t integer = 0;      // kInteger: a number without fraction or exponent that fits int64
  double number = 0;        // kInteger and kNumber
  std::string_view string;  // kString: unescaped UTF-8
  std::size_t size = 0;     // kArray: elements; kObject: distinct member names
};

// A value of the mutable document (or of a plugin's parameters) as a lookup
// returns it. The one mapping from nlohmann's types: an unsigned integer
// beyond int64 is a kNumber, as simdjson's DOM types it. Defined for the body's
// Json and for the document-ordered json plugin parameters are kept in.
template <class AnyJson>
void read_value(const AnyJson& v, JsonRead& out);

}  // namespace bbr
