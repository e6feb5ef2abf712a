// The PROXY protocol for `sockit serve` (see serve_proxy_protocol.hpp).
#include "serve_proxy_protocol.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "cli_support.hpp"
#include "sockit/address_range.hpp"
#include "sockit/server/proxy_protocol_service.hpp"

namespace sockit::cli {

void add_proxy_protocol_serve_options(CLI::App& serve, ProxyProtocolServeOptions& proxy) {
  serve.add_flag("--proxy-protocol", proxy.enabled,
                 "Behind a load balancer: every connection starts with a PROXY protocol header "
                 "(v1 or v2, as HAProxy's send-proxy sends), and the client it names is the peer "
                 "for logs and --max-conns-per-ip");
  serve
      .add_option("--proxy-from", proxy.from,
                  "With --proxy-protocol: the balancers' addresses, as CIDR ranges, single "
                  "addresses or 'unix', comma-separated; other peers are closed")
      ->capture_default_str();
}

std::shared_ptr<server::Service> wrap_proxy_protocol(std::shared_ptr<server::Service> service,
                                                     const ProxyProtocolServeOptions& proxy,
                                                     std::chrono::milliseconds header_timeout,
                                                     server::ServerOptions& options) {
  if (!proxy.enabled) return service;
  server::ProxyProtocolOptions settings;
  try {
    settings.trusted = AddressRange::parse_list(proxy.from);
  } catch (const std::invalid_argument& e) {
    usage_error(fmt::format("serve: --proxy-from: {}", e.what()));
  }
  settings.timeout = header_timeout;
  const bool per_process = options.architecture == server::Architecture::fork ||
                           options.architecture == server::Architecture::prefork;
  if (options.max_connections_per_ip > 0 && per_process) {
    usage_error(fmt::format(
        "serve: --max-conns-per-ip with --proxy-protocol needs one count across all "
        "connections, and --arch {} serves them in separate processes (use thread, pool, "
        "reactor, hybrid, uring or uring-hybrid)",
        to_string(options.architecture)));
  }
  settings.max_connections_per_ip = std::exchange(options.max_connections_per_ip, 0);
  server::ProxyProtocolService::Log log;
  if (options.log_level != server::LogLevel::quiet) log = server::log_info;
  try {
    return std::make_shared<server::ProxyProtocolService>(std::move(service), std::move(settings),
                                                          std::move(log));
  } catch (const std::invalid_argument& e) {
    usage_error(fmt::format("serve: --proxy-protocol: {}", e.what()));
  }
}

}  // namespace sockit::cli
