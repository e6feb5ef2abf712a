// WebSocket close codes (RFC 6455 section 7.4) and the error a peer's protocol violation
// raises, carrying the code the connection must be closed with.
#pragma once

#include <cstdint>
#include <string>

#include "sockit/error.hpp"

namespace sockit::websocket {

// The status codes of RFC 6455 section 7.4.1 and the IANA registry. Any other value in
// 3000..4999 is valid too (registered or private use); cast it in.
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  protocol_error = 1002,
  unsupported_data = 1003,
  no_status = 1005,  // never on the wire: the close frame carried no code
  abnormal = 1006,   // never on the wire: the connection ended without a close frame
  invalid_payload = 1007,
  policy_violation = 1008,
  message_too_big = 1009,
  mandatory_extension = 1010,
  internal_error = 1011,
  service_restart = 1012,
  try_again_later = 1013,
  bad_gateway = 1014,
  tls_handshake = 1015,  // never on the wire: the TLS handshake failed
};

// Whether a close frame may carry `code`: 1000..1003, 1007..1014, 3000..4999.
bool valid_on_wire(CloseCode code) noexcept;

// A peer broke the protocol: close_code() is what to close the connection with (1002 a
// malformed frame or sequence, 1007 text that is not UTF-8, 1009 a message over the limit),
// detail() says why, for a log line and the close frame's reason:
// "control frame of 126 bytes (at most 125)". The error code is errc::frame_too_large for
// 1009 and std::errc::protocol_error otherwise.
class ProtocolError : public Error {
 public:
  ProtocolError(CloseCode code, const std::string& detail);
  CloseCode close_code() const noexcept { return close_code_; }

 private:
  CloseCode close_code_;
};

}  // namespace sockit::websocket
