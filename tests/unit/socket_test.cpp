// Socket over loopback: ownership and close-on-exec, the accept/connect round trip and
// their deadlines, send/recv flags, non-blocking I/O, resets without SIGPIPE, half-close
// and the error messages.
#include "sockit/socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "support/descriptor_table.hpp"
#include "support/tcp_pair.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;
using test::make_tcp_pair;
using test::TcpPair;

static_assert(!std::is_copy_constructible_v<Socket>);
static_assert(!std::is_copy_assignable_v<Socket>);
static_assert(std::is_nothrow_move_constructible_v<Socket>);
static_assert(std::is_nothrow_move_assignable_v<Socket>);
// The error_code& forms never throw.
static_assert(noexcept(std::declval<Socket&>().read_nonblock(std::declval<std::span<char>>(),
                                                             std::declval<std::error_code&>())));
static_assert(noexcept(std::declval<Socket&>().write_nonblock(std::string_view{},
                                                              std::declval<std::error_code&>())));
static_assert(noexcept(std::declval<Socket&>().accept_nonblock(std::declval<std::error_code&>())));

bool fd_is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}
bool has_cloexec(int fd) {
  return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

Socket make_listener(int backlog = SOMAXCONN) {
  Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(Address::loopback_ipv4(0));
  listener.listen(backlog);
  return listener;
}

std::string recv_string(Socket& s, int flags = 0) {
  std::array<char, 256> buffer{};
  std::size_t n = s.recv(buffer, flags);
  return std::string(buffer.data(), n);
}

// A port on 127.0.0.1 nobody listens on: bound but not listening, so it stays ours and a
// connect gets a reset.
struct ClosedPort {
  Socket holder{AF_INET, SOCK_STREAM};
  ClosedPort() { holder.bind(Address::loopback_ipv4(0)); }
  Address address() const { return holder.local_address(); }
};

TEST(Socket, DefaultHasNoDescriptor) {
  Socket s;
  EXPECT_FALSE(s.is_open());
  EXPECT_FALSE(s);
  EXPECT_EQ(s.fd(), -1);
}

TEST(Socket, DestructionClosesTheDescriptor) {
  int fd = -1;
  {
    Socket s(AF_INET, SOCK_STREAM);
    fd = s.fd();
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(fd_is_open(fd));
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(Socket, MoveTransfersOwnership) {
  Socket a(AF_INET, SOCK_STREAM);
  int fd = a.fd();
  Socket b(std::move(a));
  EXPECT_FALSE(a.is_open());  // NOLINT(*use-after-move,*Move): moved-from state is defined
  EXPECT_EQ(b.fd(), fd);

  Socket c(AF_INET, SOCK_STREAM);
  int old_fd = c.fd();
  c = std::move(b);
  EXPECT_EQ(c.fd(), fd);
  EXPECT_FALSE(b.is_open());  // NOLINT(*use-after-move,*Move)
  EXPECT_FALSE(fd_is_open(old_fd)) << "move assignment must close the previous descriptor";
  EXPECT_TRUE(fd_is_open(fd));
}

TEST(Socket, CloseIsIdempotentAndReleaseGivesUpOwnership) {
  Socket s(AF_INET, SOCK_STREAM);
  int fd = s.fd();
  s.close();
  EXPECT_FALSE(s.is_open());
  EXPECT_FALSE(fd_is_open(fd));
  s.close();
  EXPECT_FALSE(s.is_open());

  Socket t(AF_INET, SOCK_STREAM);
  int raw = t.release();
  EXPECT_FALSE(t.is_open());
  EXPECT_TRUE(fd_is_open(raw));
  ::close(raw);
}

TEST(Socket, CloseOnExecOnSocketAcceptAndAdopt) {
  TcpPair p = make_tcp_pair();
  EXPECT_TRUE(has_cloexec(p.listener.fd()));
  EXPECT_TRUE(has_cloexec(p.client.fd()));
  EXPECT_TRUE(has_cloexec(p.server.fd()));

  int raw = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(raw, 0);
  ASSERT_FALSE(has_cloexec(raw));
  Socket adopted = Socket::adopt(raw);
  EXPECT_EQ(adopted.fd(), raw);
  EXPECT_TRUE(has_cloexec(raw));
}

TEST(Socket, AdoptRejectsABadDescriptor) {
  EXPECT_THROW(Socket::adopt(-1), Error);
}

TEST(Socket, FamilyAndType) {
  Socket tcp(AF_INET, SOCK_STREAM);
  EXPECT_EQ(tcp.family(), AF_INET);
  EXPECT_EQ(tcp.type(), SOCK_STREAM);
  Socket udp(AF_INET, SOCK_DGRAM);
  EXPECT_EQ(udp.type(), SOCK_DGRAM);
  Socket local(AF_UNIX, SOCK_STREAM);
  EXPECT_EQ(local.family(), AF_UNIX);
}

TEST(Socket, RoundTripOverLoopback) {
  TcpPair p = make_tcp_pair();
  EXPECT_EQ(p.client.send("hello"), 5u);
  EXPECT_EQ(recv_string(p.server), "hello");
  EXPECT_EQ(p.server.send("world"), 5u);
  EXPECT_EQ(recv_string(p.client), "world");
}

TEST(Socket, AcceptReportsThePeerAndGivesABlockingSocket) {
  Socket listener = make_listener();
  listener.set_nonblocking(true);
  Socket client(AF_INET, SOCK_STREAM);
  client.connect(listener.local_address(), 10s);
  Accepted accepted = listener.accept(10s);
  EXPECT_EQ(accepted.peer, client.local_address());
  EXPECT_FALSE(accepted.socket.is_nonblocking());
  EXPECT_EQ(accepted.socket.peer_or_empty(), client.local_address());
}

TEST(Socket, AddressesAgreeAcrossThePair) {
  TcpPair p = make_tcp_pair();
  EXPECT_EQ(p.client.local_address(), p.server.remote_address());
  EXPECT_EQ(p.client.remote_address(), p.server.local_address());
  EXPECT_EQ(p.client.remote_address(), p.listener.local_address());
  EXPECT_TRUE(p.client.local_address().is_loopback());
  EXPECT_NE(p.listener.local_address().port(), 0);
}

TEST(Socket, PeerOrEmptyOnAnUnconnectedSocket) {
  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_TRUE(s.peer_or_empty().is_unspecified_family());
  EXPECT_THROW(s.remote_address(), Error);
}

TEST(Socket, AcceptDeadlineExpires) {
  Socket listener = make_listener();
  try {
    listener.accept(50ms);
    FAIL() << "accept returned without a client";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()),
              "accept " + listener.local_address().to_string() + ": Connection timed out");
  }
}

TEST(Socket, AcceptNonblockWithNothingPending) {
  Socket listener = make_listener();
  EXPECT_FALSE(listener.accept_nonblock().has_value());

  Socket client(AF_INET, SOCK_STREAM);
  client.connect(listener.local_address(), 10s);
  ASSERT_TRUE(wait_readable(listener, 10s));
  std::optional<Accepted> accepted = listener.accept_nonblock();
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->peer, client.local_address());
  EXPECT_TRUE(has_cloexec(accepted->socket.fd()));
  EXPECT_FALSE(listener.accept_nonblock().has_value());
}

