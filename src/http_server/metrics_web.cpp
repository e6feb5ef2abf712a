// The metrics door (see sockit/http/metrics_web.hpp): three GET routes and a WebSocket
// session that pushes the JSON once a second on a timer of its own.
#include "sockit/http/metrics_web.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "metrics_format.hpp"
#include "sockit/websocket/websocket_session.hpp"

namespace sockit::http {
namespace {

constexpr std::chrono::milliseconds kPushInterval{1'000};

// Pushes the counters when it opens and once a second after; takes nothing from the page.
class LiveStats final : public websocket::WebSocketSession {
 public:
  LiveStats(const websocket::MessageLimits& limits, MetricsSource source)
      : WebSocketSession(limits), source_(std::move(source)) {}

 private:
  void on_start(server::Output& out) override { push(out); }
  void on_app_timer(server::TimerId id, server::Output& out) override {
    if (id == timer_) push(out);
  }

  void push(server::Output& out) {
    timer_ = 0;
    if (closing() || out.closing()) return;
    send_text(stats_json(source_(), read_process_stats()), out);
    timer_ = out.start_timer(kPushInterval);
  }

  MetricsSource source_;
  server::TimerId timer_ = 0;
};

// The page's Content-Security-Policy: nothing from elsewhere, its inline style and script,
// and WebSockets to its own origin.
constexpr const char* kPagePolicy =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'";

}  // namespace

void add_metrics_web(HttpService& http, MetricsSource source) {
  if (!source) throw std::invalid_argument("add_metrics_web: no metrics source given");
  http.route("GET", "/metrics", [source](const Request&) {
    Response response;
    response.body = prometheus_text(source(), read_process_stats());
    response.header("Content-Type", std::string(kPrometheusContentType));
    response.header("Cache-Control", "no-store");
    return response;
  });
  http.route("GET", "/stats", [source](const Request&) {
    Response response = Response::json(200, stats_json(source(), read_process_stats()));
    response.header("Cache-Control", "no-store");
    return response;
  });
  http.route("GET", "/", [](const Request&) {
    Response page = Response::html(200, std::string(metrics_page()));
    page.header("Cache-Control", "no-cache");
    page.header("Content-Security-Policy", kPagePolicy);
    return page;
  });
  websocket::ServerHandshakeOptions handshake;
  handshake.same_origin = true;
  // The page sends nothing: a small message limit is enough.
  const websocket::MessageLimits page_limits{4 * 1024};
  http.websocket(
      "/live",
      [source = std::move(source)](const Request&, const websocket::MessageLimits& limits) {
        return std::make_unique<LiveStats>(limits, source);
      },
      std::move(handshake), page_limits);
}

}  // namespace sockit::http
