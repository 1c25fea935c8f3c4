#include "body/json_body.hpp"

#include "body/go_json.hpp"
#include "body/work_counters.hpp"

#include <simdjson.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace bbr {

static_assert(JsonBody::kParsePadding >= simdjson::SIMDJSON_PADDING);

namespace {

namespace dom = simdjson::dom;

constexpr int kMaxDepth = 10000;  // Go's encoding/json limit, so we accept what it accepts

// simdjson's parsers own large buffers (tape, strings, structural indexes)
// whose first touch costs page faults: reusing them is most of the speed. A
// body takes one for as long as its parse serves lookups, then gives it back.
// Bounded in count and in size, so a burst of huge bodies does not stay
// resident after it passed.
class ParserPool {
 public:
  static ParserPool& instance() {
    static ParserPool* pool = new ParserPool;  // never destroyed: bodies may outlive statics
    return *pool;
  }

  std::unique_ptr<dom::parser> acquire(std::size_t size) {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        auto parser = std::move(free_.back());
        free_.pop_back();
        return parser;
      }
    }
    auto parser = std::make_unique<dom::parser>();
    // The depth is Go's: deeper input goes to the slow path, which names it.
    if (parser->allocate(std::max<std::size_t>(size, 4096), kMaxDepth) != simdjson::SUCCESS) {
      return nullptr;
    }
    return parser;
  }

  void give_back(std::unique_ptr<dom::parser> parser) {
    if (!parser || parser->capacity() > kMaxPooledCapacity) return;
    std::lock_guard lock(mutex_);
    if (free_.size() < kMaxPooled) free_.push_back(std::move(parser));
  }

 private:
  // A parser's buffers are sized by the largest body it parsed, but only the
  // parts a parse wrote are resident: the scan writes 4 bytes per structural
  // character, a DOM about 8 bytes per value plus the strings. A few parsers
  // (about one per thread running chains) up to 2 MiB of JSON are kept; a
  // larger body's parser is freed after it, so a burst does not stay resident.
  static constexpr std::size_t kMaxPooled = 4;
  static constexpr std::size_t kMaxPooledCapacity = 2 * 1024 * 1024;  // bytes of JSON
  std::mutex mutex_;
  std::vector<std::unique_ptr<dom::parser>> free_;
};

// Nesting depth outside strings, stopping early past the limit. A cheap byte
// scan that keeps hostile nesting away from the recursive parts of the JSON
// library (copy, dump).
bool nesting_within_limit(std::string_view s) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// Go decodes invalid UTF-8 inside strings as U+FFFD; nlohmann refuses it. Only
// called once a syntax check passed, so every invalid byte is inside a string.
std::string replace_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80             ? 1
                    : (c & 0xE0) == 0xC0 ? 2
                    : (c & 0xF0) == 0xE0 ? 3
                    : (c & 0xF8) == 0xF0 ? 4
                                         : 0;
    bool valid = n != 0 && i + n <= s.size();
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (valid && n > 1) {
      // Reject overlong forms and surrogates the way a validating decoder does.
      uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      valid = !((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    }
    if (valid) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// Go decodes a \u escape of a lone UTF-16 surrogate as U+FFFD; nlohmann
// refuses it. Only called once Go's syntax check passed, so every backslash
// starts a well-formed escape inside a string.
std::string replace_lone_surrogates(std::string_view s) {
  auto hex4 = [&](std::size_t at, uint32_t& cp) {
    if (at + 6 > s.size() || s[at] != '\\' || s[at + 1] != 'u') return false;
    cp = 0;
    for (std::size_t k = at + 2; k < at + 6; ++k) {
      char c = s[k];
      uint32_t digit = c >= '0' && c <= '9'   ? static_cast<uint32_t>(c - '0')
                       : c >= 'a' && c <= 'f' ? static_cast<uint32_t>(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? static_cast<uint32_t>(c - 'A' + 10)
                                              : 16;
      if (digit == 16) return false;
      cp = cp * 16 + digit;
    }
    return true;
  };
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i++]);
      continue;
    }
    uint32_t cp = 0;
    if (!hex4(i, cp) || cp < 0xD800 || cp > 0xDFFF) {
      out.append(s.substr(i, 2));  // any other escape, kept as written
      i += 2;
      continue;
    }
    uint32_t low = 0;
    if (cp <= 0xDBFF && hex4(i + 6, low) && low >= 0xDC00 && low <= 0xDFFF) {
      out.append(s.substr(i, 12));  // a proper pair
      i += 12;
      continue;
    }
    out += "\\ufffd";
    i += 6;
  }
  return out;
}

// RFC 6901 syntax: empty, or '/'-separated tokens where '~' is only ever
// followed by '0' or '1'. Keys are UTF-8 on the wire (Go re-encodes invalid
// bytes as U+FFFD): a pointer that is not could name a key that can never be
// sent as named.
bool valid_pointer(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() != '/' || !is_valid_utf8(text)) return false;
  for (std::size_t i = text.find('~'); i != std::string_view::npos; i = text.find('~', i + 1)) {
    if (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) return false;
  }
  return true;
}

