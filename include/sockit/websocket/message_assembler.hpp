// WebSocket messages from frames, sans-I/O: fragments reassembled with control frames
// interleaved, text checked as UTF-8 as it arrives, messages bounded, close frames read.
// What a WebSocket session puts between its socket and its application.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sockit/websocket/close_frame.hpp"
#include "sockit/websocket/frame_codec.hpp"
#include "sockit/websocket/utf8.hpp"

namespace sockit::websocket {

struct MessageLimits {
  // A message (all its fragments together) over it is refused with 1009 as soon as a
  // frame's header declares it.
  std::uint64_t max_message = 16 * 1024 * 1024;
  // A peer silent this long is pinged, and closed (1011) if it stays silent as long again:
  // a peer gone without a FIN (a dead NAT entry, a pulled cable) does not hold its
  // connection for ever. 0: never. Used by WebSocketSession; the assembler ignores it.
  std::chrono::milliseconds idle_ping{30'000};
  // A frame or a fragmented message begun must be complete this long after its first byte
  // arrived, else the peer is closed (1008): a peer that dribbles a byte now and then is
  // never silent, so the idle ping alone would let it hold its connection for ever. Control
  // frames between fragments do not restart it. 0: no bound. Used by WebSocketSession.
  std::chrono::milliseconds message_timeout{30'000};
};

enum class MessageEvent {
  need_more,  // every byte given was consumed: feed more
  text,       // a complete text message, valid UTF-8, in `payload`
  binary,     // a complete binary message in `payload`
  ping,       // `payload` is the ping's data: answer with a pong carrying it
  pong,       // `payload` is the pong's data
  close,      // the peer closes: `close` holds its code and reason; nothing more is read
};

struct MessageResult {
  MessageEvent event = MessageEvent::need_more;
  std::size_t consumed = 0;
  // The message or control payload: a view into the assembler's buffer, valid until the
  // next call to parse().
  std::string_view payload;
  CloseFrame close;  // for MessageEvent::close
};

// Reads messages off one direction of a connection (a server's assembler reads a client's
// masked frames). Payload bytes are copied once, unmasked on the way, into the message
// buffer; the input is never written to, so it fits Session::on_data's bytes. The buffer
// grows with the bytes that arrive and is reused from one message to the next. Refuses with
// ProtocolError (the assembler is then unusable): 1002 for a frame the parser refuses, a
// continuation with no message begun, a new message inside a fragmented one, a malformed
// close frame; 1007 for text that is not UTF-8 (at the first byte that shows it, and a
// sequence cut short at the message's end); 1009 for a message over limits.max_message.
// After `close`, further input is consumed and ignored (RFC 6455 section 5.5.1).
//   for (;;) { auto r = a.parse(in); in.remove_prefix(r.consumed); switch (r.event) ... }
class MessageAssembler {
 public:
  explicit MessageAssembler(Role role, MessageLimits limits = {});

  // Consumes a prefix of `input` and reports one event. Call again with the rest until
  // need_more.
  MessageResult parse(std::string_view input);

  // A close frame has been read.
  bool closed() const noexcept { return closed_; }
  // Some fragments of a message have arrived, not its last one.
  bool in_message() const noexcept { return in_message_; }
  // No part of a frame or of a fragmented message is waiting for more bytes.
  bool between_messages() const noexcept { return !in_message_ && frames_.at_frame_boundary(); }
  const MessageLimits& limits() const noexcept { return limits_; }

 private:
  void on_header(const FrameHeader& header);
  void on_payload(const FrameParseResult& piece);
  // The frame ended: an event if it completed a message or was a control frame.
  bool on_frame_end(MessageResult& result);

  MessageLimits limits_;
  FrameParser frames_;
  bool closed_ = false;
  bool in_message_ = false;
  bool in_control_ = false;  // the frame being read is a control frame
  Opcode control_opcode_ = Opcode::ping;
  Opcode message_opcode_ = Opcode::text;
  bool final_fragment_ = false;
  std::string message_;
  std::string control_;
  Utf8Validator utf8_;
};

}  // namespace sockit::websocket
