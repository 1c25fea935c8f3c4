// Where the generated text of an OpenAI-style response is, read through the
// host's single parse: choices[].message.content (chat), choices[].text
// (completions, also streamed), choices[].delta.content (streamed chat), and
// for the Responses API output[].content[].text (whole) and the delta of a
// response.output_text.delta event (streamed).
// Why one place: the guardrail scans these strings and may rewrite them; the
// same pointers must be used for reading and for writing back.
#pragma once

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
struct GeneratedText {
  int64_t choice = 0;
  std::string pointer;
  std::string_view text;
};

// Choices looked at per message: bounds the work a hostile upstream can cause.
constexpr std::size_t kMaxChoices = 64;

// Calls visit(const GeneratedText&) for each string of generated text in the
// message's JSON body, in choice order. Non-string contents (null, parts) are
// skipped. Returns the number of pieces visited.
template <class Visit>
std::size_t for_each_generated_text(const bbr::Message& msg, Visit&& visit) {
  std::size_t visited = 0;
  auto emit = [&](int64_t choice, std::string pointer) {
    bbr::JsonValue value;
    if (msg.json(pointer, value) != BBR_OK || !value.is_string()) return;
    GeneratedText piece{choice, std::move(pointer), value.string()};
    visit(static_cast<const GeneratedText&>(piece));
    ++visited;
  };
  // The Responses API (/v1/responses): a streamed text delta event, or the
  // output items' text parts of a whole response.
  if (auto type = msg.json_string("/type"); type && *type == "response.output_text.delta") {
    bbr::JsonValue index;
    int64_t choice = 0;
    if (msg.json("/output_index", index) == BBR_OK && index.type() == BBR_JSON_INTEGER)
      choice = index.raw.integer;
    emit(choice, "/delta");
    return visited;
  }
  bbr::JsonValue output;
  if (msg.json("/output", output) == BBR_OK && output.type() == BBR_JSON_ARRAY) {
    const std::size_t items = output.raw.size < kMaxChoices ? output.raw.size : kMaxChoices;
    for (std::size_t i = 0; i < items; ++i) {
      std::string base = "/output/" + std::to_string(i) + "/content";
      bbr::JsonValue parts;
      if (msg.json(base, parts) != BBR_OK || parts.type() != BBR_JSON_ARRAY) continue;
      const std::size_t count = parts.raw.size < kMaxChoices ? parts.raw.size : kMaxChoices;
      for (std::size_t j = 0; j < count; ++j) {
        emit(static_cast<int64_t>(i), base + "/" + std::to_string(j) + "/text");
      }
    }
    return visited;
  }
  bbr::JsonValue choices;
  if (msg.json("/choices", choices) != BBR_OK || choices.type() != BBR_JSON_ARRAY) return 0;
  const std::size_t count = choices.raw.size < kMaxChoices ? choices.raw.size : kMaxChoices;
  for (std::size_t i = 0; i < count; ++i) {
    std::string base = "/choices/" + std::to_string(i);
    int64_t choice = static_cast<int64_t>(i);
    bbr::JsonValue index;
    if (msg.json(base + "/index", index) == BBR_OK && index.type() == BBR_JSON_INTEGER) {
      choice = index.raw.integer;
    }
    for (const char* member : {"/message/content", "/delta/content", "/text"}) {
      emit(choice, base + member);
    }
  }
  return visited;
}

// The top-level "model" of a response body (or of an SSE event's data), when
// it is a string.
inline std::optional<std::string_view> response_model(const bbr::Message& msg) {
  return msg.json_string("/model");
}

}  // namespace bbr_plugins