// Calls `on_token(token)` for each unescaped reference token of a valid pointer;
// stops at the first false.
template <class F>
bool for_each_token(std::string_view pointer, F&& on_token) {
  std::string unescaped;
  std::size_t pos = 0;
  while (pos < pointer.size()) {
    std::size_t start = pos + 1;
    std::size_t end = pointer.find('/', start);
    if (end == std::string_view::npos) end = pointer.size();
    std::string_view token = pointer.substr(start, end - start);
    if (token.find('~') != std::string_view::npos) {
      unescaped.clear();
      for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~') {
          unescaped += token[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          unescaped += token[i];
        }
      }
      token = unescaped;
    }
    if (!on_token(token)) return false;
    pos = end;
  }
  return true;
}

bool make_pointer(std::string_view text, Json::json_pointer& out) {
  if (!valid_pointer(text)) return false;
  try {
    out = Json::json_pointer(std::string(text));
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// Parses an array index token per RFC 6901 (no leading zeros, no sign).
bool array_index(std::string_view token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  index = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + static_cast<std::size_t>(c - '0');
    if (index > (std::size_t{1} << 40)) return false;
  }
  return true;
}

// Resolves a pointer in the mutable document without exceptions.
Json* resolve(Json& root, const Json::json_pointer& ptr, JsonError& err) {
  Json* node = &root;
  // json_pointer exposes tokens only through to_string; walk a copy.
  std::vector<std::string> tokens;
  for (Json::json_pointer p = ptr; !p.empty(); p = p.parent_pointer()) tokens.push_back(p.back());
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    if (node->is_object()) {
      auto found = node->find(*it);
      if (found == node->end()) {
        err = JsonError::kNotFound;
        return nullptr;
      }
      node = &*found;
    } else if (node->is_array()) {
      std::size_t index = 0;
      if (!array_index(*it, index) || index >= node->size()) {
        err = JsonError::kNotFound;
        return nullptr;
      }
      node = &(*node)[index];
    } else {
      err = JsonError::kNotFound;
      return nullptr;
    }
  }
  err = JsonError::kNone;
  return node;
}

// --- the simdjson side ---------------------------------------------------

// By value: simdjson_result::value_unsafe() hands out a reference into the
// temporary result, which a range-for would keep using after it died.
dom::object as_object(dom::element v) {
  dom::object out;
  if (v.get_object().get(out) != simdjson::SUCCESS) return {};  // callers checked the type
  return out;
}
dom::array as_array(dom::element v) {
  dom::array out;
  if (v.get_array().get(out) != simdjson::SUCCESS) return {};
  return out;
}

// The member named `key`; with duplicates the last, as Go's decoder keeps it
// (simdjson keeps every duplicate and its own lookups find the first).
bool dom_member(dom::object object, std::string_view key, dom::element& out) {
  bool found = false;
  for (dom::key_value_pair member : object) {
    if (member.key == key) {
      out = member.value;
      found = true;
    }
  }
  return found;
}

JsonError dom_resolve(dom::element root, std::string_view pointer, dom::element& out) {
  if (!valid_pointer(pointer)) return JsonError::kInvalidPointer;
  dom::element node = root;
  bool found = for_each_token(pointer, [&](std::string_view token) {
    switch (node.type()) {
      case dom::element_type::OBJECT:
        return dom_member(as_object(node), token, node);
      case dom::element_type::ARRAY: {
        std::size_t index = 0;
        if (!array_index(token, index)) return false;
        auto element = as_array(node).at(index);
        if (element.error() != simdjson::SUCCESS) return false;
        node = element.value_unsafe();
        return true;
      }
      default:
        return false;
    }
  });
  if (!found) return JsonError::kNotFound;
  out = node;
  return JsonError::kNone;
}

// Distinct member names in order of first appearance.
void dom_member_names(dom::object object, std::vector<std::string_view>& names) {
  names.clear();
  for (dom::key_value_pair member : object) names.push_back(member.key);
  if (names.size() < 2) return;
  std::unordered_set<std::string_view> seen;
  seen.reserve(names.size());
  auto last = std::remove_if(names.begin(), names.end(),
                             [&](std::string_view name) { return !seen.insert(name).second; });
  names.erase(last, names.end());
}

std::size_t dom_array_size(dom::array array) {
  std::size_t size = array.size();
  if (size < 0xFFFFFF) return size;  // simdjson saturates the count it stores at 2^24-1
  size = 0;
  for ([[maybe_unused]] dom::element e : array) ++size;
  return size;
}

