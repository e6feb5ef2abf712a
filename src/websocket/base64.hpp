// Base64 (RFC 4648, padded) for the handshake's keys; internal to sockit_websocket.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sockit::websocket::detail {

std::string base64(std::span<const std::uint8_t> bytes);

}  // namespace sockit::websocket::detail
