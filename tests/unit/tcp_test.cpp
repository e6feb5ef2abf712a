// TcpServer and TcpSocket over loopback: port 0, IPv4/IPv6/dual-stack listeners, the
// address race of TcpSocket::connect, tcp_server_sockets and the exact error messages.
#include "sockit/tcp.hpp"
#include "support/socket_io.hpp"

#include <gtest/gtest.h>
#include <netdb.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "support/unresolvable.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;

bool ipv6_loopback_available() {
  try {
    Socket probe(AF_INET6, SOCK_STREAM);
    probe.bind(Address::loopback_ipv6(0));
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Sends through the base class, to show a TcpSocket goes where a Socket& is taken.
void send_text(Socket& socket, std::string_view text) {
  ASSERT_EQ(socket.send(text), text.size());
}

using sockit::test::receive_text;

// Client and accepted socket talk both ways; the peer seen by the server is the client.
void expect_round_trip(TcpServer& server, TcpSocket& client) {
  TcpAccepted accepted = server.accept(10s);
  EXPECT_EQ(accepted.peer.unmap_v4(), client.local_address().unmap_v4());
  send_text(client, "ping");
  EXPECT_EQ(receive_text(accepted.socket, 4), "ping");
  send_text(accepted.socket, "pong");
  EXPECT_EQ(receive_text(client, 4), "pong");
}

// A port on 127.0.0.1 that refuses connections: bound (so nobody else gets it) but not
// listening, so a SYN to it is answered with a reset.
struct RefusingPort {
  Socket holder{AF_INET, SOCK_STREAM};
  std::uint16_t port = 0;
  RefusingPort() {
    holder.bind(Address::loopback_ipv4(0));
    port = holder.local_address().port();
  }
};

// A listener whose accept queue is full, so further SYNs are dropped and connects to it
// stay pending: a stand-in for an address that does not answer.
struct SilentServer {
  Socket listener{AF_INET, SOCK_STREAM};
  std::vector<Socket> fillers;
  std::uint16_t port = 0;
  SilentServer() {
    listener.bind(Address::loopback_ipv4(0));
    listener.listen(0);
    port = listener.local_address().port();
    // With backlog 0 the queue holds one connection; fill it (and a spare, for kernels
    // that count differently) without ever accepting.
    for (int i = 0; i < 2; ++i) {
      Socket filler(AF_INET, SOCK_STREAM);
      filler.connect_nonblock(Address::loopback_ipv4(port));
      fillers.push_back(std::move(filler));
    }
  }
  // Whether a fresh connect really hangs here (it does on Linux; checked, not assumed).
  bool is_silent() {
    Socket probe(AF_INET, SOCK_STREAM);
    std::error_code ec;
    probe.connect(Address::loopback_ipv4(port), 500ms, ec);
    return ec == std::errc::timed_out || ec == errc::timed_out;
  }
};

TEST(TcpServer, PortZeroReportsTheRealPort) {
  TcpServer server("127.0.0.1", 0);
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.address(), Address::loopback_ipv4(server.port()));
  TcpSocket client = TcpSocket::connect("127.0.0.1", server.port());
  expect_round_trip(server, client);
}

TEST(TcpServer, Ipv4ServerAcceptsLoopbackClient) {
  TcpServer server("127.0.0.1", 0);
  TcpSocket client = TcpSocket::connect(Address::loopback_ipv4(server.port()), 10s);
  EXPECT_EQ(client.remote_address(), Address::loopback_ipv4(server.port()));
  expect_round_trip(server, client);
}

TEST(TcpServer, Ipv6ServerAcceptsLoopbackClient) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
  TcpServer server("::1", 0);
  EXPECT_TRUE(server.address().is_ipv6());
  TcpSocket client = TcpSocket::connect("::1", server.port());
  EXPECT_EQ(client.remote_address(), Address::loopback_ipv6(server.port()));
  expect_round_trip(server, client);
}

