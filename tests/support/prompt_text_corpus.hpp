// The shared prompt-text cases (tests/fixtures/prompt-text-corpus.json, the
// rules in docs/prompt-text.md): read by the host's test and by the test that
// runs the SDK-side fallback, so both are held to the same list.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bbr_test {

struct PromptCase {
  std::string name;
  std::string path;
  std::string body;    // the request body's bytes
  std::string status;  // "ok", "not_found" or "not_json"
  std::string text;    // when "ok"
  bool plugins_run = true;  // false: the session answers 400 before any plugin
};

inline std::vector<PromptCase> prompt_text_corpus() {
  std::ifstream in(std::string(BBR_FIXTURES_DIR) + "/prompt-text-corpus.json");
  if (!in) throw std::runtime_error("cannot read prompt-text-corpus.json");
  const nlohmann::json list = nlohmann::json::parse(in);
  std::vector<PromptCase> cases;
  for (const auto& entry : list) {
    PromptCase c;
    c.name = entry.at("name").get<std::string>();
    c.path = entry.at("path").get<std::string>();
    c.body = entry.contains("body_text") ? entry.at("body_text").get<std::string>()
                                         : entry.at("body").dump();
    c.status = entry.at("status").get<std::string>();
    c.text = entry.value("text", "");
    c.plugins_run = entry.value("plugins_run", true);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace bbr_test
