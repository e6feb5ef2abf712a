// Self-signed certificates (see certificate.hpp): EC P-256 key, SHA-256 signature, X.509 v3
// with the names a local client will use in its subjectAltName.
#include "sockit/tls/certificate.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

#include "openssl_util.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/tls/tls_error.hpp"

namespace sockit {
namespace {

using namespace detail;

[[noreturn]] void fail(std::string_view step, const std::string& hostname) {
  throw Error(tls_errc::configuration, "tls self-signed certificate " + std::string(step), hostname,
              take_error_reason(nullptr, "failed"));
}

void add_extension(X509* cert, int nid, const std::string& value, const std::string& hostname) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) fail("extension", hostname);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) fail("extension", hostname);
}

std::string subject_alt_names(const std::string& hostname) {
  std::string names;
  auto add = [&names](std::string_view kind, std::string_view value) {
    std::string entry = std::string(kind) + ":" + std::string(value);
    if (("," + names + ",").find("," + entry + ",") != std::string::npos) return;
    if (!names.empty()) names += ",";
    names += entry;
  };
  if (auto ip = Address::try_parse(hostname)) {
    add("IP", ip->ip());
  } else {
    add("DNS", hostname);
  }
  add("DNS", "localhost");
  add("IP", "127.0.0.1");
  add("IP", "::1");
  return names;
}

std::string to_pem(BIO* bio) {
  std::string text;
  drain_bio(bio, text);
  return text;
}

}  // namespace

PemCertificate make_self_signed_certificate(const SelfSignedOptions& options) {
  const std::string& host = options.hostname;
  if (host.empty()) throw std::invalid_argument("self-signed certificate: empty hostname");
  if (!options.expired && options.days < 1) {
    throw std::invalid_argument("self-signed certificate: days must be at least 1");
  }
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("key", host);
  X509Ptr cert(X509_new());
  if (!cert) fail("new", host);
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1) fail("version", host);

  // A random 64-bit serial: two certificates for one name must not look alike to caches.
  BIGNUM* serial = BN_new();
  bool serial_ok = serial != nullptr &&
                   BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
                   BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != nullptr;
  BN_free(serial);
  if (!serial_ok) fail("serial", host);

  constexpr long day = 24L * 60 * 60;
  long not_before = options.expired ? -30 * day : -60;  // a minute of slack for clock skew
  long not_after = options.expired ? -day : static_cast<long>(options.days) * day;
  if (X509_gmtime_adj(X509_getm_notBefore(x), not_before) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x), not_after) == nullptr) {
    fail("validity", host);
  }

  X509_NAME* name = X509_get_subject_name(x);
  const auto* cn = reinterpret_cast<const unsigned char*>(host.c_str());
  const auto* org = reinterpret_cast<const unsigned char*>("sockit development certificate");
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, org, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key.get()) != 1) {
    fail("name", host);
  }
  add_extension(x, NID_basic_constraints, "critical,CA:FALSE", host);
  add_extension(x, NID_key_usage, "critical,digitalSignature", host);
  add_extension(x, NID_ext_key_usage, "serverAuth,clientAuth", host);
  add_extension(x, NID_subject_key_identifier, "hash", host);
  add_extension(x, NID_subject_alt_name, subject_alt_names(host), host);
  if (X509_sign(x, key.get(), EVP_sha256()) == 0) fail("signature", host);

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), x) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    fail("PEM", host);
  }
  return PemCertificate{to_pem(cert_bio.get()), to_pem(key_bio.get())};
}

}  // namespace sockit