TEST(Socket, AcceptNonblockThrowsOnAnUnlistenedSocket) {
  Socket s(AF_INET, SOCK_STREAM);
  EXPECT_THROW(s.accept_nonblock(), Error);
}

TEST(Socket, ConnectRefusedMessage) {
  ClosedPort closed;
  Address target = closed.address();
  Socket s(AF_INET, SOCK_STREAM);
  try {
    s.connect(target);
    FAIL() << "connect to a closed port succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "connect 127.0.0.1:" + std::to_string(target.port()) + ": Connection refused");
    EXPECT_EQ(e.code(), std::errc::connection_refused);
    EXPECT_EQ(e.operation(), "connect");
    EXPECT_EQ(e.target(), target.to_string());
  }
}

TEST(Socket, ConnectRefusedWithDeadlineAndErrorCode) {
  ClosedPort closed;
  Socket s(AF_INET, SOCK_STREAM);
  std::error_code ec;
  s.connect(closed.address(), 5s, ec);
  EXPECT_EQ(ec, std::errc::connection_refused);
  EXPECT_FALSE(s.is_nonblocking()) << "the blocking mode must be restored";
}

TEST(Socket, ConnectWithErrorCodeSucceeds) {
  Socket listener = make_listener();
  Socket s(AF_INET, SOCK_STREAM);
  std::error_code ec = make_error_code(errc::not_found);
  s.connect(listener.local_address(), 5s, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(s.remote_address(), listener.local_address());
  EXPECT_FALSE(s.is_nonblocking());
}

// A listener that never accepts and has backlog 0 holds one connection in its queue;
// later SYNs are dropped, so their connects stay pending. Returns false when this kernel
// completes them anyway (e.g. a different overflow policy).
bool fill_backlog(const Socket& listener, std::vector<Socket>& held) {
  for (int i = 0; i < 8; ++i) {
    Socket s(AF_INET, SOCK_STREAM);
    if (s.connect_nonblock(listener.local_address()) == ConnectStatus::in_progress &&
        !wait_writable(s, 300ms)) {
      held.push_back(std::move(s));
      return true;
    }
    held.push_back(std::move(s));
  }
  return false;
}

TEST(Socket, ConnectDeadlineExpiresOnAPendingConnect) {
  Socket listener = make_listener(0);
  std::vector<Socket> held;
  if (!fill_backlog(listener, held)) GTEST_SKIP() << "cannot produce a pending connect here";

  Address target = listener.local_address();
  Socket s(AF_INET, SOCK_STREAM);
  try {
    s.connect(target, 200ms);
    FAIL() << "connect to a full backlog succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()), "connect " + target.to_string() + ": Connection timed out");
  }
  EXPECT_FALSE(s.is_nonblocking());

  Socket t(AF_INET, SOCK_STREAM);
  std::error_code ec;
  t.connect(target, 100ms, ec);
  EXPECT_EQ(ec, std::errc::timed_out);
}

TEST(Socket, ConnectNonblockAndFinish) {
  Socket listener = make_listener();
  Socket s(AF_INET, SOCK_STREAM);
  ConnectStatus status = s.connect_nonblock(listener.local_address());
  EXPECT_TRUE(s.is_nonblocking());
  if (status == ConnectStatus::in_progress) {
    ASSERT_TRUE(wait_writable(s, 10s));
  }
  EXPECT_FALSE(s.finish_connect());
  EXPECT_EQ(s.remote_address(), listener.local_address());
}

TEST(Socket, ConnectNonblockRefusedShowsInFinish) {
  ClosedPort closed;
  Socket s(AF_INET, SOCK_STREAM);
  try {
    if (s.connect_nonblock(closed.address()) == ConnectStatus::in_progress) {
      ASSERT_TRUE(wait_writable(s, 10s));
    }
    EXPECT_EQ(s.finish_connect(), std::errc::connection_refused);
  } catch (const Error& e) {
    // Also acceptable: the refusal already known when connect returns.
    EXPECT_EQ(e.code(), std::errc::connection_refused);
  }
}

TEST(Socket, ConnectNonblockRefusedOnAUnixPathThrows) {
  Socket s(AF_UNIX, SOCK_STREAM);
  std::string path = "/nonexistent-sockit-" + std::to_string(::getpid()) + "/x.sock";
  try {
    s.connect_nonblock(Address::unix_path(path));
    FAIL() << "connect to a missing path succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "connect " + path + ": No such file or directory");
  }
}

TEST(Socket, PeekLeavesTheData) {
  TcpPair p = make_tcp_pair();
  p.client.send("abc");
  ASSERT_TRUE(wait_readable(p.server, 10s));
  EXPECT_EQ(recv_string(p.server, MSG_PEEK), "abc");
  EXPECT_EQ(recv_string(p.server), "abc");
}

bool wait_urgent(const Socket& s) {
  pollfd entry{s.fd(), POLLPRI, 0};
  return ::poll(&entry, 1, 10'000) == 1 && (entry.revents & POLLPRI) != 0;
}

TEST(Socket, UrgentByteArrivesOutOfBand) {
  TcpPair p = make_tcp_pair();
  p.client.send("ab");
  EXPECT_EQ(p.client.send("!", MSG_OOB), 1u);
  ASSERT_TRUE(wait_urgent(p.server));
  EXPECT_EQ(recv_string(p.server, MSG_OOB), "!");
  EXPECT_EQ(recv_string(p.server), "ab") << "the urgent byte must not be in the stream";
}

TEST(Socket, UrgentByteInlineWithOobInline) {
  TcpPair p = make_tcp_pair();
  p.server.set(option::OobInline{true});
  p.client.send("ab");
  p.client.send("!", MSG_OOB);
  ASSERT_TRUE(wait_urgent(p.server));
  p.client.close();
  std::string all;
  std::array<char, 16> buffer{};
  while (std::size_t n = p.server.recv(buffer))
    all.append(buffer.data(), n);
  EXPECT_EQ(all, "ab!");
}

TEST(Socket, ReadNonblockWouldBlockThenEof) {
  TcpPair p = make_tcp_pair();
  std::array<char, 16> buffer{};
  EXPECT_FALSE(p.server.is_nonblocking());
  EXPECT_TRUE(p.server.read_nonblock(buffer).would_block());
  EXPECT_FALSE(p.server.is_nonblocking()) << "MSG_DONTWAIT must leave the mode alone";

  p.client.send("xy");
  ASSERT_TRUE(wait_readable(p.server, 10s));
  IoResult r = p.server.read_nonblock(buffer);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.bytes, 2u);

  p.client.close();
  ASSERT_TRUE(wait_readable(p.server, 10s));
  EXPECT_TRUE(p.server.read_nonblock(buffer).eof());
}

TEST(Socket, WriteNonblockUntilFull) {
  TcpPair p = make_tcp_pair();
  p.client.set(option::SendBuffer{4096});
  std::string chunk(64 * 1024, 'x');
  bool blocked = false;
  for (int i = 0; i < 10'000 && !blocked; ++i) {
    IoResult r = p.client.write_nonblock(chunk);
    if (r.would_block())
      blocked = true;
    else
      EXPECT_GT(r.bytes, 0u);
  }
  EXPECT_TRUE(blocked) << "a peer that never reads must fill the buffers";
}

// The peer closes with SO_LINGER 0: an RST instead of a FIN.
void reset_peer(TcpPair& p) {
  p.server.set(option::Linger{std::chrono::seconds{0}});
  p.server.close();
  ASSERT_TRUE(wait_readable(p.client, 10s));
}

TEST(Socket, WritingToAResetPeerIsAnErrorNotSigpipe) {
  // Make sure SIGPIPE has its default, deadly action: only MSG_NOSIGNAL keeps us alive.
  struct sigaction deadly {};
  deadly.sa_handler = SIG_DFL;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGPIPE, &deadly, &previous), 0);

  TcpPair p = make_tcp_pair();
  std::string peer = p.client.remote_address().to_string();
  reset_peer(p);
  for (int attempt = 0; attempt < 3; ++attempt) {  // ECONNRESET first, then EPIPE
    try {
      p.client.write_nonblock("data");
      ADD_FAILURE() << "write to a reset peer succeeded";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset)
          << e.what();
      EXPECT_EQ(std::string(e.what()), "write " + peer + ": " + e.code().message());
    }
    try {
      p.client.send("data");
      ADD_FAILURE() << "send to a reset peer succeeded";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset)
          << e.what();
      EXPECT_EQ(std::string(e.what()), "send " + peer + ": " + e.code().message());
    }
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
}

