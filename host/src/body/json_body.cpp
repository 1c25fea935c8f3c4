// JsonBody: which of the three levels (the validating scan, the simdjson DOM,
// the mutable document) answers a call, and building each on first need. The
// levels themselves: validating_scan, dom_view, slow_path_decode, and the
// mutable document's pointer lookups in json_pointer.
#include "body/json_body.hpp"

#include "body/dom_view.hpp"
#include "body/go_json.hpp"
#include "body/json_pointer.hpp"
#include "body/json_splice.hpp"
#include "body/json_text.hpp"
#include "body/parser_pool.hpp"
#include "body/slow_path_decode.hpp"
#include "body/validating_scan.hpp"
#include "body/work_counters.hpp"

#include <simdjson.h>

#include <utility>

namespace bbr {

static_assert(JsonBody::kParsePadding >= simdjson::SIMDJSON_PADDING);

namespace dom = simdjson::dom;

// The simdjson side of one body: the validating scan's result, and the DOM
// once a lookup needs more than a top-level scalar.
struct JsonBody::Dom {
  std::unique_ptr<dom::parser> parser;
  ScanResult scan;
  bool scan_indexed = false;  // the scan accepted the body: `scan` indexes it (kept across splices)
  bool dom_built = false;     // root is the DOM of the body as it is now
  dom::element root;
  ~Dom() { ParserPool::instance().give_back(std::move(parser)); }
};

// Where a pointer led: a DOM element while the DOM serves lookups, else a
// node of the mutable document.
struct JsonBody::Located {
  dom::element element;
  const Json* node = nullptr;  // set when the mutable document answered
};

JsonBody::JsonBody() = default;
JsonBody::JsonBody(std::string raw) : raw_(std::move(raw)) {}
JsonBody::~JsonBody() = default;
JsonBody::JsonBody(JsonBody&& other) noexcept = default;
JsonBody& JsonBody::operator=(JsonBody&& other) noexcept = default;

// A copy shares no parse: it re-validates its own bytes on first use.
JsonBody::JsonBody(const JsonBody& other)
    : raw_(other.raw_),
      doc_(other.mutable_ready_ ? other.doc_ : Json()),
      mutable_ready_(other.mutable_ready_),
      state_(other.dom_ ? ParseState::kNotParsed : other.state_),
      dirty_(other.dirty_),
      changed_(other.changed_),
      parse_error_(other.parse_error_) {}

JsonBody& JsonBody::operator=(const JsonBody& other) {
  if (this != &other) *this = JsonBody(other);
  return *this;
}

void JsonBody::drop_documents() {
  dom_.reset();
  doc_ = Json();
  mutable_ready_ = false;
  ++generation_;
}

// After a successful edit: the simdjson parse no longer describes the body.
void JsonBody::edited() {
  dom_.reset();
  dirty_ = true;
  changed_ = true;
  ++generation_;
}

const std::string& JsonBody::raw() {
  if (dirty_) {
    raw_ = to_go_json(doc_);
    dirty_ = false;
  }
  return raw_;
}

std::string JsonBody::release() {
  raw();  // serialise pending edits first
  std::string out = std::move(raw_);
  raw_.clear();
  drop_documents();
  state_ = ParseState::kNotParsed;
  return out;
}

bool JsonBody::parse() {
  if (state_ != ParseState::kNotParsed) return state_ == ParseState::kParsed;
  state_ = ParseState::kFailed;
  // simdjson reads a little past the end: parse in place when the string's
  // capacity allows, else make room once (one copy of the body).
  if (raw_.capacity() - raw_.size() < kParsePadding) raw_.reserve(raw_.size() + kParsePadding);
  auto dom = std::make_unique<Dom>();
  dom->parser = ParserPool::instance().acquire(raw_.size());
  if (dom->parser) {
    // Accepted by the scan: Go decodes it (see validating_scan.hpp).
    bool valid = validating_scan(*dom->parser, raw_, dom->scan);
    dom->scan_indexed = valid;
    if (!valid) {
      // simdjson's DOM accepts a strict subset of what Go accepts (it also
      // refuses invalid UTF-8, lone surrogate escapes, integers beyond 64
      // bits and nesting past Go's limit): what it accepts, Go decodes to the
      // same values. The rest goes to the slow path, which decides as Go does.
      work_counters::count_dom_build();
      auto root = dom->parser->parse(raw_.data(), raw_.size(), /*realloc_if_needed=*/false);
      if (root.error() == simdjson::SUCCESS) {
        dom->root = root.value_unsafe();
        dom->dom_built = true;
        valid = true;
      }
    }
    if (valid) {
      dom_ = std::move(dom);
      parse_error_.clear();
      state_ = ParseState::kParsed;
      return true;
    }
  }
  dom.reset();  // the parser goes back to the pool before the slow path
  return parse_slow();
}

// The Go-compatible decision for bodies simdjson refused: Go's error text, or
// the mutable document Go's decoder would have built.
bool JsonBody::parse_slow() {
  state_ = ParseState::kFailed;
  parse_error_ = decode_like_go(raw_, doc_);
  if (!parse_error_.empty()) return false;
  mutable_ready_ = true;
  state_ = ParseState::kParsed;
  return true;
}

// Builds the DOM on first need after the scan (later calls: a flag test).
// False when there is no simdjson side, or when simdjson refuses bytes the
// scan accepted (a lone surrogate escape, an integer beyond 64 bits): then the
// mutable document, built by the slow path, serves the lookups. Views handed
// out so far point into raw_ and stay valid.
bool JsonBody::build_dom() {
  if (!dom_) return false;
  if (dom_->dom_built) return true;
  work_counters::count_dom_build();
  // Spliced edits may have grown the bytes past what the parser was sized for.
  if (dom_->parser->capacity() < raw_.size() &&
      dom_->parser->allocate(raw_.size(), kGoMaxDepth) != simdjson::SUCCESS) {
    dom_.reset();
    ++generation_;
    return false;
  }
  // Bytes a splice grew into their padding are parsed from a padded copy:
  // reallocating them here would move what earlier reads handed out.
  const bool padded = raw_.capacity() - raw_.size() >= kParsePadding;
  auto root = dom_->parser->parse(raw_.data(), raw_.size(), /*realloc_if_needed=*/!padded);
  if (root.error() == simdjson::SUCCESS) {
    dom_->root = root.value_unsafe();
    dom_->dom_built = true;
    return true;
  }
  dom_.reset();
  ++generation_;
  return false;
}

// A top-level scalar straight from the scan. False: ask the DOM.
bool JsonBody::read_from_scan(std::string_view pointer, JsonRead& out, JsonError& err) {
  if (!dom_ || !dom_->scan_indexed || dom_->dom_built || dom_->scan.root != ValueKind::kObject ||
      dom_->scan.keys_escaped)
    return false;
  if (pointer.empty() || pointer.find('/', 1) != std::string_view::npos || !valid_pointer(pointer))
    return false;
  const RootMember* found = nullptr;
  for_each_token(pointer, [&](std::string_view name) {
    for (const RootMember& m : dom_->scan.members) {
      if (m.key == name) found = &m;  // the last duplicate, as Go keeps it
    }
    return true;
  });
  if (found == nullptr) {
    err = JsonError::kNotFound;
    return true;
  }
  if (!read_scanned(*found, out)) return false;
  err = JsonError::kNone;
  return true;
}

// Builds the mutable document from the validated bytes, once.
bool JsonBody::ensure_mutable() {
  if (!parse()) return false;
  if (mutable_ready_) return true;
  // From the DOM when simdjson takes the bytes; else (lone surrogate escapes,
  // integers beyond 64 bits) the slow path builds it as Go would decode it.
  if (!build_dom()) return parse_slow();
  doc_ = to_mutable(dom_->root);
  mutable_ready_ = true;
  return true;
}

// The value at `pointer` in the DOM while it serves lookups (built now if
// needed), else in the mutable document.
JsonError JsonBody::locate(std::string_view pointer, Located& out) {
  if (build_dom()) return dom_resolve(dom_->root, pointer, out.element);
  JsonError err = JsonError::kNone;
  out.node = find(pointer, err);
  return err;
}

std::string JsonBody::map_decode_error() {
  if (!parse()) return parse_error_;
  bool object_or_null = false;
  if (dom_ && dom_->scan_indexed) {
    object_or_null = dom_->scan.root == ValueKind::kObject || dom_->scan.root == ValueKind::kNull;
  } else if (build_dom()) {
    auto type = dom_->root.type();
    object_or_null = type == dom::element_type::OBJECT || type == dom::element_type::NULL_VALUE;
  } else {
    if (!ensure_mutable()) return parse_error_;
    object_or_null = doc_.is_object() || doc_.is_null();
  }
  if (object_or_null) return {};
  return go_json_decode_error(raw_);  // only a non-object top level gets here: the type error
}

JsonError JsonBody::get(std::string_view pointer, JsonRead& out) {
  if (!parse()) return JsonError::kNotJson;
  if (JsonError err = JsonError::kNone; read_from_scan(pointer, out, err)) return err;
  Located v;
  JsonError err = locate(pointer, v);
  if (err != JsonError::kNone) return err;
  if (v.node != nullptr) {
    read_value(*v.node, out);
  } else {
    dom_read(v.element, out);
  }
  return JsonError::kNone;
}

JsonError JsonBody::get_text(std::string_view pointer, std::string& out) {
  if (!parse()) return JsonError::kNotJson;
  out.clear();
  Located v;
  JsonError err = locate(pointer, v);
  if (err != JsonError::kNone) return err;
  if (v.node != nullptr) {
    append_go_json(out, *v.node);
  } else {
    append_go_json(out, v.element);
  }
  return JsonError::kNone;
}

JsonError JsonBody::member_name(std::string_view pointer, std::size_t index,
                                std::string_view& out) {
  if (!parse()) return JsonError::kNotJson;
  if (members_.generation != generation_ || members_.pointer != pointer) {
    // A new object: list its names once, so walking them is O(1) a step.
    members_.generation = 0;
    members_.names.clear();
    Located v;
    JsonError err = locate(pointer, v);
    if (err != JsonError::kNone) return err;
    if (v.node != nullptr) {
      if (!v.node->is_object()) return JsonError::kWrongType;
      for (const auto& [name, value] : v.node->items()) members_.names.push_back(name);
    } else {
      if (v.element.type() != dom::element_type::OBJECT) return JsonError::kWrongType;
      dom_member_names(as_object(v.element), members_.names);
    }
    members_.pointer.assign(pointer);
    members_.generation = generation_;
  }
  if (index >= members_.names.size()) return JsonError::kNotFound;
  out = members_.names[index];
  return JsonError::kNone;
}

JsonError JsonBody::for_each(std::string_view pointer, const Visit& visit) {
  if (!parse()) return JsonError::kNotJson;
  Located v;
  JsonError err = locate(pointer, v);
  if (err != JsonError::kNone) return err;
  JsonRead child;
  if (v.node != nullptr) {
    const Json& node = *v.node;
    if (!node.is_array() && !node.is_object()) return JsonError::kWrongType;
    std::size_t index = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++index) {
      read_value(*it, child);
      std::string_view name;
      if (node.is_object()) name = it.key();
      if (visit(index, node.is_object() ? &name : nullptr, child)) break;
    }
    return JsonError::kNone;
  }
  if (v.element.type() == dom::element_type::ARRAY) {
    std::size_t index = 0;
    for (dom::element e : as_array(v.element)) {
      dom_read(e, child);
      if (visit(index++, nullptr, child)) break;
    }
    return JsonError::kNone;
  }
  if (v.element.type() != dom::element_type::OBJECT) return JsonError::kWrongType;
  std::vector<std::pair<std::string_view, dom::element>> members;
  dom_distinct_members(as_object(v.element), members);
  for (std::size_t i = 0; i < members.size(); ++i) {
    dom_read(members[i].second, child);
    if (visit(i, &members[i].first, child)) break;
  }
  return JsonError::kNone;
}

