// One parameter check: the same parameters, good and bad, given to the test
// kit, `plugins validate`, `config check`, `chain run` and `serve` get the
// same verdict and the same words (each front end only prefixes where the
// parameters came from: "plugins[0]." for a configuration file).
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

#include <bbr/testkit.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

namespace {

const std::string kBinary = BBR_BINARY_DIR "/bin/bbr-host";
const std::string kPlugin = std::string(BBR_PLUGIN_OUTPUT_DIR) + "/header-to-body.so";
const std::string kType = "header-to-body";

struct Case {
  std::string parameters;          // JSON object text
  std::optional<std::string> line;  // the problem as the kit words it; nullopt: accepted
};

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string config_file(const bbr_test::TempDir& dir, const std::string& parameters) {
  return dir.write("bbr.yaml",
                   "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                   "kind: BodyBasedRoutingConfig\n"
                   "plugins:\n"
                   "  - type: " + kType + "\n"
                   "    name: " + kType + "\n"
                   "    parameters: " + parameters + "\n"
                   "request: [{pluginRef: " + kType + "}]\n");
}

// What the kit says: nullopt when it creates the plugin, else its error text.
std::optional<std::string> kit_verdict(const std::string& parameters) {
  try {
    bbr::testkit::Plugin::load(kPlugin, kType, parameters);
    return std::nullopt;
  } catch (const bbr::testkit::Error& e) {
    return std::string(e.what());
  }
}

bbr_test::Result serve(const std::string& config) {
  // A port taken between free_port() and the bind: try a fresh set.
  for (int attempt = 1;; ++attempt) {
    auto r = bbr_test::run_process(
        {kBinary, "serve", "--grpc-port=" + std::to_string(free_port()),
         "--grpc-health-port=" + std::to_string(free_port()),
         "--metrics-port=" + std::to_string(free_port()), "--config", config},
        "serving (");
    const bool port_taken = r.err.find("cannot listen") != std::string::npos ||
                            r.err.find("cannot serve metrics") != std::string::npos;
    if (!port_taken || attempt == 3) return r;
  }
}

}  // namespace

TEST_CASE("parameters get one verdict and one message from the kit, validate, config check, "
          "chain run and serve") {
  const std::vector<Case> cases = {
      {R"({"header":"x-tenant","pointer":"/tenant"})", std::nullopt},
      {R"({"pointer":"/tenant","json":false,"header":"x-tenant"})", std::nullopt},
      {R"({"header":"x-tenant","pointer":"/tenant","bogus":1})", "parameters.bogus: unknown field"},
      {R"({"header":"x-tenant"})", "parameters.pointer: required"},
      {R"({"header":"x-tenant","pointer":"/tenant","json":"yes"})", "parameters.json: "},
      {R"({"header":"","pointer":"/tenant"})", "parameters.header: "},
      // Past the schema: create() refuses it, reported at the parameter's path.
      {R"({"header":"x bad","pointer":"/tenant"})", "parameters.header: \"x bad\" is not a valid"},
  };
  for (const auto& c : cases) {
    INFO("parameters " << c.parameters);
    bbr_test::TempDir dir("bbr-parity");
    const std::string config = config_file(dir, c.parameters);

    const std::optional<std::string> kit = kit_verdict(c.parameters);
    auto validate = bbr_test::run_process(
        {kBinary, "plugins", "validate", kPlugin, "--parameters", c.parameters});
    auto check = bbr_test::run_process({kBinary, "config", "check", config});
    auto chain = bbr_test::run_process(
        {kBinary, "chain", "run", "--config", config, "--body", R"({"model":"m"})"});
    auto served = serve(config);
    INFO("kit: " << kit.value_or("created"));
    INFO("validate: " << validate.out << validate.err);
    INFO("config check: " << check.out << check.err);
    INFO("chain run: " << chain.out << chain.err);
    INFO("serve: " << served.out << served.err);

    if (!c.line) {
      CHECK_FALSE(kit);
      CHECK(validate.exit_code == 0);
      CHECK(check.exit_code == 0);
      CHECK(chain.exit_code == 0);
      CHECK(served.err.find("serving (") != std::string::npos);
      CHECK(served.exit_code == 0);
      continue;
    }
    REQUIRE(kit);
    CHECK(kit->rfind(*c.line, 0) == 0);
    // The kit's whole text, word for word, in every other front end; a
    // configuration file's problems start from the plugin's place in it.
    const std::string& words = *kit;
    CHECK(validate.exit_code == 1);
    CHECK(validate.out.find(words) != std::string::npos);
    CHECK(check.exit_code == 1);
    CHECK(check.err.find(config + ": plugins[0]." + words) != std::string::npos);
    CHECK(chain.exit_code == 2);
    CHECK(chain.err.find(config + ": plugins[0]." + words) != std::string::npos);
    CHECK(served.exit_code == 1);
    CHECK(served.err.find("plugins[0]." + words) != std::string::npos);
  }
}
