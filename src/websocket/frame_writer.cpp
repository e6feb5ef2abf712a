// The frame writer: header in its shortest form, payload copied once into the output, masked
// on the way when a client sends it; and the kernel's random bytes for the masking keys.
#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "sockit/websocket/frame_codec.hpp"

namespace sockit::websocket {

namespace {

void check_frame(const FrameHeader& header, std::size_t payload_size) {
  const auto opcode = static_cast<unsigned>(header.opcode);
  if (opcode > 0xf || !(opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa))) {
    throw std::invalid_argument("WebSocket frame: unknown opcode " + std::to_string(opcode));
  }
  if ((header.rsv & ~0x70U) != 0) {
    throw std::invalid_argument("WebSocket frame: rsv holds bits other than rsv1..rsv3");
  }
  if (is_control(header.opcode) && payload_size > 125) {
    throw std::invalid_argument("WebSocket frame: control frame of " +
                                std::to_string(payload_size) + " bytes (at most 125)");
  }
  if (is_control(header.opcode) && !header.fin) {
    throw std::invalid_argument("WebSocket frame: a control frame cannot be fragmented");
  }
}

}  // namespace

void append_frame(std::string& out, const FrameHeader& header, std::string_view payload) {
  check_frame(header, payload.size());
  const std::uint64_t length = payload.size();
  out += static_cast<char>((header.fin ? 0x80U : 0U) | header.rsv |
                           static_cast<unsigned>(header.opcode));
  const unsigned mask_bit = header.masked ? 0x80U : 0U;
  if (length < 126) {
    out += static_cast<char>(mask_bit | static_cast<unsigned>(length));
  } else {
    const int bytes = length <= 0xffff ? 2 : 8;
    out += static_cast<char>(mask_bit | (bytes == 2 ? 126U : 127U));
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
      out += static_cast<char>((length >> shift) & 0xff);
    }
  }
  if (!header.masked) {
    out.append(payload);
    return;
  }
  for (const std::uint8_t k : header.mask)
    out += static_cast<char>(k);
  // Masking is its own inverse.
  append_unmasked(out, payload, header, 0);
}

FrameWriter FrameWriter::client(RandomSource random) {
  if (!random) throw std::invalid_argument("WebSocket client frame writer: no random source");
  return FrameWriter(Role::client, std::move(random));
}

void FrameWriter::append(std::string& out, Opcode opcode, std::string_view payload, bool fin,
                         std::uint8_t rsv) const {
  FrameHeader header;
  header.fin = fin;
  header.rsv = rsv;
  header.opcode = opcode;
  header.masked = role_ == Role::client;
  if (header.masked) random_(header.mask);
  append_frame(out, header, payload);
}

RandomSource system_random() {
  return [](std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("getrandom", {}, errno);
      }
      done += static_cast<std::size_t>(n);
    }
  };
}

}  // namespace sockit::websocket
