// Which API a request or a response speaks, decided in one place for every
// plugin (docs/plugins.md, "Request and response formats"):
//
//   request side   by the request's :path (cut at '?' or '#', a gateway prefix
//                  before /v1 allowed), as the host's prompt_text decides
//                  (docs/prompt-text.md). The bodies of /v1/chat/completions
//                  and /v1/messages look alike (model, messages, stream); only
//                  the path tells them apart before the upstream answers.
//   response side  by the shape of each JSON response and each SSE event: every
//                  one names its kind ("object": "chat.completion", "response";
//                  "type": "message", "message_start", "response.completed",
//                  ...). A response plugin reads each event on its own, and an
//                  event read by its own shape needs no state from the request.
#pragma once

#include "common/json_text.hpp"

#include <bbr/api_endpoint.hpp>
#include <bbr/plugin.hpp>

#include <optional>
#include <string_view>

namespace bbr_plugins {

// The request side's rule is the SDK's (bbr/api_endpoint.hpp), shared with
// the host's prompt text; the response side's is below.
using ApiFormat = bbr::ApiEndpoint;

inline ApiFormat request_format(std::string_view path) { return bbr::api_endpoint(path); }

// The API a response body or one SSE event's data is shaped by: its "type"
// (the Responses API's events are "response.*", Anthropic's a fixed set) or
// its "object". kUnknown when it names neither (an error body, a bare chunk).
inline ApiFormat response_format(const bbr::Message& msg) {
  if (auto type = msg.json_string("/type")) {
    if (type->substr(0, 9) == "response.") return ApiFormat::kResponses;
    for (std::string_view anthropic :
         {"message", "message_start", "message_delta", "message_stop", "content_block_start",
          "content_block_delta", "content_block_stop", "ping"}) {
      if (*type == anthropic) return ApiFormat::kMessages;
    }
  }
  if (auto object = msg.json_string("/object")) {
    if (*object == "response") return ApiFormat::kResponses;
    if (*object == "chat.completion" || *object == "chat.completion.chunk")
      return ApiFormat::kChatCompletions;
    if (*object == "text_completion") return ApiFormat::kCompletions;
  }
  return ApiFormat::kUnknown;
}

// Where a response names the model that answered: "model" of a JSON response
// or chat chunk (all APIs), "response.model" in the Responses API's
// response.created / response.in_progress / response.completed events,
// "message.model" in Anthropic's message_start event.
inline constexpr const char* kResponseModelPointers[] = {"/model", "/response/model",
                                                         "/message/model"};

// The model a response body or event names, if any (the first of the above
// that is a string).
inline std::optional<std::string_view> response_model(const bbr::Message& msg) {
  for (const char* pointer : kResponseModelPointers) {
    if (auto model = msg.json_string(pointer)) return model;
  }
  return std::nullopt;
}

}  // namespace bbr_plugins
