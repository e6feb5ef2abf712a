// Messages from frames: fragments with control frames between them, text checked as UTF-8
// while it arrives (and refused at the first byte that shows it is not), the size limit across
// fragments, sequences of frames that may not follow each other, close frames; each wire fed
// whole, byte by byte, in odd-sized pieces and split in two at every byte.
#include "sockit/websocket/message_assembler.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/piece_splits.hpp"

namespace {

using sockit::websocket::CloseCode;
using sockit::websocket::FrameWriter;
using sockit::websocket::MessageAssembler;
using sockit::websocket::MessageEvent;
using sockit::websocket::MessageLimits;
using sockit::websocket::Opcode;
using sockit::websocket::ProtocolError;
using sockit::websocket::Role;

// A client's frame (masked with a key that changes from frame to frame), as a server reads it.
std::string frame(Opcode opcode, std::string_view payload, bool fin = true) {
  static std::uint8_t next = 0x5a;
  const auto writer = FrameWriter::client([](std::span<std::uint8_t> key) {
    for (auto& b : key)
      b = next += 0x3b;
  });
  std::string out;
  writer.append(out, opcode, payload, fin);
  return out;
}

std::string text(std::string_view payload, bool fin = true) {
  return frame(Opcode::text, payload, fin);
}
std::string more(std::string_view payload, bool fin = true) {
  return frame(Opcode::continuation, payload, fin);
}

// The events of `wire` fed in pieces of the given lengths, one line each:
// "text 'Hello'", "ping ''", "close 1000 'bye'".
std::vector<std::string> feed(std::string_view wire, const std::vector<std::size_t>& lengths,
                              MessageLimits limits = {}, Role role = Role::server) {
  MessageAssembler assembler(role, limits);
  std::vector<std::string> events;
  std::size_t at = 0;
  for (const std::size_t length : lengths) {
    std::string_view piece(wire.data() + at, length);
    at += length;
    for (;;) {
      const auto r = assembler.parse(piece);
      EXPECT_LE(r.consumed, piece.size());
      piece.remove_prefix(r.consumed);
      if (r.event == MessageEvent::need_more) {
        EXPECT_TRUE(piece.empty());
        break;
      }
      std::string line;
      switch (r.event) {
        case MessageEvent::text:
          line = "text";
          break;
        case MessageEvent::binary:
          line = "binary";
          break;
        case MessageEvent::ping:
          line = "ping";
          break;
        case MessageEvent::pong:
          line = "pong";
          break;
        default:
          line = "close " + std::to_string(static_cast<unsigned>(r.close.code));
          EXPECT_TRUE(assembler.closed());
          break;
      }
      line += " '";
      line.append(r.payload);
      line += "'";
      events.push_back(line);
    }
  }
  return events;
}

// The events of `wire`, the same however it is split.
std::vector<std::string> events_of(const std::string& wire, MessageLimits limits = {},
                                   Role role = Role::server) {
  auto whole = feed(wire, {wire.size()}, limits, role);
  for (const auto& lengths : sockit::test::piece_splits(wire.size())) {
    EXPECT_EQ(feed(wire, lengths, limits, role), whole) << lengths.size() << " pieces";
    if (::testing::Test::HasFailure()) break;
  }
  return whole;
}

struct Refusal {
  CloseCode code = CloseCode::normal;
  std::string detail;
};

Refusal refusal(const std::string& wire, MessageLimits limits = {}) {
  Refusal first;
  bool have_first = false;
  for (const auto& lengths : sockit::test::piece_splits(wire.size())) {
    try {
      feed(wire, lengths, limits);
      ADD_FAILURE() << "no refusal in " << lengths.size() << " pieces";
      return {};
    } catch (const ProtocolError& e) {
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

void expect_refusal(const std::string& wire, CloseCode code, const std::string& detail,
                    MessageLimits limits = {}) {
  const auto r = refusal(wire, limits);
  EXPECT_EQ(r.code, code);
  EXPECT_EQ(r.detail, detail);
}

using Events = std::vector<std::string>;

const std::string not_utf8 = "text message is not valid UTF-8";
const std::string cut_short = "text message ends inside a UTF-8 sequence";

// ---- Messages ----

TEST(WebSocketMessageAssembler, RfcFragmentedHelloFromAServer) {
  const std::string wire = "\x01\x03Hel\x80\x02lo";
  EXPECT_EQ(events_of(wire, {}, Role::client), (Events{"text 'Hello'"}));
}

TEST(WebSocketMessageAssembler, SingleFrameMessages) {
  EXPECT_EQ(events_of(text("Hello") + frame(Opcode::binary, std::string("\0\1\2", 3)) + text("")),
            (Events{"text 'Hello'", std::string("binary '\0\1\2'", 12), "text ''"}));
}

TEST(WebSocketMessageAssembler, FragmentsWithControlFramesBetweenThem) {
  const std::string wire = text("one ", false) + frame(Opcode::ping, "p1") + more("two ", false) +
                           frame(Opcode::pong, "p2") + more("", false) + frame(Opcode::ping, "") +
                           more("three");
  EXPECT_EQ(events_of(wire), (Events{"ping 'p1'", "pong 'p2'", "ping ''", "text 'one two three'"}));
}

TEST(WebSocketMessageAssembler, FragmentedBinaryThenText) {
  const std::string wire =
      frame(Opcode::binary, "ab", false) + more("cd") + text("x", false) + more("y");
  EXPECT_EQ(events_of(wire), (Events{"binary 'abcd'", "text 'xy'"}));
}

TEST(WebSocketMessageAssembler, MessageAtTheLimitPasses) {
  const std::string wire = text("12345", false) + more("67890");
  EXPECT_EQ(events_of(wire, {10}), (Events{"text '1234567890'"}));
}

// ---- UTF-8 ----

TEST(WebSocketMessageAssembler, Utf8SplitAcrossFragmentsAtEveryByte) {
  const std::string message = "\xf0\x9f\x98\x80 \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  for (std::size_t at = 0; at <= message.size(); ++at) {
    SCOPED_TRACE(at);
    const std::string wire =
        text(message.substr(0, at), false) + frame(Opcode::ping, "") + more(message.substr(at));
    EXPECT_EQ(feed(wire, {wire.size()}), (Events{"ping ''", "text '" + message + "'"}));
  }
}

TEST(WebSocketMessageAssembler, InvalidUtf8InOneFrame) {
  for (const std::string_view bad : {"\xc0\x80", "\xe0\x80\xaf", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80",
                                     "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xff", "\x80"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(bad)));
    expect_refusal(text("ok " + std::string(bad) + " more"), CloseCode::invalid_payload, not_utf8);
  }
}

TEST(WebSocketMessageAssembler, InvalidUtf8RefusedBeforeTheMessageEnds) {
  // The first fragment shows it: no need to wait for the rest (Autobahn's "fail fast").
  expect_refusal(text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", false),
                 CloseCode::invalid_payload, not_utf8);
  // A surrogate half made of two fragments' bytes.
  expect_refusal(text("a\xed", false) + more("\xa0\x80", false), CloseCode::invalid_payload,
                 not_utf8);
}

TEST(WebSocketMessageAssembler, Utf8CutShortAtTheMessagesEnd) {
  expect_refusal(text("\xce\xba\xe1\xbd"), CloseCode::invalid_payload, cut_short);
  expect_refusal(text("ab", false) + more("\xf0\x9f", false) + more("\x98"),
                 CloseCode::invalid_payload, cut_short);
  // Binary messages are bytes, not text.
  EXPECT_EQ(events_of(frame(Opcode::binary, "\xf0\x9f")), (Events{"binary '\xf0\x9f'"}));
}

TEST(WebSocketMessageAssembler, Utf8StateStartsAfreshForEachMessage) {
  EXPECT_EQ(events_of(text("\xc2\xb5") + text("\xe2\x82\xac")),
            (Events{"text '\xc2\xb5'", "text '\xe2\x82\xac'"}));
}

// ---- Sequences that may not happen ----

TEST(WebSocketMessageAssembler, ContinuationWithNoMessageBegun) {
  expect_refusal(more("x"), CloseCode::protocol_error, "continuation frame with no message begun");
  expect_refusal(text("a") + more("b"), CloseCode::protocol_error,
                 "continuation frame with no message begun");
}

TEST(WebSocketMessageAssembler, NewMessageInsideAFragmentedOne) {
  expect_refusal(text("a", false) + text("b"), CloseCode::protocol_error,
                 "a new message begun inside a fragmented one");
  expect_refusal(text("a", false) + frame(Opcode::binary, "b"), CloseCode::protocol_error,
                 "a new message begun inside a fragmented one");
}

TEST(WebSocketMessageAssembler, FrameRefusalsReachTheCaller) {
  expect_refusal("\x81\x05Hello", CloseCode::protocol_error, "unmasked frame from a client");
  expect_refusal(frame(Opcode::ping, "x").replace(0, 1, "\x09"), CloseCode::protocol_error,
                 "fragmented control frame (opcode 0x09)");
}

// ---- Size ----

TEST(WebSocketMessageAssembler, MessageOverTheLimitInOneFrame) {
  expect_refusal(text("12345678901"), CloseCode::message_too_big, "frame of 11 bytes (at most 10)",
                 {10});
}

TEST(WebSocketMessageAssembler, MessageOverTheLimitAcrossFragments) {
  // Refused at the second fragment's header, before its payload.
  const std::string wire = text("123456", false) + more("78901");
  expect_refusal(wire.substr(0, wire.size() - 5), CloseCode::message_too_big,
                 "message larger than 10 bytes", {10});
}

// ---- Close ----

TEST(WebSocketMessageAssembler, CloseWithCodeAndReason) {
  EXPECT_EQ(events_of(text("hi") + frame(Opcode::close,
                                         "\x03\xe8"
                                         "bye")),
            (Events{"text 'hi'", "close 1000 'bye'"}));
}

TEST(WebSocketMessageAssembler, CloseWithoutAPayload) {
  EXPECT_EQ(events_of(frame(Opcode::close, "")), (Events{"close 1005 ''"}));
}

TEST(WebSocketMessageAssembler, CloseInsideAFragmentedMessage) {
  EXPECT_EQ(events_of(text("a", false) + frame(Opcode::close, "\x03\xe9")),
            (Events{"close 1001 ''"}));
}

TEST(WebSocketMessageAssembler, NothingIsReadAfterClose) {
  EXPECT_EQ(events_of(frame(Opcode::close, "\x03\xe8") + text("ignored") + "\xff\xff garbage"),
            (Events{"close 1000 ''"}));
}

TEST(WebSocketMessageAssembler, MalformedCloseFrames) {
  expect_refusal(frame(Opcode::close, "\x03"), CloseCode::protocol_error,
                 "close frame with a 1-byte payload");
  expect_refusal(frame(Opcode::close, "\x03\xed"), CloseCode::protocol_error,
                 "close code 1005 is not valid on the wire");
  expect_refusal(frame(Opcode::close, "\x03\xe8\xed\xa0\x80"), CloseCode::invalid_payload,
                 "close reason is not valid UTF-8");
}

}  // namespace
