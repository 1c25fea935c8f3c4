// The bbr_host_api_t table handed to every plugin, and the host side of
// bbr_plugin_context_t (names an instance in logs and metrics).
#pragma once

#include <bbr/plugin.h>

#include <nlohmann/json.hpp>

#include <mutex>
#include <set>
#include <string>

namespace bbr {
class PluginCounters;
}

// Defined in the global namespace because plugin.h declares it there.
struct bbr_plugin_context {
  std::string type_name;
  std::string instance_name;
  // This instance's counters; null without metrics (e.g. in `plugins validate`).
  bbr::PluginCounters* metrics = nullptr;
  // The instance's parameters, parsed once, in the order they were written
  // (parameter_for_each walks them in that order); null when none were given
  // or they are not JSON: the plugin sees the text either way.
  nlohmann::ordered_json parameters;
  // JSON Pointers parameter_for_each handed out (ABI 1.1): their views must
  // live until destroy(). A set, so walking the same parameters on every
  // request keeps one copy of each pointer, not one per walk.
  std::mutex walked_pointers_mutex;
  std::set<std::string, std::less<>> walked_pointers;
};

namespace bbr {

// The one table, valid for the life of the process.
const bbr_host_api_t* host_api();

// Casts between the opaque handle and the host's Message.
class Message;
inline bbr_message_t* to_handle(Message* m) { return reinterpret_cast<bbr_message_t*>(m); }
inline Message* from_handle(bbr_message_t* m) { return reinterpret_cast<Message*>(m); }

}  // namespace bbr
