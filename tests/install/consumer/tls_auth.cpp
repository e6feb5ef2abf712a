// Uses the installed TLS and auth libraries: a self-signed certificate, a client context,
// and a password hashed and verified.
#include <sockit/auth/password.hpp>
#include <sockit/tls.hpp>

#include <cstdio>

int main() {
  const auto pem = sockit::make_self_signed_certificate({"localhost"});
  const auto context = sockit::TlsContext::client();
  const std::string hash = sockit::auth::hash_password("secret", sockit::auth::min_iterations);
  const bool verified = sockit::auth::verify_password("secret", hash) &&
                        !sockit::auth::verify_password("wrong", hash);
  const bool ok = pem.certificate.rfind("-----BEGIN CERTIFICATE-----", 0) == 0 &&
                  context.native() != nullptr && verified;
  std::printf("tls and auth: certificate %s, password %s\n", ok ? "made" : "missing",
              verified ? "verified" : "not verified");
  return ok ? 0 : 1;
}
