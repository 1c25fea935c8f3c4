// parse_config on arbitrary text must either succeed or throw ConfigError;
// the same for each line as a --plugin flag. A parsed configuration is then
// built against the real plugin registry, which may only throw ConfigError.
#include "fuzz_targets.hpp"

#include "config/chain_builder.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"

#include <exception>
#include <string>
#include <string_view>

namespace bbr_fuzz {
namespace {

const bbr::PluginRegistry& registry() {
  static const bbr::PluginRegistry reg = [] {
    bbr::PluginRegistry r;
    bbr::LoadOptions options;
    options.allow_insecure_permissions = true;
    r.scan_directory(BBR_PLUGIN_OUTPUT_DIR, options);
    return r;
  }();
  return reg;
}

template <typename F>
void expect_config_error_or_success(F&& f, const char* what) {
  try {
    f();
  } catch (const bbr::ConfigError& e) {
    if (e.problems().empty()) invariant_failed("config", "ConfigError without problems");
    for (const auto& problem : e.problems()) {
      if (problem.empty()) invariant_failed("config", "ConfigError with an empty problem");
    }
    // what() is what an operator reads: never empty, no raw control bytes.
    const std::string_view text = e.what();
    if (text.empty()) invariant_failed("config", "ConfigError::what() is empty");
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
        invariant_failed("config", "ConfigError::what() holds a raw control character");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: %s threw %s\n", what, e.what());
    invariant_failed("config", "an exception other than ConfigError escaped");
  }
}

}  // namespace

int config_one_input(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  expect_config_error_or_success(
      [&] {
        bbr::ChainConfig config = bbr::parse_config(text, "fuzz.yaml");
        // Build only chains that would not start directory watchers on
        // arbitrary paths of this machine.
        if (text.find("adaptersDir") == std::string::npos) {
          bbr::Chain chain = bbr::build_chain(config, registry(), nullptr);
          (void)chain;
        }
      },
      "parse_config/build_chain");
  std::size_t start = 0;
  std::vector<std::string> flags;
  while (start <= text.size() && flags.size() < 16) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    flags.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& flag : flags) {
    expect_config_error_or_success([&] { (void)bbr::parse_plugin_flag(flag); }, "parse_plugin_flag");
  }
  expect_config_error_or_success([&] { (void)bbr::config_from_plugin_flags(flags); },
                                 "config_from_plugin_flags");
  return 0;
}

}  // namespace bbr_fuzz
