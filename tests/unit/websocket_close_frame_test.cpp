// Close frame payloads: every code valid and invalid on the wire, a 1-byte payload, a reason
// that is not UTF-8; and the payloads we build, with the caller's mistakes refused.
#include "sockit/websocket/close_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace {

using sockit::websocket::close_payload;
using sockit::websocket::CloseCode;
using sockit::websocket::parse_close_payload;
using sockit::websocket::ProtocolError;

std::string with_code(unsigned code, std::string_view reason = {}) {
  std::string out;
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xff);
  out.append(reason);
  return out;
}

CloseCode refusal(std::string_view payload) {
  try {
    parse_close_payload(payload);
  } catch (const ProtocolError& e) {
    return e.close_code();
  }
  ADD_FAILURE() << "no refusal";
  return CloseCode::normal;
}

TEST(WebSocketCloseFrame, EmptyPayloadHasNoStatus) {
  const auto close = parse_close_payload("");
  EXPECT_EQ(close.code, CloseCode::no_status);
  EXPECT_EQ(close.reason, "");
}

TEST(WebSocketCloseFrame, CodeAndReason) {
  const std::string payload = with_code(1000, "bye \xf0\x9f\x91\x8b");
  const auto close = parse_close_payload(payload);
  EXPECT_EQ(close.code, CloseCode::normal);
  EXPECT_EQ(close.reason, "bye \xf0\x9f\x91\x8b");
}

TEST(WebSocketCloseFrame, CodesValidOnTheWire) {
  for (const unsigned code : {1000U, 1001U, 1002U, 1003U, 1007U, 1008U, 1009U, 1010U, 1011U, 1012U,
                              1013U, 1014U, 3000U, 3999U, 4000U, 4999U}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(static_cast<unsigned>(parse_close_payload(with_code(code)).code), code);
  }
}

TEST(WebSocketCloseFrame, CodesInvalidOnTheWire) {
  for (const unsigned code :
       {0U, 999U, 1004U, 1005U, 1006U, 1015U, 1016U, 1100U, 2000U, 2999U, 5000U, 65535U}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(refusal(with_code(code)), CloseCode::protocol_error);
  }
  try {
    parse_close_payload(with_code(1005));
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.detail(), "close code 1005 is not valid on the wire");
  }
}

TEST(WebSocketCloseFrame, OneBytePayload) {
  EXPECT_EQ(refusal(std::string(1, '\x03')), CloseCode::protocol_error);
}

TEST(WebSocketCloseFrame, ReasonNotUtf8) {
  EXPECT_EQ(refusal(with_code(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")),
            CloseCode::invalid_payload);
  EXPECT_EQ(refusal(with_code(1000, "ok\xe2\x82")), CloseCode::invalid_payload);
}

TEST(WebSocketCloseFrame, BuildsPayloads) {
  EXPECT_EQ(close_payload(CloseCode::no_status), "");
  EXPECT_EQ(close_payload(CloseCode::normal), with_code(1000));
  EXPECT_EQ(close_payload(CloseCode::going_away, "restart"), with_code(1001, "restart"));
  EXPECT_EQ(close_payload(static_cast<CloseCode>(4000), std::string(123, 'r')),
            with_code(4000, std::string(123, 'r')));
  // What we build, we read back.
  const std::string payload = close_payload(CloseCode::message_too_big, "too big");
  EXPECT_EQ(parse_close_payload(payload).code, CloseCode::message_too_big);
  EXPECT_EQ(parse_close_payload(payload).reason, "too big");
}

TEST(WebSocketCloseFrame, RefusesCallersMistakes) {
  EXPECT_THROW(close_payload(CloseCode::no_status, "why"), std::invalid_argument);
  EXPECT_THROW(close_payload(CloseCode::abnormal), std::invalid_argument);
  EXPECT_THROW(close_payload(CloseCode::tls_handshake), std::invalid_argument);
  EXPECT_THROW(close_payload(static_cast<CloseCode>(999)), std::invalid_argument);
  EXPECT_THROW(close_payload(static_cast<CloseCode>(5000)), std::invalid_argument);
  EXPECT_THROW(close_payload(CloseCode::normal, std::string(124, 'r')), std::invalid_argument);
  EXPECT_THROW(close_payload(CloseCode::normal, "\xff"), std::invalid_argument);
}

}  // namespace
