// The WebSocket frame parser and writer: RFC 6455's examples (section 5.7), every length form
// at its edges, every refusal with its close code; each wire fed whole, byte by byte, in
// odd-sized pieces and split in two at every byte.
#include "sockit/websocket/frame_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support/piece_splits.hpp"

namespace {

using sockit::websocket::CloseCode;
using sockit::websocket::FrameEvent;
using sockit::websocket::FrameHeader;
using sockit::websocket::FrameLimits;
using sockit::websocket::FrameParser;
using sockit::websocket::FrameWriter;
using sockit::websocket::Opcode;
using sockit::websocket::ProtocolError;
using sockit::websocket::Role;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values)
    out += static_cast<char>(v);
  return out;
}

struct Frame {
  FrameHeader header;
  std::string payload;
  bool ended = false;
};

// Parses `wire` in pieces of the given lengths, unmasking the payloads.
std::vector<Frame> feed(Role role, std::string_view wire, const std::vector<std::size_t>& lengths,
                        FrameLimits limits = {}) {
  FrameParser parser(role, limits);
  std::vector<Frame> frames;
  Frame current;
  std::size_t at = 0;
  for (const std::size_t length : lengths) {
    std::string_view piece(wire.data() + at, length);
    at += length;
    for (;;) {
      const auto r = parser.parse(piece);
      EXPECT_LE(r.consumed, piece.size());
      const char* const end_of_consumed = piece.data() + r.consumed;
      piece.remove_prefix(r.consumed);
      if (r.event == FrameEvent::need_more) {
        EXPECT_TRUE(piece.empty());
        break;
      }
      if (r.event == FrameEvent::header) {
        current.header = parser.header();
      } else if (r.event == FrameEvent::payload) {
        EXPECT_FALSE(r.payload.empty());
        // A view into the input, never a copy.
        EXPECT_EQ(r.payload.data() + r.payload.size(), end_of_consumed);
        EXPECT_EQ(r.payload_offset, current.payload.size());
        sockit::websocket::append_unmasked(current.payload, r.payload, parser.header(),
                                           r.payload_offset);
      } else {
        EXPECT_EQ(current.payload.size(), current.header.payload_length);
        EXPECT_TRUE(parser.at_frame_boundary());
        current.ended = true;
        frames.push_back(std::move(current));
        current = Frame{};
      }
    }
  }
  if (!parser.at_frame_boundary()) frames.push_back(std::move(current));
  return frames;
}

// The frames of `wire`, the same however it is split.
std::vector<Frame> parse(Role role, const std::string& wire, FrameLimits limits = {}) {
  auto whole = feed(role, wire, {wire.size()}, limits);
  for (const auto& lengths : sockit::test::piece_splits(wire.size())) {
    const auto split = feed(role, wire, lengths, limits);
    EXPECT_EQ(split.size(), whole.size()) << lengths.size() << " pieces";
    for (std::size_t i = 0; i < split.size() && i < whole.size(); ++i) {
      EXPECT_EQ(split[i].payload, whole[i].payload);
      EXPECT_EQ(split[i].header.opcode, whole[i].header.opcode);
      EXPECT_EQ(split[i].header.fin, whole[i].header.fin);
      EXPECT_EQ(split[i].ended, whole[i].ended);
    }
    if (::testing::Test::HasFailure()) break;
  }
  return whole;
}

struct Refusal {
  CloseCode code = CloseCode::normal;
  std::string detail;
};

// The refusal `wire` meets: the same code and detail for every split.
Refusal refusal(Role role, const std::string& wire, FrameLimits limits = {}) {
  Refusal first;
  bool have_first = false;
  for (const auto& lengths : sockit::test::piece_splits(wire.size())) {
    try {
      feed(role, wire, lengths, limits);
      ADD_FAILURE() << "no refusal in " << lengths.size() << " pieces";
      return {};
    } catch (const ProtocolError& e) {
      EXPECT_EQ(std::string(e.what()), "parse WebSocket frame: " + e.detail());
      if (!have_first) {
        first = {e.close_code(), e.detail()};
        have_first = true;
      }
      EXPECT_EQ(e.close_code(), first.code) << lengths.size() << " pieces";
      EXPECT_EQ(e.detail(), first.detail) << lengths.size() << " pieces";
    }
    if (::testing::Test::HasFailure()) break;
  }
  return first;
}

void expect_refusal(Role role, const std::string& wire, CloseCode code, const std::string& detail,
                    FrameLimits limits = {}) {
  const auto r = refusal(role, wire, limits);
  EXPECT_EQ(r.code, code);
  EXPECT_EQ(r.detail, detail);
}

