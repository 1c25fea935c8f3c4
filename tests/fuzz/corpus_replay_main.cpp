// Replays committed inputs through the fuzz targets without libFuzzer, so any
// compiler's build exercises them.
//   fuzz_corpus_replay <corpus root>          every file of <root>/<target>/
//   fuzz_corpus_replay <target> <file>...     the given files (e.g. a crash)
#include "fuzz_targets.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

using Target = int (*)(const uint8_t*, std::size_t);

const std::map<std::string, Target>& targets() {
  static const std::map<std::string, Target> all = {
      {"session", bbr_fuzz::session_one_input},
      {"json_body", bbr_fuzz::json_body_one_input},
      {"config", bbr_fuzz::config_one_input}};
  return all;
}

void replay(Target target, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + file.string());
  std::cout << "replay " << file.string() << " (" << bytes.size() << " bytes)" << std::endl;
  target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2) {
      const std::filesystem::path root = argv[1];
      std::size_t replayed = 0;
      for (const auto& [name, target] : targets()) {
        const auto dir = root / name;
        if (!std::filesystem::is_directory(dir)) {
          std::cerr << "missing corpus directory " << dir.string() << "\n";
          return 1;
        }
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
          if (entry.is_regular_file()) files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        if (files.empty()) {
          std::cerr << "empty corpus directory " << dir.string() << "\n";
          return 1;
        }
        for (const auto& f : files) replay(target, f);
        replayed += files.size();
      }
      std::cout << "replayed " << replayed << " inputs, no invariant broken" << std::endl;
      return 0;
    }
    if (argc >= 3 && targets().count(argv[1]) != 0) {
      for (int i = 2; i < argc; ++i) replay(targets().at(argv[1]), argv[i]);
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "fuzz_corpus_replay: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: fuzz_corpus_replay <corpus root> | <session|json_body|config> <file>...\n";
  return 2;
}
