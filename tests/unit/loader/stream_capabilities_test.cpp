// The loader's checks of the streamed-response capabilities (ABI 1.1): a
// capability bit without its hook is refused at load, never found at the
// first streamed response.
#include <catch2/catch.hpp>

#include "loader/plugin_library.hpp"

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kDescriptors = BBR_BINARY_DIR "/test-plugins-stream-descriptors";

std::string load_error(const char* file) {
  bbr::LoadOptions options;
  options.allow_insecure_permissions = true;
  try {
    bbr::PluginLibrary::open(kDescriptors / file, options);
  } catch (const bbr::LoadError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a type declaring the response-chunk capability with a NULL hook is refused",
          "[loader][stream]") {
  CHECK_THAT(load_error("stream-chunk_cap_without_hook.so"),
             Contains("declares the response_chunk capability but process_response_chunk is NULL"));
}

TEST_CASE("a type declaring the response-event capability with a NULL hook is refused",
          "[loader][stream]") {
  CHECK_THAT(load_error("stream-event_cap_without_hook.so"),
             Contains("declares the response_event capability but process_response_event is NULL"));
}

TEST_CASE("a 1.0-sized descriptor declaring the response-event capability is refused",
          "[loader][stream]") {
  CHECK_THAT(load_error("stream-event_cap_on_1_0_descriptor.so"),
             Contains("ends before process_response_event"));
}

TEST_CASE("a type with only the response-event capability loads", "[loader][stream]") {
  CHECK(load_error("stream-event_only_good.so").empty());
}
