// The test kit: bbr/testkit.hpp on the host's own loader, chain and session.
//
// Nothing here re-implements what the server does: a plugin is created by the
// real PluginInstance with the real host API table, and each exchange is run
// by the offline session driver (host/src/offline), which feeds the real
// bbr::Session as Envoy would and reads its answers back. This file only
// turns the kit's std-only inputs and outputs into the driver's.
#include <bbr/testkit.hpp>

#include "chain/chain.hpp"
#include "config/plugin_creation.hpp"
#include "loader/plugin_library.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "offline/session_driver.hpp"
#include "sse/sse.hpp"

#include <nlohmann/json.hpp>

#include <strings.h>
#include <algorithm>
#include <cctype>

namespace bbr::testkit {

// ------------------------------------------------------------------ Plugin

struct Plugin::Impl {
  // Destroyed in reverse order: the instance, then its metrics, then the library.
  std::shared_ptr<bbr::PluginLibrary> library;
  std::shared_ptr<bbr::PluginInstance> instance;
  std::string type_name;
  uint32_t capabilities = 0;
  std::vector<LogLine> create_logs;
};

namespace {

// One registry for every plugin the kit creates, as the server has one: a
// chain's counters are read from it before and after each exchange. Never
// destroyed, so a Plugin kept in static storage by a test never outlives it.
bbr::Metrics& kit_metrics() {
  static bbr::Metrics* metrics = new bbr::Metrics();
  return *metrics;
}

// Keeps the records the plugin instance itself writes on this thread during
// create(); host lines and other instances' are left out.
class CreateSink : public bbr::log::Sink {
 public:
  explicit CreateSink(std::string instance) : instance_(std::move(instance)) {}
  void record(const bbr::log::Record& record) override {
    if (record.instance != instance_) return;
    try {
      lines.push_back(LogLine{static_cast<bbr_log_level_t>(record.level), instance_,
                              std::string(record.text)});
    } catch (...) {
      // Out of memory while logging: the line is lost, create goes on.
    }
  }
  std::vector<LogLine> lines;