const Json& JsonBody::document() {
  ensure_mutable();
  return doc_;
}

const Json* JsonBody::find(std::string_view pointer, JsonError& err) {
  if (!ensure_mutable()) {
    err = JsonError::kNotJson;
    return nullptr;
  }
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) {
    err = JsonError::kInvalidPointer;
    return nullptr;
  }
  return resolve(doc_, ptr, err);
}

JsonError JsonBody::set(std::string_view pointer, std::string_view json_text) {
  if (!parse()) return JsonError::kNotJson;
  if (!valid_pointer(pointer)) return JsonError::kInvalidPointer;
  Json value;
  if (!parse_json_text(json_text, kGoMaxDepth, value)) return JsonError::kInvalidValue;
  if (splicing()) {
    // The value as Go writes it: the bytes the re-serialised body had for it.
    if (auto done = splice_set(pointer, to_go_json(value))) return *done;
  }
  return set_in_document(pointer, std::move(value));
}

JsonError JsonBody::set_string(std::string_view pointer, std::string_view utf8) {
  if (!parse()) return JsonError::kNotJson;
  if (!valid_pointer(pointer)) return JsonError::kInvalidPointer;
  if (splicing()) {
    std::string encoded;
    encoded.reserve(utf8.size() + 2);
    append_go_string(encoded, utf8);
    if (auto done = splice_set(pointer, std::move(encoded))) return *done;
  }
  return set_in_document(pointer, Json(std::string(utf8)));
}

