// Readiness: wait_readable/wait_writable deadlines and EINTR, select() over a few sockets
// (including descriptors above FD_SETSIZE).
#include "sockit/poll.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "support/tcp_pair.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;
using test::AlarmGuard;
using test::make_tcp_pair;
using test::TcpPair;

TEST(WaitReadable, TimesOutOnAQuietSocket) {
  TcpPair p = make_tcp_pair();
  EXPECT_FALSE(wait_readable(p.server, 50ms));
  EXPECT_FALSE(wait_readable(p.server.fd(), 0ms));
}

TEST(WaitReadable, ReadyWhenDataArrivesAndAtEof) {
  TcpPair p = make_tcp_pair();
  p.client.send("x");
  EXPECT_TRUE(wait_readable(p.server, 10s));
  std::array<char, 4> buffer{};
  p.server.recv(buffer);
  EXPECT_FALSE(wait_readable(p.server, 0ms));
  p.client.close();
  EXPECT_TRUE(wait_readable(p.server, 10s)) << "EOF must count as readable";
}

TEST(WaitWritable, ConnectedSocketIsWritable) {
  TcpPair p = make_tcp_pair();
  EXPECT_TRUE(wait_writable(p.client, 10s));
  EXPECT_TRUE(wait_writable(p.server.fd(), 10s));
}

TEST(WaitWritable, TimesOutWhenTheBuffersAreFull) {
  TcpPair p = make_tcp_pair();
  p.client.set(option::SendBuffer{4096});
  p.server.set(option::ReceiveBuffer{4096});
  std::string chunk(64 * 1024, 'x');
  // After a would-block the send queue still drains into the peer's receive buffer, which
  // makes the socket writable again for a while: fill until nothing moves any more.
  bool stalled = false;
  for (int round = 0; round < 1000 && !stalled; ++round) {
    while (!p.client.write_nonblock(chunk).would_block()) {
    }
    stalled = !wait_writable(p.client, 50ms);
  }
  EXPECT_TRUE(stalled) << "a peer that never reads must stop the writer";
}

TEST(WaitReadable, ClosedDescriptorIsAnError) {
  int fd = ::dup(STDERR_FILENO);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_THROW(wait_readable(fd, 1s), Error);
}

TEST(WaitReadable, SignalsDoNotCutTheWaitShort) {
  TcpPair p = make_tcp_pair();
  auto start = Clock::now();
  {
    AlarmGuard alarm(20ms);
    EXPECT_FALSE(wait_readable(p.server, 300ms));
  }
  // Not a speed check: returning false before the deadline would be the bug.
  EXPECT_GE(Clock::now() - start, 300ms);
}

TEST(Select, ReturnsExactlyTheReadySocketsAsTheSamePointers) {
  TcpPair a = make_tcp_pair();
  TcpPair b = make_tcp_pair();
  TcpPair c = make_tcp_pair();
  a.client.send("1");
  c.client.send("3");
  ASSERT_TRUE(wait_readable(a.server, 10s));
  ASSERT_TRUE(wait_readable(c.server, 10s));

  std::array<Socket*, 3> read{&a.server, &b.server, &c.server};
  SelectResult r = select(read, {}, 10s);
  EXPECT_FALSE(r.timed_out());
  ASSERT_EQ(r.readable.size(), 2u);
  EXPECT_EQ(r.readable[0], &a.server);
  EXPECT_EQ(r.readable[1], &c.server);
  EXPECT_TRUE(r.writable.empty());
  EXPECT_TRUE(r.errored.empty());
}

TEST(Select, ReadAndWriteSetsTogether) {
  TcpPair a = make_tcp_pair();
  TcpPair b = make_tcp_pair();
  std::array<Socket*, 2> read{&a.server, &b.server};
  std::array<Socket*, 1> write{&a.server};
  b.client.send("x");
  ASSERT_TRUE(wait_readable(b.server, 10s));
  SelectResult r = select(read, write, 10s);
  ASSERT_EQ(r.readable.size(), 1u);
  EXPECT_EQ(r.readable[0], &b.server);
  ASSERT_EQ(r.writable.size(), 1u);
  EXPECT_EQ(r.writable[0], &a.server);
}

TEST(Select, TimesOutWithNothingReady) {
  TcpPair a = make_tcp_pair();
  std::array<Socket*, 2> read{&a.server, &a.client};
  SelectResult r = select(read, {}, 50ms);
  EXPECT_TRUE(r.timed_out());
}

TEST(Select, AResetPeerIsReadableAndErrored) {
  TcpPair a = make_tcp_pair();
  a.server.set(option::Linger{std::chrono::seconds{0}});
  a.server.close();
  std::array<Socket*, 1> read{&a.client};
  SelectResult r = select(read, {}, 10s);
  ASSERT_EQ(r.readable.size(), 1u);
  EXPECT_EQ(r.readable[0], &a.client);
  ASSERT_EQ(r.errored.size(), 1u);
  EXPECT_EQ(r.errored[0], &a.client);
}

TEST(Select, NullAndClosedSocketsAreIgnored) {
  TcpPair a = make_tcp_pair();
  Socket closed;
  a.client.send("x");
  std::array<Socket*, 3> read{nullptr, &closed, &a.server};
  SelectResult r = select(read, {}, 10s);
  ASSERT_EQ(r.readable.size(), 1u);
  EXPECT_EQ(r.readable[0], &a.server);
}

// Moves a socket's descriptor to a number above FD_SETSIZE, where select(2) cannot go.
Socket above_fd_setsize(Socket s) {
  int high = ::fcntl(s.fd(), F_DUPFD_CLOEXEC, FD_SETSIZE + 100);
  if (high < 0) return Socket{};
  return Socket::adopt(high);
}

TEST(Select, DescriptorsAboveFdSetsize) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  rlim_t wanted = FD_SETSIZE + 200;
  if (limit.rlim_cur < wanted) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted) {
      GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " is too low";
    }
    rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) GTEST_SKIP() << "cannot raise RLIMIT_NOFILE";
  }

  TcpPair a = make_tcp_pair();
  TcpPair b = make_tcp_pair();
  Socket high_a = above_fd_setsize(std::move(a.server));
  Socket high_b = above_fd_setsize(std::move(b.server));
  if (!high_a || !high_b) GTEST_SKIP() << "cannot place a descriptor above FD_SETSIZE";
  ASSERT_GT(high_a.fd(), FD_SETSIZE);

  b.client.send("x");
  ASSERT_TRUE(wait_readable(high_b, 10s));
  std::array<Socket*, 2> read{&high_a, &high_b};
  std::array<Socket*, 1> write{&high_a};
  SelectResult r = select(read, write, 10s);
  ASSERT_EQ(r.readable.size(), 1u);
  EXPECT_EQ(r.readable[0], &high_b);
  ASSERT_EQ(r.writable.size(), 1u);
  EXPECT_EQ(r.writable[0], &high_a);

  high_a.close();
  high_b.close();
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace
}  // namespace sockit
