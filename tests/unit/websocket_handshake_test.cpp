// The opening handshake: RFC 6455's accept example (section 1.3), the server's checks of an
// upgrade request each with the status it deserves, the origin allow-list, the 101's bytes
// read back by the HTTP response parser; the client's request read by the HTTP request
// parser, and its checks of the server's answer.
#include "sockit/websocket/handshake.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using sockit::http::RequestEvent;
using sockit::http::RequestHead;
using sockit::http::RequestParser;
using sockit::http::ResponseHead;
using sockit::http::ResponseParser;
using sockit::websocket::accept_key;
using sockit::websocket::accept_upgrade;
using sockit::websocket::ClientHandshake;
using sockit::websocket::is_upgrade_request;
using sockit::websocket::ServerHandshakeOptions;
using sockit::websocket::valid_key;

// The RFC's example nonce: "the sample nonce" in base64.
constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view sample_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

RequestHead parse_request(std::string_view wire) {
  RequestParser parser;
  const auto r = parser.parse(wire);
  EXPECT_EQ(r.event, RequestEvent::head);
  return parser.head();
}

ResponseHead parse_response(std::string_view wire) {
  ResponseParser parser;
  const auto r = parser.parse(wire);
  EXPECT_EQ(r.event, sockit::http::ParseEvent::head);
  return parser.head();
}

// The RFC's example request (section 1.2); its field lines replaced or added to.
std::string request(std::string_view fields_replaced = {}, std::string_view fields_added = {},
                    std::string_view request_line = "GET /chat HTTP/1.1") {
  std::string fields =
      "Host: server.example.com\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Origin: http://example.com\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  if (!fields_replaced.empty()) fields = fields_replaced;
  std::string out(request_line);
  out += "\r\n";
  out += fields;
  out.append(fields_added);
  out += "\r\n";
  return out;
}

int status_of(const std::string& wire, const ServerHandshakeOptions& options = {}) {
  return accept_upgrade(parse_request(wire), options).status;
}

std::string without(std::string_view field) {
  std::string fields =
      "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  const auto at = fields.find(field);
  fields.erase(at, fields.find("\r\n", at) + 2 - at);
  return fields;
}

// A random source that gives 0, 1, 2...: the client's key is then predictable.
void counting(std::span<std::uint8_t> out) {
  std::uint8_t next = 0;
  for (auto& b : out)
    b = next++;
}

// ---- Keys ----

TEST(WebSocketHandshake, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(accept_key(sample_key), sample_accept);
}

