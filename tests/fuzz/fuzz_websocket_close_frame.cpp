// A peer's close frame payload: one accepted carries no code (and no reason) or a code valid
// on the wire and a UTF-8 reason, and close_payload() builds the same bytes back from them.
// Nothing but ProtocolError (1002 or 1007) is thrown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/websocket/close_frame.hpp"
#include "sockit/websocket/utf8.hpp"

using sockit::websocket::CloseCode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload = sockit::fuzz::as_text(data, size);
  sockit::websocket::CloseFrame frame;
  try {
    frame = sockit::websocket::parse_close_payload(payload);
  } catch (const sockit::websocket::ProtocolError& e) {
    FUZZ_CHECK(e.close_code() == CloseCode::protocol_error ||
               e.close_code() == CloseCode::invalid_payload);
    return 0;
  }
  if (frame.code == CloseCode::no_status) {
    FUZZ_CHECK(payload.empty() && frame.reason.empty());
  } else {
    FUZZ_CHECK(sockit::websocket::valid_on_wire(frame.code));
    FUZZ_CHECK(sockit::websocket::is_valid_utf8(frame.reason));
  }
  // A close frame's payload is at most 125 bytes; past that close_payload refuses the reason.
  if (payload.size() <= 125) {
    FUZZ_CHECK(sockit::websocket::close_payload(frame.code, frame.reason) == payload);
  }
  return 0;
}
