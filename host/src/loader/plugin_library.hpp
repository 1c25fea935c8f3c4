// Loading plugin .so files and finding plugin types in them.
#pragma once

#include <bbr/plugin.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bbr {

// Every loader failure; what() names the file and says what was wrong.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadOptions {
  // Refuse .so files and directories writable by group or others (as sshd's
  // StrictModes) unless this is set.
  bool allow_insecure_permissions = false;
};

// One dlopen'ed plugin library. dlclose on destruction: keep it alive (shared_ptr)
// as long as any instance of its types exists.
class PluginLibrary {
 public:
  // dlopen(RTLD_NOW | RTLD_LOCAL), resolve bbr_plugin_entry_v1, check ABI and
  // descriptors. Throws LoadError.
  static std::shared_ptr<PluginLibrary> open(const std::filesystem::path& file,
                                             const LoadOptions& options);
  ~PluginLibrary();
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint32_t abi_major() const { return descriptor_->abi_major; }
  uint32_t abi_minor() const { return descriptor_->abi_minor; }
  std::vector<const bbr_plugin_type_t*> types() const;
  // What was wrong but not fatal at load (e.g. built for a newer ABI minor
  // than this host's), naming the file; "" when nothing. Also logged as a
  // warning when the library is opened.
  const std::string& warning() const { return warning_; }

 private:
  PluginLibrary(std::filesystem::path path, void* handle, const bbr_plugin_library_t* descriptor)
      : path_(std::move(path)), handle_(handle), descriptor_(descriptor) {}
  std::filesystem::path path_;
  void* handle_;
  const bbr_plugin_library_t* descriptor_;
  std::string warning_;
};

// A plugin type and the library that must stay loaded for it.
struct PluginTypeRef {
  std::shared_ptr<PluginLibrary> library;
  const bbr_plugin_type_t* type;
};

// All plugin types found in a set of directories and files.
class PluginRegistry {
 public:
  // Scans each directory for *.so files (not recursive, sorted by name) and
  // loads them. A failing file is recorded in errors() and scanning goes on.
  void scan_directory(const std::filesystem::path& dir, const LoadOptions& options);
  // Loads one file; its failure is recorded in errors(). Returns success.
  bool add_file(const std::filesystem::path& file, const LoadOptions& options);

  const PluginTypeRef* find(std::string_view type_name) const;
  const std::vector<PluginTypeRef>& types() const { return types_; }
  std::vector<std::string> type_names() const;  // sorted
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<PluginTypeRef> types_;
  std::vector<std::string> errors_;
};

// The directory shipped with the binary: <exe dir>/../lib/bbr-host/plugins.
std::filesystem::path default_plugin_dir();

// The BBR_CAP_* bits as the words the CLI and config errors show, in bit
// order: request, response, thread-safe, response-chunk, response-event.
std::vector<std::string> capability_names(uint32_t capabilities);

// The registry every command uses: default_plugin_dir() (skipped silently when
// it does not exist), then each of `extra_dirs` in order. A directory reached
// twice is scanned once.
PluginRegistry scan_plugin_dirs(const std::vector<std::filesystem::path>& extra_dirs,
                                const LoadOptions& options);

}  // namespace bbr