TEST(TcpServer, WildcardServerIsDualStack) {
  TcpServer server("", 0);
  if (!ipv6_loopback_available()) {
    EXPECT_EQ(server.address(), Address::any_ipv4(server.port()));
    TcpSocket client = TcpSocket::connect("127.0.0.1", server.port());
    expect_round_trip(server, client);
    return;
  }
  EXPECT_EQ(server.address(), Address::any_ipv6(server.port()));
  EXPECT_FALSE(server.get<option::V6Only>().value);
  for (const char* host : {"127.0.0.1", "::1"}) {
    SCOPED_TRACE(host);
    TcpSocket client = TcpSocket::connect(host, server.port());
    expect_round_trip(server, client);
  }
}

TEST(TcpServer, SecondServerOnTheSamePortNamesTheAddress) {
  TcpServer first("127.0.0.1", 0);
  try {
    TcpServer second("127.0.0.1", first.port());
    FAIL() << "second bind succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(EADDRINUSE));
    EXPECT_EQ(std::string(error.what()),
              "bind 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use");
  }
}

TEST(TcpServer, ReusePortLetsTwoServersShareAPort) {
  ListenOptions options;
  options.reuse_port = true;
  TcpServer first("127.0.0.1", 0, options);
  TcpServer second("127.0.0.1", first.port(), options);
  EXPECT_EQ(second.port(), first.port());
  EXPECT_TRUE(second.get<option::ReusePort>().value);
}

TEST(TcpServer, AcceptTimesOutAndNonblockReportsNobody) {
  TcpServer server("127.0.0.1", 0);
  EXPECT_FALSE(server.accept_nonblock().has_value());
  try {
    (void)server.accept(50ms);
    FAIL() << "accept returned without a client";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), std::errc::timed_out);
  }
  TcpSocket client = TcpSocket::connect("127.0.0.1", server.port());
  std::optional<TcpAccepted> accepted;
  for (int i = 0; i < 1000 && !accepted; ++i) {
    accepted = server.accept_nonblock();
    if (!accepted) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->peer, client.local_address());
}

TEST(TcpServerSockets, OneSocketPerAddressAllOnOnePort) {
  std::vector<TcpServer> servers = tcp_server_sockets("", 0);
  ASSERT_FALSE(servers.empty());
  const std::uint16_t port = servers.front().port();
  EXPECT_NE(port, 0);
  bool has_v4 = false;
  for (auto& server : servers) {
    EXPECT_EQ(server.port(), port);
    if (server.address().is_ipv6()) {
      EXPECT_TRUE(server.get<option::V6Only>().value);
    }
    has_v4 = has_v4 || server.address().is_ipv4();
  }
  EXPECT_TRUE(has_v4);
  if (ipv6_loopback_available()) {
    EXPECT_EQ(servers.size(), 2U);
  }
  for (auto& server : servers) {
    SCOPED_TRACE(server.address().to_string());
    const char* host = server.address().is_ipv6() ? "::1" : "127.0.0.1";
    TcpSocket client = TcpSocket::connect(host, port);
    expect_round_trip(server, client);
  }
}

TEST(TcpSocket, ConnectsToLocalhostWhateverFamilyItResolvesTo) {
  // A server on only one of the loopback addresses: the attempt on the other family (if
  // localhost has one) is refused and the race goes on to the one that listens.
  std::vector<std::string> hosts = {"127.0.0.1"};
  if (ipv6_loopback_available()) hosts.emplace_back("::1");
  int connected = 0;
  for (const auto& only : hosts) {
    SCOPED_TRACE(only);
    TcpServer server(only, 0);
    bool localhost_has_it = false;
    for (const auto& result : resolve("localhost", server.port())) {
      localhost_has_it = localhost_has_it || result.address == server.address();
    }
    if (!localhost_has_it) continue;  // e.g. /etc/hosts without ::1 localhost
    TcpSocket client = TcpSocket::connect("localhost", server.port());
    EXPECT_EQ(client.remote_address(), server.address());
    expect_round_trip(server, client);
    ++connected;
  }
  // localhost is at least one of the loopback addresses (RFC 6761 and every /etc/hosts).
  EXPECT_GE(connected, 1) << "localhost resolved to neither 127.0.0.1 nor ::1";
}

