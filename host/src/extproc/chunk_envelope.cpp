#include "extproc/chunk_envelope.hpp"

namespace bbr {
namespace {

std::size_t varint_size(std::size_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::string& out, std::size_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// A length-delimited field's key: (field number << 3) | wire type 2.
constexpr char length_delimited(int field) { return static_cast<char>((field << 3) | 2); }

}  // namespace

void encode_chunk_envelope(const Session::Step::Chunk& chunk, std::string& before,
                           std::string& after) {
  // Field numbers: ProcessingResponse.request_body 3 / response_body 4,
  // BodyResponse.response 1, CommonResponse.body_mutation 3,
  // BodyMutation.streamed_response 3, StreamedBodyResponse.body 1 and
  // end_of_stream 2 (varint). Proto3 leaves out an empty body and a false
  // end_of_stream, and writes fields in number order, as here.
  const std::size_t body_field = chunk.length == 0 ? 0 : 1 + varint_size(chunk.length) + chunk.length;
  const std::size_t streamed = body_field + (chunk.end_of_stream ? 2 : 0);
  const std::size_t mutation = 1 + varint_size(streamed) + streamed;
  const std::size_t common = 1 + varint_size(mutation) + mutation;
  const std::size_t body_response = 1 + varint_size(common) + common;
  before.clear();
  before.push_back(length_delimited(chunk.phase == BBR_PHASE_REQUEST ? 3 : 4));
  put_varint(before, body_response);
  before.push_back(length_delimited(1));
  put_varint(before, common);
  before.push_back(length_delimited(3));
  put_varint(before, mutation);
  before.push_back(length_delimited(3));
  put_varint(before, streamed);
  if (chunk.length != 0) {
    before.push_back(length_delimited(1));
    put_varint(before, chunk.length);
  }
  after.clear();
  if (chunk.end_of_stream) after.append("\x10\x01", 2);
}

}  // namespace bbr
