// The frame parser: a header checked byte by byte as it arrives, then the payload handed out
// in the pieces it came in, unmasked where the caller copies it.
#include <algorithm>
#include <string>

#include "sockit/websocket/frame_codec.hpp"

namespace sockit::websocket {

namespace {

constexpr std::uint64_t max_control_payload = 125;

[[noreturn]] void refuse(const std::string& detail) {
  throw ProtocolError(CloseCode::protocol_error, detail);
}

std::string hex(unsigned value) {
  constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  out += digits[(value >> 4) & 15];
  out += digits[value & 15];
  return out;
}

bool known_opcode(unsigned opcode) noexcept {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

// Header bytes for the extended length after the first two bytes: 0, 2 or 8.
std::size_t extended_length_bytes(std::uint8_t length7) noexcept {
  if (length7 == 126) return 2;
  return length7 == 127 ? 8 : 0;
}

}  // namespace

bool FrameParser::header_complete() {
  const std::uint8_t first = bytes_[0];
  if (have_ == 1) {
    const auto rsv = static_cast<std::uint8_t>(first & 0x70);
    if ((rsv & ~limits_.allowed_rsv) != 0) {
      refuse("reserved bits " + hex(rsv) + " set without an extension that uses them");
    }
    const unsigned opcode = first & 0x0fU;
    if (!known_opcode(opcode)) refuse("reserved opcode " + hex(opcode));
    if (is_control(static_cast<Opcode>(opcode)) && (first & 0x80) == 0) {
      refuse("fragmented control frame (opcode " + hex(opcode) + ")");
    }
    return false;
  }
  const std::uint8_t second = bytes_[1];
  const bool masked = (second & 0x80) != 0;
  const auto length7 = static_cast<std::uint8_t>(second & 0x7f);
  const auto opcode = static_cast<Opcode>(first & 0x0f);
  if (have_ == 2) {
    if (role_ == Role::server && !masked) refuse("unmasked frame from a client");
    if (role_ == Role::client && masked) refuse("masked frame from a server");
    if (is_control(opcode) && length7 > max_control_payload) {
      refuse("control frame longer than 125 bytes");
    }
  }
  const std::size_t extended = extended_length_bytes(length7);
  const std::size_t length_end = 2 + extended;
  if (have_ == length_end) {
    std::uint64_t length = length7;
    if (extended != 0) {
      length = 0;
      for (std::size_t i = 2; i < length_end; ++i)
        length = (length << 8) | bytes_[i];
    }
    if (extended == 2 && length < 126) {
      refuse("length " + std::to_string(length) + " in the 16-bit form (it fits in 7 bits)");
    }
    if (extended == 8 && (length >> 63) != 0) refuse("64-bit length with its top bit set");
    if (extended == 8 && length <= 0xffff) {
      refuse("length " + std::to_string(length) + " in the 64-bit form (it fits in 16 bits)");
    }
    if (length > limits_.max_payload) {
      throw ProtocolError(CloseCode::message_too_big,
                          "frame of " + std::to_string(length) + " bytes (at most " +
                              std::to_string(limits_.max_payload) + ")");
    }
    header_.payload_length = length;
  }
  if (have_ < length_end + (masked ? 4 : 0)) return false;
  header_.fin = (first & 0x80) != 0;
  header_.rsv = static_cast<std::uint8_t>(first & 0x70);
  header_.opcode = opcode;
  header_.masked = masked;
  header_.mask = {};
  if (masked)
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(length_end), 4, header_.mask.begin());
  return true;
}

FrameParseResult FrameParser::parse(std::string_view input) {
  std::size_t pos = 0;
  if (state_ == State::header) {
    for (;;) {
      if (pos == input.size()) return {FrameEvent::need_more, pos, {}, 0};
      bytes_[have_++] = static_cast<std::uint8_t>(input[pos++]);
      if (header_complete()) break;
    }
    state_ = State::payload;
    remaining_ = header_.payload_length;
    return {FrameEvent::header, pos, {}, 0};
  }
  if (remaining_ == 0) {
    state_ = State::header;
    have_ = 0;
    return {FrameEvent::frame_end, pos, {}, header_.payload_length};
  }
  if (pos == input.size()) return {FrameEvent::need_more, pos, {}, 0};
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - pos));
  const std::uint64_t offset = header_.payload_length - remaining_;
  remaining_ -= n;
  return {FrameEvent::payload, pos + n, input.substr(pos, n), offset};
}

void append_unmasked(std::string& out, std::string_view payload, const FrameHeader& header,
                     std::uint64_t offset) {
  if (!header.masked) {
    out.append(payload);
    return;
  }
  const std::size_t at = out.size();
  out.resize(at + payload.size());
  char* const to = out.data() + at;
  const auto start = static_cast<std::size_t>(offset & 3);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    to[i] = static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ header.mask[(start + i) & 3]);
  }
}

}  // namespace sockit::websocket
