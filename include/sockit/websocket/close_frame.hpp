// The payload of a WebSocket close frame (RFC 6455 section 5.5.1): an optional status code
// and a UTF-8 reason; read from a peer's frame, or built for ours.
#pragma once

#include <string>
#include <string_view>

#include "sockit/websocket/protocol_error.hpp"

namespace sockit::websocket {

struct CloseFrame {
  CloseCode code = CloseCode::no_status;  // no_status: the frame carried no code
  std::string_view reason;                // a view into the payload parsed
};

// A received close frame's payload. Throws ProtocolError: 1002 for a 1-byte payload or a code
// not valid on the wire (1005, 1006, 1015, 0..999, 1016..2999, 5000 and up), 1007 for a
// reason that is not UTF-8.
CloseFrame parse_close_payload(std::string_view payload);

// The payload for a close frame of ours: empty for CloseCode::no_status (then `reason` must be
// empty too), else the code and the reason. std::invalid_argument for a code not valid on the
// wire, a reason over 123 bytes (the frame's 125 less the code) or not UTF-8.
std::string close_payload(CloseCode code, std::string_view reason = {});

}  // namespace sockit::websocket