// A frame's bytes as the writer makes them, masked with `key` (when a client's).
std::string frame(Role sender, Opcode opcode, std::string_view payload, bool fin = true,
                  std::uint8_t rsv = 0) {
  std::string out;
  const auto writer = sender == Role::server
                          ? FrameWriter::server()
                          : FrameWriter::client([](std::span<std::uint8_t> k) {
                              const std::uint8_t key[] = {0x37, 0xfa, 0x21, 0x3d};
                              std::copy_n(key, 4, k.begin());
                            });
  writer.append(out, opcode, payload, fin, rsv);
  return out;
}

const std::string masked_hello =
    bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const std::string unmasked_hello = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});

// ---- RFC 6455 section 5.7 ----

TEST(WebSocketFrameParser, UnmaskedHelloFromAServer) {
  const auto frames = parse(Role::client, unmasked_hello);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].ended);
  EXPECT_TRUE(frames[0].header.fin);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  EXPECT_FALSE(frames[0].header.masked);
  EXPECT_EQ(frames[0].header.payload_length, 5U);
  EXPECT_EQ(frames[0].payload, "Hello");
}

TEST(WebSocketFrameParser, MaskedHelloFromAClient) {
  const auto frames = parse(Role::server, masked_hello);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].header.masked);
  EXPECT_EQ(frames[0].header.mask, (std::array<std::uint8_t, 4>{0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(frames[0].payload, "Hello");
}

TEST(WebSocketFrameParser, FragmentedUnmaskedText) {
  const auto frames =
      parse(Role::client, bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_FALSE(frames[0].header.fin);
  EXPECT_EQ(frames[0].header.opcode, Opcode::text);
  EXPECT_EQ(frames[0].payload, "Hel");
  EXPECT_TRUE(frames[1].header.fin);
  EXPECT_EQ(frames[1].header.opcode, Opcode::continuation);
  EXPECT_EQ(frames[1].payload, "lo");
}

TEST(WebSocketFrameParser, UnmaskedPingAndMaskedPong) {
  const auto ping = parse(Role::client, bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  ASSERT_EQ(ping.size(), 1U);
  EXPECT_EQ(ping[0].header.opcode, Opcode::ping);
  EXPECT_EQ(ping[0].payload, "Hello");
  const auto pong = parse(
      Role::server, bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
  ASSERT_EQ(pong.size(), 1U);
  EXPECT_EQ(pong[0].header.opcode, Opcode::pong);
  EXPECT_EQ(pong[0].payload, "Hello");
}

TEST(WebSocketFrameParser, BinaryOf256BytesIn16BitLength) {
  std::string payload(256, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i);
  const std::string wire = bytes({0x82, 0x7e, 0x01, 0x00}) + payload;
  const auto frames = parse(Role::client, wire);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.opcode, Opcode::binary);
  EXPECT_EQ(frames[0].header.payload_length, 256U);
  EXPECT_EQ(frames[0].payload, payload);
}

TEST(WebSocketFrameParser, BinaryOf64KiBIn64BitLength) {
  std::string payload(65536, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 7);
  const std::string wire =
      bytes({0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) + payload;
  const auto frames = parse(Role::client, wire);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.payload_length, 65536U);
  EXPECT_EQ(frames[0].payload, payload);
}

// ---- More that parses ----

TEST(WebSocketFrameParser, EmptyFramesEndRightAfterTheirHeader) {
  const auto frames = parse(Role::server, frame(Role::client, Opcode::text, "") +
                                              frame(Role::client, Opcode::ping, "") +
                                              frame(Role::client, Opcode::close, ""));
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[1].header.opcode, Opcode::ping);
  EXPECT_EQ(frames[2].header.opcode, Opcode::close);
  for (const auto& f : frames) {
    EXPECT_TRUE(f.ended);
    EXPECT_EQ(f.payload, "");
  }
}

TEST(WebSocketFrameParser, MaskedPayloadsOfEveryLengthForm) {
  for (const std::size_t size : {0U, 1U, 3U, 4U, 5U, 125U, 126U, 127U, 65535U, 65536U, 70001U}) {
    SCOPED_TRACE(size);
    std::string payload(size, 'x');
    for (std::size_t i = 0; i < size; ++i)
      payload[i] = static_cast<char>('a' + i % 26);
    const auto frames = parse(Role::server, frame(Role::client, Opcode::binary, payload));
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].payload, payload);
  }
}

TEST(WebSocketFrameParser, ControlFramesOf125Bytes) {
  const std::string payload(125, 'p');
  const auto frames = parse(Role::server, frame(Role::client, Opcode::ping, payload));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, payload);
}

TEST(WebSocketFrameParser, FrameAtTheLimitPasses) {
  const auto frames =
      parse(Role::server, frame(Role::client, Opcode::binary, std::string(100, 'b')), {100, 0});
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload.size(), 100U);
}

