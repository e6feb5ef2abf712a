// The WebSocket message assembler fed a peer's frames in fuzzer-chosen pieces, as a server
// and as a client: the messages and control frames it reports, and the error, must not
// depend on the pieces; text is valid UTF-8; a message stays within the limit and a control
// payload within 125 bytes; a close carries a code valid on the wire (or none) and a UTF-8
// reason; after it, input is consumed and ignored. Nothing but ProtocolError (1002, 1007,
// 1009) is thrown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/websocket/message_assembler.hpp"
#include "sockit/websocket/utf8.hpp"

namespace {

using sockit::websocket::CloseCode;
using sockit::websocket::MessageAssembler;
using sockit::websocket::MessageEvent;
using sockit::websocket::MessageLimits;
using sockit::websocket::ProtocolError;
using sockit::websocket::Role;

class Run {
 public:
  Run(Role role, MessageLimits limits) : assembler_(role, limits) {}

  std::string trace;

  void feed(std::string_view input) {
    if (failed_) return;
    const std::size_t most_rounds = 4 * input.size() + 16;
    try {
      for (std::size_t rounds = 0;; ++rounds) {
        FUZZ_CHECK(rounds <= most_rounds);
        const bool was_closed = assembler_.closed();
        const auto result = assembler_.parse(input);
        FUZZ_CHECK(result.consumed <= input.size());
        input.remove_prefix(result.consumed);
        if (was_closed) FUZZ_CHECK(result.event == MessageEvent::need_more);
        switch (result.event) {
          case MessageEvent::need_more:
            FUZZ_CHECK(input.empty());
            return;
          case MessageEvent::text:
            FUZZ_CHECK(sockit::websocket::is_valid_utf8(result.payload));
            [[fallthrough]];
          case MessageEvent::binary:
            FUZZ_CHECK(result.payload.size() <= assembler_.limits().max_message);
            FUZZ_CHECK(!assembler_.in_message());
            break;
          case MessageEvent::ping:
          case MessageEvent::pong:
            FUZZ_CHECK(result.payload.size() <= 125);
            break;
          case MessageEvent::close:
            FUZZ_CHECK(assembler_.closed());
            FUZZ_CHECK(result.close.code == CloseCode::no_status ||
                       sockit::websocket::valid_on_wire(result.close.code));
            FUZZ_CHECK(sockit::websocket::is_valid_utf8(result.close.reason));
            trace += "\nclose " + std::to_string(static_cast<int>(result.close.code)) + " ";
            trace.append(result.close.reason);
            continue;
        }
        trace += "\n" + std::to_string(static_cast<int>(result.event)) + " ";
        trace.append(result.payload);
      }
    } catch (const ProtocolError& e) {
      const CloseCode code = e.close_code();
      FUZZ_CHECK(code == CloseCode::protocol_error || code == CloseCode::invalid_payload ||
                 code == CloseCode::message_too_big);
      trace += "\nerror " + std::to_string(static_cast<int>(code));
      failed_ = true;
    }
  }

 private:
  MessageAssembler assembler_;
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const Role role = (input.choice & 0x80) != 0 ? Role::client : Role::server;
  MessageLimits limits;
  if ((input.choice & 0x40) != 0) limits.max_message = 300;

  Run whole(role, limits);
  whole.feed(input.message);
  Run split(role, limits);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice & 0x3f, input.message)) {
    split.feed(piece);
  }
  FUZZ_CHECK(whole.trace == split.trace);
  return 0;
}
