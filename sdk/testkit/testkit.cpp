// The test kit: bbr/testkit.hpp on the host's own loader, chain and session.
//
// Nothing here re-implements what the server does: a plugin is created by the
// real PluginInstance with the real host API table, and each exchange is fed,
// as Envoy would feed it, to the real bbr::Session. This file only turns
// Envoy-side inputs into ProcessingRequests and the session's
// ProcessingResponses back into plain std values.
#include <bbr/testkit.hpp>

#include "chain/chain.hpp"
#include "loader/plugin_library.hpp"
#include "metrics/metrics.hpp"
#include "session/session.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <prometheus/registry.h>

#include <strings.h>
#include <algorithm>
#include <cctype>

namespace bbr::testkit {

using ProcessingRequest = envoy::service::ext_proc::v3::ProcessingRequest;
using ProcessingResponse = envoy::service::ext_proc::v3::ProcessingResponse;
namespace ext_proc = envoy::service::ext_proc::v3;

// ------------------------------------------------------------------ Plugin

struct Plugin::Impl {
  // Destroyed in reverse order: the instance, then its metrics, then the library.
  std::shared_ptr<bbr::PluginLibrary> library;
  std::shared_ptr<bbr::PluginInstance> instance;
  std::string type_name;
  uint32_t capabilities = 0;
};

namespace {

// One registry for every plugin the kit creates, as the server has one: a
// chain's counters are read from it before and after each exchange. Never
// destroyed, so a Plugin kept in static storage by a test never outlives it.
bbr::Metrics& kit_metrics() {
  static bbr::Metrics* metrics = new bbr::Metrics();
  return *metrics;
}

std::shared_ptr<Plugin::Impl> create_impl(std::shared_ptr<bbr::PluginLibrary> library,
                                          const bbr_plugin_type_t* type,
                                          const std::string& parameters_json,
                                          const std::string& instance_name) {
  if (type == nullptr) throw Error("bbr::testkit: null plugin type");
  auto impl = std::make_shared<Plugin::Impl>();
  impl->library = library;
  impl->type_name = type->name != nullptr ? type->name : "";
  impl->capabilities = type->capabilities;
  try {
    impl->instance = std::make_shared<bbr::PluginInstance>(
        bbr::PluginTypeRef{std::move(library), type},
        instance_name.empty() ? impl->type_name : instance_name, parameters_json, &kit_metrics());
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
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

// Cuts a text/event-stream body into events (WHATWG's rules, simplified to
// what a test needs: LF or CRLF line ends, data lines joined with "\n",
// comments skipped, a final event without its blank line still counted).
std::vector<Event> Result::events() const {
  std::vector<Event> out;
  Event current;
  bool has_data = false, has_any = false;
  auto flush = [&] {
    if (has_any) out.push_back(current);
    current = Event{};
    has_data = has_any = false;
  };
  std::string_view text = body_;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.front() == ':') continue;
    std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    has_any = true;
    if (field == "data") {
      if (has_data) current.data += '\n';
      current.data += value;
      has_data = true;
    } else if (field == "event") {
      current.name = std::string(value);
    } else if (field == "id") {
      current.id = std::string(value);
    }
  }
  flush();
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

void fill_headers(ext_proc::HttpHeaders* out, const Headers& headers, bool end_of_stream) {
  for (const auto& [k, v] : headers) {
    auto* h = out->mutable_headers()->add_headers();
    // Envoy sends keys lower-cased and values as raw bytes.
    std::string key = k;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    h->set_key(key);
    h->set_raw_value(v);
  }
  out->set_end_of_stream(end_of_stream);
}

// A JSON text as a protobuf Value; throws Error when it is not JSON.
google::protobuf::Value json_to_value(const std::string& json, const std::string& what) {
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(json, &value);
  if (!status.ok()) throw Error("bbr::testkit: " + what + " is not JSON: " + json);
  return value;
}

std::string value_to_json(const google::protobuf::Value& value) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(value, &out);
  return out;
}

// Envoy's per-stream context, carried on the first message as Envoy does.
void add_envoy_context(ProcessingRequest& req, const Exchange& x) {
  if (!x.attributes.empty()) {
    auto& s = (*req.mutable_attributes())["envoy.filters.http.ext_proc"];
    for (const auto& [name, json] : x.attributes) {
      (*s.mutable_fields())[name] = json_to_value(json, "attribute " + name);
    }
  }
  for (const auto& [ns, keys] : x.metadata) {
    auto& s = (*req.mutable_metadata_context()->mutable_filter_metadata())[ns];
    for (const auto& [key, json] : keys) {
      (*s.mutable_fields())[key] = json_to_value(json, "metadata " + ns + "/" + key);
    }
  }
}

// What one series of a plugin's registry held at one moment.
using Snapshot = std::map<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>,
                          std::pair<double, uint64_t>>;

void snapshot(const bbr::Metrics& metrics, Snapshot& out) {
  for (const auto& family : metrics.registry()->Collect()) {
    if (family.type != prometheus::MetricType::Counter &&
        family.type != prometheus::MetricType::Histogram) {
      continue;
    }
    for (const auto& m : family.metric) {
      std::vector<std::pair<std::string, std::string>> labels;
      for (const auto& l : m.label) {
        if (l.name != "plugin_name") labels.emplace_back(l.name, l.value);
      }
      auto& slot = out[{family.name, labels}];
      if (family.type == prometheus::MetricType::Counter) {
        slot.first += m.counter.value;
      } else {
        slot.second += m.histogram.sample_count;
      }
    }
  }
}

// Feeds one exchange to a fresh Session and sorts the answers by direction.
class Run {
 public:
  Run(const std::vector<Plugin>& plugins, const Exchange& x) : plugins_(plugins), x_(x) {
    for (const auto& p : plugins_) {
      auto* impl = Access::plugin(p);
      if (impl->capabilities & BBR_CAP_REQUEST) chain_.add_request(impl->instance);
      if (impl->capabilities &
          (BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_CHUNK | BBR_CAP_RESPONSE_EVENT)) {
        chain_.add_response(impl->instance);
      }
    }
    options_.streaming = x.streaming;
    // serve's defaults (--max-body-bytes, --routing-headers): a client-sent
    // routing header that no plugin set is removed, as in production.
    options_.max_body_bytes = 100ull * 1024 * 1024;
    options_.routing_headers = std::make_shared<const std::vector<std::string>>(
        std::vector<std::string>{"x-gateway-model-name", "x-gateway-base-model-name"});
  }