 private:
  std::string instance_;
};

std::shared_ptr<Plugin::Impl> create_impl(std::shared_ptr<bbr::PluginLibrary> library,
                                          const bbr_plugin_type_t* type,
                                          const std::string& parameters_json,
                                          const std::string& instance_name) {
  if (type == nullptr) throw Error("bbr::testkit: null plugin type");
  auto impl = std::make_shared<Plugin::Impl>();
  impl->library = library;
  impl->type_name = type->name != nullptr ? type->name : "";
  impl->capabilities = type->capabilities;
  const std::string name = instance_name.empty() ? impl->type_name : instance_name;
  // What the plugin logs while it is created (e.g. a warning about its
  // parameters) is kept for create_logs(), at every level, not printed.
  CreateSink sink(name);
  // The parameter check and create() serve uses (config/plugin_creation.hpp),
  // schema included, so a test that passes here describes what serve does.
  bbr::PluginSpec spec;
  spec.type = impl->type_name;
  spec.name = name;
  if (!parameters_json.empty()) {
    spec.parameters =
        nlohmann::ordered_json::parse(parameters_json, nullptr, /*allow_exceptions=*/false);
    if (spec.parameters.is_discarded()) throw Error("parameters: not valid JSON: " + parameters_json);
  }
  std::vector<std::string> problems;
  try {
    bbr::log::ThreadCapture capture(sink, bbr::log::Level::kTrace);
    impl->instance = bbr::create_plugin(spec, bbr::PluginTypeRef{std::move(library), type},
                                        &kit_metrics(), problems);
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  if (!impl->instance) {
    std::string text;
    for (const auto& problem : problems) text += (text.empty() ? "" : "\n") + problem;
    throw Error(text);
  }
  impl->create_logs = std::move(sink.lines);
  return impl;
}

}  // namespace

Plugin Plugin::load(const std::string& library, const std::string& type_name,
                    const std::string& parameters_json, const std::string& instance_name) {
  std::shared_ptr<bbr::PluginLibrary> lib;
  try {
    bbr::LoadOptions options;
    // A test loads what it just built, from a build tree whose permissions are
    // the developer's business; the server's permission check has its own tests.
    options.allow_insecure_permissions = true;
    lib = bbr::PluginLibrary::open(library, options);
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  for (const bbr_plugin_type_t* type : lib->types()) {
    if (type->name != nullptr && type_name == type->name) {
      return Plugin(create_impl(lib, type, parameters_json, instance_name));
    }
  }
  std::string known;
  for (const bbr_plugin_type_t* type : lib->types()) {
    if (!known.empty()) known += ", ";
    known += type->name != nullptr ? type->name : "(null)";
  }
  throw Error(library + ": no plugin type '" + type_name + "' (it has: " + known + ")");
}

Plugin Plugin::from_type(const bbr_plugin_type_t* type, const std::string& parameters_json,
                         const std::string& instance_name) {
  return Plugin(create_impl(nullptr, type, parameters_json, instance_name));
}

Plugin::~Plugin() = default;
Plugin::Plugin(const Plugin&) = default;
Plugin& Plugin::operator=(const Plugin&) = default;
Plugin::Plugin(Plugin&&) noexcept = default;
Plugin& Plugin::operator=(Plugin&&) noexcept = default;

const std::string& Plugin::type_name() const { return impl_->type_name; }
uint32_t Plugin::capabilities() const { return impl_->capabilities; }
const std::vector<LogLine>& Plugin::create_logs() const { return impl_->create_logs; }

Result Plugin::request(const Headers& headers, std::string body) const {
  return Chain({*this}).request(headers, std::move(body));
}
Result Plugin::response(const Headers& headers, std::string body) const {
  return Chain({*this}).response(headers, std::move(body));
}
Result Plugin::response_sse(const Headers& headers, const std::vector<std::string>& pieces) const {
  return Chain({*this}).response_sse(headers, pieces);
}
ExchangeResult Plugin::exchange(const Exchange& exchange) const {
  return Chain({*this}).exchange(exchange);
}

// ------------------------------------------------------------------ Result

struct Access {
  static Plugin::Impl* plugin(const Plugin& p) { return p.impl_.get(); }
  static Headers& headers_set(Result& r) { return r.headers_set_; }
  static std::vector<std::string>& headers_removed(Result& r) { return r.headers_removed_; }
  static std::string& body(Result& r) { return r.body_; }
  static bool& body_changed(Result& r) { return r.body_changed_; }
  static std::vector<std::string>& chunks(Result& r) { return r.chunks_; }
  static uint32_t& status(Result& r) { return r.status_; }
  static std::string& rejection_body(Result& r) { return r.rejection_body_; }
  static Headers& rejection_headers(Result& r) { return r.rejection_headers_; }
  static std::string& details(Result& r) { return r.details_; }
  static std::map<std::string, std::map<std::string, std::string>>& metadata(Result& r) {
    return r.metadata_;
  }
  static bool& clear_route_cache(Result& r) { return r.clear_route_cache_; }
  static std::vector<LogLine>& logs(Result& r) { return r.logs_; }
  using Series = Result::Series;
  static std::vector<Series>& metrics(Result& r) { return r.metrics_; }
  static std::string& stream_error(Result& r) { return r.stream_error_; }
  static std::string& stopped_by(Result& r) { return r.stopped_by_; }
  static std::string& error(Result& r) { return r.error_; }
};

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) out = v;
  }
  return out;
}

}  // namespace

std::optional<std::string> Result::header(std::string_view name) const {
  return find_header(headers_set_, name);
}

bool Result::header_removed(std::string_view name) const {
  return std::any_of(headers_removed_.begin(), headers_removed_.end(),
                     [&](const std::string& h) { return iequals(h, name); });
}

std::optional<std::string> Result::rejection_header(std::string_view name) const {
  return find_header(rejection_headers_, name);
}

std::optional<std::string> Result::metadata(std::string_view ns, std::string_view key) const {
  auto n = metadata_.find(std::string(ns));
  if (n == metadata_.end()) return std::nullopt;
  auto k = n->second.find(std::string(key));
  if (k == n->second.end()) return std::nullopt;
  return k->second;
}

bool Result::logged(std::string_view text) const {
  return std::any_of(logs_.begin(), logs_.end(),
                     [&](const LogLine& l) { return l.text.find(text) != std::string::npos; });
}

namespace {

bool series_matches(const std::vector<std::pair<std::string, std::string>>& labels,
                    std::string_view label_value) {
  if (label_value.empty()) return true;
  return std::any_of(labels.begin(), labels.end(),
                     [&](const auto& l) { return l.second == label_value; });
}

}  // namespace

