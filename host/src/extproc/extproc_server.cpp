#include "extproc/extproc_server.hpp"

#include "extproc/self_signed_certificate.hpp"
#include "log/log.hpp"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <climits>
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

}  // namespace

ExtProcServer::ExtProcServer(const Chain& chain, const SessionOptions& session_options,
                             const ServerOptions& options)
    : service_(chain, session_options) {
  const std::string address = fmt::format("{}:{}", options.host, options.grpc_port);
  const std::string health_address = fmt::format("{}:{}", options.host, options.health_port);

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
    builder.RegisterService(&health_);
    refuse_shared_port(builder);
    health_server_ = builder.BuildAndStart();
    if (!health_server_ || bound_port == 0) {
      server_->Shutdown();
      throw ServerStartError(fmt::format(
          "cannot listen on {} for the gRPC health server (port in use?)", health_address));
    }
  }
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
  const auto deadline = std::chrono::system_clock::now() + grace;
  // Stops accepting new streams at once; waits for in-flight ones until the
  // deadline, then cancels the rest.
  server_->Shutdown(deadline);
  server_->Wait();
  health_server_->Shutdown(std::chrono::system_clock::now());
  health_server_->Wait();
}

}  // namespace bbr
