// The reference's integration harness (docs/reference-behaviour.md §8.1) as
// bbr-host flags: body-field-to-header(model -> X-Gateway-Model-Name) then
// base-model-to-header, whose adapter store is a directory holding the
// reference's ConfigMap data (qwen with adapters sql-lora-sheddable, foo, "1")
// or nothing (the reference's "empty store").
#pragma once

#include "extproc_client.hpp"

#include <string>

namespace bbr::test {

enum class AdapterStore { kReferenceMappings, kEmpty };

inline ServerOptions reference_harness(const TempDir& dir, bool streaming,
                                       AdapterStore store = AdapterStore::kReferenceMappings) {
  const auto adapters_dir = dir.path() / "adapters";
  std::filesystem::create_directories(adapters_dir);
  if (store == AdapterStore::kReferenceMappings) {
    dir.write("adapters/test-model-mappings.yaml",
              "baseModel: qwen\nadapters: \"\\n- sql-lora-sheddable\\n- foo\\n- 1\\n\"\n");
  }
  ServerOptions options;
  options.streaming = streaming;
  options.extra_args = {
      "--plugin",
      R"(body-field-to-header:body-field-to-header:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})",
      "--plugin",
      R"(base-model-to-header:base-model-to-header:{"adaptersDir":")" + adapters_dir.string() +
          R"("})"};
  return options;
}

// The reference's standard LLM body; `model` is left out when empty.
inline std::string llm_body(const std::string& prompt, const std::string& model) {
  std::string body = R"({"max_tokens":100,)";
  if (!model.empty()) body += R"("model":")" + model + R"(",)";
  body += R"("prompt":")" + prompt + R"(","temperature":0})";
  return body;
}

}  // namespace bbr::test
