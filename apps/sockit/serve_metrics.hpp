// `sockit serve ... --metrics HOST:PORT`: the server's metrics door (sockit/http/
// metrics_web.hpp), plain HTTP served by a reactor on a thread of its own beside the main
// server, whatever its service and architecture: /metrics for Prometheus, /stats as JSON and
// a live page at "/". It reads the main server's counters through Server::metrics().
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sockit/http/metrics_web.hpp"
#include "sockit/server/server.hpp"

namespace sockit::cli {

struct MetricsServeOptions {
  std::string address;  // --metrics as given; empty: no metrics door
  bool enabled() const { return !address.empty(); }
};

// Adds --metrics to `sockit serve`.
void add_metrics_serve_options(CLI::App& serve, MetricsServeOptions& metrics);

// Where --metrics listens: "HOST:PORT", "[IPv6]:PORT", ":PORT" or "PORT" (the last two on
// 127.0.0.1); port 0 lets the kernel pick.
struct MetricsAddress {
  std::string host;
  std::uint16_t port = 0;
};
// Throws CliError (usage) naming --metrics for a malformed address.
MetricsAddress parse_metrics_address(std::string_view text);

// Why a SIGUSR2 restart is refused while the metrics door is open
// (ServerOptions::restart_refused).
inline constexpr const char* kMetricsRestartRefused =
    "--metrics serves a second listener, which a restart would not hand over (stop and start "
    "the server instead)";

// The metrics door, bound at construction (it prints "metrics on http://HOST:PORT/" to stderr)
// and served from start() until it is destroyed, which stops it and waits for its drain.
class MetricsDoor {
 public:
  // `main` is the main server's options: the door keeps its log level and drain. Throws
  // what Server throws (the address cannot be bound).
  MetricsDoor(http::MetricsSource source, const MetricsAddress& address,
              const server::ServerOptions& main);
  MetricsDoor(const MetricsDoor&) = delete;
  MetricsDoor& operator=(const MetricsDoor&) = delete;

  // Serves from a thread of its own; if the door fails, the error is logged and `main` is
  // stopped, so the process does not serve without the metrics it was asked for.
  void start(server::Server& main);

 private:
  std::unique_ptr<server::Server> server_;
};

}  // namespace sockit::cli
