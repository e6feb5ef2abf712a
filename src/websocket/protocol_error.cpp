// Close codes a peer may send, and the protocol error that carries the code to answer with.
#include "sockit/websocket/protocol_error.hpp"

#include <system_error>

namespace sockit::websocket {

namespace {

std::error_code code_for(CloseCode code) noexcept {
  return code == CloseCode::message_too_big ? make_error_code(errc::frame_too_large)
                                            : std::make_error_code(std::errc::protocol_error);
}

}  // namespace

bool valid_on_wire(CloseCode code) noexcept {
  const auto value = static_cast<std::uint16_t>(code);
  if (value >= 1000 && value <= 1003) return true;
  if (value >= 1007 && value <= 1014) return true;
  return value >= 3000 && value <= 4999;
}

ProtocolError::ProtocolError(CloseCode code, const std::string& detail)
    : Error(code_for(code), "parse WebSocket frame", {}, detail), close_code_(code) {}

}  // namespace sockit::websocket
