#include "offline/session_driver.hpp"

#include "config/chain_builder.hpp"
#include "session/session.hpp"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string_view>

namespace bbr::offline {
namespace {

namespace ext_proc = envoy::service::ext_proc::v3;
using ProcessingMode = envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;

// ------------------------------------------------------------------ logs

// Keeps every record written on this thread while a ThreadCapture is alive,
// attributed as written (the plugin instance and type come with the record).
class CaptureSink : public log::Sink {
 public:
  void record(const log::Record& record) override {
    try {
      LogLine entry;
      entry.instance = record.instance;
      entry.type = record.type;
      entry.level = record.level;
      entry.text = record.text;
      lines.push_back(std::move(entry));
    } catch (...) {
      // Out of memory while logging: the line is lost, the run goes on.
    }
  }
  std::vector<LogLine> lines;
};

// ------------------------------------------------------------------ metrics

struct SeriesValue {
  bool histogram = false;
  double value = 0;  // counter value or histogram sum
  std::uint64_t count = 0;
};
using SeriesKey = std::pair<std::string, std::vector<std::pair<std::string, std::string>>>;
using Snapshot = std::map<SeriesKey, SeriesValue>;

Snapshot snapshot(const Metrics* metrics) {
  Snapshot out;
  if (metrics == nullptr) return out;
  for (const auto& family : metrics->registry()->Collect()) {
    const bool histogram = family.type == prometheus::MetricType::Histogram;
    if (!histogram && family.type != prometheus::MetricType::Counter) continue;
    for (const auto& metric : family.metric) {
      SeriesKey key{family.name, {}};
      for (const auto& label : metric.label) key.second.emplace_back(label.name, label.value);
      std::sort(key.second.begin(), key.second.end());
      SeriesValue v;
      v.histogram = histogram;
      if (histogram) {
        v.value = metric.histogram.sample_sum;
        v.count = metric.histogram.sample_count;
      } else {
        v.value = metric.counter.value;
      }
      out[std::move(key)] = v;
    }
  }
  return out;
}

std::vector<MetricChange> changes(const Snapshot& before, const Snapshot& after) {
  std::vector<MetricChange> out;
  for (const auto& [key, now] : after) {
    SeriesValue was;
    if (auto it = before.find(key); it != before.end()) was = it->second;
    const bool moved = now.histogram ? now.count != was.count : now.value != was.value;
    if (!moved) continue;
    MetricChange change;
    change.name = key.first;
    change.labels = key.second;
    change.histogram = now.histogram;
    change.delta = now.value - was.value;
    change.count = now.histogram ? now.count - was.count : 0;
    out.push_back(std::move(change));
  }
  return out;
}

// ------------------------------------------------------------------ requests

void fill_headers(const Headers& headers, envoy::config::core::v3::HeaderMap* map) {
  for (const auto& h : headers) {
    auto* value = map->add_headers();
    value->set_key(h.key);
    value->set_raw_value(h.value);  // Envoy sends raw_value
  }
}

std::string joined(const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c;
  return out;
}

template <class M>
void parse_json_or_throw(const std::string& text, M& message, const char* what) {
  if (text.empty()) return;
  auto status = google::protobuf::util::JsonStringToMessage(text, &message);
  if (!status.ok()) {
    throw std::invalid_argument(std::string(what) + ": " + std::string(status.message()));
  }
}

// ------------------------------------------------------------------ answers

class Collector {
 public:
  Collector(const DriveInput& input, DriveResult& result) : input_(input), result_(result) {}

  void absorb(ext_proc::ProcessingResponse response) {
    using R = ext_proc::ProcessingResponse;
    switch (response.response_case()) {
      // An answer without a CommonResponse (e.g. an empty headers answer)
      // changes nothing, clear_route_cache included.
      case R::kRequestHeaders:
        if (response.request_headers().has_response()) {
          common(result_.request, response.request_headers().response());
        }
        break;
      case R::kResponseHeaders:
        if (response.response_headers().has_response()) {
          common(result_.response, response.response_headers().response());
        }
        break;
      case R::kRequestBody:
        if (response.request_body().has_response()) {
          common(result_.request, response.request_body().response());
        }
        break;
      case R::kResponseBody:
        if (response.response_body().has_response()) {
          common(result_.response, response.response_body().response());
        }
        break;
      case R::kImmediateResponse:
        immediate(response.immediate_response());
        break;
      default:
        break;  // trailers answers carry nothing we report
    }
    if (response.has_dynamic_metadata()) merge_metadata(response.dynamic_metadata());
    result_.responses.push_back(std::move(response));
  }

  // Fills the bodies once the exchange is over.
  void finish() {
    finish_direction(result_.request, input_.request, request_body_mutation_);
    if (input_.response) {
      finish_direction(result_.response, *input_.response, response_body_mutation_);
    }
    result_.dynamic_metadata_json = metadata_.dump();
  }

