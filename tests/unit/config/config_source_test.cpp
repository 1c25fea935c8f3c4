// Choosing where the configuration comes from (serve and chain run share it):
// a file, --plugin flags, or the default chain; never a file and flags.
#include "config/config_source.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using bbr::ConfigSource;

TEST_CASE("config source: a file and --plugin flags together are refused, naming the file",
          "[config]") {
  ConfigSource source{"/etc/bbr/chain.yaml", {"body-field-to-header:m:{}"}};
  REQUIRE(source.conflict());
  CHECK(*source.conflict() ==
        "--config and --plugin cannot be used together: put the plugins in /etc/bbr/chain.yaml");
  CHECK_FALSE(source.is_default());
}

TEST_CASE("config source: a file is read from disk", "[config]") {
  bbr_test::TempDir dir;
  const auto file = dir.path / "chain.yaml";
  std::ofstream(file) << R"(apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: BodyBasedRoutingConfig
plugins:
  - {type: body-field-to-header, name: model, parameters: {fieldName: model, headerName: X-Model}}
request: [{pluginRef: model}]
)";
  ConfigSource source{file.string(), {}};
  CHECK_FALSE(source.conflict());
  CHECK_FALSE(source.is_default());
  const bbr::ChainConfig config = source.load();
  CHECK(config.source == file.string());
  REQUIRE(config.plugins.size() == 1);
  CHECK(config.plugins[0].name == "model");
  CHECK(config.request == std::vector<std::string>{"model"});
}

TEST_CASE("config source: --plugin flags build the chain in flag order", "[config]") {
  ConfigSource source{"", {R"(body-field-to-header:a:{"fieldName":"model","headerName":"X-A"})",
                           R"(body-field-to-header:b:{"fieldName":"model","headerName":"X-B"})"}};
  CHECK_FALSE(source.conflict());
  const bbr::ChainConfig config = source.load();
  CHECK(config.source == "--plugin flags");
  REQUIRE(config.plugins.size() == 2);
  CHECK(config.plugins[0].name == "a");
  CHECK(config.plugins[1].name == "b");
}

TEST_CASE("config source: neither gives the reference's default chain", "[config]") {
  ConfigSource source;
  CHECK(source.is_default());
  CHECK_FALSE(source.conflict());
  CHECK(source.load().source == bbr::default_config().source);
  CHECK(source.load().plugins.size() == bbr::default_config().plugins.size());
}

TEST_CASE("config source: a file's problems come as ConfigError", "[config]") {
  bbr_test::TempDir dir;
  ConfigSource source{(dir.path / "missing.yaml").string(), {}};
  CHECK_THROWS_AS(source.load(), bbr::ConfigError);
}