double Result::counter(std::string_view name, std::string_view label_value) const {
  double sum = 0;
  for (const auto& s : metrics_) {
    if (s.name == name && series_matches(s.labels, label_value)) sum += s.counter_growth;
  }
  return sum;
}

uint64_t Result::observations(std::string_view name, std::string_view label_value) const {
  uint64_t sum = 0;
  for (const auto& s : metrics_) {
    if (s.name == name && series_matches(s.labels, label_value)) sum += s.observations;
  }
  return sum;
}

// Cuts the forwarded text/event-stream body into events with the server's own
// splitter (sse::Splitter), so a test reads the stream as the server framed
// it: any line-end style, data lines joined with "\n", comments skipped, an
// unterminated last block still counted. A block that names an event or an
// id without data is kept too, so a test can see it was forwarded.
std::vector<Event> Result::events() const {
  std::vector<sse::Event> blocks;
  sse::Splitter splitter;
  splitter.feed(body_, blocks);
  if (sse::Event last; splitter.finish(last)) blocks.push_back(std::move(last));
  std::vector<Event> out;
  for (auto& b : blocks) {
    if (!b.has_data && b.name.empty() && b.id.empty()) continue;
    out.push_back(Event{std::move(b.name), std::move(b.id), std::move(b.data)});
  }
  return out;
}

// ------------------------------------------------------------------ Chain

struct Chain::Impl {
  std::vector<Plugin> plugins;
};

Chain::Chain(std::vector<Plugin> plugins) : impl_(std::make_shared<Impl>()) {
  impl_->plugins = std::move(plugins);
}
Chain::~Chain() = default;
Chain::Chain(Chain&&) noexcept = default;
Chain& Chain::operator=(Chain&&) noexcept = default;

namespace {

const char* kDefaultRequestBody = R"({"model":"test-model"})";

Headers with_request_defaults(const Headers& given) {
  Headers out = given;
  auto add = [&](const char* name, const char* value) {
    if (!find_header(out, name)) out.emplace_back(name, value);
  };
  add(":method", "POST");
  add(":path", "/v1/chat/completions");
  add("content-type", "application/json");
  return out;
}

// As Envoy sends them: keys lower-cased, values as given.
bbr::Headers to_host_headers(const Headers& headers) {
  bbr::Headers out;
  out.reserve(headers.size());
  for (const auto& [k, v] : headers) {
    std::string key = k;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(bbr::Header{std::move(key), v});
  }
  return out;
}

nlohmann::json parse_or_throw(const std::string& json, const std::string& what) {
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) throw Error("bbr::testkit: " + what + " is not JSON: " + json);
  return parsed;
}

// Envoy's per-stream context in the driver's proto3 JSON form.
void add_envoy_context(bbr::offline::DriveInput& in, const Exchange& x) {
  if (!x.attributes.empty()) {
    nlohmann::json attrs = nlohmann::json::object();
    for (const auto& [name, json] : x.attributes) {
      attrs[name] = parse_or_throw(json, "attribute " + name);
    }
    in.attributes_json = nlohmann::json{{"envoy.filters.http.ext_proc", attrs}}.dump();
  }
  if (!x.metadata.empty()) {
    nlohmann::json filter = nlohmann::json::object();
    for (const auto& [ns, keys] : x.metadata) {
      for (const auto& [key, json] : keys) {
        filter[ns][key] = parse_or_throw(json, "metadata " + ns + "/" + key);
      }
    }
    in.metadata_context_json = nlohmann::json{{"filterMetadata", filter}}.dump();
  }
}

LogLine to_log_line(const bbr::offline::LogLine& l) {
  LogLine out;
  out.level = static_cast<bbr_log_level_t>(l.level);
  out.plugin = l.instance;
  out.text = l.text;
  return out;
}

void fill_direction(Result& r, const bbr::offline::DirectionResult& d) {
  for (const auto& m : d.header_mutations) {
    if (m.value) {
      Access::headers_set(r).emplace_back(m.key, *m.value);
    } else {
      Access::headers_removed(r).push_back(m.key);
    }
  }
  Access::body(r) = d.body;
  Access::body_changed(r) = d.body_changed;
  for (const auto& c : d.chunks) Access::chunks(r).push_back(c.body);
  Access::clear_route_cache(r) = d.clear_route_cache.value_or(false);
}

