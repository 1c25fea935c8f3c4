/*
 * bbr/api_endpoint.hpp - which API a request path names: the one rule the
 * host's prompt text (bbr_host_api.prompt_text) and the plugins' own readers
 * share (docs/prompt-text.md). Header-only, C++17, the standard library only.
 *
 * The path is cut at '?' or '#', and a gateway prefix before /v1/... is
 * allowed (/openai/v1/chat/completions). The bodies of /v1/chat/completions
 * and /v1/messages look alike (model, messages, stream): only the path tells
 * them apart.
 */
#ifndef BBR_API_ENDPOINT_HPP
#define BBR_API_ENDPOINT_HPP

#include <string_view>

namespace bbr {

enum class ApiEndpoint {
  kUnknown,
  kChatCompletions,  // OpenAI /v1/chat/completions
  kCompletions,      // OpenAI /v1/completions
  kEmbeddings,       // OpenAI /v1/embeddings
  kResponses,        // OpenAI Responses API, /v1/responses
  kMessages,         // Anthropic Messages, /v1/messages
};

inline ApiEndpoint api_endpoint(std::string_view request_path) {
  const std::string_view path = request_path.substr(0, request_path.find_first_of("?#"));
  const auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with("/v1/chat/completions")) return ApiEndpoint::kChatCompletions;
  if (ends_with("/v1/completions")) return ApiEndpoint::kCompletions;
  if (ends_with("/v1/embeddings")) return ApiEndpoint::kEmbeddings;
  if (ends_with("/v1/responses")) return ApiEndpoint::kResponses;
  if (ends_with("/v1/messages")) return ApiEndpoint::kMessages;
  return ApiEndpoint::kUnknown;
}

}  // namespace bbr

#endif  // BBR_API_ENDPOINT_HPP
