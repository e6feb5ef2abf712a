// The WebSocket frame parser fed a peer's bytes in fuzzer-chosen pieces, as a server and
// as a client, with and without a negotiated RSV bit and a small payload limit: what it
// reports must not depend on the pieces; a frame accepted is within the limits and
// re-encodes (append_frame, same header and mask) to exactly the bytes it was read from;
// nothing but ProtocolError is thrown, with 1002 or 1009.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/websocket/frame_codec.hpp"

namespace {

using sockit::websocket::CloseCode;
using sockit::websocket::FrameEvent;
using sockit::websocket::FrameLimits;
using sockit::websocket::FrameParser;
using sockit::websocket::ProtocolError;
using sockit::websocket::Role;

class Run {
 public:
  Run(Role role, FrameLimits limits) : parser_(role, limits) {}

  // What the parser reported, and the frames re-encoded.
  std::string trace;
  std::string reencoded;

  void feed(std::string_view input) {
    if (failed_) return;
    const std::size_t most_rounds = 4 * input.size() + 16;
    try {
      for (std::size_t rounds = 0;; ++rounds) {
        FUZZ_CHECK(rounds <= most_rounds);
        const auto result = parser_.parse(input);
        FUZZ_CHECK(result.consumed <= input.size());
        input.remove_prefix(result.consumed);
        const auto& header = parser_.header();
        switch (result.event) {
          case FrameEvent::need_more:
            FUZZ_CHECK(input.empty());
            return;
          case FrameEvent::header:
            FUZZ_CHECK(header.payload_length <= parser_.limits().max_payload);
            FUZZ_CHECK((header.rsv & ~parser_.limits().allowed_rsv) == 0);
            FUZZ_CHECK(header.masked == (parser_.role() == Role::server));
            if (sockit::websocket::is_control(header.opcode)) {
              FUZZ_CHECK(header.fin && header.payload_length <= 125);
            }
            trace += "\nheader " + std::to_string(static_cast<int>(header.opcode)) + " " +
                     std::to_string(header.payload_length) + (header.fin ? " fin\n" : "\n");
            payload_.clear();
            break;
          case FrameEvent::payload:
            FUZZ_CHECK(!result.payload.empty());
            FUZZ_CHECK(result.payload_offset == payload_.size());
            sockit::websocket::append_unmasked(payload_, result.payload, header,
                                               result.payload_offset);
            FUZZ_CHECK(payload_.size() <= header.payload_length);
            break;
          case FrameEvent::frame_end:
            FUZZ_CHECK(payload_.size() == header.payload_length);
            FUZZ_CHECK(parser_.at_frame_boundary());
            trace += payload_;
            sockit::websocket::append_frame(reencoded, header, payload_);
            break;
        }
      }
    } catch (const ProtocolError& e) {
      FUZZ_CHECK(e.close_code() == CloseCode::protocol_error ||
                 e.close_code() == CloseCode::message_too_big);
      trace += "\nerror " + std::to_string(static_cast<int>(e.close_code()));
      failed_ = true;
    }
  }

 private:
  FrameParser parser_;
  std::string payload_;
  bool failed_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  const Role role = (input.choice & 0x80) != 0 ? Role::client : Role::server;
  FrameLimits limits;
  if ((input.choice & 0x40) != 0) limits.max_payload = 200;
  if ((input.choice & 0x20) != 0) limits.allowed_rsv = sockit::websocket::rsv1;

  Run whole(role, limits);
  whole.feed(input.message);
  Run split(role, limits);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice & 0x1f, input.message)) {
    split.feed(piece);
  }
  FUZZ_CHECK(whole.trace == split.trace);
  FUZZ_CHECK(whole.reencoded == split.reencoded);
  // The frames read are the input's first bytes, exactly.
  FUZZ_CHECK(input.message.substr(0, whole.reencoded.size()) == whole.reencoded);
  return 0;
}