void dom_read(dom::element v, JsonRead& out) {
  out = JsonRead{};
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      out.type = JsonType::kNull;
      break;
    case dom::element_type::BOOL:
      out.type = JsonType::kBool;
      out.boolean = v.get_bool().value_unsafe();
      break;
    case dom::element_type::INT64:
      out.type = JsonType::kInteger;
      out.integer = v.get_int64().value_unsafe();
      out.number = static_cast<double>(out.integer);
      break;
    case dom::element_type::UINT64: {
      // simdjson only uses uint64 beyond INT64_MAX: not an int64 integer.
      uint64_t u = v.get_uint64().value_unsafe();
      if (u <= static_cast<uint64_t>(INT64_MAX)) {
        out.type = JsonType::kInteger;
        out.integer = static_cast<int64_t>(u);
      } else {
        out.type = JsonType::kNumber;
      }
      out.number = static_cast<double>(u);
      break;
    }
    case dom::element_type::DOUBLE:
      out.type = JsonType::kNumber;
      out.number = v.get_double().value_unsafe();
      break;
    case dom::element_type::STRING:
      out.type = JsonType::kString;
      out.string = v.get_string().value_unsafe();
      break;
    case dom::element_type::ARRAY:
      out.type = JsonType::kArray;
      out.size = dom_array_size(as_array(v));
      break;
    case dom::element_type::OBJECT: {
      out.type = JsonType::kObject;
      std::vector<std::string_view> names;
      dom_member_names(as_object(v), names);
      out.size = names.size();
      break;
    }
  }
}

// Go's encoding of the value (see go_json.hpp), straight from the simdjson
// parse: the same bytes to_go_json writes for the same value in nlohmann form.
void append_go_json(std::string& out, dom::element v) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      out += "null";
      break;
    case dom::element_type::BOOL:
      out += v.get_bool().value_unsafe() ? "true" : "false";
      break;
    case dom::element_type::INT64:
      out += std::to_string(v.get_int64().value_unsafe());
      break;
    case dom::element_type::UINT64:
      out += std::to_string(v.get_uint64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      append_go_float(out, v.get_double().value_unsafe());
      break;
    case dom::element_type::STRING:
      append_go_string(out, v.get_string().value_unsafe());
      break;
    case dom::element_type::ARRAY: {
      out.push_back('[');
      bool first = true;
      for (dom::element element : as_array(v)) {
        if (!first) out.push_back(',');
        first = false;
        append_go_json(out, element);
      }
      out.push_back(']');
      break;
    }
    case dom::element_type::OBJECT: {
      // Go writes a map's keys sorted; a duplicate name holds its last value.
      std::vector<std::pair<std::string_view, dom::element>> members;
      for (dom::key_value_pair member : as_object(v)) {
        members.emplace_back(member.key, member.value);
      }
      std::stable_sort(members.begin(), members.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      out.push_back('{');
      bool first = true;
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
        if (!first) out.push_back(',');
        first = false;
        append_go_string(out, members[i].first);
        out.push_back(':');
        append_go_json(out, members[i].second);
      }
      out.push_back('}');
      break;
    }
  }
}

// --- the validating scan --------------------------------------------------
//
// Why: a full DOM parse copies and unescapes every string into the parser's
// string buffer and writes a tape, while the default chain reads one
// top-level string. The scan runs simdjson's stage 1 (its runtime-dispatched
// SIMD kernel: UTF-8 validity, string boundaries, control characters in
// strings, the structural characters) and then checks, over the structural
// indexes only, the rest of what Go's decoder checks: the grammar, Go's depth
// limit, every escape sequence (with SSE2, without copying), number and
// literal syntax, numbers within float64. It records the top-level members,
// so a lookup of a top-level scalar needs no DOM. Anything it does not
// accept goes to the DOM parse and then to the slow path, which decide; so a
// scan that refuses too much costs only time, and the fuzz target holds it to
// never accepting more than Go.
//
// simdjson 3.0.1 (Debian) exposes stage 1 as parser.implementation->stage1
// and its output as structural_indexes: internal API, pinned by the package.

enum class ValueKind : char { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull };

struct RootMember {
  std::string_view key;  // content between the quotes, raw
  bool key_escaped = false;
  ValueKind kind = ValueKind::kNull;
  std::string_view value;  // scalars: the token (a string: content between the quotes)
  bool value_escaped = false;
};

struct ScanResult {
  ValueKind root = ValueKind::kNull;
  bool keys_escaped = false;  // some top-level name holds an escape: lookups use the DOM
  std::vector<RootMember> members;
};

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The characters escaped by a backslash (an odd run of backslashes before
// them), carrying a run across blocks in `carry`: simdjson's stage 1 method.
uint64_t escaped_characters(uint64_t backslashes, uint64_t& carry) {
  constexpr uint64_t kEvenBits = 0x5555555555555555ULL;
  backslashes &= ~carry;
  const uint64_t follows_escape = backslashes << 1 | carry;
  const uint64_t odd_sequence_starts = backslashes & ~kEvenBits & ~follows_escape;
  uint64_t sequences_starting_on_even_bits = 0;
  carry = __builtin_add_overflow(odd_sequence_starts, backslashes, &sequences_starting_on_even_bits)
              ? 1
              : 0;
  const uint64_t invert_mask = sequences_starting_on_even_bits << 1;
  return (kEvenBits ^ invert_mask) & follows_escape;
}

// scan_string: the 64-byte block masks come in three builds of the same code
// (string_scan.inc): SSE2 (every x86-64; plain C elsewhere), AVX2 and
// AVX-512BW, picked at run time as simdjson picks its kernels. All give the
// same answers (the unit tests run all three, see scan_string_builds_agree).
namespace portable {

// Bit k of `quotes` / `backslashes` set when data[k] is '"' / '\\', for the
// 64 bytes at `data` (the body carries kParsePadding readable bytes past its
// end, so the last block may read past the span).
void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  quotes = 0;
  backslashes = 0;
  for (int k = 0; k < 4; ++k) {
    __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * k));
    quotes |= static_cast<uint64_t>(
                  static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, quote))))
              << (16 * k);
    backslashes |= static_cast<uint64_t>(
                       static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, backslash))))
                   << (16 * k);
  }
