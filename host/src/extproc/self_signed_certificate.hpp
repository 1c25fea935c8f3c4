// A self-signed TLS certificate made in memory at start-up, for
// --secure-serving without --cert-path/--key-path (the reference does the same:
// its clients, e.g. Istio, connect with insecureSkipVerify).
#pragma once

#include <string>

namespace bbr {

struct PemCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};

// EC P-256 key (fast to make, unlike the reference's RSA 4096), subject
// O=Inference Ext, CN=localhost, SAN DNS:localhost and IP 127.0.0.1 / ::1,
// valid from now for 10 years (as the reference), ExtKeyUsage serverAuth.
// Throws std::runtime_error naming the OpenSSL step that failed.
PemCertificate make_self_signed_certificate();

}  // namespace bbr
