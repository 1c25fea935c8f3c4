#include "loader/plugin_library.hpp"

#include "log/log.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>
#include <system_error>

namespace bbr {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& file, std::string_view reason) {
  throw LoadError(fmt::format("{}: {}", file.string(), reason));
}

std::string mode_text(mode_t mode) { return fmt::format("{:04o}", mode & 07777); }

// sshd's StrictModes, for one path: whoever can write it can make us run their
// code with our privileges.
void check_secure(const fs::path& reported_file, const fs::path& path, bool is_directory) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    fail(reported_file, fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  const char* what = is_directory ? "plugin directory" : "plugin file";
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    std::string who = (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
                      : (st.st_mode & S_IWGRP)                         ? "group"
                                                                       : "others";
    fail(reported_file, fmt::format("insecure permissions: {} {} is writable by {} (mode {}); "
                                    "remove the write bits (chmod go-w) or pass "
                                    "--allow-insecure-plugin-permissions",
                                    what, path.string(), who, mode_text(st.st_mode)));
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    fail(reported_file,
         fmt::format("insecure ownership: {} {} is owned by uid {}, neither root nor the "
                     "current user (uid {}); pass --allow-insecure-plugin-permissions to "
                     "load it anyway",
                     what, path.string(), st.st_uid, ::geteuid()));
  }
}

void check_permissions(const fs::path& file) {
  std::error_code ec;
  fs::path canonical = fs::canonical(file, ec);
  if (ec) fail(file, fmt::format("cannot read: {}", ec.message()));
  std::set<fs::path> directories;
  fs::path given_dir = fs::absolute(file, ec).parent_path();
  if (!ec) directories.insert(given_dir);
  directories.insert(canonical.parent_path());
  check_secure(file, canonical, /*is_directory=*/false);
  for (const auto& dir : directories) check_secure(file, dir, /*is_directory=*/true);
}

