// The HTTP service: routes, the files root, the access log, and its entry in the registry
// of `sockit serve` (see sockit/http/http_service.hpp).
#include "sockit/http/http_service.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "access_log.hpp"
#include "http_session.hpp"
#include "sockit/server/services.hpp"
#include "sockit/websocket/websocket_session.hpp"

namespace sockit::http {

namespace {

// The endpoint of `sockit serve http --ws-echo PATH`: every message back as it came.
class EchoWebSocket : public websocket::WebSocketSession {
 public:
  using WebSocketSession::WebSocketSession;

 private:
  void on_text(std::string_view message, server::Output& out) override { send_text(message, out); }
  void on_binary(std::string_view message, server::Output& out) override {
    send_binary(message, out);
  }
};

Response typed(int status, std::string body, const char* type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.header("Content-Type", type);
  return r;
}

}  // namespace

Response Response::text(int status, std::string body) {
  return typed(status, std::move(body), "text/plain; charset=utf-8");
}

Response Response::json(int status, std::string body) {
  return typed(status, std::move(body), "application/json");
}

Response Response::html(int status, std::string body) {
  return typed(status, std::move(body), "text/html; charset=utf-8");
}

Response Response::error(int status, std::string_view detail) {
  return html(status, error_page(status, detail));
}

HttpService::HttpService(HttpOptions options) : options_(std::move(options)) {
  if (options_.files) files_ = std::make_unique<StaticFiles>(*options_.files);
  if (!options_.access_log.empty()) log_ = std::make_unique<AccessLog>(options_.access_log);
}

HttpService::~HttpService() = default;

void HttpService::route(std::string method, std::string path, Handler handler) {
  Route r;
  r.prefix = path.size() >= 2 && path.compare(path.size() - 2, 2, "/*") == 0;
  if (r.prefix) path.pop_back();  // keep the '/': "/api/*" takes "/api/" and below
  r.method = std::move(method);
  r.path = std::move(path);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void HttpService::websocket(std::string path, WebSocketFactory factory,
                            websocket::ServerHandshakeOptions handshake,
                            websocket::MessageLimits limits) {
  if (!factory) throw std::invalid_argument("HttpService::websocket " + path + ": no factory");
  websockets_.push_back({std::move(path), std::move(factory), std::move(handshake), limits});
}

const HttpService::WebSocketRoute* HttpService::find_websocket(
    std::string_view path) const noexcept {
  for (const WebSocketRoute& r : websockets_) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

const Handler* HttpService::find_route(std::string_view method, std::string_view path,
                                       std::string* allowed) const {
  for (const Route& r : routes_) {
    const bool matches =
        r.prefix ? path.substr(0, r.path.size()) == r.path : std::string_view(r.path) == path;
    if (!matches) continue;
    if (r.method == method) return &r.handler;
    if (allowed != nullptr && allowed->find(r.method) == std::string::npos) {
      if (!allowed->empty()) *allowed += ", ";
      *allowed += r.method;
      if (r.method == "GET" && allowed->find("HEAD") == std::string::npos) *allowed += ", HEAD";
    }
  }
  return nullptr;
}

std::string_view HttpService::full_message() const {
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
         "29\r\nRetry-After: 1\r\nConnection: close\r\n\r\nServer full, try again later\n";
}

std::unique_ptr<server::Session> HttpService::open(const server::ConnectionInfo& connection) {
  return std::make_unique<detail::HttpSession>(*this, connection);
}

void register_http_service() {
  server::ServiceEntry entry;
  entry.name = "http";
  entry.summary = "HTTP/1.1 static files from --root (port 8080)";
  entry.make = [](const server::ServiceConfig& config) -> std::shared_ptr<server::Service> {
    HttpOptions options;
    StaticOptions files;
    files.root = config.http_root;
    files.list_directories = config.http_list;
    files.follow_symlinks = config.http_follow_symlinks;
    options.files = files;
    options.limits.max_body = config.http_max_body;
    options.max_requests_per_connection = config.http_max_requests;
    options.access_log = config.http_access_log;
    options.log_errors = !config.quiet;
    options.header_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(config.http_header_timeout * 1000));
    options.keep_alive_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(config.http_keep_alive * 1000));
    auto service = std::make_shared<HttpService>(std::move(options));
    if (!config.http_ws_echo.empty()) {
      websocket::MessageLimits limits;
      limits.max_message = config.http_ws_max_message;
      limits.idle_ping =
          std::chrono::milliseconds(static_cast<std::int64_t>(config.http_ws_ping * 1000));
      service->websocket(
          config.http_ws_echo,
          [](const Request&, const websocket::MessageLimits& message_limits) {
            return std::make_unique<EchoWebSocket>(message_limits);
          },
          {}, limits);
    }
    return service;
  };
  server::register_service(entry);
}

}  // namespace sockit::http
