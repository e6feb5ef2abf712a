// `sockit serve ... --metrics HOST:PORT` (see serve_metrics.hpp).
#include "serve_metrics.hpp"

#include <fmt/core.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "cli_support.hpp"
#include "sockit/http/http_service.hpp"

namespace sockit::cli {

void add_metrics_serve_options(CLI::App& serve, MetricsServeOptions& metrics) {
  serve.add_option("--metrics", metrics.address,
                   "Also serve the server's metrics over plain HTTP on HOST:PORT (:PORT or PORT: "
                   "127.0.0.1; port 0: the kernel picks): /metrics for Prometheus, /stats as "
                   "JSON, and a live page at / (connections, messages per second, per worker). "
                   "Any service and architecture; SIGUSR2 restarts are refused");
}

MetricsAddress parse_metrics_address(std::string_view text) {
  constexpr std::string_view context = "serve: --metrics";
  MetricsAddress address{"127.0.0.1", 0};
  std::string_view port = text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) {
      usage_error(
          fmt::format("{}: '{}' is not HOST:PORT (an IPv6 address: [::1]:9100)", context, text));
    }
    address.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    const std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      usage_error(
          fmt::format("{}: '{}' is not HOST:PORT (an IPv6 address goes in brackets: "
                      "[::1]:9100)",
                      context, text));
    }
    if (!host.empty()) address.host = std::string(host);
    port = text.substr(colon + 1);
  }
  if (address.host.empty()) usage_error(fmt::format("{}: '{}' has an empty host", context, text));
  address.port = parse_port(port, true, context);
  return address;
}

MetricsDoor::MetricsDoor(http::MetricsSource source, const MetricsAddress& address,
                         const server::ServerOptions& main) {
  http::HttpOptions http_options;
  http_options.log_errors = main.log_level != server::LogLevel::quiet;
  auto door = std::make_shared<http::HttpService>(std::move(http_options));
  http::add_metrics_web(*door, std::move(source));

  server::ServerOptions options;
  options.architecture = server::Architecture::reactor;
  options.host = address.host;
  options.port = address.port;
  options.log_level = main.log_level;
  options.drain_timeout = main.drain_timeout;
  options.handle_signals = false;  // the main server handles them for the process
  options.announce = false;
  options.restart_refused.clear();
  server_ = std::make_unique<server::Server>(door, options);
  // Said even when quiet, as the listening line is: scripts read the port from it.
  fmt::print(stderr, "metrics on http://{}/\n", server_->local_address().to_string());
}

void MetricsDoor::start(server::Server& main) {
  server_->start([&main](const std::exception& e) {
    fmt::print(stderr, "sockit: serve: metrics: {}\n", e.what());
    main.stop();
  });
}

}  // namespace sockit::cli
