// sockit-test-labels: threaded
// UdpSocket over loopback: send_to/recv_from with addresses, truncation reported (never a
// silent cut), connected sockets, timeouts and the serve_udp loop.
#include "sockit/udp.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sockit/error.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;

bool ipv6_loopback_available() {
  try {
    UdpSocket probe(AF_INET6);
    probe.bind(Address::loopback_ipv6(0));
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(UdpSocket, RoundTripWithAddresses) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  const Address server_address = server.local_address();
  ASSERT_NE(server_address.port(), 0);
  UdpSocket client(AF_INET);
  EXPECT_EQ(client.send_to("hello", server_address), 5U);

  DatagramMessage request = server.recv_from(1024, 10s);
  EXPECT_EQ(request.data, "hello");
  // sendto bound the client to the wildcard; the datagram came from loopback.
  EXPECT_EQ(request.from, Address::loopback_ipv4(client.local_address().port()));

  server.send_to("Received: " + request.data, request.from);
  DatagramMessage reply = client.recv_from(1024, 10s);
  EXPECT_EQ(reply.data, "Received: hello");
  EXPECT_EQ(reply.from, server_address);
}

TEST(UdpSocket, Ipv6RoundTrip) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1 on this machine";
  UdpSocket server(AF_INET6);
  server.bind("::1", 0);
  UdpSocket client(AF_INET6);
  client.send_to("six", "::1", server.local_address().port());
  DatagramMessage request = server.recv_from(64, 10s);
  EXPECT_EQ(request.data, "six");
  EXPECT_TRUE(request.from.is_ipv6());
  EXPECT_EQ(request.from.port(), client.local_address().port());
}

TEST(UdpSocket, EmptyDatagramIsADatagram) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  UdpSocket client(AF_INET);
  client.send_to("", server.local_address());
  std::vector<char> buffer(16);
  Datagram datagram = server.recv_from(buffer, 10s);
  EXPECT_EQ(datagram.size, 0U);
  EXPECT_FALSE(datagram.truncated);
}

TEST(UdpSocket, LargerDatagramIsReportedWithItsRealSize) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  UdpSocket client(AF_INET);
  std::string big(9000, 'x');
  big[0] = 'A';
  big[511] = 'B';
  client.send_to(big, server.local_address());

  std::vector<char> buffer(512);
  Datagram datagram = server.recv_from(buffer, 10s);
  EXPECT_TRUE(datagram.truncated);
  EXPECT_EQ(datagram.size, 9000U);
  EXPECT_EQ(datagram.stored(buffer.size()), 512U);
  EXPECT_EQ(buffer[0], 'A');
  EXPECT_EQ(buffer[511], 'B');
  EXPECT_EQ(datagram.from, Address::loopback_ipv4(client.local_address().port()));
}

TEST(UdpSocket, DatagramThatFitsExactlyIsNotTruncated) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  UdpSocket client(AF_INET);
  client.send_to(std::string(512, 'y'), server.local_address());
  std::vector<char> buffer(512);
  Datagram datagram = server.recv_from(buffer, 10s);
  EXPECT_FALSE(datagram.truncated);
  EXPECT_EQ(datagram.size, 512U);
}

TEST(UdpSocket, StringFormThrowsOnTruncation) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  UdpSocket client(AF_INET);
  client.send_to(std::string(9000, 'z'), server.local_address());
  try {
    (void)server.recv_from(512, 10s);
    FAIL() << "a 9000-byte datagram fit in 512 bytes";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errc::datagram_truncated);
    EXPECT_EQ(std::string(error.what()),
              "recvfrom 127.0.0.1:" + std::to_string(client.local_address().port()) +
                  ": datagram truncated (9000 bytes, buffer 512)");
  }
}

TEST(UdpSocket, ConnectedSendAndRecv) {
  UdpSocket a = UdpSocket::bound("127.0.0.1", 0);
  UdpSocket b = UdpSocket::connected("127.0.0.1", a.local_address().port());
  a.connect(b.local_address());
  EXPECT_EQ(b.remote_address(), a.local_address());

  // A connected socket only hears its peer: the stranger's datagram is filtered out.
  UdpSocket stranger(AF_INET);
  stranger.send_to("stranger", a.local_address());
  b.send("from b");
  EXPECT_EQ(a.recv(64, 10s), "from b");
  a.send("from a");
  EXPECT_EQ(b.recv(64, 10s), "from a");

  b.send(std::string(100, 'q'));
  try {
    (void)a.recv(10, 10s);
    FAIL() << "a 100-byte datagram fit in 10 bytes";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errc::datagram_truncated);
  }
}

TEST(UdpSocket, ReceiveTimesOutAndNonblockReportsNothing) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  std::vector<char> buffer(16);
  EXPECT_FALSE(server.recv_from_nonblock(buffer).has_value());
  try {
    (void)server.recv_from(16, 50ms);
    FAIL() << "received a datagram nobody sent";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), std::errc::timed_out);
    EXPECT_EQ(error.operation(), "recvfrom");
  }
}

TEST(UdpSocket, BroadcastOption) {
  UdpSocket socket(AF_INET);
  EXPECT_FALSE(socket.get<option::Broadcast>().value);
  socket.set_broadcast();
  EXPECT_TRUE(socket.get<option::Broadcast>().value);
}

TEST(ServeUdp, RepliesToEachSenderAndStops) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  const Address address = server.local_address();
  std::jthread loop([&server](std::stop_token stop) {
    serve_udp(
        server,
        [](std::string_view data, const Address&, const UdpReply& reply) {
          reply("Received: " + std::string(data));
        },
        stop);
  });

  for (const char* text : {"one", "two"}) {
    UdpSocket client(AF_INET);
    client.send_to(text, address);
    DatagramMessage reply = client.recv_from(64, 10s);
    EXPECT_EQ(reply.data, std::string("Received: ") + text);
    EXPECT_EQ(reply.from, address);
  }
  loop.request_stop();
  loop.join();  // returns within a poll slice; a hang here fails by the CTest timeout
}

TEST(ServeUdp, EndsAtItsDeadline) {
  UdpSocket server = UdpSocket::bound("127.0.0.1", 0);
  int calls = 0;
  serve_udp(
      server, [&calls](std::string_view, const Address&, const UdpReply&) { ++calls; }, 150ms);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace sockit