#else
  quotes = 0;
  backslashes = 0;
  for (int k = 0; k < 64; ++k) {
    if (data[k] == '"') quotes |= uint64_t{1} << k;
    if (data[k] == '\\') backslashes |= uint64_t{1} << k;
  }
#endif
}

// For the 64 bytes at `data`: which may follow a backslash ("\/bfnrtu),
// which are 'u', which are hex digits. Only computed for blocks holding an
// escape; branch-free, so dense escapes cost no mispredictions.
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  escape_chars = 0;
  u_chars = 0;
  hex = 0;
#if defined(__SSE2__)
  auto in_range = [](__m128i x, char lo, char hi) {  // unsigned lo <= x <= hi
    return _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(lo)), x),
                         _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(hi)), x));
  };
  for (int k = 0; k < 4; ++k) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * k));
    const __m128i u = _mm_cmpeq_epi8(x, _mm_set1_epi8('u'));
    __m128i ok = _mm_or_si128(u, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('/')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('b')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('f')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('n')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('r')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('t')));
    const __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
    const __m128i h = _mm_or_si128(in_range(x, '0', '9'), in_range(lower, 'a', 'f'));
    const int shift = 16 * k;
    escape_chars |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(ok))) << shift;
    u_chars |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(u))) << shift;
    hex |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(h))) << shift;
  }
#else
  for (int k = 0; k < 64; ++k) {
    const char c = data[k];
    const uint64_t bit = uint64_t{1} << k;
    if (std::string_view("\"\\/bfnrtu").find(c) != std::string_view::npos) escape_chars |= bit;
    if (c == 'u') u_chars |= bit;
    if (is_hex(c)) hex |= bit;
  }
#endif
}

#include "body/string_scan.inc"

}  // namespace portable

#if defined(__x86_64__) && defined(__GNUC__)
#define BBR_HAVE_AVX2_SCAN 1
#pragma GCC push_options
#pragma GCC target("avx2,bmi")
namespace avx2 {

void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32));
  auto bits = [](__m256i m) {
    return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(m)));
  };
  quotes = bits(_mm256_cmpeq_epi8(a, quote)) | bits(_mm256_cmpeq_epi8(b, quote)) << 32;
  backslashes = bits(_mm256_cmpeq_epi8(a, backslash)) | bits(_mm256_cmpeq_epi8(b, backslash)) << 32;
}

// One nibble lookup classifies every byte: bits 0-3 mark the characters that
// may follow a backslash ("/ \ bfn rtu, by high nibble 2, 5, 6, 7), bits 4-5
// the hex digits (0-9; A-F and a-f).
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  constexpr char b0 = 1, b1 = 2, b2 = 4, b3 = 8, b4 = 16, b5 = 32;
  const __m256i by_low =
      _mm256_setr_epi8(b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5,
                       b2 | b4 | b5, b4, b4, b4, 0, 0, b1, 0, b2, b0,  //
                       b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5,
                       b2 | b4 | b5, b4, b4, b4, 0, 0, b1, 0, b2, b0);
  const __m256i by_high =
      _mm256_setr_epi8(0, 0, b0, b4, b5, b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b0, b4, b5,
                       b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i zero = _mm256_setzero_si256();
  escape_chars = 0;
  u_chars = 0;
  hex = 0;
  for (int k = 0; k < 2; ++k) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32 * k));
    const __m256i low = _mm256_and_si256(x, nibble);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble);
    const __m256i cls =
        _mm256_and_si256(_mm256_shuffle_epi8(by_low, low), _mm256_shuffle_epi8(by_high, high));
    const uint32_t not_escape = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(0x0F)), zero)));
    const uint32_t not_hex = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(0x30)), zero)));
    const uint32_t u =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('u'))));
    escape_chars |= static_cast<uint64_t>(~not_escape) << (32 * k);
    hex |= static_cast<uint64_t>(~not_hex) << (32 * k);
    u_chars |= static_cast<uint64_t>(u) << (32 * k);
  }
}

#include "body/string_scan.inc"

}  // namespace avx2
#pragma GCC pop_options
#endif

#if defined(BBR_HAVE_AVX2_SCAN)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,bmi")
namespace avx512 {

void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
  const __m512i x = _mm512_loadu_si512(data);
  quotes = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"'));
  backslashes = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\'));
}

