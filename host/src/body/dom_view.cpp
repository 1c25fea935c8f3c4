#include "body/dom_view.hpp"

#include "body/json_pointer.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace bbr {

namespace dom = simdjson::dom;

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

namespace {

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

}  // namespace

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

namespace {

std::size_t dom_array_size(dom::array array) {
  std::size_t size = array.size();
  if (size < 0xFFFFFF) return size;  // simdjson saturates the count it stores at 2^24-1
  size = 0;
  for ([[maybe_unused]] dom::element e : array) ++size;
  return size;
}

}  // namespace

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

void dom_distinct_members(dom::object object,
                          std::vector<std::pair<std::string_view, dom::element>>& out) {
  out.clear();
  std::unordered_map<std::string_view, std::size_t> position;
  for (dom::key_value_pair member : object) {
    auto [at, fresh] = position.emplace(member.key, out.size());
    if (fresh) {
      out.emplace_back(member.key, member.value);
    } else {
      out[at->second].second = member.value;
    }
  }
}

// Duplicate names keep the last value, as nlohmann's parse and Go's decoder
// do. Recursion is bounded by Go's depth limit, which the DOM enforced.
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

}  // namespace bbr
