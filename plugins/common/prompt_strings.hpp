// Where the prompt's strings are in a request body, each with its JSON
// Pointer: for plugins that read the prompt message by message (affinity
// hashes its first messages, system prompt first) or edit it in place (the
// guardrail's redaction sets each changed string with json_set_string, so
// every other byte of the body stays as it came).
// The host's prompt_text gives the joined text by endpoint; this walks the
// body by its shape instead, whatever the path:
//   - `system` (Anthropic Messages): a string, or the `text` of its blocks;
//   - `messages` (chat, Anthropic): each message's `content`, a string or the
//     `text` of its parts; role `system` or `developer` marks system text;
//   - `instructions` (Responses API): system text;
//   - `input` (Responses API, embeddings): a string, a list of strings, or
//     items whose `content` is a string or parts with `text`;
//   - `prompt` (completions): a string or a list of strings.
#pragma once

#include <bbr/plugin.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace bbr_plugins {

// One string of the prompt. `unit` numbers the messages (or items, or list
// elements) from 0 in body order; the strings of one message's parts share
// it. `text` is borrowed: valid until the callback returns or the message
// is edited.
struct PromptString {
  std::size_t unit = 0;
  bool system = false;
  std::string pointer;
  std::string_view text;
};

namespace detail {

inline bool is_system_role(std::optional<std::string_view> role) {
  return role && (*role == "system" || *role == "developer");
}

// Walks the prompt's strings in body order.
template <class Visit>
class PromptWalk {
 public:
  PromptWalk(const bbr::Message& msg, Visit& visit) : msg_(msg), visit_(visit) {}

  void run() {
    text_or_parts("/system", true);
    list_of_messages("/messages");
    if (auto instructions = msg_.json_string("/instructions"))
      emit_unit(true, "/instructions", *instructions);
    strings_or_items("/input");
    strings_or_items("/prompt");
  }

 private:
  void emit(bool system, std::string pointer, std::string_view text) {
    PromptString piece{unit_, system, std::move(pointer), text};
    visit_(static_cast<const PromptString&>(piece));
  }
  void emit_unit(bool system, std::string pointer, std::string_view text) {
    emit(system, std::move(pointer), text);
    ++unit_;
  }

  // A string, or a list of parts/blocks whose `text` strings are taken: one unit.
  void text_or_parts(const std::string& pointer, bool system) {
    bbr::JsonValue value;
    if (msg_.json(pointer, value) != BBR_OK) return;
    if (value.is_string()) {
      emit_unit(system, pointer, value.string());
      return;
    }
    if (!value.is_array()) return;
    bool any = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string part = bbr::pointer_join(pointer, i, "text");
      if (auto text = msg_.json_string(part)) {
        emit(system, std::move(part), *text);
        any = true;
      }
    }
    if (any) ++unit_;
  }

  void list_of_messages(const std::string& pointer) {
    bbr::JsonValue list;
    if (msg_.json(pointer, list) != BBR_OK || !list.is_array()) return;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const bool system = is_system_role(msg_.json_string(bbr::pointer_join(pointer, i, "role")));
      text_or_parts(bbr::pointer_join(pointer, i, "content"), system);
    }
  }

  void strings_or_items(const std::string& pointer) {
    bbr::JsonValue value;
    if (msg_.json(pointer, value) != BBR_OK) return;
    if (value.is_string()) {
      emit_unit(false, pointer, value.string());
      return;
    }
    if (!value.is_array()) return;
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string element = bbr::pointer_join(pointer, i);
      bbr::JsonValue item;
      if (msg_.json(element, item) != BBR_OK) continue;
      if (item.is_string()) {
        emit_unit(false, std::move(element), item.string());
      } else if (item.is_object()) {
        const bool system = is_system_role(msg_.json_string(element + "/role"));
        text_or_parts(element + "/content", system);
      }
    }
  }

  const bbr::Message& msg_;
  Visit& visit_;
  std::size_t unit_ = 0;
};

}  // namespace detail

// Calls visit(const PromptString&) for each string of the request's prompt,
// in body order (see the top of this file for the shapes). Nothing is
// visited for a body that is not JSON or has none of these fields.
template <class Visit>
void for_each_prompt_string(const bbr::Message& msg, Visit&& visit) {
  detail::PromptWalk<std::remove_reference_t<Visit>> walk(msg, visit);
  walk.run();
}

}  // namespace bbr_plugins