  ExchangeResult go() {
    Snapshot before_req, after_req, after_resp;
    take(before_req);
    bbr::Session session(chain_, options_);

    // The request: headers, then the body in one message (or none).
    const bool has_body = !x_.request_body.empty();
    ProcessingRequest headers;
    fill_headers(headers.mutable_request_headers(), with_request_defaults(x_.request_headers),
                 !has_body);
    add_envoy_context(headers, x_);
    feed(session, headers, out_.request);
    if (has_body && !finished_) {
      ProcessingRequest body;
      body.mutable_request_body()->set_body(x_.request_body);
      body.mutable_request_body()->set_end_of_stream(true);
      feed(session, body, out_.request);
    }
    if (!request_body_replaced_) Access::body(out_.request) = x_.request_body;
    take(after_req);
    diff(before_req, after_req, out_.request);

    if (x_.response_headers && !finished_) {
      const bool has_resp_body = !x_.response_body.empty();
      ProcessingRequest rh;
      fill_headers(rh.mutable_response_headers(), *x_.response_headers, !has_resp_body);
      feed(session, rh, out_.response);
      std::string original;
      for (std::size_t i = 0; i < x_.response_body.size() && !finished_; ++i) {
        original += x_.response_body[i];
        ProcessingRequest b;
        b.mutable_response_body()->set_body(x_.response_body[i]);
        b.mutable_response_body()->set_end_of_stream(i + 1 == x_.response_body.size());
        feed(session, b, out_.response);
      }
      auto& r = out_.response;
      if (!Access::chunks(r).empty()) {
        std::string joined;
        for (const auto& c : Access::chunks(r)) joined += c;
        Access::body_changed(r) = joined != original;
        Access::body(r) = std::move(joined);
      } else if (!response_body_replaced_) {
        Access::body(r) = original;
      }
      take(after_resp);
      diff(after_req, after_resp, r);
    }
    return std::move(out_);
  }

 private:
  static void take(Snapshot& s) { snapshot(kit_metrics(), s); }

  static void diff(const Snapshot& before, const Snapshot& after, Result& r) {
    for (const auto& [key, now] : after) {
      auto was = before.find(key);
      double growth = now.first - (was == before.end() ? 0 : was->second.first);
      uint64_t count = now.second - (was == before.end() ? 0 : was->second.second);
      if (growth == 0 && count == 0) continue;
      Access::metrics(r).push_back(Access::Series{key.first, key.second, growth, count});
    }
  }

  void feed(bbr::Session& session, ProcessingRequest& req, Result& r) {
    bbr::Session::Step step = session.on_request(req);
    for (auto& resp : step.take_all()) absorb(resp, r);
    if (step.finish) {
      finished_ = true;
      if (step.error != bbr::Session::StreamError::kNone) {
        Access::stream_error(r) = step.error_message.empty() ? "stream error" : step.error_message;
      }
    }
  }

