#include "body/prompt_text.hpp"

#include <bbr/api_endpoint.hpp>

#include <simdjson.h>

namespace bbr {
namespace {

namespace dom = simdjson::dom;

// Collects pieces, "\n" between them.
class Pieces {
 public:
  explicit Pieces(std::string& out) : out_(out) { out_.clear(); }
  void add(std::string_view piece) {
    if (any_) out_.push_back('\n');
    out_.append(piece);
    any_ = true;
  }

 private:
  std::string& out_;
  bool any_ = false;
};

// A string, or each string of an array of strings (other elements skipped).
void add_strings(dom::element v, Pieces& pieces) {
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) {
    pieces.add(s);
    return;
  }
  dom::array array;
  if (v.get_array().get(array) != simdjson::SUCCESS) return;
  for (dom::element e : array) {
    if (e.get_string().get(s) == simdjson::SUCCESS) pieces.add(s);
  }
}

// A message's content as one piece: a string, or its parts' "text" strings
// joined with "\n". False when it holds no text (null, images only, ...).
bool content_piece(dom::element content, std::string& piece) {
  piece.clear();
  std::string_view s;
  if (content.get_string().get(s) == simdjson::SUCCESS) {
    piece.assign(s);
    return true;
  }
  dom::array parts;
  if (content.get_array().get(parts) != simdjson::SUCCESS) return false;
  bool any = false;
  for (dom::element part : parts) {
    if (part.at_key("text").get_string().get(s) != simdjson::SUCCESS) continue;
    if (any) piece.push_back('\n');
    piece.append(s);
    any = true;
  }
  return any;
}

// messages[] (chat, Anthropic) or input items (responses): each one's "content".
void add_contents(dom::element v, Pieces& pieces) {
  dom::array items;
  if (v.get_array().get(items) != simdjson::SUCCESS) return;
  std::string piece;
  for (dom::element item : items) {
    dom::element content;
    if (item.at_key("content").get(content) != simdjson::SUCCESS) continue;
    if (content_piece(content, piece)) pieces.add(piece);
  }
}

// The field at `pointer` as its own small document. The body's Go encoding of
// the field (duplicates collapsed to the last, as Go decodes them) is parsed
// once: one pass over the field instead of a lookup from the root per element.
JsonError read_field(JsonBody& body, std::string_view pointer, dom::parser& parser,
                     std::string& text, dom::element& out) {
  JsonError err = body.get_text(pointer, text);
  if (err != JsonError::kNone) return err == JsonError::kWrongType ? JsonError::kNotFound : err;
  if (parser.parse(text).get(out) != simdjson::SUCCESS) return JsonError::kNotFound;
  return JsonError::kNone;
}

// The Responses API's instructions then input, or Anthropic's system then
// messages. The first field: a string (Anthropic: also text blocks, read as
// one content); the second: items read as chat messages (Responses: also a
// string). kNone when either is there.
JsonError add_preamble_and_items(JsonBody& body, std::string_view preamble, bool preamble_blocks,
                                 std::string_view items, bool items_string, dom::parser& parser,
                                 std::string& text, Pieces& pieces) {
  bool found = false;
  dom::element field;
  JsonError err = read_field(body, preamble, parser, text, field);
  if (err == JsonError::kNone) {
    found = true;
    std::string_view s;
    std::string piece;
    if (field.get_string().get(s) == simdjson::SUCCESS) {
      pieces.add(s);
    } else if (preamble_blocks && content_piece(field, piece)) {
      pieces.add(piece);
    }
  } else if (err != JsonError::kNotFound) {
    return err;
  }
  err = read_field(body, items, parser, text, field);
  if (err == JsonError::kNone) {
    found = true;
    std::string_view s;
    if (items_string && field.get_string().get(s) == simdjson::SUCCESS) {
      pieces.add(s);
    } else {
      add_contents(field, pieces);
    }
  } else if (err != JsonError::kNotFound) {
    return err;
  }
  return found ? JsonError::kNone : JsonError::kNotFound;
}

}  // namespace


JsonError prompt_text(JsonBody& body, std::string_view request_path, std::string& out) {
  const ApiEndpoint endpoint = api_endpoint(request_path);
  if (endpoint == ApiEndpoint::kUnknown) return JsonError::kNotFound;
  if (!body.parse()) return JsonError::kNotJson;
  dom::parser parser;
  std::string text;
  dom::element field;
  Pieces pieces(out);
  switch (endpoint) {
    case ApiEndpoint::kChatCompletions: {
      JsonError err = read_field(body, "/messages", parser, text, field);
      if (err != JsonError::kNone) return err;
      add_contents(field, pieces);
      return JsonError::kNone;
    }
    case ApiEndpoint::kCompletions:
    case ApiEndpoint::kEmbeddings: {
      JsonError err =
          read_field(body, endpoint == ApiEndpoint::kCompletions ? "/prompt" : "/input", parser,
                     text, field);
      if (err != JsonError::kNone) return err;
      add_strings(field, pieces);
      return JsonError::kNone;
    }
    case ApiEndpoint::kResponses:
      return add_preamble_and_items(body, "/instructions", false, "/input", true, parser, text,
                                    pieces);
    case ApiEndpoint::kMessages:
      return add_preamble_and_items(body, "/system", true, "/messages", false, parser, text,
                                    pieces);
    case ApiEndpoint::kUnknown:
      break;
  }
  return JsonError::kNotFound;
}

}  // namespace bbr