TEST(WebSocketHandshake, KeysMustBeTheBase64Of16Bytes) {
  EXPECT_TRUE(valid_key(sample_key));
  EXPECT_TRUE(valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(valid_key("/////////////////////w=="));
  EXPECT_FALSE(valid_key(""));
  EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ="));       // 23 characters
  EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ=A"));      // no "==" at the end
  EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZR=="));      // bits past the 16th byte
  EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub2 jZQ=="));      // not base64
  EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // 19 bytes
}

// ---- The server's side ----

TEST(WebSocketHandshake, AcceptsTheRfcExample) {
  const auto head = parse_request(request());
  EXPECT_TRUE(is_upgrade_request(head));
  const auto answer = accept_upgrade(head);
  EXPECT_TRUE(answer.accepted());
  EXPECT_EQ(answer.status, 101);
  EXPECT_EQ(answer.to_bytes(),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(WebSocketHandshake, TokensInAnyCaseAndInLists) {
  const std::string fields =
      "Host: h\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  EXPECT_EQ(status_of(request(fields)), 101);
  EXPECT_EQ(status_of(request(without("Connection"),
                              "Connection: keep-alive\r\nConnection: uPgRaDe\r\n")),
            101);
  EXPECT_EQ(status_of(request(without("Upgrade"), "Upgrade: foo/2, websocket\r\n")), 101);
}

TEST(WebSocketHandshake, NotAGet) {
  const auto answer = accept_upgrade(parse_request(request({}, {}, "POST /chat HTTP/1.1")));
  EXPECT_EQ(answer.status, 405);
  EXPECT_EQ(answer.headers.get("allow"), "GET");
  EXPECT_EQ(answer.detail, "a WebSocket upgrade must be a GET, not POST");
}

TEST(WebSocketHandshake, NotHttp11) {
  EXPECT_EQ(status_of(request({}, {}, "GET /chat HTTP/1.0")), 400);
}

TEST(WebSocketHandshake, NoUpgradeToWebSocketIsAsked) {
  const auto answer = accept_upgrade(parse_request(request(without("Upgrade"))));
  EXPECT_FALSE(is_upgrade_request(parse_request(request(without("Upgrade")))));
  EXPECT_EQ(answer.status, 426);
  EXPECT_EQ(answer.headers.get("upgrade"), "websocket");
  EXPECT_EQ(status_of(request(without("Upgrade"), "Upgrade: h2c\r\n")), 426);
}

TEST(WebSocketHandshake, ConnectionMustListUpgrade) {
  EXPECT_EQ(status_of(request(without("Connection"))), 400);
  const auto answer =
      accept_upgrade(parse_request(request(without("Connection"), "Connection: keep-alive\r\n")));
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.detail, "the Connection header does not list upgrade");
  // A token that merely contains the word is not the word.
  EXPECT_EQ(status_of(request(without("Connection"), "Connection: upgraded\r\n")), 400);
}

TEST(WebSocketHandshake, VersionOtherThan13) {
  for (const std::string_view version : {"8", "12", "14", "13, 8", ""}) {
    SCOPED_TRACE(version);
    std::string added = "Sec-WebSocket-Version: ";
    added.append(version);
    added += "\r\n";
    const auto answer =
        accept_upgrade(parse_request(request(without("Sec-WebSocket-Version"), added)));
    EXPECT_EQ(answer.status, 426);
    EXPECT_EQ(answer.headers.get("sec-websocket-version"), "13");
  }
  EXPECT_EQ(status_of(request(without("Sec-WebSocket-Version"))), 426);
  EXPECT_EQ(status_of(request({}, "Sec-WebSocket-Version: 13\r\n")), 426);  // two of them
}

TEST(WebSocketHandshake, KeyMissingRepeatedOrMalformed) {
  EXPECT_EQ(status_of(request(without("Sec-WebSocket-Key"))), 400);
  EXPECT_EQ(status_of(request({}, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n")), 400);
  const auto answer = accept_upgrade(parse_request(
      request(without("Sec-WebSocket-Key"), "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n")));
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.detail, "Sec-WebSocket-Key is not the base64 of 16 bytes");
}

TEST(WebSocketHandshake, OriginAllowList) {
  ServerHandshakeOptions options;
  options.allowed_origins = {"https://chat.example.com", "http://example.com"};
  EXPECT_EQ(status_of(request(), options), 101);
  EXPECT_EQ(status_of(request(without("Host"), "Host: h\r\nOrigin: HTTPS://Chat.Example.Com\r\n"),
                      options),
            101);
  const auto refused = accept_upgrade(
      parse_request(request(without("Host"), "Host: h\r\nOrigin: https://evil.example\r\n")),
      options);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.detail, "origin https://evil.example is not allowed");
  EXPECT_EQ(refused.to_bytes(),
            "HTTP/1.1 403 Forbidden\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 43\r\n"
            "Connection: close\r\n"
            "\r\n"
            "origin https://evil.example is not allowed\n");
  // A prefix of an allowed origin is another origin.
  EXPECT_EQ(status_of(request(without("Host"), "Host: h\r\nOrigin: http://example.com.evil\r\n"),
                      options),
            403);
  // Not from a browser: no Origin to check.
  EXPECT_EQ(status_of(request(without("Host"), "Host: h\r\n"), options), 101);
  // Without an allow-list, any origin.
  EXPECT_EQ(status_of(request(without("Host"), "Host: h\r\nOrigin: https://evil.example\r\n")),
            101);
}

TEST(WebSocketHandshake, SameOriginAllowsOnlyThePageTheServerServed) {
  ServerHandshakeOptions options;
  options.same_origin = true;
  auto from = [&](std::string_view host, std::string_view origin) {
    std::string fields = "Host: ";
    fields += host;
    fields += "\r\n";
    if (!origin.empty()) {
      fields += "Origin: ";
      fields += origin;
      fields += "\r\n";
    }
    return status_of(request(without("Host"), fields), options);
  };
  EXPECT_EQ(from("127.0.0.1:8080", "http://127.0.0.1:8080"), 101);
  EXPECT_EQ(from("Chat.Example.com", "https://chat.example.COM"), 101);
  EXPECT_EQ(from("127.0.0.1:8080", "http://127.0.0.1:8081"), 403);  // another port
  EXPECT_EQ(from("127.0.0.1:8080", "http://evil.example"), 403);
  EXPECT_EQ(from("example.com", "http://example.com.evil"), 403);
  EXPECT_EQ(from("example.com", "ftp://example.com"), 403);
  EXPECT_EQ(from("example.com", "null"), 403);  // a sandboxed or file: page
  EXPECT_EQ(from("", "http://example.com"), 403);
  EXPECT_EQ(from("example.com", ""), 101);  // not from a browser
  // An allow-list, when given, decides instead.
  options.allowed_origins = {"https://elsewhere.example"};
  EXPECT_EQ(from("example.com", "https://elsewhere.example"), 101);
  EXPECT_EQ(from("example.com", "http://example.com"), 403);
}

TEST(WebSocketHandshake, RefusalsReadBackAsHttpResponses) {
  const auto answer = accept_upgrade(parse_request(request(without("Sec-WebSocket-Version"))));
  const std::string wire = answer.to_bytes();
  ResponseParser parser;
  const auto r = parser.parse(wire);
  ASSERT_EQ(r.event, sockit::http::ParseEvent::head);
  EXPECT_EQ(parser.head().status, 426);
  EXPECT_EQ(parser.head().reason, "Upgrade Required");
  EXPECT_EQ(parser.head().headers.get("sec-websocket-version"), "13");
  EXPECT_EQ(parser.head().headers.get("connection"), "close");
  const auto body = parser.parse(std::string_view(wire).substr(r.consumed));
  EXPECT_EQ(body.body, answer.detail + "\n");
}

// ---- The client's side ----

TEST(WebSocketHandshake, ClientRequest) {
  const ClientHandshake hs("server.example.com:8080", "/chat?room=1", counting,
                           "http://example.com");
  EXPECT_EQ(hs.key(), "AAECAwQFBgcICQoLDA0ODw==");
  EXPECT_TRUE(valid_key(hs.key()));
  EXPECT_EQ(hs.request(),
            "GET /chat?room=1 HTTP/1.1\r\n"
            "Host: server.example.com:8080\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Origin: http://example.com\r\n"
            "\r\n");
}

TEST(WebSocketHandshake, ClientAndServerAgree) {
  const ClientHandshake hs("localhost:9000", "/", sockit::websocket::system_random());
  const auto answer = accept_upgrade(parse_request(hs.request()));
  ASSERT_TRUE(answer.accepted()) << answer.detail;
  EXPECT_NO_THROW(hs.verify(parse_response(answer.to_bytes())));
}

TEST(WebSocketHandshake, ClientRefusesWrongAnswers) {
  const ClientHandshake hs("h:1", "/", counting);
  const std::string accept = accept_key(hs.key());
  const auto answer = [&](std::string_view status_line, std::string_view fields) {
    std::string wire(status_line);
    wire += "\r\n";
    wire.append(fields);
    wire += "\r\n";
    return parse_response(wire);
  };
  const std::string good =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n";
  EXPECT_NO_THROW(hs.verify(answer("HTTP/1.1 101 Switching Protocols", good)));
  const auto refused = [&](std::string_view status_line, const std::string& fields) {
    try {
      hs.verify(answer(status_line, fields));
    } catch (const sockit::Error& e) {
      EXPECT_EQ(e.code(), std::make_error_code(std::errc::protocol_error));
      EXPECT_EQ(e.target(), "h:1");
      return e.detail();
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused("HTTP/1.1 403 Forbidden", "Content-Length: 0\r\n"),
            "the server answered 403 Forbidden, not 101 Switching Protocols");
  EXPECT_EQ(refused("HTTP/1.1 101 Switching Protocols",
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"),
            "the answer's Upgrade is not websocket");
  EXPECT_EQ(
      refused("HTTP/1.1 101 Switching Protocols",
              "Upgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"),
      "the answer's Upgrade is not websocket");
  EXPECT_EQ(refused("HTTP/1.1 101 Switching Protocols",
                    "Upgrade: websocket\r\nSec-WebSocket-Accept: " + accept + "\r\n"),
            "the answer's Connection does not list upgrade");
  EXPECT_EQ(refused("HTTP/1.1 101 Switching Protocols",
                    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                        std::string(sample_accept) + "\r\n"),
            "Sec-WebSocket-Accept does not match the key sent");
  EXPECT_EQ(
      refused("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket\r\nConnection: Upgrade\r\n"),
      "Sec-WebSocket-Accept does not match the key sent");
  EXPECT_EQ(refused("HTTP/1.1 101 Switching Protocols",
                    good + "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            "an extension was not asked for");
  EXPECT_EQ(refused("HTTP/1.1 101 Switching Protocols", good + "Sec-WebSocket-Protocol: chat\r\n"),
            "a subprotocol was not asked for");
}

TEST(WebSocketHandshake, ClientRefusesCallersMistakes) {
  EXPECT_THROW(ClientHandshake("", "/", counting), std::invalid_argument);
  EXPECT_THROW(ClientHandshake("h", "", counting), std::invalid_argument);
  EXPECT_THROW(ClientHandshake("h", "/a b", counting), std::invalid_argument);
  EXPECT_THROW(ClientHandshake("h\r\nX: y", "/", counting), std::invalid_argument);
  EXPECT_THROW(ClientHandshake("h", "/", counting, "http://o\r\n"), std::invalid_argument);
  EXPECT_THROW(ClientHandshake("h", "/", {}), std::invalid_argument);
}

}  // namespace
