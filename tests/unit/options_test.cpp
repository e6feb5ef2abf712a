// Typed socket options: every option of options.hpp set and read back through a real
// socket, the native conversions, option names and the setsockopt error messages.
#include "sockit/options.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/socket.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;

template <class Option>
void expect_boolean_round_trip(Socket& s) {
  s.set(Option{true});
  EXPECT_TRUE(s.get<Option>().value) << option::name_of(Option::level, Option::name);
  s.set(Option{false});
  EXPECT_FALSE(s.get<Option>().value) << option::name_of(Option::level, Option::name);
}

TEST(Options, BooleansOnATcpSocket) {
  Socket s(AF_INET, SOCK_STREAM);
  expect_boolean_round_trip<option::ReuseAddress>(s);
  expect_boolean_round_trip<option::ReusePort>(s);
  expect_boolean_round_trip<option::KeepAlive>(s);
  expect_boolean_round_trip<option::OobInline>(s);
  expect_boolean_round_trip<option::NoDelay>(s);
}

TEST(Options, BroadcastOnAUdpSocket) {
  Socket s(AF_INET, SOCK_DGRAM);
  expect_boolean_round_trip<option::Broadcast>(s);
}

TEST(Options, V6OnlyOnAnIpv6Socket) {
  int probe = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6 here";
  ::close(probe);
  Socket s(AF_INET6, SOCK_STREAM);
  expect_boolean_round_trip<option::V6Only>(s);
}

TEST(Options, AcceptConnectionsFollowsListen) {
  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_FALSE(s.get<option::AcceptConnections>().value);
  s.bind(Address::loopback_ipv4(0));
  s.listen();
  EXPECT_TRUE(s.get<option::AcceptConnections>().value);
}

TEST(Options, BufferSizesAreAtLeastWhatWasAsked) {
  // Linux doubles the value for bookkeeping, and clamps it to net.core.[rw]mem_max.
  Socket s(AF_INET, SOCK_STREAM);
  s.set(option::ReceiveBuffer{32 * 1024});
  EXPECT_GE(s.get<option::ReceiveBuffer>().value, 32 * 1024);
  s.set(option::SendBuffer{32 * 1024});
  EXPECT_GE(s.get<option::SendBuffer>().value, 32 * 1024);
  s.set(option::SendBuffer{4096});
  EXPECT_LT(s.get<option::SendBuffer>().value, 32 * 1024) << "the smaller size must take effect";
}

TEST(Options, SocketType) {
  EXPECT_EQ(Socket(AF_INET, SOCK_STREAM).get<option::SocketType>().value, SOCK_STREAM);
  EXPECT_EQ(Socket(AF_INET, SOCK_DGRAM).get<option::SocketType>().value, SOCK_DGRAM);
  EXPECT_EQ(Socket(AF_UNIX, SOCK_SEQPACKET).get<option::SocketType>().value, SOCK_SEQPACKET);
}

TEST(Options, TimeoutsAsDurations) {
  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_EQ(s.get<option::ReceiveTimeout>().value, 0us) << "no timeout by default";
  s.set(option::ReceiveTimeout{1500ms});
  EXPECT_EQ(s.get<option::ReceiveTimeout>().value, 1500ms);
  s.set(option::SendTimeout{std::chrono::seconds{2}});
  EXPECT_EQ(s.get<option::SendTimeout>().value, 2s);
  s.set(option::SendTimeout{0us});
  EXPECT_EQ(s.get<option::SendTimeout>().value, 0us);
}

TEST(Options, TimeoutNativeConversion) {
  option::ReceiveTimeout t{2'500'000us};
  timeval tv = t.to_native();
  EXPECT_EQ(tv.tv_sec, 2);
  EXPECT_EQ(tv.tv_usec, 500'000);
  EXPECT_EQ(option::ReceiveTimeout::from_native(tv).value, 2500ms);
}

TEST(Options, KeepAliveTimings) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set(option::KeepIdle{std::chrono::seconds{45}});
  s.set(option::KeepInterval{std::chrono::seconds{7}});
  s.set(option::KeepCount{3});
  EXPECT_EQ(s.get<option::KeepIdle>().value, 45s);
  EXPECT_EQ(s.get<option::KeepInterval>().value, 7s);
  EXPECT_EQ(s.get<option::KeepCount>().value, 3);
}

