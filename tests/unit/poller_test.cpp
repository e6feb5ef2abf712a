// The epoll Poller: registration, tokens, hang-ups, EINTR, moves and Interest.
#include "sockit/poller.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <type_traits>
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

static_assert(std::is_nothrow_move_constructible_v<Poller>);
static_assert(std::is_nothrow_move_assignable_v<Poller>);
// A scoped enum: its names stay out of sockit:: and mix only through operator|.
static_assert(!std::is_convertible_v<Interest, std::uint32_t>);
static_assert(epoll_events(Interest::readable | Interest::writable) ==
              (EPOLLIN | EPOLLRDHUP | EPOLLOUT));

TEST(Poller, AddModifyRemoveAndTokens) {
  TcpPair p = make_tcp_pair();
  Poller poller;
  std::array<PollEvent, 8> events{};

  poller.add(p.server.fd(), Interest::readable, 41);
  EXPECT_EQ(poller.wait(events, 50ms), 0u);

  p.client.send("x");
  ASSERT_EQ(poller.wait(events, 10s), 1u);
  EXPECT_EQ(events[0].token, 41u);
  EXPECT_TRUE(events[0].is_readable());
  EXPECT_FALSE(events[0].is_writable());

  poller.modify(p.server.fd(), Interest::writable, 0xFFFF'FFFF'FFFFull);
  ASSERT_EQ(poller.wait(events, 10s), 1u);
  EXPECT_EQ(events[0].token, 0xFFFF'FFFF'FFFFull);
  EXPECT_TRUE(events[0].is_writable());

  poller.remove(p.server.fd());
  EXPECT_EQ(poller.wait(events, 50ms), 0u);
  poller.remove(p.server.fd());  // a second remove is harmless
}

TEST(Poller, SeveralDescriptorsReportTheirOwnTokens) {
  TcpPair a = make_tcp_pair();
  TcpPair b = make_tcp_pair();
  Poller poller;
  poller.add(a.server.fd(), Interest::readable, 1);
  poller.add(b.server.fd(), Interest::readable, 2);
  poller.add(a.listener.fd(), Interest::readable, 3);
  b.client.send("x");
  std::array<PollEvent, 4> events{};
  ASSERT_EQ(poller.wait(events, 10s), 1u);
  EXPECT_EQ(events[0].token, 2u);

  Socket third(AF_INET, SOCK_STREAM);
  third.connect(a.listener.local_address(), 10s);
  a.client.close();
  std::vector<std::uint64_t> seen;
  auto deadline = Deadline(10s);
  while (seen.size() < 3 && !deadline.expired()) {
    std::size_t n = poller.wait(events, deadline);
    seen.clear();
    for (std::size_t i = 0; i < n; ++i)
      seen.push_back(events[i].token);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(Poller, PeerHangupIsReported) {
  TcpPair p = make_tcp_pair();
  Poller poller;
  poller.add(p.server.fd(), Interest::readable, 5);
  p.client.close();
  std::array<PollEvent, 2> events{};
  ASSERT_EQ(poller.wait(events, 10s), 1u);
  EXPECT_TRUE(events[0].is_readable());
  EXPECT_NE(events[0].events & EPOLLRDHUP, 0u);
}

TEST(Poller, RegistrationErrors) {
  TcpPair p = make_tcp_pair();
  Poller poller;
  poller.add(p.server.fd(), Interest::readable, 1);
  try {
    poller.add(p.server.fd(), Interest::readable, 1);
    FAIL() << "a descriptor was added twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::file_exists);
    EXPECT_EQ(std::string(e.what()),
              "epoll_ctl add fd " + std::to_string(p.server.fd()) + ": File exists");
  }
  EXPECT_THROW(poller.modify(p.client.fd(), Interest::readable, 2), Error);
}

TEST(Poller, InterruptedWaitReturnsNoEvents) {
  TcpPair p = make_tcp_pair();
  Poller poller;
  poller.add(p.server.fd(), Interest::readable, 1);
  std::array<PollEvent, 2> events{};
  AlarmGuard alarm(20ms);
  EXPECT_EQ(poller.wait(events, 10s), 0u);
}

TEST(Poller, MoveKeepsTheRegistrations) {
  TcpPair p = make_tcp_pair();
  Poller first;
  int fd = first.fd();
  EXPECT_TRUE((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  first.add(p.server.fd(), Interest::readable, 9);
  Poller second(std::move(first));
  EXPECT_EQ(second.fd(), fd);
  EXPECT_EQ(first.fd(), -1);  // NOLINT(bugprone-use-after-move)
  p.client.send("x");
  std::array<PollEvent, 1> events{};
  ASSERT_EQ(second.wait(events, -1), 1u);
  EXPECT_EQ(events[0].token, 9u);

  Poller third;
  int third_fd = third.fd();
  third = std::move(second);
  EXPECT_EQ(third.fd(), fd);
  EXPECT_EQ(::fcntl(third_fd, F_GETFD), -1) << "the replaced epoll descriptor must be closed";
}

TEST(Poller, BothInterestsReportBoth) {
  TcpPair p = make_tcp_pair();
  Poller poller;
  poller.add(p.server.fd(), Interest::readable | Interest::writable, 7);
  p.client.send("x");
  std::array<PollEvent, 2> events{};
  ASSERT_EQ(poller.wait(events, 10s), 1u);
  EXPECT_EQ(events[0].token, 7u);
  EXPECT_TRUE(events[0].is_readable());
  EXPECT_TRUE(events[0].is_writable());
}

}  // namespace
}  // namespace sockit
