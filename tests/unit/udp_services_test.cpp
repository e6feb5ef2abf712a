// The UDP services' answers (src/server/udp_services.cpp), and what keeps a UDP server from
// being a reflector or one half of a loop: the datagrams that get no answer at all.
#include "sockit/server/udp_services.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sockit/address.hpp"

namespace sockit::server {
namespace {

const std::string unknown = "Unknown command. Use TIME, TIMESTAMP, or ISO8601";
const Address client = Address::loopback_ipv4(40000);

TEST(UdpTimeService, AnswersEachCommandAndAMistypedOne) {
  UdpTimeService time;
  for (const char* command : {"TIME", "TIMESTAMP", "ISO8601", "  TIMESTAMP \n"}) {
    auto reply = time.answer(command, client);
    ASSERT_TRUE(reply.has_value()) << command;
    EXPECT_NE(*reply, unknown) << command;
  }
  EXPECT_EQ(time.answer("HELLO", client), unknown);
  EXPECT_EQ(time.answer("time\n", client), unknown);
}

TEST(UdpTimeService, EmptyOrBlankDatagramGetsNoAnswer) {
  UdpTimeService time;
  EXPECT_EQ(time.answer("", client), std::nullopt);
  EXPECT_EQ(time.answer(" \r\n", client), std::nullopt);
}

TEST(UdpTimeService, NeverAnswersAnErrorOrAnotherServersReply) {
  UdpTimeService time;
  EXPECT_EQ(time.answer(unknown, client), std::nullopt);
  EXPECT_EQ(time.answer("Received: HELLO", client), std::nullopt);
  EXPECT_EQ(time.answer("2026-11-25 23:36:57 +0000", client), std::nullopt);
  EXPECT_EQ(time.answer("2026-11-25T23:36:57+00:00", client), std::nullopt);
}

TEST(UdpEchoService, EchoesWithThePrefix) {
  UdpEchoService echo;
  EXPECT_EQ(echo.answer("hello udp", client), "Received: hello udp");
  EXPECT_EQ(echo.answer(std::string("a\0b", 3), client), std::string("Received: a\0b", 13));
}

TEST(UdpEchoService, EmptyDatagramOrAnEchoGetsNoAnswer) {
  UdpEchoService echo;
  EXPECT_EQ(echo.answer("", client), std::nullopt);
  EXPECT_EQ(echo.answer("Received: hello", client), std::nullopt);
}

// Two servers pointed at each other by one forged datagram: each reply is the other's
// request. Whatever starts it, the exchange ends within a few datagrams.
TEST(UdpServices, NoTwoServicesAnswerEachOtherForever) {
  auto make = [](const std::string& name) -> std::shared_ptr<UdpService> {
    if (name == "time") return std::make_shared<UdpTimeService>();
    return std::make_shared<UdpEchoService>();
  };
  const std::vector<std::string> starts{"TIME", "TIMESTAMP", "ISO8601", "HELLO",
                                        "x",    "",          unknown,   "Received: x"};
  for (const char* a_name : {"time", "echo"}) {
    for (const char* b_name : {"time", "echo"}) {
      for (const std::string& start : starts) {
        auto a = make(a_name);
        auto b = make(b_name);
        std::optional<std::string> datagram = start;
        int exchanged = 0;
        for (; datagram && exchanged < 100; ++exchanged) {
          datagram = (exchanged % 2 == 0 ? a : b)->answer(*datagram, client);
        }
        EXPECT_LE(exchanged, 4) << a_name << " <-> " << b_name << " started by '" << start << "'";
      }
    }
  }
}

TEST(AnswerableSource, PortZeroPrivilegedAndServicePortsAreNot) {
  for (std::uint16_t port : {0, 7, 13, 19, 37, 53, 123, 161, 1023, 1900, 3000, 5353, 7777, 11211}) {
    EXPECT_FALSE(answerable_source(Address::loopback_ipv4(port))) << port;
    EXPECT_FALSE(answerable_source(Address::loopback_ipv6(port))) << port;
  }
}

TEST(AnswerableSource, EphemeralPortsAre) {
  for (std::uint16_t port : {1024, 2999, 32768, 40000, 60999, 65535}) {
    EXPECT_TRUE(answerable_source(Address::loopback_ipv4(port))) << port;
    EXPECT_TRUE(answerable_source(Address::parse("192.0.2.1", port))) << port;
  }
}

TEST(UdpServerOptions, RateLimitedPerAddressByDefault) {
  EXPECT_GT(UdpServerOptions{}.rate_per_second, 0);
}

}  // namespace
}  // namespace sockit::server
