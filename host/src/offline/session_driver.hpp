// The offline session driver: runs one HTTP exchange through the REAL
// bbr::Session, feeding it the ProcessingRequests Envoy would send, and
// reports what the server would have answered, plus what the plugins logged
// and which metrics moved. `bbr-host chain run`, `plugins validate` and the
// SDK test kit are built on it, so there is one outcome mapping in the
// codebase (the session's) and offline answers are serve's answers.
//
// No gRPC server: it links bbr_session (session state machine + protos) and
// bbr_core only.
#pragma once

#include "chain/chain.hpp"
#include "chain/message.hpp"
#include "config/config.hpp"
#include "loader/plugin_library.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

#include "envoy/service/ext_proc/v3/external_processor.pb.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bbr::offline {

// One direction as the client (request) or the upstream (response) sends it.
struct DirectionInput {
  // As Envoy sends them, pseudo-headers included (":method", ":path" for a
  // request, ":status" for a response). Names should be lower case.
  Headers headers;
  // The body as the messages that carry it. Buffered mode sends them joined
  // as one message (Envoy's BUFFERED); streamed mode sends each as one
  // message, end_of_stream on the last. Empty: the headers end the direction.
  std::vector<std::string> body_chunks;
};

struct DriveInput {
  DirectionInput request;
  // The upstream's answer; not sent when the request was answered
  // immediately (Envoy never reaches the upstream then).
  std::optional<DirectionInput> response;
  // FULL_DUPLEX_STREAMED both ways (serve --streaming); false: BUFFERED.
  bool streaming = false;
  // As serve's flags of the same meaning (defaults: serve's).
  std::size_t max_body_bytes = 100ull * 1024 * 1024;
  std::size_t stream_chunk_bytes = 62000;
  std::vector<std::string> routing_headers = {"x-gateway-model-name", "x-gateway-base-model-name"};
  // Envoy's ProcessingRequest.attributes and .metadata_context on the first
  // message, as proto3 JSON text (attributes: {"<namespace>": {<Struct>}};
  // metadata_context: {"filterMetadata": {...}}). Empty: not sent.
  std::string attributes_json;
  std::string metadata_context_json;
  // Log lines written while the exchange runs (on this thread) at this level
  // or more severe are captured into DriveResult::logs instead of stderr.
  log::Level capture_level = log::Level::kTrace;
};

// One header mutation as sent on the wire; value nullopt: a removal.
struct HeaderChange {
  std::string key;
  std::optional<std::string> value;
};

// One streamed_response chunk as sent.
struct StreamedChunk {
  std::string body;
  bool end_of_stream = false;
};

struct DirectionResult {
  bool sent = false;  // the driver sent this direction to the session
  // Every header mutation of this direction's answers, in the order sent
  // (sets sorted by key then removals, per answer, as the session encodes).
  std::vector<HeaderChange> header_mutations;
  // The body as it leaves the session: buffered, the body mutation if one was
  // sent, else the body as it came; streamed, the chunks joined.
  std::string body;
  bool body_changed = false;          // `body` differs from what was sent
  std::vector<StreamedChunk> chunks;  // streamed mode: the chunks in order
  // clear_route_cache of the last CommonResponse of this direction; nullopt
  // when no answer carried a CommonResponse.
  std::optional<bool> clear_route_cache;
};

struct ImmediateResult {
  bbr_phase_t phase = BBR_PHASE_REQUEST;  // the direction being processed
  uint32_t status = 0;
  std::string body;
  Headers headers;  // in the order sent
  std::string details;
};

// Why the stream did not go on as normal.
struct StopResult {
  enum class Kind {
    kRejected,  // a plugin answered (reject / reject_with)
    kFailed,    // a plugin failed under FailClose (or returned an unknown result)
    kHost,      // the host answered: body not JSON (400), over --max-body-bytes (413), ...
  };
  Kind kind = Kind::kHost;
  bbr_phase_t phase = BBR_PHASE_REQUEST;
  std::string plugin;  // the instance; empty for kHost
  uint32_t status = 0;
  std::string reason;  // kFailed: the plugin's error text; kHost: the answer's body
};

// One captured log::Record, owning its strings.
struct LogLine {
  // The plugin instance (and its type) that wrote the line through the host's
  // log call; both empty for the host's own lines.
  std::string instance;
  std::string type;
  log::Level level = log::Level::kInfo;
  std::string text;  // what the plugin (or the host) wrote, nothing added
};

// One series that moved during the exchange.
struct MetricChange {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by label name
  bool histogram = false;
  double delta = 0;         // counter: the increase; histogram: the sum's increase
  std::uint64_t count = 0;  // histogram: observations added; counter: 0
};

struct DriveResult {
  DirectionResult request;
  DirectionResult response;
  std::optional<ImmediateResult> immediate;
  std::optional<StopResult> stopped;
  // ProcessingResponse.dynamic_metadata of every answer, merged per namespace
  // (later keys win), as JSON object text; "{}" when none.
  std::string dynamic_metadata_json = "{}";
  // Set when the session ended the stream with a gRPC error (its message).
  std::optional<std::string> stream_error;
  // Every ProcessingRequest sent, in order, as Envoy would send it (bodies
  // included: meant for tests and tools, not hot paths).
  std::vector<envoy::service::ext_proc::v3::ProcessingRequest> requests;
  // Every ProcessingResponse in the order the server would write them
  // (streamed chunks as messages).
  std::vector<envoy::service::ext_proc::v3::ProcessingResponse> responses;
  std::vector<LogLine> logs;
  std::vector<MetricChange> metrics;
};

class SessionDriver {
 public:
  // Drives an existing chain. `metrics` is the registry the chain was built
  // with (null: no metric changes are reported). Both must outlive the driver.
  SessionDriver(const Chain& chain, Metrics* metrics);
  // Builds the chain from a checked config (ConfigError as build_chain throws)
  // with a Metrics of its own; what the plugins log while created (at
  // `capture_level` or more severe) is kept in create_logs(). `registry` must
  // outlive the driver.
  SessionDriver(const ChainConfig& config, const PluginRegistry& registry,
                log::Level capture_level = log::Level::kTrace);
  ~SessionDriver();
  SessionDriver(const SessionDriver&) = delete;
  SessionDriver& operator=(const SessionDriver&) = delete;

  const Chain& chain() const { return *chain_; }
  Metrics* metrics() const { return metrics_; }
  // Lines logged while the config's chain was built (empty for a given chain).
  const std::vector<LogLine>& create_logs() const { return create_logs_; }

  // One exchange on a fresh Session. Plugin state (instances, counters) lasts
  // across calls, as it does across streams in serve. Not thread-safe (log
  // capture is per thread; run exchanges of one driver one at a time).
  DriveResult run(const DriveInput& input) const;

 private:
  std::unique_ptr<Metrics> owned_metrics_;
  std::unique_ptr<Chain> owned_chain_;
  const Chain* chain_ = nullptr;
  Metrics* metrics_ = nullptr;
  std::vector<LogLine> create_logs_;
};

// "rejected", "failed", "host".
const char* stop_kind_name(StopResult::Kind kind);

}  // namespace bbr::offline
