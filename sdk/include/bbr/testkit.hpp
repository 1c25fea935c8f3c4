// bbr/testkit.hpp - unit-test a bbr-host plugin without running the server.
//
// The kit (libbbr-testkit.so, CMake target bbr::testkit, pkg-config
// bbr-testkit) is built from the host's own code: your plugin is loaded by the
// real loader, created with the real host API table and driven through the
// real ext_proc session, so what a test sees is what the server would send to
// Envoy. It depends on no test framework: use Catch2, GoogleTest or assert().
//
//   auto p = bbr::testkit::Plugin::load("./my-plugin.so", "my-type", R"({"param":1})");
//   auto r = p.request({{":path", "/v1/chat/completions"}}, R"({"model":"m"})");
//   assert(r.header("x-gateway-model-name") == "m");
//
// C++17, standard library only. Not thread-safe: drive one Plugin or Chain
// from one thread at a time.
#ifndef BBR_TESTKIT_HPP
#define BBR_TESTKIT_HPP

#include <bbr/plugin.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(_WIN32)
#define BBR_TESTKIT_API
#else
#define BBR_TESTKIT_API __attribute__((visibility("default")))
#endif

namespace bbr::testkit {

// Headers as name/value pairs, in order ({":path", "/v1/chat/completions"}).
using Headers = std::vector<std::pair<std::string, std::string>>;

// A plugin that could not be loaded or created. what() carries the loader's
// text (naming the file) or the plugin's own create() error text.
class BBR_TESTKIT_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One line a plugin logged through bbr_host_api.log (every level is kept,
// whatever the host's verbosity).
struct LogLine {
  bbr_log_level_t level = BBR_LOG_INFO;
  std::string plugin;  // the instance name
  std::string text;
};

// One Server-Sent Event as forwarded to the client.
struct Event {
  std::string name;  // the `event:` field, "" when none
  std::string id;    // the `id:` field, "" when none
  std::string data;  // the data: lines joined with "\n"
};

// What the host answered for one message direction (the request, or the
// response), as it would have sent it to Envoy.
class BBR_TESTKIT_API Result {
 public:
  // --- headers ---
  // The value the chain set for `name` (case-insensitive), nullopt when it
  // set none. A set of the value the client already sent is not a change.
  std::optional<std::string> header(std::string_view name) const;
  // True when the chain removed `name`.
  bool header_removed(std::string_view name) const;
  // Every header set, in the order the host sends them, and every removal.
  const Headers& headers_set() const { return headers_set_; }
  const std::vector<std::string>& headers_removed() const { return headers_removed_; }

  // --- body ---
  // The body as it leaves the host: the plugins' edits applied (streamed
  // responses: the forwarded chunks joined). The original when nothing changed.
  const std::string& body() const { return body_; }
  bool body_changed() const { return body_changed_; }
  // Streamed responses: the pieces as forwarded, in order.
  const std::vector<std::string>& chunks() const { return chunks_; }
  // text/event-stream responses: the forwarded body cut into events.
  std::vector<Event> events() const;

  // --- an immediate answer instead of forwarding (reject, or a failure) ---
  bool rejected() const { return status_ != 0; }
  uint32_t status() const { return status_; }  // 0 when not rejected
  const std::string& rejection_body() const { return rejection_body_; }
  // The answer's headers (e.g. content-type, retry-after); nullopt when absent.
  std::optional<std::string> rejection_header(std::string_view name) const;
  const Headers& rejection_headers() const { return rejection_headers_; }
  const std::string& details() const { return details_; }
  // The plugin instance that stopped the chain ("" when the host answered,
  // e.g. a body that is not JSON), and its error text when it failed.
  const std::string& stopped_by() const { return stopped_by_; }
  const std::string& error() const { return error_; }

  // --- other outputs to Envoy ---
  // ProcessingResponse.dynamic_metadata[ns][key] as compact JSON text.
  std::optional<std::string> metadata(std::string_view ns, std::string_view key) const;
  // Whether the answer asks Envoy to clear its route cache.
  bool clear_route_cache() const { return clear_route_cache_; }

  // --- observability: during this call only (a response() or an exchange
  // also runs a request: its lines and counts are included, and both results
  // of an exchange report the same) ---
  const std::vector<LogLine>& logs() const { return logs_; }
  // True when some log line contains `text`.
  bool logged(std::string_view text) const;
  // How much the counter `name` grew during this call, summed over its
  // series. With `label_value`, only the series that carry that value in any
  // label: the counter's own label (a counter defined with label_name "route"
  // and counted with add_labelled("a") is counter(name, "a")) or the
  // plugin_name label the host adds (the instance name). Empty: all series.
  double counter(std::string_view name, std::string_view label_value = {}) const;
  // Observations recorded into the histogram `name` during this call (count),
  // its series chosen by `label_value` as for counter().
  uint64_t observations(std::string_view name, std::string_view label_value = {}) const;

  // Anything the kit noticed that does not fit above (e.g. the stream ended
  // with a gRPC error): "" normally.
  const std::string& stream_error() const { return stream_error_; }

 private:
  friend struct Access;
  Headers headers_set_;
  std::vector<std::string> headers_removed_;
  std::string body_;
  bool body_changed_ = false;
  std::vector<std::string> chunks_;
  uint32_t status_ = 0;
  std::string rejection_body_;
  Headers rejection_headers_;
  std::string details_;
  std::string stopped_by_;
  std::string error_;
  std::map<std::string, std::map<std::string, std::string>> metadata_;
  bool clear_route_cache_ = false;
  std::vector<LogLine> logs_;
  struct Series {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // plugin_name left out
    double counter_growth = 0;
    uint64_t observations = 0;
  };
  std::vector<Series> metrics_;
  std::string stream_error_;
};

// A whole exchange: the request, then (when response_headers or a response
// body is given) the response.
struct Exchange {
  Headers request_headers;
  std::string request_body;
  std::optional<Headers> response_headers;
  // The response body in the pieces Envoy delivers it in (one piece: a
  // buffered body). Empty: a response without body.
  std::vector<std::string> response_body;
  // FULL_DUPLEX_STREAMED (the server's --streaming): bodies go piece by piece.
  bool streaming = false;
  // What Envoy sends besides headers and body: attributes by name and
  // metadata_context.filter_metadata[ns][key], each as JSON text.
  std::map<std::string, std::string> attributes;
  std::map<std::string, std::map<std::string, std::string>> metadata;
};

struct ExchangeResult {
  Result request;
  Result response;
};

class Plugin;

// Plugins in order, as a config's chain lists them (one instance each; an
// instance runs in every phase its type declares).
class BBR_TESTKIT_API Chain {
 public:
  explicit Chain(std::vector<Plugin> plugins);
  ~Chain();
  Chain(Chain&&) noexcept;
  Chain& operator=(Chain&&) noexcept;

  // A request with these headers and body. Without ":path", ":method" or
  // "content-type" the kit adds POST /v1/chat/completions, application/json.
  Result request(const Headers& headers, std::string body) const;
  // A request (default headers, body {"model":"test-model"}), then a response
  // with these headers and body; the response's result.
  Result response(const Headers& headers, std::string body) const;
  // A streamed text/event-stream response delivered in these pieces (each
  // piece may hold several events or part of one); the kit adds content-type
  // text/event-stream unless given. The result's chunks() and events() are
  // what the client would receive.
  Result response_sse(const Headers& headers, const std::vector<std::string>& pieces) const;
  // Everything at once.
  ExchangeResult exchange(const Exchange& exchange) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One plugin instance under test.
class BBR_TESTKIT_API Plugin {
 public:
  // Loads `library` (a .so path) with the host's loader and creates an
  // instance of `type_name` with `parameters_json` ("" for none) named
  // `instance_name` ("": the type name). Throws Error with the loader's or
  // the plugin's own text.
  static Plugin load(const std::string& library, const std::string& type_name,
                     const std::string& parameters_json = "",
                     const std::string& instance_name = "");
  // The same for a type linked into the test itself (no .so needed).
  static Plugin from_type(const bbr_plugin_type_t* type, const std::string& parameters_json = "",
                          const std::string& instance_name = "");

  ~Plugin();
  Plugin(const Plugin&);
  Plugin& operator=(const Plugin&);
  Plugin(Plugin&&) noexcept;
  Plugin& operator=(Plugin&&) noexcept;

  const std::string& type_name() const;
  uint32_t capabilities() const;
  // The lines the plugin logged while it was created (every level).
  const std::vector<LogLine>& create_logs() const;

  // As Chain's, for a chain of this one plugin.
  Result request(const Headers& headers, std::string body) const;
  Result response(const Headers& headers, std::string body) const;
  Result response_sse(const Headers& headers, const std::vector<std::string>& pieces) const;
  ExchangeResult exchange(const Exchange& exchange) const;

  struct Impl;

 private:
  friend struct Access;
  explicit Plugin(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace bbr::testkit

#endif  // BBR_TESTKIT_HPP