// The same nibble classification as the AVX2 build, 64 bytes at once.
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  constexpr char b0 = 1, b1 = 2, b2 = 4, b3 = 8, b4 = 16, b5 = 32;
  // The 16-entry tables repeated in each 128-bit lane (shuffles stay in lanes).
  alignas(64) static constexpr char kByLow[64] = {
#define BBR_BY_LOW                                                                                \
  b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5, b2 | b4 | b5, b4, b4, \
      b4, 0, 0, b1, 0, b2, b0
      BBR_BY_LOW, BBR_BY_LOW, BBR_BY_LOW, BBR_BY_LOW};
#undef BBR_BY_LOW
  alignas(64) static constexpr char kByHigh[64] = {
#define BBR_BY_HIGH 0, 0, b0, b4, b5, b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0
      BBR_BY_HIGH, BBR_BY_HIGH, BBR_BY_HIGH, BBR_BY_HIGH};
#undef BBR_BY_HIGH
  const __m512i by_low = _mm512_load_si512(kByLow);
  const __m512i by_high = _mm512_load_si512(kByHigh);
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i x = _mm512_loadu_si512(data);
  const __m512i low = _mm512_and_si512(x, nibble);
  const __m512i high = _mm512_and_si512(_mm512_srli_epi16(x, 4), nibble);
  const __m512i cls =
      _mm512_and_si512(_mm512_shuffle_epi8(by_low, low), _mm512_shuffle_epi8(by_high, high));
  escape_chars = _mm512_test_epi8_mask(cls, _mm512_set1_epi8(0x0F));
  hex = _mm512_test_epi8_mask(cls, _mm512_set1_epi8(0x30));
  u_chars = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('u'));
}

#include "body/string_scan.inc"

}  // namespace avx512
#pragma GCC pop_options
#endif

int best_scan_level() {
#if defined(BBR_HAVE_AVX2_SCAN)
  static const int level = __builtin_cpu_supports("avx512bw") ? 2
                           : __builtin_cpu_supports("avx2")   ? 1
                                                              : 0;
  return level;
#else
  return 0;
#endif
}

std::atomic<int> scan_level_override{-1};  // set by tests only

using ScanStringFn = bool (*)(const char*, std::size_t, std::size_t, std::string_view&, bool&);

// The build to use, chosen once per body (not per string: keys are short).
ScanStringFn pick_scan_string() {
  int level = best_scan_level();
  if (int forced = scan_level_override.load(std::memory_order_relaxed); forced >= 0) {
    level = std::min(level, forced);
  }
#if defined(BBR_HAVE_AVX2_SCAN)
  if (level == 2) return avx512::scan_string;
  if (level == 1) return avx2::scan_string;
#endif
  return portable::scan_string;
}

std::string_view trimmed_token(const char* data, std::size_t begin, std::size_t end) {
  while (end > begin && is_json_space(data[end - 1])) --end;
  return std::string_view(data + begin, end - begin);
}

// Go's number grammar over the whole token, and a value within float64.
bool scan_number(std::string_view t) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i - start;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size()) return false;
  if (t[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  const std::size_t integer_end = i;
  bool simple = true;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (digits() == 0) return false;
    simple = false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
    simple = false;
  }
  if (i != t.size()) return false;
  if (simple && integer_end <= 19) return true;  // fits a float64 without question
  double value = 0;
  auto res = std::from_chars(t.data(), t.data() + t.size(), value);
  // Out of range (overflow, or an underflow libstdc++ also reports): the DOM
  // parse and the slow path decide, in Go's words.
  return res.ec == std::errc() && res.ptr == t.data() + t.size();
}

bool scan_literal(std::string_view t, ValueKind& kind) {
  if (t == "true") {
    kind = ValueKind::kTrue;
  } else if (t == "false") {
    kind = ValueKind::kFalse;
  } else if (t == "null") {
    kind = ValueKind::kNull;
  } else {
    return false;
  }
  return true;
}

