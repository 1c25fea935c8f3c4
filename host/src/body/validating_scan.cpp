#include "body/validating_scan.hpp"

#include "body/go_json.hpp"
#include "body/string_scan.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <system_error>

namespace bbr {
namespace {

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

}  // namespace

bool validating_scan(simdjson::dom::parser& parser, std::string_view bytes, ScanResult& out) {
  if (bytes.empty()) return false;
  if (parser.capacity() < bytes.size() &&
      parser.allocate(bytes.size(), kGoMaxDepth) != simdjson::SUCCESS) {
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
        if (member != nullptr && stack.size() == 1) member->value_end = idx[i - 1] + 1;
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
        member->key_at = begin;
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
      if (stack.size() >= static_cast<std::size_t>(kGoMaxDepth)) return false;
      kind = c == '{' ? ValueKind::kObject : ValueKind::kArray;
      if (stack.empty()) out.root = kind;
      if (top_level_value) {
        member->kind = kind;
        member->value_at = begin;
      }
      stack.push_back(c);
      ++i;
      if (i < n && data[idx[i]] == (c == '{' ? '}' : ']')) {
        ++i;
        stack.pop_back();
        if (top_level_value) member->value_end = idx[i - 1] + 1;
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
      member->value_at = begin;
      // A string's token is its content: the closing quote follows it.
      member->value_end = static_cast<std::size_t>(token.data() - data) + token.size() +
                          (kind == ValueKind::kString ? 1 : 0);
    }
    ++i;
    expect = Expect::kAfter;
  }
}

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

}  // namespace bbr