JsonError JsonBody::remove(std::string_view pointer) {
  if (!parse()) return JsonError::kNotJson;
  if (!valid_pointer(pointer) || pointer.empty()) return JsonError::kInvalidPointer;
  if (splicing()) {
    Splice s;
    switch (plan_remove(raw_, scan_index(), pointer, s)) {
      case SplicePlan::kPlanned: apply(s); return JsonError::kNone;
      case SplicePlan::kNotFound: return JsonError::kNotFound;
      case SplicePlan::kWrongType: return JsonError::kWrongType;
      case SplicePlan::kCannotSplice: break;
    }
  }
  return remove_in_document(pointer);
}

// Spliced edits need the text and its scan, and no edit pending in the
// document: once an edit went to the document, it holds the body until sent.
bool JsonBody::splicing() const { return dom_ != nullptr && !dirty_; }

const ScanResult* JsonBody::scan_index() const {
  if (dom_ == nullptr || !dom_->scan_indexed || dom_->scan.root != ValueKind::kObject) return nullptr;
  return &dom_->scan;
}

std::optional<JsonError> JsonBody::splice_set(std::string_view pointer, std::string encoded) {
  if (pointer.empty()) {
    // The whole document: the new bytes are what the re-serialisation wrote.
    raw_ = std::move(encoded);
    drop_documents();
    state_ = ParseState::kNotParsed;
    changed_ = true;
    return JsonError::kNone;
  }
  Splice s;
  switch (plan_set(raw_, scan_index(), pointer, std::move(encoded), s)) {
    case SplicePlan::kPlanned: apply(s); return JsonError::kNone;
    case SplicePlan::kNotFound: return JsonError::kNotFound;
    case SplicePlan::kWrongType: return JsonError::kWrongType;
    case SplicePlan::kCannotSplice: break;
  }
  return std::nullopt;
}

