#include "base-model-to-header/adapter_map.hpp"

#include "common/go_value_format.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace bbr_plugins {

std::string AdapterMap::base_model_of(std::string_view model) const {
  std::string name(trim_space(model));
  if (auto it = adapter_to_base.find(name); it != adapter_to_base.end()) return it->second;
  if (base_models.count(name) != 0) return name;
  return {};
}

namespace {

[[noreturn]] void fail(const std::string& text) { throw std::runtime_error(text); }

// Adds one adapter name the way the reference does: trimmed, empty skipped.
void add_adapter(AdapterFile& file, std::string_view name) {
  auto trimmed = trim_space(name);
  if (!trimmed.empty()) file.adapters.emplace_back(trimmed);
}

void read_yaml_adapter_list(const YAML::Node& list, AdapterFile& file) {
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) fail("adapters: must be a list of adapter names");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    if (item.IsNull()) continue;  // "- " with nothing after it: an empty entry
    if (!item.IsScalar())
      fail("adapters[" + std::to_string(i) + "]: must be a string, got a " +
           (item.IsSequence() ? "list" : "mapping"));
    add_adapter(file, item.Scalar());
  }
}

// ConfigMap data holds the list as YAML text ("- a1\n- a2\n"); accept that too.
void read_adapters_from_text(std::string_view text, AdapterFile& file) {
  if (trim_space(text).empty()) return;
  YAML::Node list;
  try {
    list = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    fail(std::string("adapters: the string is not a YAML list: ") + e.what());
  }
  if (!list.IsNull() && !list.IsSequence())
    fail("adapters: the string must hold a YAML list of adapter names (\"- a1\\n- a2\")");
  read_yaml_adapter_list(list, file);
}

AdapterFile parse_yaml(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    fail(std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) fail("must be a mapping with the keys baseModel and adapters");
  // A ConfigMap manifest as the reference deploys it: read its data.
  if (root["kind"] && root["kind"].IsScalar() && root["kind"].Scalar() == "ConfigMap") {
    if (!root["data"] || !root["data"].IsMap()) fail("data: a ConfigMap needs a data mapping");
    root = root["data"];
  }
  AdapterFile file;
  const YAML::Node base = root["baseModel"];
  if (!base || base.IsNull()) fail("baseModel: required");
  if (!base.IsScalar()) fail("baseModel: must be a string");
  file.base_model = std::string(trim_space(base.Scalar()));
  if (file.base_model.empty()) fail("baseModel: must not be empty");
  const YAML::Node adapters = root["adapters"];
  if (adapters && adapters.IsScalar()) {
    read_adapters_from_text(adapters.Scalar(), file);
  } else {
    read_yaml_adapter_list(adapters, file);
  }
  return file;
}

AdapterFile parse_json(std::string_view text) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object()) fail("must be an object with the keys baseModel and adapters");
  if (root.contains("kind") && root["kind"] == "ConfigMap") {
    if (!root.contains("data") || !root["data"].is_object())
      fail("data: a ConfigMap needs a data object");
    root = nlohmann::json(root["data"]);
  }
  AdapterFile file;
  auto base = root.find("baseModel");
  if (base == root.end() || base->is_null()) fail("baseModel: required");
  if (!base->is_string()) fail(std::string("baseModel: must be a string, got ") + base->type_name());
  file.base_model = std::string(trim_space(base->get_ref<const std::string&>()));
  if (file.base_model.empty()) fail("baseModel: must not be empty");
  auto adapters = root.find("adapters");
  if (adapters == root.end() || adapters->is_null()) return file;
  if (adapters->is_string()) {
    read_adapters_from_text(adapters->get_ref<const std::string&>(), file);
    return file;
  }
  if (!adapters->is_array()) fail("adapters: must be a list of adapter names");
  for (std::size_t i = 0; i < adapters->size(); ++i) {
    const auto& item = (*adapters)[i];
    if (item.is_null()) continue;
    if (item.is_string()) {
      add_adapter(file, item.get_ref<const std::string&>());
    } else if (item.is_number() || item.is_boolean()) {
      add_adapter(file, item.dump());  // as sigs.k8s.io/yaml turns scalars into strings
    } else {
      fail("adapters[" + std::to_string(i) + "]: must be a string, got " + item.type_name());
    }
  }
  return file;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Adapter files of `dir`, sorted by name. An unreadable directory gives an
// error text and no files.
std::vector<std::filesystem::path> list_adapter_files(const std::filesystem::path& dir,
                                                      std::string* error) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (error != nullptr) *error = ec.message();
    return files;
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto name = it->path().filename().string();
    if (!is_adapter_file_name(name)) continue;
    std::error_code type_ec;
    if (!std::filesystem::is_regular_file(it->path(), type_ec)) continue;  // follows symlinks
    files.push_back(it->path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
  return files;
}

}  // namespace

AdapterFile parse_adapter_file(std::string_view text, bool is_json) {
  return is_json ? parse_json(text) : parse_yaml(text);
}

bool is_adapter_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return ends_with(name, ".yaml") || ends_with(name, ".yml") || ends_with(name, ".json");
}

LoadResult load_adapters_dir(const std::filesystem::path& dir) {
  LoadResult result;
  auto map = std::make_shared<AdapterMap>();
  std::string list_error;
  auto files = list_adapter_files(dir, &list_error);
  // A missing directory was reported when the plugin was created.
  if (!list_error.empty() && std::filesystem::exists(dir)) {
    result.diagnostics.push_back(
        {BBR_LOG_ERROR, "adaptersDir '" + dir.string() + "': cannot list: " + list_error});
  }
  // adapter -> the file that named it first, to explain conflicts.
  std::map<std::string, std::string> adapter_source;
  for (const auto& path : files) {
    const auto name = path.filename().string();
    AdapterFile file;
    try {
      std::ifstream in(path, std::ios::binary);
      if (!in) fail("cannot open for reading");
      std::ostringstream text;
      text << in.rdbuf();
      if (in.bad()) fail("read error");
      file = parse_adapter_file(text.str(), ends_with(name, ".json"));
    } catch (const std::exception& e) {
      ++result.files_skipped;
      result.diagnostics.push_back(
          {BBR_LOG_ERROR, "adapters file '" + path.string() + "': " + e.what() + "; file skipped"});
      continue;
    }
    ++result.files_loaded;
    map->base_models.insert(file.base_model);
    for (auto& adapter : file.adapters) {
      auto [it, inserted] = map->adapter_to_base.emplace(adapter, file.base_model);
      if (inserted) {
        adapter_source.emplace(adapter, name);
      } else if (it->second != file.base_model) {
        result.diagnostics.push_back(
            {BBR_LOG_WARN, "adapter '" + adapter + "' is listed under base model '" + it->second +
                               "' in '" + adapter_source[adapter] + "' and under '" +
                               file.base_model + "' in '" + name + "'; keeping '" + it->second +
                               "' (first file by name)"});
      }
    }
  }
  result.map = std::move(map);
  return result;
}

DirFingerprint fingerprint_adapters_dir(const std::filesystem::path& dir) {
  DirFingerprint fingerprint;
  for (const auto& path : list_adapter_files(dir, nullptr)) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    fingerprint.emplace_back(path.filename().string(), static_cast<std::uintmax_t>(st.st_size),
                             static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                             static_cast<std::uintmax_t>(st.st_ino));
  }
  return fingerprint;
}

}  // namespace bbr_plugins
