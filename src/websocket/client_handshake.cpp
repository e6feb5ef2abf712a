// The client's half of the opening handshake: the upgrade request with a fresh key, and the
// checks of RFC 6455 section 4.1 on the server's answer.
#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <system_error>

#include "base64.hpp"
#include "field_tokens.hpp"
#include "sockit/websocket/handshake.hpp"

namespace sockit::websocket {

namespace {

// Bytes that would break the request line or a field: spaces, controls, DEL.
bool fits_in_head(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

void check_part(std::string_view value, const char* what) {
  if (value.empty() || !fits_in_head(value)) {
    throw std::invalid_argument(std::string("WebSocket handshake: ") + what +
                                " is empty or holds a space or a control character");
  }
}

}  // namespace

ClientHandshake::ClientHandshake(std::string_view host, std::string_view target,
                                 const RandomSource& random, std::string_view origin)
    : host_(host) {
  check_part(host, "host");
  check_part(target, "target");
  if (!origin.empty()) check_part(origin, "origin");
  if (!random) throw std::invalid_argument("WebSocket handshake: no random source");
  std::array<std::uint8_t, 16> nonce{};
  random(nonce);
  key_ = detail::base64(nonce);
  request_ = "GET ";
  request_.append(target);
  request_ += " HTTP/1.1\r\nHost: ";
  request_.append(host);
  request_ += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  request_ += key_;
  request_ += "\r\nSec-WebSocket-Version: 13\r\n";
  if (!origin.empty()) {
    request_ += "Origin: ";
    request_.append(origin);
    request_ += "\r\n";
  }
  request_ += "\r\n";
}

void ClientHandshake::verify(const http::ResponseHead& response) const {
  const auto fail = [&](const std::string& why) {
    throw Error(std::make_error_code(std::errc::protocol_error), "WebSocket handshake", host_, why);
  };
  if (response.status != 101) {
    fail("the server answered " + std::to_string(response.status) + " " + response.reason +
         ", not 101 Switching Protocols");
  }
  const auto& headers = response.headers;
  const auto upgrades = headers.get_all("upgrade");
  if (upgrades.size() != 1 || !http::iequals(upgrades.front(), "websocket")) {
    fail("the answer's Upgrade is not websocket");
  }
  if (!detail::lists_token(headers, "connection", "upgrade")) {
    fail("the answer's Connection does not list upgrade");
  }
  const auto accepts = headers.get_all("sec-websocket-accept");
  if (accepts.size() != 1 || accepts.front() != accept_key(key_)) {
    fail("Sec-WebSocket-Accept does not match the key sent");
  }
  if (headers.contains("sec-websocket-extensions")) fail("an extension was not asked for");
  if (headers.contains("sec-websocket-protocol")) fail("a subprotocol was not asked for");
}

}  // namespace sockit::websocket