 private:
  void common(DirectionResult& d, const ext_proc::CommonResponse& c) {
    if (c.has_header_mutation()) {
      for (const auto& option : c.header_mutation().set_headers()) {
        const auto& h = option.header();
        d.header_mutations.push_back({h.key(), h.raw_value().empty() ? h.value() : h.raw_value()});
      }
      for (const auto& key : c.header_mutation().remove_headers()) {
        d.header_mutations.push_back({key, std::nullopt});
      }
    }
    if (c.has_body_mutation()) {
      const auto& m = c.body_mutation();
      std::optional<std::string>& mutation =
          &d == &result_.request ? request_body_mutation_ : response_body_mutation_;
      switch (m.mutation_case()) {
        case ext_proc::BodyMutation::kBody:
          mutation = m.body();
          break;
        case ext_proc::BodyMutation::kClearBody:
          if (m.clear_body()) mutation = std::string();
          break;
        case ext_proc::BodyMutation::kStreamedResponse:
          d.chunks.push_back({m.streamed_response().body(), m.streamed_response().end_of_stream()});
          break;
        default:
          break;
      }
    }
    d.clear_route_cache = c.clear_route_cache();
  }

  void immediate(const ext_proc::ImmediateResponse& ir) {
    ImmediateResult out;
    out.phase = result_.response.sent ? BBR_PHASE_RESPONSE : BBR_PHASE_REQUEST;
    out.status = static_cast<uint32_t>(ir.status().code());
    out.body = ir.body();
    out.details = ir.details();
    for (const auto& option : ir.headers().set_headers()) {
      const auto& h = option.header();
      out.headers.push_back({h.key(), h.raw_value().empty() ? h.value() : h.raw_value()});
    }
    result_.immediate = std::move(out);
  }

  void merge_metadata(const google::protobuf::Struct& metadata) {
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(metadata, &text).ok()) return;
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_object()) return;
    for (auto& [ns, value] : parsed.items()) {
      if (value.is_object() && metadata_[ns].is_object()) {
        for (auto& [key, v] : value.items()) metadata_[ns][key] = v;
      } else {
        metadata_[ns] = value;
      }
    }
  }

  void finish_direction(DirectionResult& d, const DirectionInput& in,
                        const std::optional<std::string>& mutation) {
    if (!d.sent) return;
    std::string sent = joined(in.body_chunks);
    if (!d.chunks.empty()) {
      d.body.clear();
      for (const auto& c : d.chunks) d.body += c.body;
    } else if (mutation) {
      d.body = *mutation;
    } else {
      d.body = sent;
    }
    d.body_changed = d.body != sent;
  }

  const DriveInput& input_;
  DriveResult& result_;
  std::optional<std::string> request_body_mutation_;
  std::optional<std::string> response_body_mutation_;
  nlohmann::json metadata_ = nlohmann::json::object();
};

// ------------------------------------------------------------------ sending

// What Envoy puts on the first message beside the protocol config: the
// attributes and the metadata context the input gives as JSON text.
ext_proc::ProcessingRequest first_message_extras(const DriveInput& input) {
  ext_proc::ProcessingRequest extras;
  parse_json_or_throw(input.metadata_context_json, *extras.mutable_metadata_context(),
                      "metadata context");
  if (!input.attributes_json.empty()) {
    google::protobuf::Struct all;
    parse_json_or_throw(input.attributes_json, all, "attributes");
    for (const auto& [ns, value] : all.fields()) {
      if (value.has_struct_value()) (*extras.mutable_attributes())[ns] = value.struct_value();
    }
  }
  return extras;
}

// serve's options from the input's flags; a chain outcome that stops the
// stream is recorded in result.stopped.
SessionOptions session_options(const DriveInput& input, Metrics* metrics, DriveResult& result) {
  SessionOptions options;
  options.streaming = input.streaming;
  options.max_body_bytes = input.max_body_bytes;
  options.stream_chunk_bytes = input.stream_chunk_bytes;
  options.routing_headers = std::make_shared<const std::vector<std::string>>(input.routing_headers);
  options.metrics = metrics;
  options.on_chain_outcome = [&result](bbr_phase_t phase, const ChainOutcome& outcome) {
    if (outcome.kind == ChainOutcome::Kind::kContinue) return;
    StopResult stop;
    stop.kind = outcome.kind == ChainOutcome::Kind::kRejected ? StopResult::Kind::kRejected
                                                              : StopResult::Kind::kFailed;
    stop.phase = phase;
    stop.plugin = outcome.plugin;
    stop.status = outcome.http_status;
    stop.reason = outcome.error;
    result.stopped = std::move(stop);
  };
  return options;
}

// Feeds the session the ProcessingRequests Envoy would send for one exchange,
// in order, until the session ends the stream.
class Exchange {
 public:
  Exchange(const DriveInput& input, const ext_proc::ProcessingRequest& first_extras,
           Session& session, Collector& collector, DriveResult& result)
      : input_(input),
        first_extras_(first_extras),
        session_(session),
        collector_(collector),
        result_(result) {}