// Validates `bytes` as Go's decoder would (see above). False: not proven
// valid (the caller tries the DOM parse next).
bool validating_scan(dom::parser& parser, std::string_view bytes, ScanResult& out) {
  if (bytes.empty()) return false;
  if (parser.capacity() < bytes.size() &&
      parser.allocate(bytes.size(), kMaxDepth) != simdjson::SUCCESS) {
    return false;
  }
  auto& impl = *parser.implementation;
  if (impl.stage1(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                  simdjson::stage1_mode::regular) != simdjson::SUCCESS) {
    return false;
  }
  const uint32_t* idx = impl.structural_indexes.get();
  const std::size_t n = impl.n_structural_indexes;
  const char* data = bytes.data();
  auto span_end = [&](std::size_t i) { return i + 1 < n ? std::size_t{idx[i + 1]} : bytes.size(); };

  out.members.clear();
  out.members.reserve(16);
  out.keys_escaped = false;
  // '{' or '[' per open container; one per thread, reused (no allocation).
  thread_local std::vector<char> stack;
  stack.clear();
  const ScanStringFn scan_string = pick_scan_string();
  std::size_t i = 0;
  RootMember* member = nullptr;  // the top-level member whose value comes next

  enum class Expect { kValue, kKey, kAfter } expect = Expect::kValue;
  for (;;) {
    if (expect == Expect::kAfter) {
      if (stack.empty()) return i == n;  // nothing may follow the top-level value
      if (i >= n) return false;
      char c = data[idx[i]];
      if (c == ',') {
        ++i;
        expect = stack.back() == '{' ? Expect::kKey : Expect::kValue;
      } else if (c == (stack.back() == '{' ? '}' : ']')) {
        ++i;
        stack.pop_back();
      } else {
        return false;
      }
      continue;
    }
    if (i >= n) return false;
    const std::size_t begin = idx[i];
    const char c = data[begin];
    if (expect == Expect::kKey) {
      if (c != '"') return false;
      std::string_view key;
      bool escaped = false;
      if (!scan_string(data, begin, span_end(i), key, escaped)) return false;
      ++i;
      if (i >= n || data[idx[i]] != ':') return false;
      ++i;
      if (stack.size() == 1) {
        member = &out.members.emplace_back();
        member->key = key;
        member->key_escaped = escaped;
        out.keys_escaped = out.keys_escaped || escaped;
      }
      expect = Expect::kValue;
      continue;
    }
    // A value.
    const bool top_level_value = stack.size() == 1 && stack.back() == '{';
    ValueKind kind;
    if (c == '{' || c == '[') {
      if (stack.size() >= static_cast<std::size_t>(kMaxDepth)) return false;
      kind = c == '{' ? ValueKind::kObject : ValueKind::kArray;
      if (stack.empty()) out.root = kind;
      if (top_level_value) member->kind = kind;
      stack.push_back(c);
      ++i;
      if (i < n && data[idx[i]] == (c == '{' ? '}' : ']')) {
        ++i;
        stack.pop_back();
        expect = Expect::kAfter;
      } else {
        expect = c == '{' ? Expect::kKey : Expect::kValue;
      }
      continue;
    }
    std::string_view token;
    bool escaped = false;
    if (c == '"') {
      if (!scan_string(data, begin, span_end(i), token, escaped)) return false;
      kind = ValueKind::kString;
    } else {
      token = trimmed_token(data, begin, span_end(i));
      if (c == '-' || (c >= '0' && c <= '9')) {
        if (!scan_number(token)) return false;
        kind = ValueKind::kNumber;
      } else if (!scan_literal(token, kind)) {
        return false;
      }
    }
    if (stack.empty()) out.root = kind;
    if (top_level_value) {
      member->kind = kind;
      member->value = token;
      member->value_escaped = escaped;
    }
    ++i;
    expect = Expect::kAfter;
  }
}

// A top-level scalar straight from the scan, when that needs no decoding;
// false: ask the DOM.
bool read_scanned(const RootMember& m, JsonRead& out) {
  out = JsonRead{};
  switch (m.kind) {
    case ValueKind::kString:
      if (m.value_escaped) return false;
      out.type = JsonType::kString;
      out.string = m.value;
      return true;
    case ValueKind::kTrue:
    case ValueKind::kFalse:
      out.type = JsonType::kBool;
      out.boolean = m.kind == ValueKind::kTrue;
      return true;
    case ValueKind::kNull:
      out.type = JsonType::kNull;
      return true;
    case ValueKind::kNumber: {
      // As simdjson types it: an integer when it is one and fits int64.
      const std::string_view t = m.value;
      if (t.find_first_of(".eE") == std::string_view::npos) {
        int64_t integer = 0;
        auto res = std::from_chars(t.data(), t.data() + t.size(), integer);
        if (res.ec == std::errc() && res.ptr == t.data() + t.size()) {
          out.type = JsonType::kInteger;
          out.integer = integer;
          out.number = static_cast<double>(integer);
          return true;
        }
      }
      double number = 0;
      auto res = std::from_chars(t.data(), t.data() + t.size(), number);
      if (res.ec != std::errc() || res.ptr != t.data() + t.size()) return false;
      out.type = JsonType::kNumber;
      out.number = number;
      return true;
    }
    case ValueKind::kObject:
    case ValueKind::kArray:
      return false;
  }
  return false;
}

// The mutable document from the DOM: no second lexing of the bytes (several
// times faster than nlohmann's parse). Duplicate names keep the last value,
// as nlohmann's parse and Go's decoder do. Recursion is bounded by Go's
// depth limit, which the DOM enforced.
Json to_mutable(dom::element v) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      return Json(nullptr);
    case dom::element_type::BOOL:
      return Json(v.get_bool().value_unsafe());
    case dom::element_type::INT64:
      return Json(v.get_int64().value_unsafe());
    case dom::element_type::UINT64:
      return Json(v.get_uint64().value_unsafe());
    case dom::element_type::DOUBLE:
      return Json(v.get_double().value_unsafe());
    case dom::element_type::STRING:
      return Json(std::string(v.get_string().value_unsafe()));
    case dom::element_type::ARRAY: {
      Json out = Json::array();
      auto& elements = out.get_ref<Json::array_t&>();
      for (dom::element element : as_array(v)) elements.push_back(to_mutable(element));
      return out;
    }
    case dom::element_type::OBJECT: {
      Json out = Json::object();
      auto& members = out.get_ref<Json::object_t&>();
      for (dom::key_value_pair member : as_object(v)) {
        members[std::string(member.key)] = to_mutable(member.value);
      }
      return out;
    }
  }
  return Json(nullptr);
}