TEST(Socket, ShutdownAfterThePeerResetIsQuiet) {
  TcpPair p = make_tcp_pair();
  reset_peer(p);
  EXPECT_NO_THROW(p.client.close_write());
  EXPECT_NO_THROW(p.client.shutdown());
}

TEST(Socket, ShutdownOnANeverConnectedSocketThrows) {
  Socket s(AF_INET, SOCK_STREAM);
  try {
    s.close_write();
    FAIL() << "shutdown of an unconnected socket succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::not_connected);
    EXPECT_EQ(std::string(e.what()),
              "close_write fd " + std::to_string(s.fd()) + ": Transport endpoint is not connected");
  }
}

TEST(Socket, CloseWriteSendsEofAndTheOtherWayStillWorks) {
  TcpPair p = make_tcp_pair();
  p.client.send("last words");
  p.client.close_write();
  std::string got;
  std::array<char, 64> buffer{};
  while (std::size_t n = p.server.recv(buffer))
    got.append(buffer.data(), n);
  EXPECT_EQ(got, "last words");
  EXPECT_EQ(p.server.send("reply"), 5u);
  EXPECT_EQ(recv_string(p.client), "reply");
}

TEST(Socket, CloseReadStillLetsUsSend) {
  TcpPair p = make_tcp_pair();
  p.server.close_read();
  std::array<char, 8> buffer{};
  EXPECT_EQ(p.server.recv(buffer), 0u) << "after SHUT_RD a read returns EOF";
  EXPECT_EQ(p.server.send("ok"), 2u);
  EXPECT_EQ(recv_string(p.client), "ok");
}

