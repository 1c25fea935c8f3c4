#include "body/json_splice.hpp"

#include "body/go_json.hpp"
#include "body/json_pointer.hpp"
#include "body/json_text.hpp"
#include "body/string_scan.hpp"

#include <cstring>
#include <vector>

namespace bbr {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::size_t skip_space(std::string_view t, std::size_t i) {
  while (i < t.size() && is_json_space(t[i])) ++i;
  return i;
}

// One past the value starting at `i` (its first byte). The text is valid
// JSON: brackets are only counted outside strings, strings pass by memchr.
std::size_t value_end(std::string_view t, std::size_t i) {
  if (i >= t.size()) return t.size();
  const char c = t[i];
  if (c == '"') return skip_json_string(t, i);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    for (; i < t.size(); ++i) {
      const char d = t[i];
      if (d == '"') {
        i = skip_json_string(t, i) - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if ((d == '}' || d == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return t.size();
  }
  while (i < t.size() && !is_json_space(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']') ++i;
  return i;
}

// A member or element of a container, as offsets in the text.
struct Entry {
  std::size_t key_at = kNone;  // a member's opening quote; kNone for an element
  std::string_view key;        // raw, between the quotes
  std::size_t value_at = 0;
  std::size_t value_end = 0;
  std::size_t start() const { return key_at != kNone ? key_at : value_at; }
};

// Calls on(entry) for each member or element of the container whose bracket
// is at `open`, in document order, until it returns false. The offset of the
// closing bracket, or kNone when on() stopped early or the text is not what
// it should be.
template <class F>
std::size_t walk(std::string_view t, std::size_t open, F&& on) {
  const bool object = t[open] == '{';
  const char close = object ? '}' : ']';
  std::size_t i = skip_space(t, open + 1);
  if (i < t.size() && t[i] == close) return i;
  while (i < t.size()) {
    Entry e;
    if (object) {
      if (t[i] != '"') return kNone;
      e.key_at = i;
      const std::size_t key_end = skip_json_string(t, i);
      if (key_end >= t.size()) return kNone;
      e.key = t.substr(i + 1, key_end - i - 2);
      i = skip_space(t, key_end);
      if (i >= t.size() || t[i] != ':') return kNone;
      i = skip_space(t, i + 1);
    }
    e.value_at = i;
    e.value_end = value_end(t, i);
    if (!on(e)) return kNone;
    i = skip_space(t, e.value_end);
    if (i >= t.size()) return kNone;
    if (t[i] == close) return i;
    if (t[i] != ',') return kNone;
    i = skip_space(t, i + 1);
  }
  return kNone;
}

// What one container holds about one token: the entry it names (and its
// neighbours, for a removal), the first member whose name sorts after it and
// the last entry (for an insertion), and whether the names can be trusted.
struct Search {
  std::string_view token;
  bool object = true;
  std::size_t index = kNone;  // arrays: the element wanted (kNone: "-" or not an index)
  bool need_all = true;       // false: stop once the entry after the match was seen

  std::size_t count = 0;
  std::size_t matches = 0;
  bool escaped_name = false;
  Entry match, before, after, last, first_after_name;
  bool has_before = false, has_after = false, has_first_after_name = false;

  bool operator()(const Entry& e) {
    if (object) {
      if (std::memchr(e.key.data(), '\\', e.key.size()) != nullptr) escaped_name = true;
      if (e.key == token) {
        if (matches++ == 0) {
          match = e;
          has_before = count > 0;
        }
      } else if (matches == 1 && !has_after) {
        after = e;
        has_after = true;
      }
      if (!has_first_after_name && e.key > token) {
        first_after_name = e;
        has_first_after_name = true;
      }
      if (matches == 0) before = e;
    } else {
      if (count == index) {
        match = e;
        matches = 1;
        has_before = count > 0;
      } else if (matches == 1 && !has_after) {
        after = e;
        has_after = true;
      }
      if (matches == 0) before = e;
    }
    last = e;
    ++count;
    return need_all || !has_after;
  }
  // The names compare as bytes only when none is escaped; Go keeps the last
  // of a name given twice, and the document edit drops the others.
  bool trusted() const { return !escaped_name && matches <= 1; }
};

// The container at `at` searched for `token`: from the scan's index for the
// top-level object, else by walking the text. False when the text is not
// what it should be.
bool search(std::string_view t, std::size_t at, const ScanResult* top, Search& s) {
  s.object = t[at] == '{';
  if (!s.object) {
    std::size_t index = 0;
    s.index = array_index(s.token, index) ? index : kNone;
  }
  if (top != nullptr && at == skip_space(t, 0) && s.object) {
    for (const RootMember& m : top->members) {
      Entry e;
      e.key_at = m.key_at;
      e.key = m.key;
      e.value_at = m.value_at;
      e.value_end = m.value_end;
      s(e);
    }
    if (top->keys_escaped) s.escaped_name = true;
    return true;
  }
  return walk(t, at, s) != kNone || !s.need_all;
}

enum class Step { kFound, kNotFound, kCannot };

// The value the tokens before the last lead to, from the root: its offset in
// `at`. Go's decoder keeps the last of a name given twice; such an object, or
// one with an escaped name, is left to the document edit.
Step resolve_parent(std::string_view t, const ScanResult* top, const std::vector<std::string>& tokens,
                    std::size_t& at) {
  at = skip_space(t, 0);
  for (std::size_t k = 0; k + 1 < tokens.size(); ++k) {
    if (at >= t.size() || (t[at] != '{' && t[at] != '[')) return Step::kNotFound;
    Search s;
    s.token = tokens[k];
    s.need_all = t[at] == '{';  // an object: every name, for duplicates
    if (!search(t, at, top, s)) return Step::kCannot;
    if (!s.trusted()) return Step::kCannot;
    if (s.matches == 0) return Step::kNotFound;
    at = s.match.value_at;
  }
  return Step::kFound;
}

bool split_tokens(std::string_view pointer, std::vector<std::string>& tokens) {
  return for_each_token(pointer, [&](std::string_view token) {
    tokens.emplace_back(token);
    return true;
  });
}

// The value of a top-level member (or the member's kind) from the text it
// now has.
void describe(RootMember& m, const char* base) {
  const char c = base[m.value_at];
  m.value = {};
  m.value_escaped = false;
  switch (c) {
    case '{': m.kind = ValueKind::kObject; return;
    case '[': m.kind = ValueKind::kArray; return;
    case '"':
      m.kind = ValueKind::kString;
      m.value = std::string_view(base + m.value_at + 1, m.value_end - m.value_at - 2);
      m.value_escaped = std::memchr(m.value.data(), '\\', m.value.size()) != nullptr;
      return;
    case 't': m.kind = ValueKind::kTrue; break;
    case 'f': m.kind = ValueKind::kFalse; break;
    case 'n': m.kind = ValueKind::kNull; break;
    default: m.kind = ValueKind::kNumber; break;
  }
  m.value = std::string_view(base + m.value_at, m.value_end - m.value_at);
}

// The container the pointer's last token names a child of, searched for it.
struct Parent {
  std::vector<std::string> tokens;
  std::size_t at = 0;  // the container's bracket
  Search search;
};

// kPlanned when the parent was found and searched; `scalar` is the answer
// when the parent is no container. `whole_array`: count every element (an
// append needs the size), not just up to the one after the token's.
SplicePlan search_parent(std::string_view text, const ScanResult* top, std::string_view pointer,
                         SplicePlan scalar, bool whole_array, Parent& parent) {
  std::vector<std::string>& tokens = parent.tokens;
  std::size_t& at = parent.at;
  Search& s = parent.search;
  split_tokens(pointer, tokens);
  switch (resolve_parent(text, top, tokens, at)) {
    case Step::kFound: break;
    case Step::kNotFound: return SplicePlan::kNotFound;
    case Step::kCannot: return SplicePlan::kCannotSplice;
  }
  if (at >= text.size() || (text[at] != '{' && text[at] != '[')) return scalar;
  s.token = tokens.back();
  s.need_all = whole_array || text[at] == '{';
  if (!search(text, at, top, s) || !s.trusted()) return SplicePlan::kCannotSplice;
  return SplicePlan::kPlanned;
}

}  // namespace

SplicePlan plan_set(std::string_view text, const ScanResult* top, std::string_view pointer,
                    std::string encoded, Splice& out) {
  Parent parent;
  const SplicePlan found = search_parent(text, top, pointer, SplicePlan::kWrongType, true, parent);
  if (found != SplicePlan::kPlanned) return found;
  const Search& s = parent.search;
  const std::size_t at = parent.at;
  out = Splice{};
  out.depth = parent.tokens.size();
  if (s.matches == 1) {
    out.kind = Splice::Kind::kValue;
    out.begin = s.match.value_at;
    out.end = s.match.value_end;
    out.text = std::move(encoded);
    return SplicePlan::kPlanned;
  }
  if (s.object) {
    // `"name":value`, before the first member whose name sorts after it.
    std::string member;
    member.reserve(s.token.size() + encoded.size() + 4);
    append_go_string(member, s.token);
    member.push_back(':');
    const std::size_t value_in_member = member.size();
    member += encoded;
    const std::size_t member_size = member.size();
    out.kind = Splice::Kind::kAddMember;
    if (s.has_first_after_name) {
      out.begin = out.end = s.first_after_name.key_at;
      out.text = std::move(member);
      out.text.push_back(',');
      out.key_in_text = 0;
    } else if (s.count > 0) {
      out.begin = out.end = s.last.value_end;
      out.text = "," + member;
      out.key_in_text = 1;
    } else {
      out.begin = out.end = at + 1;
      out.text = std::move(member);
      out.key_in_text = 0;
    }
    out.value_in_text = out.key_in_text + value_in_member;
    out.value_end_in_text = out.key_in_text + member_size;
    return SplicePlan::kPlanned;
  }
  // An array: "-" or the index just past the end appends.
  if (s.token != "-" && s.index != s.count) return SplicePlan::kNotFound;
  out.kind = Splice::Kind::kAddElement;
  if (s.count > 0) {
    out.begin = out.end = s.last.value_end;
    out.text = "," + encoded;
  } else {
    out.begin = out.end = at + 1;
    out.text = std::move(encoded);
  }
  return SplicePlan::kPlanned;
}

SplicePlan plan_remove(std::string_view text, const ScanResult* top, std::string_view pointer,
                       Splice& out) {
  Parent parent;
  const SplicePlan found = search_parent(text, top, pointer, SplicePlan::kNotFound, false, parent);
  if (found != SplicePlan::kPlanned) return found;
  const Search& s = parent.search;
  if (s.matches == 0) return SplicePlan::kNotFound;
  out = Splice{};
  out.kind = Splice::Kind::kRemove;
  out.depth = parent.tokens.size();
  if (s.has_before) {
    // `, "name": value` after the entry before it.
    out.begin = s.before.value_end;
    out.end = s.match.value_end;
  } else if (s.has_after) {
    // The first: `"name": value, ` up to the next one.
    out.begin = s.match.start();
    out.end = s.after.start();
  } else {
    out.begin = s.match.start();
    out.end = s.match.value_end;
  }
  return SplicePlan::kPlanned;
}

void update_index(ScanResult& index, const Splice& s, const char* base) {
  const std::size_t removed = s.end - s.begin;
  auto moved = [&](std::size_t offset) { return offset - removed + s.text.size(); };
  const bool top_level = s.depth == 1;
  const bool adds_member = top_level && s.kind == Splice::Kind::kAddMember;
  std::vector<RootMember>& members = index.members;
  std::size_t insert_at = kNone;
  for (std::size_t i = 0; i < members.size(); ++i) {
    RootMember& m = members[i];
    if (top_level && s.kind == Splice::Kind::kRemove && m.key_at >= s.begin &&
        m.value_end <= s.end) {
      members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
      --i;
      continue;
    }
    if (top_level && s.kind == Splice::Kind::kValue && m.value_at == s.begin) {
      m.value_end = s.begin + s.text.size();
      describe(m, base);
      continue;
    }
    if (!top_level && m.value_at < s.begin && s.end < m.value_end) {
      m.value_end = moved(m.value_end);  // the edit is inside this member's value
      continue;
    }
    if (m.key_at >= s.end) {
      if (adds_member && insert_at == kNone) insert_at = i;
      m.key_at = moved(m.key_at);
      m.value_at = moved(m.value_at);
      m.value_end = moved(m.value_end);
    }
  }
  if (adds_member) {
    RootMember added;
    added.key_at = s.begin + s.key_in_text;
    added.value_at = s.begin + s.value_in_text;
    added.value_end = s.begin + s.value_end_in_text;
    // The name is Go-encoded, quotes included, and ends where its colon is.
    added.key = std::string_view(base + added.key_at + 1, s.value_in_text - s.key_in_text - 3);
    added.key_escaped = std::memchr(added.key.data(), '\\', added.key.size()) != nullptr;
    index.keys_escaped = index.keys_escaped || added.key_escaped;
    describe(added, base);
    if (insert_at == kNone) insert_at = members.size();
    members.insert(members.begin() + static_cast<std::ptrdiff_t>(insert_at), added);
  }
  // Views into the text as it is now: it may have moved. (Not re-described:
  // that would read every top-level string again, a long prompt included.)
  for (RootMember& m : members) {
    m.key = std::string_view(base + m.key_at + 1, m.key.size());
    const std::size_t quote = m.kind == ValueKind::kString ? 1 : 0;
    m.value = std::string_view(base + m.value_at + quote, m.value.size());
  }
}

}  // namespace bbr