// Fields every result of one exchange shares: what the plugins logged and
// counted, metadata, a stream error.
void fill_shared(Result& r, const bbr::offline::DriveResult& out) {
  // Plugins' lines only: the host's own lines are not the plugin's doing.
  for (const auto& l : out.logs) {
    if (!l.instance.empty()) Access::logs(r).push_back(to_log_line(l));
  }
  for (const auto& m : out.metrics) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (const auto& l : m.labels) {
      if (l.first != "plugin_name") labels.push_back(l);
    }
    Access::metrics(r).push_back(
        Access::Series{m.name, std::move(labels), m.histogram ? 0 : m.delta, m.count});
  }
  auto metadata = nlohmann::json::parse(out.dynamic_metadata_json, nullptr, false);
  if (metadata.is_object()) {
    for (const auto& [ns, keys] : metadata.items()) {
      if (!keys.is_object()) continue;
      for (const auto& [key, value] : keys.items()) Access::metadata(r)[ns][key] = value.dump();
    }
  }
  if (out.stream_error) Access::stream_error(r) = *out.stream_error;
}

void fill_immediate(Result& r, const bbr::offline::DriveResult& out) {
  const auto& ir = *out.immediate;
  Access::status(r) = ir.status;
  Access::rejection_body(r) = ir.body;
  Access::details(r) = ir.details;
  for (const auto& h : ir.headers) Access::rejection_headers(r).emplace_back(h.key, h.value);
  if (out.stopped) {
    Access::stopped_by(r) = out.stopped->plugin;
    Access::error(r) = out.stopped->reason;
  }
}

}  // namespace

ExchangeResult Chain::exchange(const Exchange& x) const {
  // The chain as a config would build it: each instance in every phase its
  // type declares.
  bbr::Chain chain;
  for (const auto& p : impl_->plugins) {
    auto* impl = Access::plugin(p);
    if (impl->capabilities & BBR_CAP_REQUEST) chain.add_request(impl->instance);
    if (impl->capabilities & (BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_CHUNK | BBR_CAP_RESPONSE_EVENT)) {
      chain.add_response(impl->instance);
    }
  }
  bbr::offline::DriveInput in;
  in.request.headers = to_host_headers(with_request_defaults(x.request_headers));
  if (!x.request_body.empty()) in.request.body_chunks.push_back(x.request_body);
  if (x.response_headers) {
    bbr::offline::DirectionInput response;
    response.headers = to_host_headers(*x.response_headers);
    response.body_chunks = x.response_body;
    in.response = std::move(response);
  }
  in.streaming = x.streaming;
  in.capture_level = bbr::log::Level::kTrace;
  add_envoy_context(in, x);

  bbr::offline::DriveResult out;
  try {
    out = bbr::offline::SessionDriver(chain, &kit_metrics()).run(in);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string("bbr::testkit: ") + e.what());
  }

  ExchangeResult result;
  fill_direction(result.request, out.request);
  fill_direction(result.response, out.response);
  fill_shared(result.request, out);
  fill_shared(result.response, out);
  if (out.immediate) {
    fill_immediate(out.immediate->phase == BBR_PHASE_REQUEST ? result.request : result.response,
                   out);
  }
  return result;
}

Result Chain::request(const Headers& headers, std::string body) const {
  Exchange x;
  x.request_headers = headers;
  x.request_body = std::move(body);
  return exchange(x).request;
}

// An exchange after the default request whose response has `headers`, with
// a 200 status and `content_type` added unless given.
static Exchange response_exchange(const Headers& headers, const char* content_type) {
  Exchange x;
  x.request_body = kDefaultRequestBody;
  x.response_headers = headers;
  if (!find_header(*x.response_headers, "content-type")) {
    x.response_headers->emplace_back("content-type", content_type);
  }
  if (!find_header(*x.response_headers, ":status"))
    x.response_headers->emplace_back(":status", "200");
  return x;
}

Result Chain::response(const Headers& headers, std::string body) const {
  Exchange x = response_exchange(headers, "application/json");
  if (!body.empty()) x.response_body.push_back(std::move(body));
  return exchange(x).response;
}

Result Chain::response_sse(const Headers& headers, const std::vector<std::string>& pieces) const {
  Exchange x = response_exchange(headers, "text/event-stream");
  x.streaming = true;
  x.response_body = pieces;
  return exchange(x).response;
}

}  // namespace bbr::testkit