TEST(Socket, RecvTimeoutReadsAsTimedOut) {
  TcpPair p = make_tcp_pair();
  p.server.set(option::ReceiveTimeout{std::chrono::milliseconds{50}});
  std::array<char, 8> buffer{};
  try {
    p.server.recv(buffer);
    FAIL() << "recv returned without data";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out);
    EXPECT_EQ(std::string(e.what()),
              "recv " + p.client.local_address().to_string() + ": Connection timed out");
  }
}

TEST(Socket, BlockingRecvOnANonblockingSocketWaits) {
  TcpPair p = make_tcp_pair();
  p.server.set_nonblocking(true);
  EXPECT_TRUE(p.server.is_nonblocking());
  p.client.send("z");
  std::array<char, 8> buffer{};
  EXPECT_EQ(p.server.recv(buffer), 1u);
  p.server.set_nonblocking(false);
  EXPECT_FALSE(p.server.is_nonblocking());
}

TEST(Socket, BindErrorNamesTheAddress) {
  Socket a = make_listener();
  Address taken = a.local_address();
  Socket b(AF_INET, SOCK_STREAM);
  try {
    b.bind(taken);
    FAIL() << "bound the same address twice";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "bind " + taken.to_string() + ": Address already in use");
  }
}

TEST(Socket, OperationsOnAClosedSocketNameTheDescriptor) {
  Socket s;
  try {
    s.set_nonblocking(true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "fcntl fd -1: Bad file descriptor");
  }
  std::array<char, 4> buffer{};
  EXPECT_THROW(s.recv(buffer), Error);
  EXPECT_THROW(s.send("x"), Error);
}

