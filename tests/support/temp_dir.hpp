// A fresh private directory for one test, removed with everything in it at
// scope exit. Shared by the unit and ABI tests.
#pragma once

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace bbr_test {

struct TempDir {
  std::filesystem::path path;

  explicit TempDir(const std::string& prefix = "bbr-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
    // Not group/other-writable: the loader's permission check must pass here.
    std::filesystem::permissions(path, std::filesystem::perms(0755));
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` (sub-folders created) and returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    std::filesystem::path file = path / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }
};

}  // namespace bbr_test