TEST(Options, LingerOnAndOff) {
  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_FALSE(s.get<option::Linger>().value.has_value()) << "off by default";
  s.set(option::Linger{std::chrono::seconds{5}});
  ASSERT_TRUE(s.get<option::Linger>().value.has_value());
  EXPECT_EQ(*s.get<option::Linger>().value, 5s);
  s.set(option::Linger{std::chrono::seconds{0}});
  ASSERT_TRUE(s.get<option::Linger>().value.has_value());
  EXPECT_EQ(*s.get<option::Linger>().value, 0s);
  s.set(option::Linger{});
  EXPECT_FALSE(s.get<option::Linger>().value.has_value());
}

TEST(Options, PendingErrorOfAFailedConnect) {
  Socket holder(AF_INET, SOCK_STREAM);  // bound, never listening: connects are refused
  holder.bind(Address::loopback_ipv4(0));

  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_FALSE(s.get<option::PendingError>().value);
  try {
    if (s.connect_nonblock(holder.local_address()) == ConnectStatus::in_progress) {
      ASSERT_TRUE(wait_writable(s, 10s));
    }
  } catch (const Error& e) {
    GTEST_SKIP() << "refused synchronously: " << e.what();
  }
  EXPECT_EQ(s.get<option::PendingError>().value, std::errc::connection_refused);
  EXPECT_FALSE(s.get<option::PendingError>().value) << "reading SO_ERROR clears it";
}

TEST(Options, SetsockoptErrorNamesTheOption) {
  Socket tcp(AF_INET, SOCK_STREAM);
  try {
    tcp.set(option::V6Only{true});  // an IPv6 option on an IPv4 socket
    FAIL() << "IPV6_V6ONLY accepted on an IPv4 socket";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::no_protocol_option);
    EXPECT_EQ(std::string(e.what()), "setsockopt IPV6_V6ONLY: Protocol not available");
  }
  Socket udp(AF_INET, SOCK_DGRAM);
  try {
    udp.set(option::NoDelay{true});
    FAIL() << "TCP_NODELAY accepted on a UDP socket";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "setsockopt TCP_NODELAY: Protocol not available");
  }
}

TEST(Options, GetsockoptErrorNamesTheOption) {
  Socket closed;
  try {
    closed.get<option::SocketType>();
    FAIL() << "getsockopt on no descriptor succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "getsockopt SO_TYPE: Bad file descriptor");
  }
}

TEST(Options, NameOfEveryOption) {
  using namespace option;
  auto name = [](auto o) { return name_of(decltype(o)::level, decltype(o)::name); };
  EXPECT_EQ(name(ReuseAddress{}), "SO_REUSEADDR");
  EXPECT_EQ(name(ReusePort{}), "SO_REUSEPORT");
  EXPECT_EQ(name(KeepAlive{}), "SO_KEEPALIVE");
  EXPECT_EQ(name(Broadcast{}), "SO_BROADCAST");
  EXPECT_EQ(name(OobInline{}), "SO_OOBINLINE");
  EXPECT_EQ(name(AcceptConnections{}), "SO_ACCEPTCONN");
  EXPECT_EQ(name(ReceiveBuffer{}), "SO_RCVBUF");
  EXPECT_EQ(name(SendBuffer{}), "SO_SNDBUF");
  EXPECT_EQ(name(SocketType{}), "SO_TYPE");
  EXPECT_EQ(name(ReceiveTimeout{}), "SO_RCVTIMEO");
  EXPECT_EQ(name(SendTimeout{}), "SO_SNDTIMEO");
  EXPECT_EQ(name(NoDelay{}), "TCP_NODELAY");
  EXPECT_EQ(name(KeepIdle{}), "TCP_KEEPIDLE");
  EXPECT_EQ(name(KeepInterval{}), "TCP_KEEPINTVL");
  EXPECT_EQ(name(KeepCount{}), "TCP_KEEPCNT");
  EXPECT_EQ(name(V6Only{}), "IPV6_V6ONLY");
  EXPECT_EQ(name(Linger{}), "SO_LINGER");
  EXPECT_EQ(name(PendingError{}), "SO_ERROR");
}

TEST(Options, NameOfUnknownOption) {
  EXPECT_EQ(option::name_of(12345, 678), "option 12345/678");
  EXPECT_EQ(option::name_of(SOL_SOCKET, 99999), "option 1/99999");
}

}  // namespace
}  // namespace sockit
