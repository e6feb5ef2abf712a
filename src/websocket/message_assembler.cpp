// Message assembly over the frame parser: which frame may follow which, the UTF-8 of text as
// it arrives, and the size of a message across its fragments.
#include "sockit/websocket/message_assembler.hpp"

#include <string>

namespace sockit::websocket {

namespace {

constexpr std::size_t max_control_payload = 125;

[[noreturn]] void refuse(const std::string& detail) {
  throw ProtocolError(CloseCode::protocol_error, detail);
}

[[noreturn]] void too_big(std::uint64_t max) {
  throw ProtocolError(CloseCode::message_too_big,
                      "message larger than " + std::to_string(max) + " bytes");
}

}  // namespace

MessageAssembler::MessageAssembler(Role role, MessageLimits limits)
    : limits_(limits), frames_(role, FrameLimits{limits.max_message, 0}) {
  control_.reserve(max_control_payload);
}

void MessageAssembler::on_header(const FrameHeader& header) {
  in_control_ = is_control(header.opcode);
  if (in_control_) {
    control_opcode_ = header.opcode;
    control_.clear();
    return;
  }
  if (header.opcode == Opcode::continuation) {
    if (!in_message_) refuse("continuation frame with no message begun");
    if (header.payload_length > limits_.max_message - message_.size()) {
      too_big(limits_.max_message);
    }
  } else {
    if (in_message_) refuse("a new message begun inside a fragmented one");
    in_message_ = true;
    message_opcode_ = header.opcode;
    message_.clear();
    utf8_.reset();
  }
  final_fragment_ = header.fin;
}

void MessageAssembler::on_payload(const FrameParseResult& piece) {
  const FrameHeader& header = frames_.header();
  if (in_control_) {
    append_unmasked(control_, piece.payload, header, piece.payload_offset);
    return;
  }
  const std::size_t at = message_.size();
  append_unmasked(message_, piece.payload, header, piece.payload_offset);
  if (message_opcode_ == Opcode::text && !utf8_.feed(std::string_view(message_).substr(at))) {
    throw ProtocolError(CloseCode::invalid_payload, "text message is not valid UTF-8");
  }
}

bool MessageAssembler::on_frame_end(MessageResult& result) {
  if (in_control_) {
    result.payload = control_;
    switch (control_opcode_) {
      case Opcode::ping:
        result.event = MessageEvent::ping;
        break;
      case Opcode::pong:
        result.event = MessageEvent::pong;
        break;
      default:
        result.close = parse_close_payload(control_);
        result.payload = result.close.reason;
        result.event = MessageEvent::close;
        closed_ = true;
        break;
    }
    return true;
  }
  if (!final_fragment_) return false;
  if (message_opcode_ == Opcode::text && !utf8_.complete()) {
    throw ProtocolError(CloseCode::invalid_payload, "text message ends inside a UTF-8 sequence");
  }
  in_message_ = false;
  result.event = message_opcode_ == Opcode::text ? MessageEvent::text : MessageEvent::binary;
  result.payload = message_;
  return true;
}

MessageResult MessageAssembler::parse(std::string_view input) {
  if (closed_) return {MessageEvent::need_more, input.size(), {}, {}};
  std::size_t pos = 0;
  for (;;) {
    const auto r = frames_.parse(input.substr(pos));
    pos += r.consumed;
    switch (r.event) {
      case FrameEvent::need_more:
        return {MessageEvent::need_more, pos, {}, {}};
      case FrameEvent::header:
        on_header(frames_.header());
        break;
      case FrameEvent::payload:
        on_payload(r);
        break;
      case FrameEvent::frame_end: {
        MessageResult result;
        if (on_frame_end(result)) {
          result.consumed = pos;
          return result;
        }
        break;
      }
    }
  }
}

}  // namespace sockit::websocket
