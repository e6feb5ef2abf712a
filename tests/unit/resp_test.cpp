// RESP2: commands as arrays of bulk strings, replies decoded in any split and held to their
// bounds; and the chat room's redis:// URLs.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "../../src/server/chat_redis.hpp"
#include "sockit/error.hpp"
#include "sockit/resp.hpp"

namespace sockit {
namespace {

TEST(Resp, CommandIsAnArrayOfBulkStrings) {
  EXPECT_EQ(resp_command({"SUBSCRIBE", "lobby"}), "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nlobby\r\n");
  EXPECT_EQ(resp_command({"PUBLISH", "c", std::string_view("a\r\nb", 4)}),
            "*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$4\r\na\r\nb\r\n");
}

TEST(Resp, DecodesEachTypeInAnySplit) {
  const std::string wire =
      "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhe\r\nl\r\n$-1\r\n"
      "*3\r\n$7\r\nmessage\r\n$5\r\nlobby\r\n$2\r\nhi\r\n";
  for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
    RespDecoder decoder;
    std::vector<RespValue> values;
    for (std::size_t at = 0; at < wire.size(); at += piece) {
      decoder.feed(std::string_view(wire).substr(at, piece));
      while (auto value = decoder.next())
        values.push_back(std::move(*value));
    }
    ASSERT_EQ(values.size(), 6u) << "pieces of " << piece;
    EXPECT_EQ(values[0].type, RespValue::Type::simple);
    EXPECT_EQ(values[0].text, "OK");
    EXPECT_EQ(values[1].type, RespValue::Type::error);
    EXPECT_EQ(values[1].text, "ERR wrong");
    EXPECT_EQ(values[2].integer, 42);
    EXPECT_EQ(values[3].text, "he\r\nl");
    EXPECT_EQ(values[4].type, RespValue::Type::null);
    ASSERT_TRUE(values[5].is_array());
    ASSERT_EQ(values[5].items.size(), 3u);
    EXPECT_EQ(values[5].items[2].text, "hi");
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

void expect_refused(std::string_view wire, RespLimits limits = {}) {
  RespDecoder decoder(limits);
  decoder.feed(wire);
  EXPECT_THROW(
      {
        while (decoder.next()) {
        }
      },
      Error)
      << wire;
}

TEST(Resp, RefusesMalformedReplies) {
  expect_refused("?what\r\n");
  expect_refused(":12x\r\n");
  expect_refused("$-2\r\n");
  expect_refused("*-5\r\n");
  expect_refused("$2\r\nabXY");
  expect_refused("$\r\n");
}

TEST(Resp, HoldsRepliesToTheirBounds) {
  RespLimits limits;
  limits.max_bulk = 10;
  limits.max_items = 3;
  limits.max_depth = 2;
  limits.max_line = 16;
  limits.max_buffered = 40;
  expect_refused("$11\r\n", limits);  // refused before the bytes come
  expect_refused("$99999999999999999999\r\n", limits);
  expect_refused("*4\r\n", limits);
  expect_refused("*1\r\n*1\r\n*1\r\n:1\r\n", limits);
  expect_refused("+" + std::string(17, 'a'), limits);  // no CRLF yet, already too long
  expect_refused("*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n012345678", limits);
  RespDecoder decoder(limits);
  decoder.feed("*2\r\n*1\r\n:1\r\n$10\r\n0123456789\r\n");
  EXPECT_TRUE(decoder.next().has_value());
  // A line of exactly max_line bytes, its "\n" still to come.
  RespDecoder longest(limits);
  longest.feed("+" + std::string(16, 'a') + "\r");
  EXPECT_FALSE(longest.next().has_value());
  longest.feed("\n");
  EXPECT_TRUE(longest.next().has_value());
}

using server::detail::parse_chat_room_url;

TEST(ChatRoomUrl, NamesHostPortAndChannel) {
  auto room = parse_chat_room_url("redis://127.0.0.1:6380/lobby");
  EXPECT_EQ(room.host, "127.0.0.1");
  EXPECT_EQ(room.port, "6380");
  EXPECT_EQ(room.channel, "lobby");
  room = parse_chat_room_url("redis://cache.example/room:1");
  EXPECT_EQ(room.host, "cache.example");
  EXPECT_EQ(room.port, "6379");
  EXPECT_EQ(room.channel, "room:1");
  room = parse_chat_room_url("redis://[::1]:7000/x");
  EXPECT_EQ(room.host, "::1");
  EXPECT_EQ(room.port, "7000");
}

TEST(ChatRoomUrl, RefusesWhatIsNotOne) {
  for (const char* url :
       {"http://h:1/x", "redis://h:1", "redis://h:1/", "redis://:1/x", "redis://h:0/x",
        "redis://h:65536/x", "redis://h:x/y", "redis://h/a b", "redis://[::1/x"}) {
    EXPECT_THROW(parse_chat_room_url(url), std::invalid_argument) << url;
  }
}

}  // namespace
}  // namespace sockit
