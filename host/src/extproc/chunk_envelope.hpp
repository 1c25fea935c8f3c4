// The wire form of one streamed body chunk, written by hand so the chunk's
// bytes go to gRPC by reference (process_stream.cpp) instead of being copied
// into a ProcessingResponse first.
#pragma once

#include "session/session.hpp"

#include <string>

namespace bbr {

// ProcessingResponse{request_body|response_body{response{body_mutation{
// streamed_response{body, end_of_stream}}}}} for `chunk`: the bytes before the
// body and after it (the body itself goes in between). Equal to protobuf's
// serialisation of the same message.
void encode_chunk_envelope(const Session::Step::Chunk& chunk, std::string& before,
                           std::string& after);

}  // namespace bbr
