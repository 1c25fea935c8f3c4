// The adapter -> base model mapping, and reading it from a directory of files
// (one file per base model, YAML or JSON, keys `baseModel` and `adapters`).
#pragma once

#include <bbr/plugin.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace bbr_plugins {

// An immutable snapshot: requests read it while a reload builds the next one.
struct AdapterMap {
  std::unordered_map<std::string, std::string> adapter_to_base;
  std::unordered_set<std::string> base_models;

  // The reference's lookup: trim white space; an adapter gives its base model,
  // a known base model gives itself, anything else gives "".
  std::string base_model_of(std::string_view model) const;
};

// What one file says.
struct AdapterFile {
  std::string base_model;
  std::vector<std::string> adapters;
};

// Parses one file's text. Throws std::runtime_error saying what is wrong
// (without the file name, which the caller adds).
AdapterFile parse_adapter_file(std::string_view text, bool is_json);

// *.yaml, *.yml and *.json, not hidden (Kubernetes volume mounts keep their
// bookkeeping in ..data and ..<timestamp> entries).
bool is_adapter_file_name(std::string_view file_name);

struct Diagnostic {
  bbr_log_level_t level;
  std::string text;
};

struct LoadResult {
  std::shared_ptr<const AdapterMap> map;
  std::vector<Diagnostic> diagnostics;
  std::size_t files_loaded = 0;
  std::size_t files_skipped = 0;
};

// Reads every adapter file of `dir` in name order. A bad file is reported and
// skipped; an adapter listed under two base models keeps the first file's.
LoadResult load_adapters_dir(const std::filesystem::path& dir);

// Cheap identity of the directory's adapter files (name, size, mtime, inode),
// to notice changes between polls without reading the files.
using DirFingerprint = std::vector<std::tuple<std::string, std::uintmax_t, int64_t, std::uintmax_t>>;
DirFingerprint fingerprint_adapters_dir(const std::filesystem::path& dir);

}  // namespace bbr_plugins
