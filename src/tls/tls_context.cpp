// TlsContext: one SSL_CTX per side, configured with secure defaults (see tls_context.hpp).
#include "sockit/tls/tls_context.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "openssl_util.hpp"
#include "sockit/error.hpp"
#include "sockit/tls/tls_error.hpp"

namespace sockit {
namespace {

using detail::take_error_reason;

[[noreturn]] void fail(std::string_view operation, std::string_view file,
                       std::string_view fallback = "unusable") {
  throw Error(tls_errc::configuration, "tls " + std::string(operation), std::string(file),
              take_error_reason(nullptr, fallback));
}

// OpenSSL's message for a missing file is "system lib"; say what the system said.
void check_readable(std::string_view operation, const std::string& file) {
  if (::access(file.c_str(), R_OK) != 0) {
    int err = errno;
    throw Error(tls_errc::configuration, "tls " + std::string(operation), file, std::strerror(err));
  }
}

std::shared_ptr<SSL_CTX> make_context(const SSL_METHOD* method) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) fail("create context", "");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) fail("set minimum version", "");
  // Renegotiation is a known source of attacks and has no use in these protocols.
  SSL_CTX_set_options(
      c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2 suites; TLS 1.3 suites are all strong and keep OpenSSL's defaults.
  if (SSL_CTX_set_cipher_list(c, "HIGH:!aNULL:!MD5:!RC4:!3DES:!kRSA") != 1) fail("set ciphers", "");
  // Partial writes let write_some report progress record by record; buffers are released
  // while a connection is idle, which matters for servers with many of them.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

void use_certificate(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  check_readable("load certificate", cert_file);
  check_readable("load key", key_file);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    fail("load certificate", cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("load key", key_file);
  if (SSL_CTX_check_private_key(ctx) != 1)
    fail("check key", key_file, "does not match the certificate");
}

void trust(SSL_CTX* ctx, const std::string& ca_file) {
  check_readable("load CA file", ca_file);
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
    fail("load CA file", ca_file);
}

}  // namespace

TlsContext TlsContext::client(const TlsClientOptions& options) {
  auto ctx = make_context(TLS_client_method());
  SSL_CTX* c = ctx.get();
  if (options.ca_file.empty()) {
    ERR_clear_error();
    if (SSL_CTX_set_default_verify_paths(c) != 1) fail("load system CA store", "");
  } else {
    trust(c, options.ca_file);
  }
  SSL_CTX_set_verify(c, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    use_certificate(c, options.cert_file,
                    options.key_file.empty() ? options.cert_file : options.key_file);
  }
  return TlsContext(std::move(ctx), false, options.verify);
}

TlsContext TlsContext::server(const TlsServerOptions& options) {
  auto ctx = make_context(TLS_server_method());
  SSL_CTX* c = ctx.get();
  use_certificate(c, options.cert_file, options.key_file);
  bool verify_clients = !options.client_ca_file.empty();
  if (verify_clients) {
    trust(c, options.client_ca_file);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    static const unsigned char id[] = "sockit";
    SSL_CTX_set_session_id_context(c, id, sizeof id - 1);
  }
  return TlsContext(std::move(ctx), true, verify_clients);
}

}  // namespace sockit