TEST(WebSocketFrameParser, NegotiatedReservedBitPasses) {
  const auto frames =
      parse(Role::server, frame(Role::client, Opcode::text, "z", true, sockit::websocket::rsv1),
            {1024, sockit::websocket::rsv1});
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].header.rsv, sockit::websocket::rsv1);
}

TEST(WebSocketFrameParser, IncompleteFrameWaits) {
  const auto frames = feed(Role::server, masked_hello.substr(0, 9), {9});
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_FALSE(frames[0].ended);
  EXPECT_EQ(frames[0].payload, "Hel");
}

// ---- Refusals ----

TEST(WebSocketFrameParser, ReservedBitsWithoutAnExtension) {
  for (const int rsv : {0x40, 0x20, 0x10, 0x70}) {
    SCOPED_TRACE(rsv);
    std::string wire = masked_hello;
    wire[0] = static_cast<char>(0x81 | rsv);
    const auto r = refusal(Role::server, wire);
    EXPECT_EQ(r.code, CloseCode::protocol_error);
  }
  std::string wire = masked_hello;
  wire[0] = static_cast<char>(0x81 | 0x20);
  expect_refusal(Role::server, wire, CloseCode::protocol_error,
                 "reserved bits 0x20 set without an extension that uses them",
                 {1024, sockit::websocket::rsv1});
}

TEST(WebSocketFrameParser, ReservedOpcodes) {
  for (const int opcode : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    SCOPED_TRACE(opcode);
    std::string wire = masked_hello;
    wire[0] = static_cast<char>(0x80 | opcode);
    EXPECT_EQ(refusal(Role::server, wire).code, CloseCode::protocol_error);
  }
  expect_refusal(Role::server, bytes({0x8b, 0x80, 0, 0, 0, 0}), CloseCode::protocol_error,
                 "reserved opcode 0x0b");
}

TEST(WebSocketFrameParser, ServerRequiresMaskedFrames) {
  expect_refusal(Role::server, unmasked_hello, CloseCode::protocol_error,
                 "unmasked frame from a client");
}

TEST(WebSocketFrameParser, ClientRequiresUnmaskedFrames) {
  expect_refusal(Role::client, masked_hello, CloseCode::protocol_error,
                 "masked frame from a server");
}

TEST(WebSocketFrameParser, FragmentedControlFrames) {
  for (const int opcode : {0x8, 0x9, 0xa}) {
    SCOPED_TRACE(opcode);
    const std::string wire = bytes({opcode, 0x80, 1, 2, 3, 4});
    EXPECT_EQ(refusal(Role::server, wire).code, CloseCode::protocol_error);
  }
  expect_refusal(Role::server, bytes({0x09, 0x80, 1, 2, 3, 4}), CloseCode::protocol_error,
                 "fragmented control frame (opcode 0x09)");
}

TEST(WebSocketFrameParser, ControlFramesOver125Bytes) {
  // 126 bytes in the 16-bit form: refused at the length byte, before the length arrives.
  expect_refusal(Role::server, bytes({0x89, 0xfe}), CloseCode::protocol_error,
                 "control frame longer than 125 bytes");
  expect_refusal(Role::server, bytes({0x88, 0xff}), CloseCode::protocol_error,
                 "control frame longer than 125 bytes");
  expect_refusal(Role::client, bytes({0x8a, 0x7e, 0x00, 0x7e}), CloseCode::protocol_error,
                 "control frame longer than 125 bytes");
}

TEST(WebSocketFrameParser, LengthsNotInTheirShortestForm) {
  expect_refusal(Role::client, bytes({0x82, 0x7e, 0x00, 0x7d}), CloseCode::protocol_error,
                 "length 125 in the 16-bit form (it fits in 7 bits)");
  expect_refusal(Role::client, bytes({0x82, 0x7e, 0x00, 0x00}), CloseCode::protocol_error,
                 "length 0 in the 16-bit form (it fits in 7 bits)");
  expect_refusal(Role::client, bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}),
                 CloseCode::protocol_error, "length 65535 in the 64-bit form (it fits in 16 bits)");
  expect_refusal(Role::server, bytes({0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x00, 0x7e}),
                 CloseCode::protocol_error, "length 126 in the 64-bit form (it fits in 16 bits)");
}

TEST(WebSocketFrameParser, SixtyFourBitLengthWithItsTopBitSet) {
  expect_refusal(Role::client, bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}),
                 CloseCode::protocol_error, "64-bit length with its top bit set");
}

