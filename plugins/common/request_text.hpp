// What request plugins read beyond a single header: the request's :path and
// its prompt text whatever the endpoint. Each uses plugin.hpp's 1.1 wrapper
// when the host has the call and falls back to 1.0 calls (the :path header,
// json_get) otherwise, so the plugins also run on a 1.0 host.
#pragma once

#include "common/json_text.hpp"

#include <bbr/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// ---- the request's endpoint and prompt ------------------------------------------

// The request's :path without its query string ("" when there is none).
inline std::string request_path(const bbr::Message& msg) {
  std::string_view path;
  if (auto info = msg.message_info()) path = info->request_path;
  if (path.empty()) {
    // A 1.0 host: the request phase still has the :path header Envoy sent.
    if (auto header = msg.header(":path")) path = *header;
  }
  auto query = path.find_first_of("?#");
  if (query != std::string_view::npos) path = path.substr(0, query);
  return std::string(path);
}

namespace detail {

inline void append_piece(std::string& out, bool& first, std::string_view piece) {
  if (!first) out += '\n';
  out.append(piece);
  first = false;
}

// A string, or the "text" members of a list of parts (or of strings).
inline bool append_text_or_parts(const bbr::Message& msg, const std::string& pointer,
                                 std::string& out, bool& first) {
  bbr::JsonValue value;
  if (msg.json(pointer, value) != BBR_OK) return false;
  if (value.is_string()) {
    append_piece(out, first, value.string());
    return true;
  }
  if (value.type() != BBR_JSON_ARRAY) return false;
  bool any = false;
  const std::size_t count = value.raw.size;
  for (std::size_t i = 0; i < count; ++i) {
    std::string item = bbr::pointer_join(pointer, i);
    if (auto text = msg.json_string(item)) {
      append_piece(out, first, *text);
      any = true;
    } else if (auto part = msg.json_string(bbr::pointer_join(item, "text"))) {
      append_piece(out, first, *part);
      any = true;
    }
  }
  return any;
}

// Every message's (or item's) content, for chat messages and responses input.
inline bool append_contents(const bbr::Message& msg, const std::string& pointer, std::string& out,
                            bool& first) {
  bbr::JsonValue list;
  if (msg.json(pointer, list) != BBR_OK) return false;
  if (list.is_string()) {
    append_piece(out, first, list.string());
    return true;
  }
  if (list.type() != BBR_JSON_ARRAY) return false;
  bool any = false;
  const std::size_t count = list.raw.size;
  for (std::size_t i = 0; i < count; ++i) {
    any = append_text_or_parts(msg, bbr::pointer_join(pointer, i, "content"), out, first) || any;
  }
  return any;
}

// prompt_text's rules through 1.0 calls (json_get), for a host without it.
inline bbr_status_t prompt_text_from_body(const bbr::Message& msg, std::string& out) {
  const std::string path = request_path(msg);
  bool first = true;
  bool found = false;
  if (ends_with(path, "/v1/chat/completions")) {
    found = detail::append_contents(msg, "/messages", out, first);
  } else if (ends_with(path, "/v1/completions")) {
    found = detail::append_text_or_parts(msg, "/prompt", out, first);
  } else if (ends_with(path, "/v1/embeddings")) {
    found = detail::append_text_or_parts(msg, "/input", out, first);
  } else if (ends_with(path, "/v1/responses")) {
    if (auto instructions = msg.json_string("/instructions")) {
      detail::append_piece(out, first, *instructions);
      found = true;
    }
    found = detail::append_contents(msg, "/input", out, first) || found;
  }
  return found ? BBR_OK : BBR_NOT_FOUND;
}

}  // namespace detail

// The prompt text of a request, by endpoint (plugin.h, prompt_text): on a 1.1
// host a view of the host's own extraction (no copy; valid until the callback
// returns), on a 1.0 host the same rules through json_get, kept in `storage`.
// nullopt for another endpoint or when there is no prompt.
inline std::optional<std::string_view> prompt_text(const bbr::Message& msg, std::string& storage) {
  storage.clear();
  if (BBR_HAS_FIELD(msg.api(), bbr_host_api_t, prompt_text)) return msg.prompt_text();
  if (detail::prompt_text_from_body(msg, storage) != BBR_OK) return std::nullopt;
  return std::string_view(storage);
}

}  // namespace bbr_plugins
