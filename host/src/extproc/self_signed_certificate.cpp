#include "extproc/self_signed_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace bbr {

namespace {

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void fail(const char* step) {
  const unsigned long code = ERR_get_error();
  char reason[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  throw std::runtime_error(std::string("self-signed certificate: ") + step + " failed: " + reason);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail("X509V3_EXT_conf_nid");
  if (X509_add_ext(cert, ext.get(), -1) != 1) fail("X509_add_ext");
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace

PemCertificate make_self_signed_certificate() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen(P-256)");

  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) fail("X509_set_version");

  // A random 128-bit serial, positive, as the reference.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    fail("BN_to_ASN1_INTEGER");
  }

  constexpr long kTenYearsSeconds = 10L * 365 * 24 * 60 * 60;
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), kTenYearsSeconds)) {
    fail("X509_gmtime_adj");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto add_name_entry = [subject](const char* field, const char* value) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(value), -1, -1, 0) != 1) {
      fail("X509_NAME_add_entry_by_txt");
    }
  };
  add_name_entry("O", "Inference Ext");
  add_name_entry("CN", "localhost");
  if (X509_set_issuer_name(cert.get(), subject) != 1) fail("X509_set_issuer_name");
  if (X509_set_pubkey(cert.get(), key.get()) != 1) fail("X509_set_pubkey");

  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("X509_sign");

  PemCertificate result;
  {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) fail("PEM_write_bio_X509");
    result.certificate_pem = bio_to_string(bio.get());
  }
  {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1) {
      fail("PEM_write_bio_PrivateKey");
    }
    result.private_key_pem = bio_to_string(bio.get());
  }
  return result;
}

}  // namespace bbr