// The edit written into the bytes: one memmove of what follows it. The
// parser's padding is spare capacity a growing edit may use (build_dom then
// parses a padded copy); only bytes that outgrow their capacity move, with room
// for more edits. The scan's index follows; the DOM and the mutable document
// describe the old bytes and are rebuilt when a read needs them.
void JsonBody::apply(const Splice& s) {
  const std::size_t size = raw_.size() - (s.end - s.begin) + s.text.size();
  if (raw_.capacity() < size) raw_.reserve(size + kParsePadding + size / 8);
  raw_.replace(s.begin, s.end - s.begin, s.text);
  if (dom_->scan_indexed) update_index(dom_->scan, s, raw_.data());
  dom_->dom_built = false;
  doc_ = Json();
  mutable_ready_ = false;
  ++generation_;
  changed_ = true;
}

JsonError JsonBody::set_in_document(std::string_view pointer, Json value) {
  if (!ensure_mutable()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  if (ptr.empty()) {
    doc_ = std::move(value);
  } else {
    JsonError err = JsonError::kNone;
    Json* parent = resolve(doc_, ptr.parent_pointer(), err);
    if (parent == nullptr) return err;
    const std::string& token = ptr.back();
    if (parent->is_object()) {
      (*parent)[token] = std::move(value);
    } else if (parent->is_array()) {
      std::size_t index = 0;
      if (token == "-") {
        parent->push_back(std::move(value));
      } else if (array_index(token, index) && index < parent->size()) {
        (*parent)[index] = std::move(value);
      } else if (array_index(token, index) && index == parent->size()) {
        parent->push_back(std::move(value));
      } else {
        return JsonError::kNotFound;
      }
    } else {
      return JsonError::kWrongType;
    }
  }
  edited();
  return JsonError::kNone;
}

JsonError JsonBody::remove_in_document(std::string_view pointer) {
  if (!ensure_mutable()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  JsonError err = JsonError::kNone;
  Json* parent = resolve(doc_, ptr.parent_pointer(), err);
  if (parent == nullptr) return err;
  const std::string& token = ptr.back();
  if (parent->is_object()) {
    if (parent->erase(token) == 0) return JsonError::kNotFound;
  } else if (parent->is_array()) {
    std::size_t index = 0;
    if (!array_index(token, index) || index >= parent->size()) return JsonError::kNotFound;
    parent->erase(index);
  } else {
    return JsonError::kNotFound;
  }
  edited();
  return JsonError::kNone;
}

void JsonBody::replace(std::string raw) {
  raw_ = std::move(raw);
  drop_documents();
  state_ = ParseState::kNotParsed;
  dirty_ = false;
  changed_ = true;
}

}  // namespace bbr
