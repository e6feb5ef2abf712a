// The HTTP/1.1 server as a sockit Service: it runs on every architecture and over TLS like
// any other protocol. Routes answer requests from C++ (a JSON endpoint), a StaticFiles root
// answers the rest; the session does persistence, pipelining, 100-continue, bodies, limits,
// deadlines and the access log.
//   auto http = std::make_shared<sockit::http::HttpService>(options);
//   http->route("GET", "/api/time", [](const Request&) { return Response::json(200, "{}"); });
//   sockit::server::Server(http, server_options).run();
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sockit/http/request_parser.hpp"
#include "sockit/http/request_target.hpp"
#include "sockit/http/static_files.hpp"
#include "sockit/server/session.hpp"
#include "sockit/websocket/handshake.hpp"
#include "sockit/websocket/message_assembler.hpp"

namespace sockit::http {

// One request, as a handler sees it. Valid only during the handler call.
struct Request {
  const RequestHead& head;
  const TargetPath& path;  // the decoded path and the raw query
  std::string_view body;   // the whole body (at most RequestLimits::max_body bytes)
  const server::ConnectionInfo& connection;

  std::string_view method() const noexcept { return head.method; }
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return head.headers.get(name);
  }
};

// The client's answer (sockit/http/client.hpp) is named sockit::http::Response as well.
// This one lives in an inline namespace, so that the two never share a symbol: a program that
// links the client and the server (the sockit tool) would otherwise get one's constructor or
// destructor for the other's, and corrupt memory.
inline namespace server_side {

// A handler's answer. The session adds Date, Server, Content-Length (or chunked framing
// for a streamed body of unknown length) and Connection.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // A large body in pieces: called whenever the connection can take more, until it
  // returns an empty string. Sent chunked to HTTP/1.1 clients, delimited by the close to
  // HTTP/1.0 ones. When set, `body` is ignored.
  std::function<std::string()> stream;

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  static Response text(int status, std::string body);  // text/plain; charset=utf-8
  static Response json(int status, std::string body);  // application/json
  static Response html(int status, std::string body);  // text/html; charset=utf-8
  // The standard error page for `status` (error_page), with `detail` escaped.
  static Response error(int status, std::string_view detail = {});
};

}  // namespace server_side

// Runs on the connection's own thread or loop: keep it short (a handler that must wait
// for something belongs off the loop, which a later version of this API will offer).
// Exceptions become a 500 and a log line.
using Handler = std::function<Response(const Request&)>;

// Makes the session an accepted WebSocket upgrade hands its connection to (usually a
// websocket::WebSocketSession built with `limits`), from the upgrade request.
using WebSocketFactory = std::function<std::unique_ptr<server::Session>(
    const Request& request, const websocket::MessageLimits& limits)>;

struct HttpOptions {
  RequestLimits limits;
  // The head of a request must arrive within this much time of its first byte, or the
  // client gets a 408 and the connection closes (a client that trickles its head, one
  // byte at a time, cannot hold a connection: "slowloris").
  std::chrono::milliseconds header_timeout{10'000};
  // A kept-alive connection with no request under way closes after this long.
  std::chrono::milliseconds keep_alive_timeout{30'000};
  // Requests on one connection before the server answers with Connection: close.
  std::size_t max_requests_per_connection = 1000;
  // Files from a root, for requests no route took. Without it those are 404.
  std::optional<StaticOptions> files;
  // The access log, in the combined log format: a file path (appended to), "-" for
  // stdout, empty for none. Lines are buffered and written in batches.
  std::string access_log;
  std::string server_name = "sockit";  // the Server header; empty: no header
  // A log line for each request refused as malformed, oversized or too slow.
  bool log_errors = true;
  std::uint16_t port = 8080;  // the service's default port
};

class AccessLog;

class HttpService : public server::Service {
 public:
  // Throws Error for a files root that is not a directory or an access log it cannot open.
  explicit HttpService(HttpOptions options);
  ~HttpService() override;

  // Routes `method` requests for exactly `path` (the decoded path, e.g. "/api/time") to
  // `handler`; a path ending in "/*" takes every path under it. Add routes before serving.
  // A path with routes for other methods only answers 405 with Allow.
  void route(std::string method, std::string path, Handler handler);
  // Takes WebSocket upgrades (GET with Upgrade: websocket) for exactly `path`: the handshake
  // is checked against `handshake` (refused: an ordinary answer, then the connection
  // closes); accepted, the 101 goes out and the connection belongs to the session `factory`
  // makes from then on. Other requests for `path` go to the routes and files as before.
  void websocket(std::string path, WebSocketFactory factory,
                 websocket::ServerHandshakeOptions handshake = {},
                 websocket::MessageLimits limits = {});

  std::string_view name() const override { return "http"; }
  std::uint16_t default_port() const override { return options_.port; }
  std::string_view full_message() const override;
  std::unique_ptr<server::Session> open(const server::ConnectionInfo& connection) override;

  const HttpOptions& options() const noexcept { return options_; }

  // For the sessions: the route for a request, or nullptr; `allowed` collects the methods
  // routed for that path when none matches the method.
  const Handler* find_route(std::string_view method, std::string_view path,
                            std::string* allowed) const;
  struct WebSocketRoute {
    std::string path;
    WebSocketFactory factory;
    websocket::ServerHandshakeOptions handshake;
    websocket::MessageLimits limits;
  };
  // For the sessions: the WebSocket route for `path`, or nullptr.
  const WebSocketRoute* find_websocket(std::string_view path) const noexcept;
  const StaticFiles* files() const noexcept { return files_.get(); }
  AccessLog* access_log() const noexcept { return log_.get(); }

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    Handler handler;
  };
  HttpOptions options_;
  std::vector<Route> routes_;
  std::vector<WebSocketRoute> websockets_;
  std::unique_ptr<StaticFiles> files_;
  std::unique_ptr<AccessLog> log_;
};

// Registers the "http" service of `sockit serve`: files from ServiceConfig::http_root.
void register_http_service();

}  // namespace sockit::http
