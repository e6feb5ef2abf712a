// Self-signed certificates for local development and tests (what `sockit cert` writes):
// an EC P-256 key and an X.509 v3 certificate naming HOST, localhost, 127.0.0.1 and ::1,
// so clients can verify it with the certificate itself as their CA file.
#pragma once

#include <string>

namespace sockit {

struct SelfSignedOptions {
  std::string hostname;  // DNS name (or IP literal) the certificate is for
  int days = 365;        // validity from now
  bool expired = false;  // valid from 30 days ago until yesterday (to test rejection)
};

struct PemCertificate {
  std::string certificate;  // PEM "CERTIFICATE"
  std::string private_key;  // PEM "PRIVATE KEY" (PKCS#8, unencrypted)
};

// Throws Error(tls_errc::configuration) if OpenSSL fails, std::invalid_argument for an
// empty hostname or days < 1.
PemCertificate make_self_signed_certificate(const SelfSignedOptions& options);

}  // namespace sockit
