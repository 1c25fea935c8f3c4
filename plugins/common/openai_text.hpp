// Where the generated text of a response is, read through the host's single
// parse, for each API (the format by the body's or event's own shape,
// common/api_format.hpp):
//   Chat Completions    choices[].message.content (whole), choices[].delta.content
//                       (streamed)
//   Completions         choices[].text (whole, and each streamed piece)
//   Responses API       output[].content[].text (whole); streamed: the delta of
//                       response.output_text.delta, and the whole text again in
//                       response.output_text.done (text), response.content_part.*
//                       (part.text), response.output_item.* (item.content[].text)
//                       and response.created/in_progress/completed/... (response.output)
//   Anthropic Messages  content[].text (whole); streamed: the text of
//                       content_block_start (content_block.text) and of each
//                       content_block_delta (delta.text)
// Why one place: the guardrail scans these strings and may rewrite them; the
// same pointers must be used for reading and for writing back.
#pragma once

#include "common/api_format.hpp"

#include <bbr/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bbr_plugins {

// One piece of generated text: which choice it belongs to (the choice's own
// "index" member when it has one, its position otherwise), the JSON Pointer
// of the string, and the text (borrowed until the plugin callback returns or
// the message is edited).
//
// In an SSE event a text is mostly one piece of its choice's text, the next
// after the pieces before it (complete == false); some events repeat a text
// whole (complete == true: the Responses API's *.done events,
// response.completed), to be read on its own, not after the pieces. Every
// text of a whole (JSON) response is complete.
struct GeneratedText {
  int64_t choice = 0;
  std::string pointer;
  std::string_view text;
  bool complete = true;
};

// Choices looked at per message: bounds the work a hostile upstream can cause.
constexpr std::size_t kMaxChoices = 64;

namespace detail {

// Calls emit(choice, pointer) for each text part of `items` (a JSON array of
// output items or content blocks at `base`): base/i/content/j/text when
// `nested`, base/i/text otherwise.
template <class Emit>
void emit_item_texts(const bbr::Message& msg, const std::string& base, bool nested, Emit&& emit) {
  bbr::JsonValue items;
  if (msg.json(base, items) != BBR_OK || items.type() != BBR_JSON_ARRAY) return;
  const std::size_t count = items.raw.size < kMaxChoices ? items.raw.size : kMaxChoices;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string item = base + "/" + std::to_string(i);
    if (!nested) {
      emit(static_cast<int64_t>(i), item + "/text");
      continue;
    }
    bbr::JsonValue parts;
    if (msg.json(item + "/content", parts) != BBR_OK || parts.type() != BBR_JSON_ARRAY) continue;
    const std::size_t n = parts.raw.size < kMaxChoices ? parts.raw.size : kMaxChoices;
    for (std::size_t j = 0; j < n; ++j)
      emit(static_cast<int64_t>(i), item + "/content/" + std::to_string(j) + "/text");
  }
}

// The integer at `pointer`, or `otherwise`.
inline int64_t integer_or(const bbr::Message& msg, std::string_view pointer, int64_t otherwise) {
  bbr::JsonValue value;
  if (msg.json(pointer, value) == BBR_OK && value.type() == BBR_JSON_INTEGER)
    return value.raw.integer;
  return otherwise;
}

}  // namespace detail

// Calls visit(const GeneratedText&) for each string of generated text in the
// message's JSON body (a whole response or one SSE event's data), in choice
// order. Non-string texts (null, absent) are skipped. Returns the number of
// pieces visited.
template <class Visit>
std::size_t for_each_generated_text(const bbr::Message& msg, Visit&& visit) {
  std::size_t visited = 0;
  auto info = msg.message_info();
  const bool streamed = info && info->unit == BBR_BODY_SSE_EVENT;
  bool complete = true;
  auto emit = [&](int64_t choice, std::string pointer) {
    bbr::JsonValue value;
    if (msg.json(pointer, value) != BBR_OK || !value.is_string()) return;
    GeneratedText piece{choice, std::move(pointer), value.string(), complete};
    visit(static_cast<const GeneratedText&>(piece));
    ++visited;
  };
  const ApiFormat format = response_format(msg);
  const std::optional<std::string_view> type = msg.json_string("/type");
  if (format == ApiFormat::kResponses && type && *type != "response") {
    // A streamed event: which one says where its text is.
    const int64_t output = detail::integer_or(msg, "/output_index", 0);
    if (*type == "response.output_text.delta") {
      complete = !streamed;
      emit(output, "/delta");
    } else if (*type == "response.output_text.done") {
      emit(output, "/text");
    } else if (type->substr(0, 22) == "response.content_part.") {
      emit(output, "/part/text");
    } else if (type->substr(0, 21) == "response.output_item.") {
      detail::emit_item_texts(msg, "/item/content", false,
                              [&](int64_t, std::string pointer) { emit(output, pointer); });
    } else {
      detail::emit_item_texts(msg, "/response/output", true, emit);
    }
    return visited;
  }
  if (format == ApiFormat::kMessages) {
    if (type && *type == "content_block_delta") {
      complete = !streamed;
      emit(detail::integer_or(msg, "/index", 0), "/delta/text");
    } else if (type && *type == "content_block_start") {
      complete = !streamed;
      emit(detail::integer_or(msg, "/index", 0), "/content_block/text");
    } else if (type && *type == "message") {
      detail::emit_item_texts(msg, "/content", false, emit);
    }
    return visited;
  }
  // A whole Responses API response (also one that does not say "object").
  bbr::JsonValue output;
  if (msg.json("/output", output) == BBR_OK && output.type() == BBR_JSON_ARRAY) {
    detail::emit_item_texts(msg, "/output", true, emit);
    return visited;
  }
  bbr::JsonValue choices;
  if (msg.json("/choices", choices) != BBR_OK || choices.type() != BBR_JSON_ARRAY) return 0;
  const std::size_t count = choices.raw.size < kMaxChoices ? choices.raw.size : kMaxChoices;
  for (std::size_t i = 0; i < count; ++i) {
    std::string base = "/choices/" + std::to_string(i);
    const int64_t choice = detail::integer_or(msg, base + "/index", static_cast<int64_t>(i));
    complete = true;
    emit(choice, base + "/message/content");
    complete = !streamed;  // a completions chunk's "text" is a piece, as "delta"
    emit(choice, base + "/delta/content");
    emit(choice, base + "/text");
  }
  return visited;
}

}  // namespace bbr_plugins
