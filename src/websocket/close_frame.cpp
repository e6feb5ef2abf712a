// Close frame payloads: a big-endian 16-bit code, then the reason in UTF-8.
#include "sockit/websocket/close_frame.hpp"

#include <cstdint>
#include <stdexcept>

#include "sockit/websocket/utf8.hpp"

namespace sockit::websocket {

namespace {

constexpr std::size_t max_reason = 123;

}  // namespace

CloseFrame parse_close_payload(std::string_view payload) {
  if (payload.empty()) return {};
  if (payload.size() == 1) {
    throw ProtocolError(CloseCode::protocol_error, "close frame with a 1-byte payload");
  }
  const auto value = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                static_cast<std::uint8_t>(payload[1]));
  const auto code = static_cast<CloseCode>(value);
  if (!valid_on_wire(code)) {
    throw ProtocolError(CloseCode::protocol_error,
                        "close code " + std::to_string(value) + " is not valid on the wire");
  }
  const std::string_view reason = payload.substr(2);
  if (!is_valid_utf8(reason)) {
    throw ProtocolError(CloseCode::invalid_payload, "close reason is not valid UTF-8");
  }
  return {code, reason};
}

std::string close_payload(CloseCode code, std::string_view reason) {
  const auto value = static_cast<std::uint16_t>(code);
  if (code == CloseCode::no_status) {
    if (!reason.empty()) {
      throw std::invalid_argument("WebSocket close: a reason needs a status code");
    }
    return {};
  }
  if (!valid_on_wire(code)) {
    throw std::invalid_argument("WebSocket close: code " + std::to_string(value) +
                                " cannot be sent");
  }
  if (reason.size() > max_reason) {
    throw std::invalid_argument("WebSocket close: reason of " + std::to_string(reason.size()) +
                                " bytes (at most 123)");
  }
  if (!is_valid_utf8(reason)) {
    throw std::invalid_argument("WebSocket close: reason is not valid UTF-8");
  }
  std::string out;
  out.reserve(2 + reason.size());
  out += static_cast<char>(value >> 8);
  out += static_cast<char>(value & 0xff);
  out.append(reason);
  return out;
}

}  // namespace sockit::websocket