  bool ended() const { return ended_; }

  // The headers message, then the body as Envoy's mode sends it.
  void send_direction(const DirectionInput& in, bool request_direction) {
    DirectionResult& d = request_direction ? result_.request : result_.response;
    d.sent = true;
    ext_proc::ProcessingRequest headers;
    auto* http =
        request_direction ? headers.mutable_request_headers() : headers.mutable_response_headers();
    fill_headers(in.headers, http->mutable_headers());
    http->set_end_of_stream(in.body_chunks.empty());
    send(headers);
    if (in.body_chunks.empty()) return;
    if (input_.streaming) {
      for (std::size_t i = 0; i < in.body_chunks.size(); ++i) {
        send_body(request_direction, in.body_chunks[i], i + 1 == in.body_chunks.size());
      }
    } else {
      // BUFFERED: Envoy sends the whole body once.
      send_body(request_direction, joined(in.body_chunks), true);
    }
  }

 private:
  void send_body(bool request_direction, std::string bytes, bool end_of_stream) {
    ext_proc::ProcessingRequest body;
    auto* b = request_direction ? body.mutable_request_body() : body.mutable_response_body();
    b->set_body(std::move(bytes));
    b->set_end_of_stream(end_of_stream);
    send(body);
  }

  void send(ext_proc::ProcessingRequest& request) {
    if (ended_) return;
    if (first_) {
      first_ = false;
      // What Envoy puts on the first message of the stream.
      auto* config = request.mutable_protocol_config();
      const auto mode =
          input_.streaming ? ProcessingMode::FULL_DUPLEX_STREAMED : ProcessingMode::BUFFERED;
      config->set_request_body_mode(mode);
      config->set_response_body_mode(mode);
      if (first_extras_.has_metadata_context()) {
        *request.mutable_metadata_context() = first_extras_.metadata_context();
      }
      *request.mutable_attributes() = first_extras_.attributes();
    }
    result_.requests.push_back(request);
    Session::Step step = session_.on_request(request);
    for (auto& response : step.take_all()) collector_.absorb(std::move(response));
    if (step.error != Session::StreamError::kNone) result_.stream_error = step.error_message;
    if (step.finish) ended_ = true;
  }

  const DriveInput& input_;
  const ext_proc::ProcessingRequest& first_extras_;
  Session& session_;
  Collector& collector_;
  DriveResult& result_;
  bool first_ = true;
  bool ended_ = false;
};

// An answer the host gave itself (not JSON, over a limit, ...): its body says why.
StopResult host_stop(const ImmediateResult& immediate) {
  StopResult stop;
  stop.kind = StopResult::Kind::kHost;
  stop.phase = immediate.phase;
  stop.status = immediate.status;
  stop.reason = immediate.body;
  return stop;
}

}  // namespace

const char* stop_kind_name(StopResult::Kind kind) {
  switch (kind) {
    case StopResult::Kind::kRejected:
      return "rejected";
    case StopResult::Kind::kFailed:
      return "failed";
    case StopResult::Kind::kHost:
      return "host";
  }
  return "?";
}

SessionDriver::SessionDriver(const Chain& chain, Metrics* metrics)
    : chain_(&chain), metrics_(metrics) {}

SessionDriver::SessionDriver(const ChainConfig& config, const PluginRegistry& registry,
                             log::Level capture_level)
    : owned_metrics_(std::make_unique<Metrics>()) {
  CaptureSink sink;
  {
    log::ThreadCapture capture(sink, capture_level);
    owned_chain_ = std::make_unique<Chain>(build_chain(config, registry, owned_metrics_.get()));
  }
  chain_ = owned_chain_.get();
  metrics_ = owned_metrics_.get();
  create_logs_ = std::move(sink.lines);
}

SessionDriver::~SessionDriver() = default;

DriveResult SessionDriver::run(const DriveInput& input) const {
  DriveResult result;
  const ext_proc::ProcessingRequest first_extras = first_message_extras(input);

  CaptureSink sink;
  std::optional<log::ThreadCapture> capture;
  capture.emplace(sink, input.capture_level);
  const Snapshot before = snapshot(metrics_);

  const SessionOptions options = session_options(input, metrics_, result);
  Session session(*chain_, options);
  Collector collector(input, result);
  Exchange exchange(input, first_extras, session, collector, result);
  exchange.send_direction(input.request, true);
  if (input.response && !exchange.ended()) exchange.send_direction(*input.response, false);
  collector.finish();

  if (result.immediate && !result.stopped) result.stopped = host_stop(*result.immediate);
  result.metrics = changes(before, snapshot(metrics_));
  capture.reset();
  result.logs = std::move(sink.lines);
  return result;
}

}  // namespace bbr::offline