bool is_valid_type_name(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || !lower_or_digit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

// Closes the handle unless released: every failure path after dlopen.
struct HandleGuard {
  void* handle;
  ~HandleGuard() {
    if (handle != nullptr) ::dlclose(handle);
  }
};

// A library built for another ABI exports bbr_plugin_entry_vN for its N: name it,
// so the operator learns "wrong version" rather than "not a plugin".
std::string other_abi_hint(void* handle) {
  for (int major = 0; major <= 64; ++major) {
    if (major == BBR_ABI_MAJOR) continue;
    std::string symbol = fmt::format("bbr_plugin_entry_v{}", major);
    if (::dlsym(handle, symbol.c_str()) != nullptr) {
      return fmt::format("it exports {} instead: built for ABI {}, this host speaks ABI {}", symbol,
                         major, BBR_ABI_MAJOR);
    }
  }
  return "it is not a bbr-host plugin (or was built without BBR_PLUGIN_EXPORT)";
}

constexpr std::size_t kMinTypeSize =
    offsetof(bbr_plugin_type_t, process_response) + sizeof(bbr_plugin_type_t::process_response);
constexpr std::size_t kMinLibrarySize =
    offsetof(bbr_plugin_library_t, types) + sizeof(bbr_plugin_library_t::types);

void check_type(const fs::path& file, uint32_t index, const bbr_plugin_type_t* type) {
  if (type == nullptr) fail(file, fmt::format("bad descriptor: types[{}] is NULL", index));
  if (type->struct_size < kMinTypeSize) {
    fail(file, fmt::format("bad descriptor: types[{}].struct_size is {}, at least {} expected",
                           index, type->struct_size, kMinTypeSize));
  }
  if (type->name == nullptr)
    fail(file, fmt::format("bad descriptor: types[{}].name is NULL", index));
  std::string where = fmt::format("type '{}' (types[{}])", type->name, index);
  if (!is_valid_type_name(type->name)) {
    fail(file, fmt::format("bad descriptor: {}: name must match [a-z0-9][a-z0-9._-]*", where));
  }
  if (type->create == nullptr) fail(file, fmt::format("bad descriptor: {}: create is NULL", where));
  if (type->destroy == nullptr)
    fail(file, fmt::format("bad descriptor: {}: destroy is NULL", where));
  if ((type->capabilities & BBR_CAP_REQUEST) && type->process_request == nullptr) {
    fail(file, fmt::format("bad descriptor: {}: declares the request capability but "
                           "process_request is NULL",
                           where));
  }
  if ((type->capabilities & BBR_CAP_RESPONSE) && type->process_response == nullptr) {
    fail(file, fmt::format("bad descriptor: {}: declares the response capability but "
                           "process_response is NULL",
                           where));
  }
  // Since 1.1: a streamed-response capability needs its hook, which only a
  // descriptor large enough to hold it can have (a 1.0-sized one declaring the
  // bit would have the host read past its end).
  struct StreamHook {
    uint32_t capability;
    const char* name;
    std::size_t end;
    bool present;
  };
  const StreamHook hooks[] = {
      {BBR_CAP_RESPONSE_CHUNK, "process_response_chunk",
       offsetof(bbr_plugin_type_t, process_response_chunk) +
           sizeof(bbr_plugin_type_t::process_response_chunk),
       BBR_HAS_FIELD(type, bbr_plugin_type_t, process_response_chunk) &&
           type->process_response_chunk != nullptr},
      {BBR_CAP_RESPONSE_EVENT, "process_response_event",
       offsetof(bbr_plugin_type_t, process_response_event) +
           sizeof(bbr_plugin_type_t::process_response_event),
       BBR_HAS_FIELD(type, bbr_plugin_type_t, process_response_event) &&
           type->process_response_event != nullptr},
  };
  for (const auto& hook : hooks) {
    if (!(type->capabilities & hook.capability) || hook.present) continue;
    if (type->struct_size < hook.end) {
      fail(file, fmt::format("bad descriptor: {}: declares the {} capability but its "
                             "struct_size {} ends before {} (ABI 1.1 descriptor needed)",
                             where, hook.name + std::strlen("process_"), type->struct_size,
                             hook.name));
    }
    fail(file, fmt::format("bad descriptor: {}: declares the {} capability but {} is NULL",
                           where, hook.name + std::strlen("process_"), hook.name));
  }
  constexpr uint32_t kAnyPhase =
      BBR_CAP_REQUEST | BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_CHUNK | BBR_CAP_RESPONSE_EVENT;
  if ((type->capabilities & kAnyPhase) == 0) {
    fail(file, fmt::format("bad descriptor: {}: declares neither the request nor the "
                           "response capability",
                           where));
  }
}

void check_library(const fs::path& file, const bbr_plugin_library_t* lib) {
  constexpr std::size_t kAbiFieldsSize =
      offsetof(bbr_plugin_library_t, abi_major) + sizeof(bbr_plugin_library_t::abi_major);
  if (lib->struct_size >= kAbiFieldsSize && lib->abi_major != BBR_ABI_MAJOR) {
    fail(file,
         fmt::format("built for ABI {}.{}, this host speaks ABI {}", lib->abi_major,
                     lib->struct_size >= kMinLibrarySize ? lib->abi_minor : 0, BBR_ABI_MAJOR));
  }
  if (lib->struct_size < kMinLibrarySize) {
    fail(file, fmt::format("bad descriptor: library struct_size is {}, at least {} expected",
                           lib->struct_size, kMinLibrarySize));
  }
  if (lib->type_count == 0 || lib->types == nullptr) {
    fail(file, "bad descriptor: the library declares no plugin types");
  }
  std::set<std::string_view> names;
  for (uint32_t i = 0; i < lib->type_count; ++i) {
    check_type(file, i, lib->types[i]);
    if (!names.insert(lib->types[i]->name).second) {
      fail(file, fmt::format("bad descriptor: type '{}' is declared twice in this library",
                             lib->types[i]->name));
    }
  }
}

}  // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::open(const fs::path& file,
                                                   const LoadOptions& options) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(file, "cannot read: no such file");
  if (!fs::is_regular_file(file, ec)) fail(file, "cannot read: not a regular file");
  if (!options.allow_insecure_permissions) check_permissions(file);

  // A path without '/' would make dlopen search the library path instead.
  fs::path load_path = file.has_parent_path() ? file : fs::path(".") / file;
  ::dlerror();
  void* handle = ::dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    fail(file, fmt::format("not a loadable shared object: {}", why ? why : "dlopen failed"));
  }
  HandleGuard guard{handle};

  ::dlerror();
  void* symbol = ::dlsym(handle, BBR_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    fail(file, fmt::format("missing entry symbol {}: {}", BBR_PLUGIN_ENTRY_SYMBOL,
                           other_abi_hint(handle)));
  }
  auto entry = reinterpret_cast<bbr_plugin_entry_fn>(symbol);
  static const bbr_host_info_t host_info = {sizeof(bbr_host_info_t), BBR_ABI_MAJOR, BBR_ABI_MINOR,
                                            BBR_HOST_VERSION};
  const bbr_plugin_library_t* descriptor = entry(&host_info);
  if (descriptor == nullptr) {
    fail(file,
         fmt::format("{} returned NULL: the plugin refused to load in this host "
                     "(version {}, ABI {}.{})",
                     BBR_PLUGIN_ENTRY_SYMBOL, BBR_HOST_VERSION, BBR_ABI_MAJOR, BBR_ABI_MINOR));
  }
  check_library(file, descriptor);

  // A newer minor only appends: the plugin may read fields this host does not
  // fill (it must check struct_size), so it loads, but the operator is told.
  std::string warning;
  if (descriptor->abi_minor > BBR_ABI_MINOR) {
    warning = fmt::format(
        "{}: built for ABI {}.{}, newer than this host's ABI {}.{}; it loads, but anything "
        "it needs from ABI {}.{} is missing here (upgrade bbr-host)",
        file.string(), descriptor->abi_major, descriptor->abi_minor, BBR_ABI_MAJOR, BBR_ABI_MINOR,
        descriptor->abi_major, descriptor->abi_minor);
    log::warn("{}", warning);
  }

  guard.handle = nullptr;
  auto library = std::shared_ptr<PluginLibrary>(new PluginLibrary(file, handle, descriptor));
  library->warning_ = std::move(warning);
  return library;
}