  static void absorb_mutation(const ext_proc::HeaderMutation& m, Result& r) {
    for (const auto& option : m.set_headers()) {
      const auto& h = option.header();
      Access::headers_set(r).emplace_back(h.key(),
                                          h.raw_value().empty() ? h.value() : h.raw_value());
    }
    for (const auto& key : m.remove_headers()) Access::headers_removed(r).push_back(key);
  }

  void absorb_common(const ext_proc::CommonResponse& c, Result& r, bool request) {
    absorb_mutation(c.header_mutation(), r);
    if (c.clear_route_cache()) Access::clear_route_cache(r) = true;
    if (!c.has_body_mutation()) return;
    const auto& bm = c.body_mutation();
    if (bm.has_streamed_response()) {
      Access::chunks(r).push_back(bm.streamed_response().body());
    } else if (bm.mutation_case() == ext_proc::BodyMutation::kBody) {
      Access::body(r) = bm.body();
      Access::body_changed(r) = true;
      (request ? request_body_replaced_ : response_body_replaced_) = true;
    } else if (bm.mutation_case() == ext_proc::BodyMutation::kClearBody && bm.clear_body()) {
      Access::body(r).clear();
      Access::body_changed(r) = true;
      (request ? request_body_replaced_ : response_body_replaced_) = true;
    }
  }

  void absorb(const ProcessingResponse& resp, Result& r) {
    switch (resp.response_case()) {
      case ProcessingResponse::kRequestHeaders:
        absorb_common(resp.request_headers().response(), r, true);
        break;
      case ProcessingResponse::kRequestBody:
        absorb_common(resp.request_body().response(), r, true);
        break;
      case ProcessingResponse::kResponseHeaders:
        absorb_common(resp.response_headers().response(), r, false);
        break;
      case ProcessingResponse::kResponseBody:
        absorb_common(resp.response_body().response(), r, false);
        break;
      case ProcessingResponse::kImmediateResponse: {
        const auto& ir = resp.immediate_response();
        Access::status(r) = static_cast<uint32_t>(ir.status().code());
        Access::rejection_body(r) = ir.body();
        Access::details(r) = ir.details();
        for (const auto& option : ir.headers().set_headers()) {
          const auto& h = option.header();
          Access::rejection_headers(r).emplace_back(
              h.key(), h.raw_value().empty() ? h.value() : h.raw_value());
        }
        break;
      }
      default:
        break;
    }
    if (resp.has_dynamic_metadata()) {
      for (const auto& [ns, value] : resp.dynamic_metadata().fields()) {
        if (!value.has_struct_value()) continue;
        for (const auto& [key, v] : value.struct_value().fields()) {
          Access::metadata(r)[ns][key] = value_to_json(v);
        }
      }
    }
  }

  const std::vector<Plugin>& plugins_;
  const Exchange& x_;
  bbr::Chain chain_;
  bbr::SessionOptions options_;
  ExchangeResult out_;
  bool finished_ = false;
  bool request_body_replaced_ = false;
  bool response_body_replaced_ = false;
};

}  // namespace

ExchangeResult Chain::exchange(const Exchange& exchange) const {
  return Run(impl_->plugins, exchange).go();
}

Result Chain::request(const Headers& headers, std::string body) const {
  Exchange x;
  x.request_headers = headers;
  x.request_body = std::move(body);
  return exchange(x).request;
}

Result Chain::response(const Headers& headers, std::string body) const {
  Exchange x;
  x.request_body = kDefaultRequestBody;
  x.response_headers = headers;
  if (!find_header(*x.response_headers, "content-type")) {
    x.response_headers->emplace_back("content-type", "application/json");
  }
  if (!find_header(*x.response_headers, ":status"))
    x.response_headers->emplace_back(":status", "200");
  if (!body.empty()) x.response_body.push_back(std::move(body));
  return exchange(x).response;
}

Result Chain::response_sse(const Headers& headers, const std::vector<std::string>& pieces) const {
  Exchange x;
  x.request_body = kDefaultRequestBody;
  x.streaming = true;
  x.response_headers = headers;
  if (!find_header(*x.response_headers, "content-type")) {
    x.response_headers->emplace_back("content-type", "text/event-stream");
  }
  if (!find_header(*x.response_headers, ":status"))
    x.response_headers->emplace_back(":status", "200");
  x.response_body = pieces;
  return exchange(x).response;
}

}  // namespace bbr::testkit
