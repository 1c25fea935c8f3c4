// The prompt text of an OpenAI-style or Anthropic request, whatever the endpoint: what
// bbr_host_api.prompt_text hands a plugin (see plugin.h for the rules).
#pragma once

#include "body/json_body.hpp"

#include <string>
#include <string_view>

namespace bbr {


// Writes the prompt text into `out` (pieces joined with "\n"), by the rules in
// docs/prompt-text.md (plugins/common/request_text.hpp follows them too):
//   chat completions  messages[].content: a string, or the "text" of its parts
//                     (one piece per message that has text)
//   completions       prompt: a string, or a list of strings
//   embeddings        input: a string, or a list of strings
//   responses         instructions, then input: a string, or items whose
//                     content is a string or parts with "text"
//   messages          system (a string, or blocks with "text"), then
//                     messages[].content as chat completions
// kNotFound for another endpoint or when the endpoint's field is absent (an
// empty text when it is there but holds none); kNotJson when the body does not
// parse. Linear in the field's size: the field is read once.
JsonError prompt_text(JsonBody& body, std::string_view request_path, std::string& out);

}  // namespace bbr
