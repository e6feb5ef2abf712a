// A server's metrics door (`sockit serve ... --metrics HOST:PORT`): what a running server
// has counted (sockit/server/metrics.hpp) and its process's CPU, memory and descriptors,
// served over HTTP for operators: /metrics in the Prometheus text format, /stats as JSON,
// and "/" a page that draws them live from a WebSocket at /live.
//   sockit::server::Server server(service, options);
//   auto door = std::make_shared<sockit::http::HttpService>(sockit::http::HttpOptions{});
//   sockit::http::add_metrics_web(*door, [&server] { return server.metrics(); });
#pragma once

#include <functional>
#include <string_view>

#include "sockit/http/http_service.hpp"
#include "sockit/server/metrics.hpp"

namespace sockit::http {

// Where the door reads the counters: called on the door's own loop for every request and
// every push, so it must be safe from that thread (Server::metrics() is) and quick.
using MetricsSource = std::function<server::ServerMetrics()>;

// Registers on `http`:
//   GET /metrics  the Prometheus text exposition format (version 0.0.4)
//   GET /stats    the same as JSON (see stats_json in the library's metrics_format.hpp)
//   GET /         the live page
//   /live         a WebSocket that pushes the /stats JSON at once, then once a second; it
//                 takes upgrades from the page's own origin only (and from clients that send
//                 no Origin, which are not browsers)
// Throws std::invalid_argument for an empty source.
void add_metrics_web(HttpService& http, MetricsSource source);

// The page itself: one HTML document with its style and script inline.
std::string_view metrics_page() noexcept;

}  // namespace sockit::http