TEST(WebSocketFrameParser, FrameOverTheLimitRefusedAtItsHeader) {
  expect_refusal(Role::server, frame(Role::client, Opcode::binary, std::string(101, 'b')),
                 CloseCode::message_too_big, "frame of 101 bytes (at most 100)", {100, 0});
  // The header alone is enough: no payload byte has to arrive.
  expect_refusal(Role::client, bytes({0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
                 CloseCode::message_too_big,
                 "frame of 9223372036854775807 bytes (at most 16777216)");
}

TEST(WebSocketFrameParser, TooLargeErrorCarriesTheLimitCode) {
  try {
    feed(Role::client, bytes({0x82, 0x7e, 0x01, 0x00}), {4}, {255, 0});
    FAIL() << "no refusal";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), std::error_code(sockit::errc::frame_too_large));
  }
  try {
    feed(Role::client, bytes({0x83}), {1});
    FAIL() << "no refusal";
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::protocol_error));
  }
}

// ---- The writer ----

TEST(WebSocketFrameWriter, ServerFramesAreTheRfcExamples) {
  EXPECT_EQ(frame(Role::server, Opcode::text, "Hello"), unmasked_hello);
  EXPECT_EQ(frame(Role::server, Opcode::text, "Hel", false) +
                frame(Role::server, Opcode::continuation, "lo"),
            bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}));
  EXPECT_EQ(frame(Role::server, Opcode::ping, "Hello"),
            bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  EXPECT_EQ(frame(Role::server, Opcode::binary, std::string(256, 'a')).substr(0, 4),
            bytes({0x82, 0x7e, 0x01, 0x00}));
  EXPECT_EQ(frame(Role::server, Opcode::binary, std::string(65536, 'a')).substr(0, 10),
            bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0}));
}

TEST(WebSocketFrameWriter, ClientFramesAreMaskedWithTheRandomSourcesKey) {
  EXPECT_EQ(frame(Role::client, Opcode::text, "Hello"), masked_hello);
  EXPECT_EQ(frame(Role::client, Opcode::pong, "Hello"),
            bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(WebSocketFrameWriter, EveryFrameGetsAFreshKey) {
  std::uint8_t next = 0;
  const auto writer = FrameWriter::client([&](std::span<std::uint8_t> key) {
    for (auto& b : key)
      b = next++;
  });
  std::string first;
  std::string second;
  writer.append(first, Opcode::text, "a");
  writer.append(second, Opcode::text, "a");
  EXPECT_EQ(first.substr(2, 4), bytes({0, 1, 2, 3}));
  EXPECT_EQ(second.substr(2, 4), bytes({4, 5, 6, 7}));
}

TEST(WebSocketFrameWriter, LengthsInTheirShortestForm) {
  EXPECT_EQ(frame(Role::server, Opcode::binary, std::string(125, 'a'))[1], 125);
  EXPECT_EQ(frame(Role::server, Opcode::binary, std::string(126, 'a')).substr(1, 3),
            bytes({0x7e, 0x00, 0x7e}));
  EXPECT_EQ(frame(Role::server, Opcode::binary, std::string(65535, 'a')).substr(1, 3),
            bytes({0x7e, 0xff, 0xff}));
  EXPECT_EQ(frame(Role::client, Opcode::binary, std::string(65536, 'a')).substr(1, 9),
            bytes({0xff, 0, 0, 0, 0, 0, 0x01, 0, 0}));
}

TEST(WebSocketFrameWriter, RoundTripsThroughTheParser) {
  for (const Role sender : {Role::server, Role::client}) {
    const Role reader = sender == Role::server ? Role::client : Role::server;
    const std::string payload = "the quick brown fox";
    const auto frames = parse(reader, frame(sender, Opcode::text, payload, false) +
                                          frame(sender, Opcode::ping, "") +
                                          frame(sender, Opcode::continuation, payload));
    ASSERT_EQ(frames.size(), 3U);
    EXPECT_EQ(frames[0].payload, payload);
    EXPECT_EQ(frames[1].header.opcode, Opcode::ping);
    EXPECT_EQ(frames[2].payload, payload);
  }
}

TEST(WebSocketFrameWriter, RefusesCallersMistakes) {
  std::string out;
  const auto server = FrameWriter::server();
  EXPECT_THROW(server.append(out, Opcode::ping, std::string(126, 'p')), std::invalid_argument);
  EXPECT_THROW(server.append(out, Opcode::close, "", false), std::invalid_argument);
  EXPECT_THROW(server.append(out, static_cast<Opcode>(3), "x"), std::invalid_argument);
  EXPECT_THROW(server.append(out, Opcode::text, "x", true, 0x80), std::invalid_argument);
  EXPECT_THROW(FrameWriter::client({}), std::invalid_argument);
  EXPECT_EQ(out, "");
}

TEST(WebSocketFrameWriter, SystemRandomFillsTheKey) {
  // Two 16-byte draws from getrandom(2) are equal with probability 2^-128.
  std::array<std::uint8_t, 16> a{};
  std::array<std::uint8_t, 16> b{};
  const auto random = sockit::websocket::system_random();
  random(a);
  random(b);
  EXPECT_NE(a, b);
}

}  // namespace
