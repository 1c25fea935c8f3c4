// What request plugins read beyond a single header: the request's :path and
// its prompt text whatever the endpoint. Each uses plugin.hpp's 1.1 wrapper
// when the host has the call and falls back to 1.0 calls (the :path header,
// json_get) otherwise, so the plugins also run on a 1.0 host.
#pragma once

#include "common/api_format.hpp"
#include "common/json_text.hpp"

#include <bbr/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bbr_plugins {

// ---- the request's endpoint and prompt ------------------------------------------

// The request's :path cut at its query string or fragment ("" when there is
// none), as prompt_text reads it (docs/prompt-text.md).
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

// Whether the field at `pointer` is there, as prompt_text's status says it.
inline bbr_status_t field(const bbr::Message& msg, const std::string& pointer,
                          bbr::JsonValue& value) {
  bbr_status_t status = msg.json(pointer, value);
  return status == BBR_OK || status == BBR_NOT_JSON ? status : BBR_NOT_FOUND;
}

// prompt / input: a string, or each string of a list (other elements skipped).
inline bbr_status_t append_strings(const bbr::Message& msg, const std::string& pointer,
                                   std::string& out, bool& first) {
  bbr::JsonValue value;
  if (bbr_status_t status = field(msg, pointer, value); status != BBR_OK) return status;
  if (value.is_string()) {
    append_piece(out, first, value.string());
  } else if (value.type() == BBR_JSON_ARRAY) {
    const std::size_t count = value.raw.size;
    for (std::size_t i = 0; i < count; ++i) {
      if (auto text = msg.json_string(bbr::pointer_join(pointer, i)))
        append_piece(out, first, *text);
    }
  }
  return BBR_OK;
}

// One content: a string, or the "text" strings of its parts joined with "\n"
// (one piece; none when no part has text).
inline void append_content(const bbr::Message& msg, const std::string& pointer, std::string& out,
                           bool& first) {
  bbr::JsonValue value;
  if (msg.json(pointer, value) != BBR_OK) return;
  if (value.is_string()) {
    append_piece(out, first, value.string());
    return;
  }
  if (value.type() != BBR_JSON_ARRAY) return;
  std::string piece;
  bool first_part = true;
  const std::size_t count = value.raw.size;
  for (std::size_t i = 0; i < count; ++i) {
    if (auto text = msg.json_string(bbr::pointer_join(pointer, i, "text")))
      append_piece(piece, first_part, *text);
  }
  if (!first_part) append_piece(out, first, piece);
}

// messages (chat, Anthropic) or input items (responses): each one's "content".
inline bbr_status_t append_contents(const bbr::Message& msg, const std::string& pointer,
                                    std::string& out, bool& first) {
  bbr::JsonValue list;
  if (bbr_status_t status = field(msg, pointer, list); status != BBR_OK) return status;
  if (list.type() != BBR_JSON_ARRAY) return BBR_OK;
  const std::size_t count = list.raw.size;
  for (std::size_t i = 0; i < count; ++i)
    append_content(msg, bbr::pointer_join(pointer, i, "content"), out, first);
  return BBR_OK;
}

// The Responses API's instructions then input, or Anthropic's system then
// messages. The first field: a string (Anthropic: also text blocks, read as
// one content); the second: items read as chat messages (Responses: also a
// string). BBR_OK when either is there.
inline bbr_status_t append_preamble_and_items(const bbr::Message& msg, const char* preamble,
                                              bool preamble_blocks, const char* items,
                                              bool items_string, std::string& out, bool& first) {
  bbr::JsonValue head;
  bbr_status_t status = field(msg, preamble, head);
  if (status == BBR_NOT_JSON) return status;
  if (status == BBR_OK && head.is_string()) {
    append_piece(out, first, head.string());
  } else if (status == BBR_OK && preamble_blocks) {
    append_content(msg, preamble, out, first);
  }
  bbr::JsonValue list;
  bbr_status_t list_status = field(msg, items, list);
  if (list_status == BBR_OK && items_string && list.is_string()) {
    append_piece(out, first, list.string());
  } else if (list_status == BBR_OK) {
    append_contents(msg, items, out, first);
  }
  return status == BBR_OK || list_status == BBR_OK ? BBR_OK : list_status;
}

// prompt_text's rules (docs/prompt-text.md) through 1.0 calls (json_get), for
// a host without it.
inline bbr_status_t prompt_text_from_body(const bbr::Message& msg, std::string& out) {
  bool first = true;
  switch (request_format(request_path(msg))) {
    case ApiFormat::kChatCompletions:
      return append_contents(msg, "/messages", out, first);
    case ApiFormat::kCompletions:
      return append_strings(msg, "/prompt", out, first);
    case ApiFormat::kEmbeddings:
      return append_strings(msg, "/input", out, first);
    case ApiFormat::kResponses:
      return append_preamble_and_items(msg, "/instructions", false, "/input", true, out, first);
    case ApiFormat::kMessages:
      return append_preamble_and_items(msg, "/system", true, "/messages", false, out, first);
    case ApiFormat::kUnknown:
      break;
  }
  return BBR_NOT_FOUND;
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
