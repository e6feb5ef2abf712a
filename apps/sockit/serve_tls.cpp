// TLS for `sockit serve` (see serve_tls.hpp).
#include "serve_tls.hpp"

#include <chrono>
#include <stdexcept>
#include <utility>

#include "cli_support.hpp"
#include "sockit/tls/tls_context.hpp"
#include "sockit/tls/tls_service.hpp"

namespace sockit::cli {

void add_tls_serve_options(CLI::App& serve, TlsServeOptions& tls) {
  serve.add_option("--tls-cert", tls.cert_file,
                   "Serve over TLS with this PEM certificate chain (see `sockit cert`)");
  serve.add_option("--tls-key", tls.key_file, "PEM private key for --tls-cert");
  serve.add_option("--tls-client-ca", tls.client_ca_file,
                   "Require client certificates signed by these PEM CAs");
  serve
      .add_option("--handshake-timeout", tls.handshake_timeout,
                  "Close a client whose TLS handshake (or PROXY header, with --proxy-protocol) "
                  "is not done within this many seconds (0: wait up to the idle timeout)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

std::shared_ptr<server::Service> wrap_tls(std::shared_ptr<server::Service> service,
                                          const TlsServeOptions& tls, server::LogLevel level) {
  if (!tls.enabled()) {
    if (!tls.client_ca_file.empty()) {
      throw std::invalid_argument("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return service;
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  }
  // Checked before any file is read: a usage error is told as one.
  auto handshake = seconds(tls.handshake_timeout, "--handshake-timeout");
  auto context = TlsContext::server({tls.cert_file, tls.key_file, tls.client_ca_file});
  TlsService::Log log;
  if (level != server::LogLevel::quiet) log = server::log_info;
  return std::make_shared<TlsService>(std::move(service), std::move(context), std::move(log),
                                      handshake);
}

}  // namespace sockit::cli
