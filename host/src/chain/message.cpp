#include "chain/message.hpp"

#include <algorithm>
#include <array>

namespace bbr {

namespace {

// ASCII only, as header names are: no locale lookup per character (std::tolower
// and std::isalnum are calls into libc, on every header of every message).
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~".
constexpr std::array<bool, 256> kTokenChar = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

}  // namespace

bool header_name_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

RequestState::~RequestState() {
  for (auto& [key, entry] : entries_) {
    if (entry.destroy != nullptr) entry.destroy(entry.value);
  }
}

void RequestState::put(std::string key, void* value, void (*destroy)(void*)) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (it->second.destroy != nullptr && it->second.value != value) it->second.destroy(it->second.value);
    it->second = Entry{value, destroy};
    return;
  }
  entries_.emplace(std::move(key), Entry{value, destroy});
}

void* RequestState::get(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.value;
}

bool is_safe_header_value(std::string_view value) {
  // One pass; std::string_view::find_first_of calls memchr over the set for
  // every character of the value.
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool is_valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  std::size_t start = name[0] == ':' ? 1 : 0;
  if (start == name.size()) return false;
  for (std::size_t i = start; i < name.size(); ++i) {
    if (!kTokenChar[static_cast<unsigned char>(name[i])]) return false;
  }
  return true;
}

bool is_envoy_protected_header(std::string_view name, bool removal) {
  auto starts_with_ci = [&](std::string_view prefix) {
    return name.size() >= prefix.size() && header_name_equals(name.substr(0, prefix.size()), prefix);
  };
  if (starts_with_ci("x-envoy-") || header_name_equals(name, "host")) return true;
  if (removal) return !name.empty() && name[0] == ':';
  return header_name_equals(name, ":method") || header_name_equals(name, ":authority") ||
         header_name_equals(name, ":scheme");
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  for (const auto& m : mutations_) {
    if (header_name_equals(m.key, name)) {
      if (!m.value) return std::nullopt;
      return std::string_view(*m.value);
    }
  }
  for (const auto& h : received_headers()) {
    if (header_name_equals(h.key, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

const Headers& Message::current_view() const {
  if (!view_stale_) return view_;
  view_.clear();
  for (const auto& h : received_headers()) {
    bool touched = std::any_of(mutations_.begin(), mutations_.end(), [&](const HeaderMutation& m) {
      return header_name_equals(m.key, h.key);
    });
    if (!touched) view_.push_back(h);
  }
  for (const auto& m : mutations_) {
    if (m.value) view_.push_back(Header{m.key, *m.value});
  }
  view_stale_ = false;
  return view_;
}

const Header* Message::header_at(std::size_t index) const {
  const Headers& view = current_view();
  return index < view.size() ? &view[index] : nullptr;
}

bool is_sendable_header(std::string_view name, std::string_view value) {
  return is_valid_header_name(name) && is_safe_header_value(value) &&
         !is_envoy_protected_header(name, /*removal=*/false);
}

bbr_status_t Message::set_header(std::string_view name, std::string_view value) {
  if (!is_sendable_header(name, value)) return BBR_INVALID_ARGUMENT;
  auto m = std::find_if(mutations_.begin(), mutations_.end(),
                        [&](const HeaderMutation& hm) { return header_name_equals(hm.key, name); });
  if (m != mutations_.end()) {
    m->key.assign(name);
    m->value = std::string(value);
  } else {
    mutations_.push_back(HeaderMutation{std::string(name), std::string(value)});
  }
  view_stale_ = true;
  return BBR_OK;
}

bbr_status_t Message::remove_header(std::string_view name) {
  if (!is_valid_header_name(name) || is_envoy_protected_header(name, /*removal=*/true)) {
    return BBR_INVALID_ARGUMENT;
  }
  if (!header(name)) return BBR_NOT_FOUND;
  auto m = std::find_if(mutations_.begin(), mutations_.end(),
                        [&](const HeaderMutation& hm) { return header_name_equals(hm.key, name); });
  if (m != mutations_.end()) {
    m->key.assign(name);
    m->value.reset();
  } else {
    mutations_.push_back(HeaderMutation{std::string(name), std::nullopt});
  }
  view_stale_ = true;
  return BBR_OK;
}

}  // namespace bbr