TEST(TcpSocket, ASlowAddressDoesNotHoldUpTheNext) {
  SilentServer silent;
  if (!silent.is_silent()) GTEST_SKIP() << "this kernel does not drop SYNs on a full queue";
  TcpServer live("127.0.0.1", 0);
  const std::array<Address, 2> addresses = {Address::loopback_ipv4(silent.port),
                                            Address::loopback_ipv4(live.port())};
  ConnectOptions options;
  options.attempt_delay = 100ms;
  options.timeout = 30s;
  TcpSocket client = TcpSocket::connect(addresses, options);
  EXPECT_EQ(client.remote_address(), live.address());
  EXPECT_FALSE(client.is_nonblocking());
  expect_round_trip(live, client);
}

TEST(TcpSocket, RefusedIpv6AttemptFallsBackToIpv4) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
  Socket refusing(AF_INET6, SOCK_STREAM);  // bound, never listening
  refusing.bind(Address::loopback_ipv6(0));
  TcpServer live("127.0.0.1", 0);
  const std::array<Address, 2> addresses = {refusing.local_address(), live.address()};
  TcpSocket client = TcpSocket::connect(addresses);
  EXPECT_EQ(client.remote_address(), live.address());
  expect_round_trip(live, client);
}

TEST(TcpSocket, TimeoutNamesTheHostAndPort) {
  SilentServer silent;
  if (!silent.is_silent()) GTEST_SKIP() << "this kernel does not drop SYNs on a full queue";
  ConnectOptions options;
  options.timeout = 200ms;
  try {
    (void)TcpSocket::connect("127.0.0.1", silent.port, options);
    FAIL() << "connected to a silent server";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(ETIMEDOUT));
    EXPECT_EQ(std::string(error.what()),
              "connect 127.0.0.1:" + std::to_string(silent.port) + ": Connection timed out");
  }
}

TEST(TcpSocket, RefusedGivesTheExactMessage) {
  RefusingPort refusing;
  try {
    (void)TcpSocket::connect("127.0.0.1", refusing.port);
    FAIL() << "connected to a port nobody listens on";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(ECONNREFUSED));
    EXPECT_EQ(std::string(error.what()),
              "connect 127.0.0.1:" + std::to_string(refusing.port) + ": Connection refused");
  }
}

TEST(TcpSocket, RefusedByEveryAddressReportsTheLast) {
  RefusingPort first;
  RefusingPort second;
  const std::array<Address, 2> addresses = {Address::loopback_ipv4(first.port),
                                            Address::loopback_ipv4(second.port)};
  try {
    (void)TcpSocket::connect(addresses);
    FAIL() << "connected to ports nobody listens on";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()),
              "connect 127.0.0.1:" + std::to_string(second.port) + ": Connection refused");
  }
}

TEST(TcpSocket, UnknownHostGivesTheResolverMessage) {
  const std::string host = test::unresolvable_host;
  try {
    (void)TcpSocket::connect(host, 80);
    FAIL() << host << " resolved";
  } catch (const Error& error) {
    EXPECT_EQ(&error.code().category(), &resolve_category());
    EXPECT_EQ(error.code().value(), EAI_NONAME);
    EXPECT_EQ(std::string(error.what()), "resolve " + host + ": Name or service not known");
  }
}

TEST(TcpSocket, ServiceNamesAndOptions) {
  TcpServer server("127.0.0.1", 0);
  TcpSocket client = TcpSocket::connect("127.0.0.1", std::to_string(server.port()));
  client.set_no_delay();
  EXPECT_TRUE(client.get<option::NoDelay>().value);
  client.set_keepalive({std::chrono::seconds{30}, std::chrono::seconds{5}, 4});
  EXPECT_TRUE(client.get<option::KeepAlive>().value);
  EXPECT_EQ(client.get<option::KeepIdle>().value, std::chrono::seconds{30});
  expect_round_trip(server, client);
}

}  // namespace
}  // namespace sockit
