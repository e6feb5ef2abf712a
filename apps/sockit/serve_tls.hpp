// `sockit serve ... --tls-cert FILE --tls-key FILE`: the options, and wrapping the chosen
// service in a TlsService, so every service runs over TLS on every architecture.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "sockit/server/server.hpp"
#include "sockit/server/session.hpp"

namespace sockit::cli {

struct TlsServeOptions {
  std::string cert_file;          // --tls-cert
  std::string key_file;           // --tls-key
  std::string client_ca_file;     // --tls-client-ca: require client certificates
  double handshake_timeout = 10;  // --handshake-timeout, seconds; 0: none
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// Adds --tls-cert, --tls-key, --tls-client-ca and --handshake-timeout to `sockit serve`.
void add_tls_serve_options(CLI::App& serve, TlsServeOptions& tls);

// `service` itself when TLS is off; else a TlsService around it whose handshake failures
// are logged like the server's own lines (unless quiet). Throws std::invalid_argument
// for half the options or a service that cannot be wrapped, sockit::Error for unusable
// certificate or key files.
std::shared_ptr<server::Service> wrap_tls(std::shared_ptr<server::Service> service,
                                          const TlsServeOptions& tls, server::LogLevel level);

}  // namespace sockit::cli
