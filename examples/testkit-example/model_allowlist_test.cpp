// Unit test of model-allowlist through the SDK's test kit: the real host
// loads the .so and answers as the server would. No test framework needed
// (the kit works the same under Catch2 or GoogleTest).
//
//   model_allowlist_test <path to model-allowlist.so>
#include <bbr/testkit.hpp>

#include <iostream>
#include <string>

namespace {

int failures = 0;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      ++failures;                                                             \
      std::cerr << __FILE__ << ":" << __LINE__ << ": FAILED: " #cond << "\n"; \
    }                                                                         \
  } while (0)

const bbr::testkit::Headers kChat = {{":path", "/v1/chat/completions"}};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <model-allowlist.so>\n";
    return 2;
  }
  using bbr::testkit::Plugin;
  const std::string so = argv[1];
  auto plugin = Plugin::load(so, "model-allowlist", R"({"models":["llama-3-8b","qwen"]})");

  // A listed model goes on, marked.
  auto ok = plugin.request(kChat, R"({"model":"qwen","messages":[]})");
  CHECK(!ok.rejected());
  CHECK(ok.header("x-model-allowed") == "true");
  CHECK(!ok.body_changed());

  // Another model is answered 403 with a JSON error, counted and logged.
  auto refused = plugin.request(kChat, R"({"model":"gpt-4","messages":[]})");
  CHECK(refused.rejected());
  CHECK(refused.status() == 403);
  CHECK(refused.rejection_header("content-type") == "application/json");
  CHECK(
      refused.rejection_body() ==
      R"({"error":{"message":"model 'gpt-4' is not served here","type":"invalid_request_error"}})");
  CHECK(refused.counter("model_allowlist_refused_total", "gpt-4") == 1);

  // No model: not this plugin's decision.
  auto no_model = plugin.request(kChat, R"({"messages":[]})");
  CHECK(!no_model.rejected());
  CHECK(!no_model.header("x-model-allowed"));

  // A bad configuration is refused before create(), by the schema, in the
  // words `config check` and serve use.
  std::string error;
  try {
    Plugin::load(so, "model-allowlist", R"({"models":[]})");
  } catch (const bbr::testkit::Error& e) {
    error = e.what();
  }
  CHECK(error == "parameters.models: must have at least 1 item");

  if (failures == 0) std::cout << "all model-allowlist checks passed\n";
  return failures == 0 ? 0 : 1;
}