TEST(Socket, KeepAliveConvenience) {
  Socket s(AF_INET, SOCK_STREAM);
  enable_keepalive(s, {std::chrono::seconds{30}, std::chrono::seconds{5}, 4});
  EXPECT_TRUE(s.get<option::KeepAlive>().value);
  EXPECT_EQ(s.get<option::KeepIdle>().value, std::chrono::seconds{30});
  EXPECT_EQ(s.get<option::KeepInterval>().value, std::chrono::seconds{5});
  EXPECT_EQ(s.get<option::KeepCount>().value, 4);
}

TEST(Socket, UnixSocketpairAdopted) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Socket a = Socket::adopt(fds[0]);
  Socket b = Socket::adopt(fds[1]);
  a.send("over unix");
  EXPECT_EQ(recv_string(b), "over unix");
  b.close();
  try {
    for (int i = 0; i < 3; ++i)
      a.send("x");
    FAIL() << "send to a closed Unix peer succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::broken_pipe);
    // An unnamed Unix peer has no address to show: the descriptor stands in.
    EXPECT_EQ(std::string(e.what()), "send fd " + std::to_string(a.fd()) + ": Broken pipe");
  }
}

// The error_code& forms: every outcome is a value.

TEST(SocketErrorCode, ReadNonblockWouldBlockDataAndEof) {
  TcpPair p = make_tcp_pair();
  std::array<char, 16> buffer{};
  std::error_code ec = errno_code(EIO);  // must be cleared by any outcome but an error
  IoResult r = p.server.read_nonblock(buffer, ec);
  EXPECT_TRUE(r.would_block());
  EXPECT_FALSE(ec);

  p.client.send("abc");
  ASSERT_TRUE(wait_readable(p.server, 10s));
  ec = errno_code(EIO);
  r = p.server.read_nonblock(buffer, ec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(buffer.data(), r.bytes), "abc");
  EXPECT_FALSE(ec);

  p.client.close_write();
  ASSERT_TRUE(wait_readable(p.server, 10s));
  ec = errno_code(EIO);
  r = p.server.read_nonblock(buffer, ec);
  EXPECT_TRUE(r.eof());
  EXPECT_EQ(r.bytes, 0U);
  EXPECT_FALSE(ec);
}