PluginLibrary::~PluginLibrary() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

std::vector<const bbr_plugin_type_t*> PluginLibrary::types() const {
  return {descriptor_->types, descriptor_->types + descriptor_->type_count};
}

void PluginRegistry::scan_directory(const fs::path& dir, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    errors_.push_back(fmt::format("{}: cannot read plugin directory: {}", dir.string(),
                                  ec ? ec.message() : "not a directory"));
    return;
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".so") files.push_back(it->path());
  }
  if (ec) {
    errors_.push_back(
        fmt::format("{}: cannot read plugin directory: {}", dir.string(), ec.message()));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) add_file(file, options);
}

bool PluginRegistry::add_file(const fs::path& file, const LoadOptions& options) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(file, ec);
  if (ec) canonical = file;
  // The same file reached twice (a directory listed twice) is one library.
  for (const auto& ref : types_) {
    std::error_code ec2;
    if (fs::weakly_canonical(ref.library->path(), ec2) == canonical) return true;
  }
  std::shared_ptr<PluginLibrary> library;
  try {
    library = PluginLibrary::open(file, options);
  } catch (const LoadError& e) {
    errors_.push_back(e.what());
    return false;
  }
  for (const bbr_plugin_type_t* type : library->types()) {
    if (const PluginTypeRef* existing = find(type->name)) {
      errors_.push_back(
          fmt::format("{}: plugin type '{}' is already declared by {}; refusing to load it twice",
                      file.string(), type->name, existing->library->path().string()));
      return false;
    }
  }
  for (const bbr_plugin_type_t* type : library->types()) types_.push_back({library, type});
  return true;
}

const PluginTypeRef* PluginRegistry::find(std::string_view type_name) const {
  for (const auto& ref : types_) {
    if (type_name == ref.type->name) return &ref;
  }
  return nullptr;
}

std::vector<std::string> PluginRegistry::type_names() const {
  std::vector<std::string> names;
  names.reserve(types_.size());
  for (const auto& ref : types_) names.emplace_back(ref.type->name);
  std::sort(names.begin(), names.end());
  return names;
}

fs::path default_plugin_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::path("/usr") / BBR_PLUGIN_SUBDIR;
  fs::path dir = exe.parent_path() / ".." / BBR_PLUGIN_SUBDIR;
  fs::path canonical = fs::weakly_canonical(dir, ec);
  return ec ? dir.lexically_normal() : canonical;
}

}  // namespace bbr

namespace bbr {

PluginRegistry scan_plugin_dirs(const std::vector<std::filesystem::path>& extra_dirs,
                                const LoadOptions& options) {
  namespace fs = std::filesystem;
  PluginRegistry registry;
  std::vector<fs::path> seen;
  auto scan_once = [&](const fs::path& dir) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(dir, ec);
    if (ec) key = dir;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return;
    seen.push_back(key);
    registry.scan_directory(dir, options);
  };
  std::error_code ec;
  fs::path builtin = default_plugin_dir();
  if (fs::is_directory(builtin, ec)) scan_once(builtin);
  for (const auto& dir : extra_dirs) scan_once(dir);
  return registry;
}

std::vector<std::string> capability_names(uint32_t capabilities) {
  std::vector<std::string> names;
  if (capabilities & BBR_CAP_REQUEST) names.emplace_back("request");
  if (capabilities & BBR_CAP_RESPONSE) names.emplace_back("response");
  if (capabilities & BBR_CAP_THREAD_SAFE) names.emplace_back("thread-safe");
  if (capabilities & BBR_CAP_RESPONSE_CHUNK) names.emplace_back("response-chunk");
  if (capabilities & BBR_CAP_RESPONSE_EVENT) names.emplace_back("response-event");
  return names;
}

}  // namespace bbr
