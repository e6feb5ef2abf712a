// `sockit serve ... --proxy-protocol [--proxy-from CIDR,...]`: the options, and wrapping the
// chosen service (after TLS, whose handshake follows the header) in a ProxyProtocolService.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "sockit/server/server.hpp"
#include "sockit/server/session.hpp"

namespace sockit::cli {

struct ProxyProtocolServeOptions {
  bool enabled = false;                       // --proxy-protocol
  std::string from = "127.0.0.0/8,::1,unix";  // --proxy-from
};

// Adds --proxy-protocol and --proxy-from to `sockit serve`.
void add_proxy_protocol_serve_options(CLI::App& serve, ProxyProtocolServeOptions& proxy);

// `service` itself when the PROXY protocol is off. Else a ProxyProtocolService around it:
// the header must come within `header_timeout`, and the server's per-address limit moves
// from `options` to the service (it counts the client in the header, not the balancer).
// Throws CliError for a bad --proxy-from or a combination that cannot work.
std::shared_ptr<server::Service> wrap_proxy_protocol(std::shared_ptr<server::Service> service,
                                                     const ProxyProtocolServeOptions& proxy,
                                                     std::chrono::milliseconds header_timeout,
                                                     server::ServerOptions& options);

}  // namespace sockit::cli
