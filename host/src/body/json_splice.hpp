// Body edits as splices: the byte range of a body's text that a JSON Pointer
// edit replaces, found by walking the text itself.
//
// Why: re-serialising a whole document to change one value costs a pass over
// every byte (5.6 ms for a `model` rename on a 1 MiB body) and rewrites bytes
// nobody changed (member order, white space, escapes, number spellings). A
// splice writes only the edited value: the rest of the text keeps its bytes,
// and a rename costs one memmove of the text after it.
//
// The text must be one JSON value the validating scan (or simdjson's DOM)
// accepted, and the value text handed in must already be encoded (Go's
// encoding, go_json.hpp): nothing here validates. What cannot be planned as a
// splice is said by kCannotSplice, and the caller edits its document instead
// (JsonBody, docs/session.md "Body edits").
#pragma once

#include "body/validating_scan.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace bbr {

// One edit of a text: the bytes [begin, end) become `text`.
struct Splice {
  enum class Kind {
    kValue,      // an existing value replaced
    kAddMember,  // a member added to an object
    kAddElement, // an element appended to an array
    kRemove,     // a member or element cut out, with its separator
  };
  Kind kind = Kind::kValue;
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string text;
  // Tokens in the pointer: 1 when the edit is of a top-level member.
  std::size_t depth = 0;
  // kAddMember: where in `text` the new member's name (its quote) and value
  // start, and where the value ends.
  std::size_t key_in_text = 0;
  std::size_t value_in_text = 0;
  std::size_t value_end_in_text = 0;
};

enum class SplicePlan { kPlanned, kNotFound, kWrongType, kCannotSplice };

// Plans setting the value at `pointer` (valid, not empty) to `encoded`: the
// member or element is replaced when it exists; an absent member is added
// before the first member whose name sorts after it (so a body already in
// Go's sorted order stays in it), else after the last; an array index equal
// to the size, or "-", appends. The outcomes JsonBody's document edits give:
// kNotFound (no parent, an index past the end), kWrongType (the parent is a
// scalar). kCannotSplice when an object on the way has a member name written
// with escapes or the name more than once (Go keeps the last: the document
// edit collapses the duplicates, a splice would leave the earlier bytes).
// `top`, when not null, is the scan's index of the top-level object's members,
// so a top-level edit does not walk the text.
SplicePlan plan_set(std::string_view text, const ScanResult* top, std::string_view pointer,
                    std::string encoded, Splice& out);

// Plans removing the member or element at `pointer` (valid, not empty), with
// the comma that separated it. kNotFound when there is none; kCannotSplice as
// for plan_set.
SplicePlan plan_remove(std::string_view text, const ScanResult* top, std::string_view pointer,
                       Splice& out);

// The scan's index after `s` was applied to the text now at `base`: offsets
// after the edit moved, an edited top-level member re-described, a removed one
// dropped, an added one inserted in document order, and every view re-pointed
// into `base` (the text may have moved).
void update_index(ScanResult& index, const Splice& s, const char* base);

}  // namespace bbr