void json_read(const Json& v, JsonRead& out) {
  out = JsonRead{};
  using T = Json::value_t;
  switch (v.type()) {
    case T::null:
    case T::discarded:
    case T::binary:
      out.type = JsonType::kNull;
      break;
    case T::boolean:
      out.type = JsonType::kBool;
      out.boolean = v.get<bool>();
      break;
    case T::number_integer:
      out.type = JsonType::kInteger;
      out.integer = v.get<int64_t>();
      out.number = static_cast<double>(out.integer);
      break;
    case T::number_unsigned:
      if (v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
        out.type = JsonType::kInteger;
        out.integer = static_cast<int64_t>(v.get<uint64_t>());
      } else {
        out.type = JsonType::kNumber;
      }
      out.number = static_cast<double>(v.get<uint64_t>());
      break;
    case T::number_float:
      out.type = JsonType::kNumber;
      out.number = v.get<double>();
      break;
    case T::string: {
      out.type = JsonType::kString;
      out.string = v.get_ref<const std::string&>();
      break;
    }
    case T::array:
      out.type = JsonType::kArray;
      out.size = v.size();
      break;
    case T::object:
      out.type = JsonType::kObject;
      out.size = v.size();
      break;
  }
}

}  // namespace

int string_scan_levels() { return best_scan_level() + 1; }
void set_string_scan_level_for_testing(int level) { scan_level_override.store(level); }