TEST(SocketErrorCode, WriteNonblockMovesBytesThenWouldBlock) {
  TcpPair p = make_tcp_pair();
  std::error_code ec = errno_code(EIO);
  IoResult r = p.client.write_nonblock("hello", ec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.bytes, 5U);
  EXPECT_FALSE(ec);
  EXPECT_EQ(recv_string(p.server), "hello");

  // A peer that never reads: the buffers fill and the write reports would-block.
  const std::string chunk(64 * 1024, 'x');
  bool blocked = false;
  for (int i = 0; i < 10000 && !blocked; ++i) {
    r = p.client.write_nonblock(chunk, ec);
    ASSERT_FALSE(r.error()) << ec.message();
    blocked = r.would_block();
  }
  EXPECT_TRUE(blocked);
  EXPECT_FALSE(ec);
}

TEST(SocketErrorCode, AResetPeerIsAnErrorValueNotAnException) {
  struct sigaction deadly {};
  deadly.sa_handler = SIG_DFL;
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGPIPE, &deadly, &previous), 0);

  TcpPair p = make_tcp_pair();
  reset_peer(p);
  std::array<char, 16> buffer{};
  std::error_code ec;
  IoResult r = p.client.read_nonblock(buffer, ec);
  EXPECT_TRUE(r.error());
  EXPECT_EQ(r.bytes, 0U);
  EXPECT_EQ(ec, std::errc::connection_reset) << ec.message();
  for (int attempt = 0; attempt < 3; ++attempt) {
    ec.clear();
    r = p.client.write_nonblock("data", ec);
    EXPECT_TRUE(r.error());
    EXPECT_TRUE(ec == std::errc::broken_pipe || ec == std::errc::connection_reset) << ec.message();
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
}

TEST(SocketErrorCode, AResetPeerIsStillNamedInMessages) {
  TcpPair p = make_tcp_pair();
  const Address peer = p.client.remote_address();
  reset_peer(p);
  EXPECT_THROW(p.client.remote_address(), Error);  // getpeername has forgotten it
  EXPECT_EQ(p.client.peer_or_empty(), peer);
}

