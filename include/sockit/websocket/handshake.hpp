// The WebSocket opening handshake (RFC 6455 section 4), sans-I/O: a server checks an HTTP
// upgrade request and answers 101 (or refuses with the status it deserves); a client builds
// its upgrade request and checks the server's 101. HTTP heads in, bytes out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sockit/http/headers.hpp"
#include "sockit/http/request_parser.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/websocket/frame_codec.hpp"

namespace sockit::websocket {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view key);
// A Sec-WebSocket-Key as RFC 6455 requires it: base64 of exactly 16 bytes (24 characters).
bool valid_key(std::string_view key) noexcept;

// Whether a request asks to become a WebSocket (its Upgrade lists "websocket"): where an HTTP
// server hands it to accept_upgrade() instead of serving it.
bool is_upgrade_request(const http::RequestHead& request) noexcept;

struct ServerHandshakeOptions {
  // Origins browsers may open connections from, as browsers send them
  // ("https://chat.example.com", compared ignoring case). Empty: any origin. A request with
  // no Origin field is not from a browser (browsers always send it) and is not refused for it.
  std::vector<std::string> allowed_origins;
  // When allowed_origins is empty: allow only the origin of the page the server itself
  // serves, one whose host and port (after "http://" or "https://") are the request's Host
  // field (ignoring case). A request with no Origin field is not refused for it either.
  bool same_origin = false;
};

struct UpgradeAnswer {
  // 101 accepted; refused: 400 malformed, 403 an origin not allowed, 405 not a GET,
  // 426 not an upgrade to WebSocket version 13.
  int status = 0;
  std::string detail;  // why refused, fit for a log line and the page: "no Sec-WebSocket-Key"
  // The answer's fields: Upgrade, Connection and Sec-WebSocket-Accept with 101;
  // Upgrade and Sec-WebSocket-Version: 13 with 426; Allow with 405.
  http::Headers headers;

  bool accepted() const noexcept { return status == 101; }
  // The answer as bytes: the 101 head, or the refusal with a text/plain body saying why and
  // "Connection: close".
  std::string to_bytes() const;
};

// Checks a request against RFC 6455 section 4.2.1: GET, HTTP/1.1, Upgrade listing websocket,
// Connection listing upgrade, Sec-WebSocket-Version 13, one valid Sec-WebSocket-Key, and an
// allowed Origin. Never throws for what the peer sent: a refusal is an answer.
UpgradeAnswer accept_upgrade(const http::RequestHead& request,
                             const ServerHandshakeOptions& options = {});

// The client's side: a request with a fresh key, and the check of the server's answer.
//   ClientHandshake hs("example.com:8080", "/chat", system_random());
//   write(hs.request()); ...parse the response head...; hs.verify(parser.head());
class ClientHandshake {
 public:
  // `host` is the Host field ("example.com:8080"), `target` the request target ("/chat?x=1"),
  // `origin` an Origin field to send when not empty. std::invalid_argument for a host or
  // target that is empty or holds a space or a control character, or an empty `random`.
  ClientHandshake(std::string_view host, std::string_view target, const RandomSource& random,
                  std::string_view origin = {});

  // "GET /chat HTTP/1.1\r\nHost: ...\r\nUpgrade: websocket\r\n...\r\n\r\n"
  const std::string& request() const noexcept { return request_; }
  const std::string& key() const noexcept { return key_; }

  // Throws sockit::Error ("WebSocket handshake <host>: ...", std::errc::protocol_error) unless
  // the answer is 101 with Upgrade: websocket, a Connection listing upgrade, the expected
  // Sec-WebSocket-Accept, and no extension or subprotocol (none was asked for).
  void verify(const http::ResponseHead& response) const;

 private:
  std::string host_;
  std::string key_;
  std::string request_;
};

}  // namespace sockit::websocket
