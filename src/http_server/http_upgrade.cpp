// An HTTP connection becoming a WebSocket (see http_session.hpp): the handshake checked, the
// refusal or the 101 written, and the connection handed to the route's session.
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "access_log.hpp"
#include "http_session.hpp"
#include "sockit/server/server.hpp"
#include "sockit/websocket/handshake.hpp"

namespace sockit::http::detail {

void HttpSession::upgrade(server::Output& out) {
  const RequestHead& head = parser_.head();
  const HttpService::WebSocketRoute* route = std::exchange(websocket_, nullptr);
  const websocket::UpgradeAnswer answer = websocket::accept_upgrade(head, route->handshake);
  if (!answer.accepted()) {
    // An ordinary answer, and the connection ends: the client asked for a protocol switch
    // it did not get, and what it sends next may not be HTTP.
    close_after_ = true;
    std::vector<std::pair<std::string, std::string>> fields;
    for (std::size_t i = 0; i < answer.headers.size(); ++i) {
      fields.emplace_back(answer.headers[i].name, answer.headers[i].value);
    }
    fields.emplace_back("Content-Type", "text/plain; charset=utf-8");
    if (service_.options().log_errors) {
      server::log_info("http: " + connection_.peer.to_string() + ": WebSocket upgrade to " +
                       path_->path + " refused, " + std::to_string(answer.status) + " " +
                       answer.detail);
    }
    std::string body = answer.detail;
    body += '\n';
    send_whole(answer.status, fields, body, out);
    return;
  }
  std::unique_ptr<server::Session> session;
  try {
    session = route->factory(Request{head, *path_, {}, connection_}, route->limits);
  } catch (const std::exception& e) {
    server::log_info("http: WebSocket session for " + path_->path + " failed: " + e.what());
  }
  if (!session) {
    close_after_ = true;
    static const std::vector<std::pair<std::string, std::string>> fields = {
        {"Content-Type", "text/html; charset=utf-8"}};
    send_whole(500, fields, error_page(500, {}), out);
    return;
  }
  out.write(answer.to_bytes());
  if (AccessLog* log = service_.access_log()) log->record(connection_.peer, &head, 101, 0);
  // The HTTP deadlines and the request rate no longer apply: the connection is the
  // WebSocket session's, with its own.
  if (timer_ != 0) out.cancel_timer(timer_);
  timer_ = 0;
  head_timing_ = false;
  if (reading_paused_) {
    reading_paused_ = false;
    out.set_reading(true);
  }
  upgraded_ = std::move(session);
  upgraded_->on_open(out);
}

}  // namespace sockit::http::detail