TEST(SocketErrorCode, AcceptNonblockOnAnEmptyBacklogIsNulloptWithNoError) {
  Socket listener = make_listener();
  listener.set_nonblocking(true);
  std::error_code ec = errno_code(EIO);
  EXPECT_FALSE(listener.accept_nonblock(ec).has_value());
  EXPECT_FALSE(ec);
}

TEST(SocketErrorCode, AcceptNonblockGivesTheModeAskedForWithoutSwitchingTheListener) {
  Socket listener = make_listener();
  listener.set_nonblocking(true);
  Socket first(AF_INET, SOCK_STREAM);
  first.connect(listener.local_address(), 10s);
  Socket second(AF_INET, SOCK_STREAM);
  second.connect(listener.local_address(), 10s);
  ASSERT_TRUE(wait_readable(listener, 10s));

  std::error_code ec = errno_code(EIO);
  std::optional<Accepted> a = listener.accept_nonblock(ec, SocketMode::nonblocking);
  ASSERT_TRUE(a.has_value()) << ec.message();
  EXPECT_FALSE(ec);
  EXPECT_EQ(a->peer, first.local_address());
  EXPECT_TRUE(a->socket.is_nonblocking());
  EXPECT_TRUE(has_cloexec(a->socket.fd()));

  ASSERT_TRUE(wait_readable(listener, 10s));
  std::optional<Accepted> b = listener.accept_nonblock(ec);
  ASSERT_TRUE(b.has_value()) << ec.message();
  EXPECT_EQ(b->peer, second.local_address());
  EXPECT_FALSE(b->socket.is_nonblocking());
  EXPECT_TRUE(has_cloexec(b->socket.fd()));
  EXPECT_EQ(b->socket.peer_or_empty(), second.local_address());
}

TEST(SocketErrorCode, AcceptNonblockOnAnUnlistenedSocketSetsTheCode) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_nonblocking(true);
  std::error_code ec;
  EXPECT_FALSE(s.accept_nonblock(ec).has_value());
  EXPECT_EQ(ec, std::errc::invalid_argument) << ec.message();
  EXPECT_FALSE(is_out_of_descriptors(ec));
}

TEST(SocketErrorCode, AcceptNonblockReportsRunningOutOfDescriptors) {
  Socket listener = make_listener();
  listener.set_nonblocking(true);
  // The client exists before the table fills, so only the accept needs a descriptor.
  Socket client(AF_INET, SOCK_STREAM);
  client.connect(listener.local_address(), 10s);
  ASSERT_TRUE(wait_readable(listener, 10s));

  test::FullDescriptorTable table;
  const int fill_error = table.fill_error();
  // Nothing below may need a descriptor until the table is emptied again.
  std::error_code ec;
  std::optional<Accepted> full = listener.accept_nonblock(ec);
  const bool out = is_out_of_descriptors(ec);
  table.release();

  ASSERT_EQ(fill_error, EMFILE);
  EXPECT_FALSE(full.has_value());
  EXPECT_EQ(ec, std::errc::too_many_files_open) << ec.message();
  EXPECT_TRUE(out);
  // The connection waited in the backlog and is accepted once descriptors are free.
  std::optional<Accepted> later = listener.accept_nonblock(ec);
  ASSERT_TRUE(later.has_value()) << ec.message();
  EXPECT_EQ(later->peer, client.local_address());
}

TEST(SocketErrorCode, OutOfDescriptorsMeansOnlyThoseErrors) {
  for (int err : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    EXPECT_TRUE(is_out_of_descriptors(err));
    EXPECT_TRUE(is_out_of_descriptors(errno_code(err)));
  }
  for (int err : {0, EAGAIN, ECONNABORTED, EINVAL, EBADF}) {
    EXPECT_FALSE(is_out_of_descriptors(err));
    EXPECT_FALSE(is_out_of_descriptors(errno_code(err)));
  }
  // Same number, other category: not an errno.
  EXPECT_FALSE(is_out_of_descriptors(std::error_code(EMFILE, resolve_category())));
}

}  // namespace
}  // namespace sockit
