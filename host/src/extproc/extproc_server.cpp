#include "extproc/extproc_server.hpp"

#include "extproc/self_signed_certificate.hpp"
#include "extproc/shared_completion_queue.hpp"
#include "log/log.hpp"

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <climits>
#include <thread>
#include <fstream>
#include <sstream>

namespace bbr {

namespace {

std::string read_pem_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ServerStartError(fmt::format("cannot read {} file {}", what, path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) throw ServerStartError(fmt::format("{} file {} is empty", what, path));
  return text.str();
}

std::shared_ptr<grpc::ServerCredentials> extproc_credentials(const ServerOptions& options) {
  if (!options.secure_serving) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  if (!options.cert_path.empty() || !options.key_path.empty()) {
    if (options.cert_path.empty() || options.key_path.empty()) {
      throw ServerStartError("--cert-path and --key-path must be given together");
    }
    pair.cert_chain = read_pem_file(options.cert_path, "certificate");
    pair.private_key = read_pem_file(options.key_path, "private key");
    log::info("TLS with the certificate from {}", options.cert_path);
  } else {
    try {
      const PemCertificate generated = make_self_signed_certificate();
      pair.cert_chain = generated.certificate_pem;
      pair.private_key = generated.private_key_pem;
    } catch (const std::exception& e) {
      throw ServerStartError(e.what());
    }
    log::info("TLS with a self-signed certificate made at start-up");
  }
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

// gRPC sets SO_REUSEPORT by default, so a second server on a busy port starts
// "fine" and the kernel splits connections between the two. A port already in
// use must be an error instead, as it is for the reference (net.Listen).
void refuse_shared_port(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

void apply_keepalive(grpc::ServerBuilder& builder) {
  // Probe idle connections every 30 s so a vanished proxy's streams are
  // reclaimed; accept client pings every 10 s (Envoy's defaults are slower).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
}

// Bounds what gRPC itself buffers (docs/operations.md, "Memory"): without
// this, BDP probing grows each stream's receive window to megabytes, and 64
// concurrent 1 MiB bodies sit in gRPC's buffers on top of the sessions' copies.
void bound_transport_memory(grpc::ServerBuilder& builder, const ServerOptions& options) {
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, options.stream_window_bytes);
  if (options.transport_memory_bytes != 0) {
    grpc::ResourceQuota quota("bbr-host-transport");
    quota.Resize(options.transport_memory_bytes);
    builder.SetResourceQuota(quota);
  }
}

void drain(grpc::ServerCompletionQueue* queue) {
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) static_cast<CompletionQueueEvent*>(tag)->on_event(ok);
}

}  // namespace

ExtProcServer::ExtProcServer(const Chain& chain, const SessionOptions& session_options,
                             const ServerOptions& options) {
  env_.service = &service_;
  env_.chain = &chain;
  env_.session_options = &session_options;
  env_.metrics = options.metrics;
  env_.max_concurrent_streams = options.max_concurrent_streams;
  const std::string address = fmt::format("{}:{}", options.host, options.grpc_port);
  const std::string health_address = fmt::format("{}:{}", options.host, options.health_port);
  prepare_completion_queue_sharing();

  {
    grpc::ServerBuilder builder;
    int bound_port = 0;
    builder.AddListeningPort(address, extproc_credentials(options), &bound_port);
    builder.RegisterService(&service_);
    const std::size_t max_receive =
        std::min<std::size_t>(options.max_receive_message_bytes, INT_MAX);
    builder.SetMaxReceiveMessageSize(static_cast<int>(max_receive));
    apply_keepalive(builder);
    refuse_shared_port(builder);
    bound_transport_memory(builder, options);
    const unsigned workers = std::max(1u, options.workers);
    for (unsigned i = 0; i < workers; ++i) queues_.push_back(builder.AddCompletionQueue());
    server_ = builder.BuildAndStart();
    if (!server_ || bound_port == 0) {
      throw ServerStartError(
          fmt::format("cannot listen on {} for the ext_proc gRPC server (port in use?)", address));
    }
  }
  {
    grpc::ServerBuilder builder;
    int bound_port = 0;
    builder.AddListeningPort(health_address, grpc::InsecureServerCredentials(), &bound_port);
    health_.register_with(builder);
    refuse_shared_port(builder);
    // Health on the first ext_proc queue: one thread polls gRPC's engine.
    ServerOnSharedQueue health = build_on_queue(builder, queues_.front().get());
    health_server_ = std::move(health.server);
    health_unused_queue_ = std::move(health.unused_queue);
    if (!health_server_ || bound_port == 0) {
      if (health_server_) health_server_->Shutdown();
      health_unused_queue_->Shutdown();
      drain(health_unused_queue_.get());
      server_->Shutdown();
      for (auto& queue : queues_) {
        queue->Shutdown();
        drain(queue.get());
      }
      throw ServerStartError(fmt::format(
          "cannot listen on {} for the gRPC health server (port in use?)", health_address));
    }
  }
  // Each queue keeps one call requested ahead and one thread draining it.
  for (auto& queue : queues_) {
    ProcessStream::await_next(env_, queue.get());
    workers_.emplace_back([q = queue.get()] { drain(q); });
  }
  health_.start(queues_.front().get());
  health_.set_serving(true);
  log::info("ext_proc gRPC server listening on {} ({})", address,
            options.secure_serving ? "TLS" : "plaintext");
  log::info("gRPC health server listening on {} (plaintext)", health_address);
}

ExtProcServer::~ExtProcServer() { shutdown(std::chrono::milliseconds(0)); }

void ExtProcServer::shutdown(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  health_.set_serving(false);
  env_.shutting_down.store(true);
  const auto deadline = std::chrono::system_clock::now() + grace;
  // Stops accepting new streams at once; waits for in-flight ones until the
  // deadline, then cancels the rest. The workers keep draining meanwhile.
  server_->Shutdown(deadline);
  // A queue may only shut down once no call can start another operation on
  // it: wait until every stream object is gone (cancelled ones end promptly).
  while (env_.live_objects.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Health shares the first queue: its calls end (requested ones come back
  // with ok false) before that queue may shut down.
  health_.begin_shutdown();
  health_server_->Shutdown(std::chrono::system_clock::now());
  while (health_.live_calls() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (auto& queue : queues_) queue->Shutdown();
  for (auto& worker : workers_) worker.join();
  server_->Wait();
  health_server_->Wait();
  health_unused_queue_->Shutdown();
  drain(health_unused_queue_.get());
}

}  // namespace bbr
