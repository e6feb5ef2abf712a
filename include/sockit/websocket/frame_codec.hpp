// The WebSocket frame layer (RFC 6455 section 5), sans-I/O: a parser handed whatever bytes
// arrived, reporting one event at a time (a frame's header, a piece of its payload, its end)
// and refusing a malformed frame with the close code it deserves; and a writer appending
// frames to an output buffer, masked when a client sends them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sockit/websocket/protocol_error.hpp"

namespace sockit::websocket {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

// close, ping and pong: at most 125 bytes of payload, never fragmented.
constexpr bool is_control(Opcode opcode) noexcept {
  return (static_cast<std::uint8_t>(opcode) & 0x8) != 0;
}

// Which end of the connection this is. A server reads masked frames and writes unmasked
// ones; a client the other way round (RFC 6455 section 5.1).
enum class Role { server, client };

// The RSV bits of a frame's first byte, as they sit there.
inline constexpr std::uint8_t rsv1 = 0x40;
inline constexpr std::uint8_t rsv2 = 0x20;
inline constexpr std::uint8_t rsv3 = 0x10;

struct FrameHeader {
  bool fin = true;
  std::uint8_t rsv = 0;  // rsv1 | rsv2 | rsv3 as set on the frame
  Opcode opcode = Opcode::text;
  bool masked = false;
  std::array<std::uint8_t, 4> mask{};
  std::uint64_t payload_length = 0;
};

struct FrameLimits {
  // A frame declaring more is refused with 1009 at its header, before its payload arrives.
  std::uint64_t max_payload = 16 * 1024 * 1024;
  // The RSV bits an extension negotiated (rsv1 for permessage-deflate); any other set -> 1002.
  std::uint8_t allowed_rsv = 0;
};

enum class FrameEvent {
  need_more,  // every byte given was consumed: feed more
  header,     // a frame's header is complete: header() is valid
  payload,    // `payload` holds the frame's next payload bytes, as they arrived
  frame_end,  // the frame's payload is complete (also right after a header of length 0)
};

struct FrameParseResult {
  FrameEvent event = FrameEvent::need_more;
  std::size_t consumed = 0;
  // A view into the input given: still masked when header().masked (see append_unmasked).
  std::string_view payload;
  std::uint64_t payload_offset = 0;  // where in the frame's payload `payload` starts
};

// Parses frames off one direction of a connection. A server's parser requires masked frames
// and a client's unmasked ones. Payload bytes are never copied: they are handed out as views
// into the input, for the caller to unmask where it copies them (append_unmasked). Memory
// stays constant whatever length a frame declares. Refuses with 1002: RSV bits not
// negotiated, a reserved opcode, the wrong masking for the role, a control frame fragmented
// or over 125 bytes, a length not in its shortest form or with the 64-bit form's top bit
// set; with 1009 a frame over limits.max_payload. Each as soon as the bytes show it.
//   for (;;) { auto r = p.parse(in); in.remove_prefix(r.consumed); switch (r.event) ... }
class FrameParser {
 public:
  explicit FrameParser(Role role, FrameLimits limits = {}) : role_(role), limits_(limits) {}

  // Consumes a prefix of `input` and reports one event. Call again with the rest (also with
  // an empty rest after a header or payload: a frame may end without more bytes). Throws
  // ProtocolError; the parser is then unusable.
  FrameParseResult parse(std::string_view input);

  // Valid from the `header` event until the next frame's header starts.
  const FrameHeader& header() const noexcept { return header_; }
  // Between frames: no byte of the next frame has arrived.
  bool at_frame_boundary() const noexcept { return state_ == State::header && have_ == 0; }
  Role role() const noexcept { return role_; }
  const FrameLimits& limits() const noexcept { return limits_; }
  // Changes the limits between frames (e.g. once an extension is negotiated).
  void set_limits(FrameLimits limits) noexcept { limits_ = limits; }

 private:
  enum class State { header, payload };

  // Checks what the header bytes so far show; true once the header is complete.
  bool header_complete();

  Role role_;
  FrameLimits limits_;
  State state_ = State::header;
  std::array<std::uint8_t, 14> bytes_{};  // the header as it arrives: at most 2 + 8 + 4
  std::size_t have_ = 0;
  FrameHeader header_;
  std::uint64_t remaining_ = 0;  // payload bytes still to come
};

// Appends payload bytes to `out` as plain bytes: unmasked with header.mask when the frame is
// masked, `offset` being where they sit in the frame's payload (a parse result's
// payload_offset); copied as they are otherwise.
void append_unmasked(std::string& out, std::string_view payload, const FrameHeader& header,
                     std::uint64_t offset);

// Fills the bytes with unpredictable values (a client's masking keys and handshake key).
using RandomSource = std::function<void(std::span<std::uint8_t>)>;
// getrandom(2); throws sockit::Error if the kernel cannot give random bytes.
RandomSource system_random();

// Appends frames to an output buffer: a server's unmasked, a client's masked with a fresh key
// from its random source for every frame. Refuses a caller's mistake with
// std::invalid_argument: a control frame over 125 bytes or not final, an unknown opcode.
//   FrameWriter::server().append(out, Opcode::text, "Hello");
class FrameWriter {
 public:
  static FrameWriter server() { return FrameWriter(Role::server, {}); }
  // std::invalid_argument if `random` is empty.
  static FrameWriter client(RandomSource random);

  // One frame. `fin` false starts or continues a fragmented message (opcode continuation
  // after the first fragment); `rsv` is for an extension that negotiated its bits.
  void append(std::string& out, Opcode opcode, std::string_view payload, bool fin = true,
              std::uint8_t rsv = 0) const;
  Role role() const noexcept { return role_; }

 private:
  FrameWriter(Role role, RandomSource random) : role_(role), random_(std::move(random)) {}

  Role role_;
  RandomSource random_;
};

// One frame with a given header (its payload_length is taken from `payload`); masked with
// header.mask when header.masked. Checks as FrameWriter::append does.
void append_frame(std::string& out, const FrameHeader& header, std::string_view payload);

}  // namespace sockit::websocket