// The simdjson side of one body: the validating scan's result, and the DOM
// once a lookup needs more than a top-level scalar.
struct JsonBody::Dom {
  std::unique_ptr<dom::parser> parser;
  ScanResult scan;         // valid when !dom_ready
  bool dom_ready = false;  // root is the DOM of the body
  dom::element root;
  ~Dom() { ParserPool::instance().give_back(std::move(parser)); }
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

void JsonBody::append(std::string_view chunk) {
  raw_.append(chunk);
  drop_documents();
  state_ = ParseState::kNotParsed;
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
    // Accepted by the scan: Go decodes it (see validating_scan).
    bool valid = validating_scan(*dom->parser, raw_, dom->scan);
    if (!valid) {
      // simdjson's DOM accepts a strict subset of what Go accepts (it also
      // refuses invalid UTF-8, lone surrogate escapes, integers beyond 64
      // bits and nesting past Go's limit): what it accepts, Go decodes to the
      // same values. The rest goes to the slow path, which decides as Go does.
      work_counters::count_dom_build();
      auto root = dom->parser->parse(raw_.data(), raw_.size(), /*realloc_if_needed=*/false);
      if (root.error() == simdjson::SUCCESS) {
        dom->root = root.value_unsafe();
        dom->dom_ready = true;
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
// the nlohmann document Go's decoder would have built.
bool JsonBody::parse_slow() {
  state_ = ParseState::kFailed;
  // Go's own checks first (its scanner also stops hostile nesting at Go's
  // depth, before nlohmann's recursive parts could see it): most bodies here are invalid, and Go's
  // syntax check (about 0.6 ms per MiB) names the error without the nlohmann parse (about 9 ms per
  // MiB). Syntax only: a top-level string or array is still JSON (parse() is true);
  // map_decode_error() adds the type rule.
  parse_error_ = go_json_syntax_error(raw_);
  if (!parse_error_.empty()) return false;
  // A number beyond float64: Go refuses it too, in its own words.
  parse_error_ = go_number_range_error(raw_);
  if (!parse_error_.empty()) return false;
  // Valid for Go; what made the fast paths refuse it is invalid UTF-8 or a
  // lone surrogate escape (Go decodes both as U+FFFD), or an integer beyond
  // 64 bits (a float64 for Go and for nlohmann).
  doc_ = Json::parse(raw_, nullptr, /*allow_exceptions=*/false);
  if (doc_.is_discarded()) {
    doc_ = Json::parse(replace_lone_surrogates(replace_invalid_utf8(raw_)), nullptr, false);
    if (doc_.is_discarded()) {
      parse_error_ = "invalid JSON";
      return false;
    }
  }
  mutable_ready_ = true;
  parse_error_.clear();
  state_ = ParseState::kParsed;
  return true;
}

// The DOM, parsed on first need after the scan. False when there is no
// simdjson side, or when simdjson refuses bytes the scan accepted (a lone
// surrogate escape, an integer beyond 64 bits): then the mutable document,
// built by the slow path, serves the lookups. Views handed out so far point
// into raw_ and stay valid.
bool JsonBody::dom_ready() {
  if (!dom_) return false;
  if (dom_->dom_ready) return true;
  work_counters::count_dom_build();
  auto root = dom_->parser->parse(raw_.data(), raw_.size(), /*realloc_if_needed=*/false);
  if (root.error() == simdjson::SUCCESS) {
    dom_->root = root.value_unsafe();
    dom_->dom_ready = true;
    return true;
  }
  dom_.reset();
  ++generation_;
  return false;
}

// A top-level scalar straight from the scan. False: ask the DOM.
bool JsonBody::read_from_scan(std::string_view pointer, JsonRead& out, JsonError& err) {
  if (!dom_ || dom_->dom_ready || dom_->scan.root != ValueKind::kObject || dom_->scan.keys_escaped)
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
  if (!dom_ready()) return parse_slow();
  doc_ = to_mutable(dom_->root);
  mutable_ready_ = true;
  return true;
}

std::string JsonBody::map_decode_error() {
  if (!parse()) return parse_error_;
  bool object_or_null = false;
  if (dom_ && !dom_->dom_ready) {
    object_or_null = dom_->scan.root == ValueKind::kObject || dom_->scan.root == ValueKind::kNull;
  } else if (dom_) {
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
  if (dom_ready()) {
    dom::element v;
    JsonError err = dom_resolve(dom_->root, pointer, v);
    if (err == JsonError::kNone) dom_read(v, out);
    return err;
  }
  JsonError err = JsonError::kNone;
  const Json* v = find(pointer, err);
  if (v != nullptr) json_read(*v, out);
  return err;
}

JsonError JsonBody::get_text(std::string_view pointer, std::string& out) {
  if (!parse()) return JsonError::kNotJson;
  out.clear();
  if (dom_ready()) {
    dom::element v;
    JsonError err = dom_resolve(dom_->root, pointer, v);
    if (err == JsonError::kNone) append_go_json(out, v);
    return err;
  }
  JsonError err = JsonError::kNone;
  const Json* v = find(pointer, err);
  if (v != nullptr) append_go_json(out, *v);
  return err;
}

JsonError JsonBody::member_name(std::string_view pointer, std::size_t index,
                                std::string_view& out) {
  if (!parse()) return JsonError::kNotJson;
  if (members_.generation != generation_ || members_.pointer != pointer) {
    // A new object: list its names once, so walking them is O(1) a step.
    members_.generation = 0;
    members_.names.clear();
    if (dom_ready()) {
      dom::element v;
      JsonError err = dom_resolve(dom_->root, pointer, v);
      if (err != JsonError::kNone) return err;
      if (v.type() != dom::element_type::OBJECT) return JsonError::kWrongType;
      dom_member_names(as_object(v), members_.names);
    } else {
      JsonError err = JsonError::kNone;
      const Json* v = find(pointer, err);
      if (v == nullptr) return err;
      if (!v->is_object()) return JsonError::kWrongType;
      for (const auto& [name, value] : v->items()) members_.names.push_back(name);
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
  JsonRead child;
  if (dom_ready()) {
    dom::element v;
    JsonError err = dom_resolve(dom_->root, pointer, v);
    if (err != JsonError::kNone) return err;
    if (v.type() == dom::element_type::ARRAY) {
      std::size_t index = 0;
      for (dom::element e : as_array(v)) {
        dom_read(e, child);
        if (visit(index++, nullptr, child)) break;
      }
      return JsonError::kNone;
    }
    if (v.type() != dom::element_type::OBJECT) return JsonError::kWrongType;
    // Distinct names at their first position, each with its last value.
    std::vector<std::pair<std::string_view, dom::element>> members;
    std::unordered_map<std::string_view, std::size_t> position;
    for (dom::key_value_pair member : as_object(v)) {
      auto [at, fresh] = position.emplace(member.key, members.size());
      if (fresh) {
        members.emplace_back(member.key, member.value);
      } else {
        members[at->second].second = member.value;
      }
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      dom_read(members[i].second, child);
      if (visit(i, &members[i].first, child)) break;
    }
    return JsonError::kNone;
  }
  JsonError err = JsonError::kNone;
  const Json* v = find(pointer, err);
  if (v == nullptr) return err;
  if (!v->is_array() && !v->is_object()) return JsonError::kWrongType;
  std::size_t index = 0;
  for (auto it = v->begin(); it != v->end(); ++it, ++index) {
    json_read(*it, child);
    std::string_view name;
    if (v->is_object()) name = it.key();
    if (visit(index, v->is_object() ? &name : nullptr, child)) break;
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
  if (!ensure_mutable()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  if (!nesting_within_limit(json_text)) return JsonError::kInvalidValue;
  Json value = Json::parse(json_text, nullptr, false);
  if (value.is_discarded()) return JsonError::kInvalidValue;

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

JsonError JsonBody::remove(std::string_view pointer) {
  if (!ensure_mutable()) return JsonError::kNotJson;
  Json::json_pointer ptr;
  if (!make_pointer(pointer, ptr)) return JsonError::kInvalidPointer;
  if (ptr.empty()) return JsonError::kInvalidPointer;  // the document itself cannot go
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
