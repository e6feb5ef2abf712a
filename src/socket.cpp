// Socket: the calls on one socket descriptor. Errors name the address the call concerns:
// bind/connect the address given, listen/accept the local address, send/recv/read/write/
// shutdown the peer, anything else "fd N".
//
// The common case of read_nonblock/write_nonblock (bytes moved) is inline in the header so
// that an event loop compiles recv/send into its own loop function: after a system call the
// CPU's return-address predictor holds the kernel's calls, and every function a result is
// returned through costs a mispredicted return. Everything else (end of stream, would-block,
// EINTR, errors) is out of line below.
#include "sockit/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>
#include <utility>

#include "sockit/error.hpp"

namespace sockit {
namespace {

std::string fd_target(int fd) {
  return "fd " + std::to_string(fd);
}

// An address for a message; an unnamed Unix peer or an unknown one falls back to "fd N".
std::string target_of(const Address& address, int fd) {
  if (address.is_unspecified_family()) return fd_target(fd);
  // An unnamed Unix socket (socketpair, a client that never bound) has nothing to show.
  if (address.is_unix() && address.size() <= offsetof(sockaddr_un, sun_path)) {
    return fd_target(fd);
  }
  return address.to_string();
}

std::string local_target(int fd) {
  sockaddr_storage storage{};
  socklen_t size = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &size) != 0) return fd_target(fd);
  try {
    return target_of(Address(reinterpret_cast<const sockaddr*>(&storage), size), fd);
  } catch (...) {
    return fd_target(fd);
  }
}

// Returns 0 or an errno value; never throws, for the noexcept connect.
int set_nonblocking_flag(int fd, bool on) noexcept {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return errno;
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) return errno;
  return 0;
}

int nonblocking_flag(int fd, bool& on) noexcept {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return errno;
  on = (flags & O_NONBLOCK) != 0;
  return 0;
}

int pending_error(int fd) noexcept {
  int err = 0;
  socklen_t size = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) return errno;
  return err;
}

// poll(2) for one descriptor; 1 ready, 0 deadline passed, -errno on failure.
int poll_one(int fd, short events, const Deadline& deadline) noexcept {
  for (;;) {
    pollfd entry{fd, events, 0};
    int n = ::poll(&entry, 1, deadline.poll_timeout_ms());
    if (n > 0) return (entry.revents & POLLNVAL) != 0 ? -EBADF : 1;
    if (n == 0) {
      if (deadline.expired()) return 0;
      continue;  // the poll timeout was clamped; the deadline is further away
    }
    if (errno != EINTR) return -errno;
  }
}

// The one list of errors after which accept should just try again: each cost only the
// connection being accepted (accept(2), "Error handling": the network errors Linux passes
// up, the client giving up before accept, EPERM from a firewall rule).
bool is_transient_accept_error(int err) noexcept {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case EINTR:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

bool is_would_block(int err) noexcept {
  return err == EAGAIN || err == EWOULDBLOCK;
}

// The peer of a connected socket, or an empty Address. getpeername fails with ENOTCONN
// once a TCP connection was reset; SO_PEERNAME still answers then (the kernel keeps the
// peer until the socket is reused), so messages can name the peer without a copy of it.
Address peer_of(int fd) noexcept {
  Address address;
  socklen_t size = Address::capacity();
  if (::getpeername(fd, address.data(), &size) == 0) {
    address.resize(std::min(size, Address::capacity()));
    return address;
  }
  if (errno != ENOTCONN) return {};
  sockaddr_storage local{};
  socklen_t local_size = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) return {};
  // SO_PEERNAME wants a buffer no larger than the address it returns.
  if (local.ss_family == AF_INET) {
    size = sizeof(sockaddr_in);
  } else if (local.ss_family == AF_INET6) {
    size = sizeof(sockaddr_in6);
  } else {
    return {};
  }
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERNAME, address.data(), &size) != 0) return {};
  address.resize(std::min(size, Address::capacity()));
  return address;
}

}  // namespace

Socket::Socket(int family, int type, int protocol)
    : fd_(::socket(family, type | SOCK_CLOEXEC, protocol)) {
  if (!fd_) throw_errno("socket", {}, errno);
}

Socket Socket::adopt(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    throw_errno("adopt", fd_target(fd), errno);
  }
  return Socket(fd);
}

int Socket::family() const {
  sockaddr_storage storage{};
  socklen_t size = sizeof storage;
  if (::getsockname(fd(), reinterpret_cast<sockaddr*>(&storage), &size) != 0) {
    throw_errno("getsockname", fd_target(fd()), errno);
  }
  return storage.ss_family;
}

int Socket::type() const {
  return get<option::SocketType>().value;
}

void Socket::bind(const Address& address) {
  if (::bind(fd(), address.data(), address.size()) != 0) {
    throw_errno("bind", address.to_string(), errno);
  }
}

void Socket::listen(int backlog) {
  if (::listen(fd(), backlog) != 0) throw_errno("listen", local_target(fd()), errno);
}

Accepted Socket::accept(Deadline deadline) {
  for (;;) {
    // Polling first bounds the wait. A blocking listener shared by several acceptors can
    // still block in accept4 after another one took the connection: make such a
    // listener non-blocking (nothing accepted below then polls again).
    if (!deadline.is_never()) {
      int ready = poll_one(fd(), POLLIN, deadline);
      if (ready < 0) throw_errno("accept", local_target(fd()), -ready);
      if (ready == 0) throw_errno("accept", local_target(fd()), ETIMEDOUT);
    }
    // On a blocking listener this waits in accept4 itself.
    std::error_code ec;
    std::optional<Accepted> accepted = accept_nonblock(ec);
    if (accepted) return std::move(*accepted);
    if (ec) throw_errno("accept", local_target(fd()), ec.value());
    // Nothing waiting on a non-blocking listener, or a transient error: wait here so
    // accept() keeps its blocking meaning.
    int ready = poll_one(fd(), POLLIN, deadline);
    if (ready < 0) throw_errno("accept", local_target(fd()), -ready);
    if (ready == 0) throw_errno("accept", local_target(fd()), ETIMEDOUT);
  }
}

std::optional<Accepted> Socket::accept_nonblock() {
  // Like Ruby's accept_nonblock, this leaves the listener in non-blocking mode: accept4
  // has no per-call "don't wait" flag, and polling first would race with other acceptors.
  if (int err = set_nonblocking_flag(fd(), true); err != 0) {
    throw_errno("accept", local_target(fd()), err);
  }
  std::error_code ec;
  std::optional<Accepted> accepted = accept_nonblock(ec);
  // EMFILE, ENFILE, ENOBUFS, ENOMEM and programming errors: the caller must act.
  if (ec) throw_errno("accept", local_target(fd()), ec.value());
  return accepted;
}

std::optional<Accepted> Socket::accept_nonblock(std::error_code& ec, SocketMode mode) noexcept {
  // accept4 sets the flags and gives the peer: no fcntl or getpeername per connection.
  const int flags = SOCK_CLOEXEC | (mode == SocketMode::nonblocking ? SOCK_NONBLOCK : 0);
  for (;;) {
    Address peer;
    socklen_t size = Address::capacity();
    const int accepted = ::accept4(fd(), peer.data(), &size, flags);
    if (accepted >= 0) {
      if (ec) ec.clear();
      peer.resize(std::min(size, Address::capacity()));
      return Accepted{Socket(accepted), peer};
    }
    const int err = errno;
    // Retried at once: the client that gave up is gone, the next one may be waiting.
    if (is_transient_accept_error(err)) continue;
    if (is_would_block(err)) {
      if (ec) ec.clear();
    } else {
      // No virtual call on the category here: see is_out_of_descriptors.
      ec = errno_code(err);
    }
    return std::nullopt;
  }
}

void Socket::connect(const Address& address, Deadline deadline) {
  std::error_code ec;
  connect(address, deadline, ec);
  if (ec) throw Error(ec, "connect", address.to_string());
}

void Socket::connect(const Address& address, Deadline deadline, std::error_code& ec) noexcept {
  ec.clear();
  bool was_nonblocking = false;
  if (int err = nonblocking_flag(fd(), was_nonblocking); err != 0) {
    ec = errno_code(err);
    return;
  }
  // With a deadline the connect runs non-blocking and is bounded by poll.
  bool switched = !deadline.is_never() && !was_nonblocking;
  if (switched) {
    if (int err = set_nonblocking_flag(fd(), true); err != 0) {
      ec = errno_code(err);
      return;
    }
  }
  int err = 0;
  for (;;) {
    if (::connect(fd(), address.data(), address.size()) == 0) break;
    err = errno;
    // A Unix listener with a full backlog refuses a non-blocking connect with EAGAIN
    // instead of queueing it; retry until the deadline like a blocking connect would wait.
    if (err == EAGAIN && address.is_unix() && (switched || was_nonblocking)) {
      if (deadline.expired()) {
        err = ETIMEDOUT;
        break;
      }
      ::usleep(10'000);
      continue;
    }
    if (err == EINTR || err == EINPROGRESS) {
      // The connect goes on in the kernel (calling connect again would give EALREADY):
      // wait for writability and read its outcome.
      int ready = poll_one(fd(), POLLOUT, deadline);
      if (ready < 0) {
        err = -ready;
      } else if (ready == 0) {
        err = ETIMEDOUT;
      } else {
        err = pending_error(fd());
      }
    }
    break;
  }
  if (switched) set_nonblocking_flag(fd(), false);
  if (err != 0) ec = errno_code(err);
}

ConnectStatus Socket::connect_nonblock(const Address& address) {
  if (int err = set_nonblocking_flag(fd(), true); err != 0) {
    throw_errno("connect", address.to_string(), err);
  }
  if (::connect(fd(), address.data(), address.size()) == 0) return ConnectStatus::connected;
  switch (int err = errno) {
    case EINPROGRESS:
    case EALREADY:
    case EINTR:  // the connect continues asynchronously
      return ConnectStatus::in_progress;
    case EISCONN:
      return ConnectStatus::connected;
    default:
      throw_errno("connect", address.to_string(), err);
  }
}

std::error_code Socket::finish_connect() noexcept {
  int err = pending_error(fd());
  return err == 0 ? std::error_code{} : errno_code(err);
}

std::size_t Socket::send(std::string_view bytes, int flags) {
  for (;;) {
    ssize_t n = ::send(fd(), bytes.data(), bytes.size(), flags | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (is_would_block(err) && (flags & MSG_DONTWAIT) == 0) {
      bool nonblocking = false;
      if (nonblocking_flag(fd(), nonblocking) == 0 && nonblocking) {
        // A non-blocking descriptor: keep the promise of a blocking send.
        int ready = poll_one(fd(), POLLOUT, Deadline{});
        if (ready < 0) throw_errno("send", target_of(peer_or_empty(), fd()), -ready);
        continue;
      }
      err = ETIMEDOUT;  // blocking descriptor: SO_SNDTIMEO expired
    }
    throw_errno("send", target_of(peer_or_empty(), fd()), err);
  }
}

std::size_t Socket::recv(std::span<char> buffer, int flags) {
  for (;;) {
    ssize_t n = ::recv(fd(), buffer.data(), buffer.size(), flags);
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    // MSG_OOB with no urgent data pending gives EINVAL/EAGAIN; only plain reads wait.
    if (is_would_block(err) && (flags & (MSG_DONTWAIT | MSG_OOB)) == 0) {
      bool nonblocking = false;
      if (nonblocking_flag(fd(), nonblocking) == 0 && nonblocking) {
        int ready = poll_one(fd(), POLLIN, Deadline{});
        if (ready < 0) throw_errno("recv", target_of(peer_or_empty(), fd()), -ready);
        continue;
      }
      err = ETIMEDOUT;  // blocking descriptor: SO_RCVTIMEO expired
    }
    throw_errno("recv", target_of(peer_or_empty(), fd()), err);
  }
}

IoResult Socket::read_nonblock_rest(std::span<char> buffer, ssize_t got,
                                    std::error_code& ec) noexcept {
  if (got == 0) {
    if (ec) ec.clear();
    return {buffer.empty() ? IoStatus::ok : IoStatus::eof, 0};
  }
  const int err = errno;
  if (err == EINTR) return read_nonblock(buffer, ec);
  if (is_would_block(err)) {
    if (ec) ec.clear();
    return {IoStatus::would_block, 0};
  }
  ec = errno_code(err);
  return {IoStatus::error, 0};
}

IoResult Socket::write_nonblock_rest(std::string_view bytes, std::error_code& ec) noexcept {
  const int err = errno;
  if (err == EINTR) return write_nonblock(bytes, ec);
  if (is_would_block(err)) {
    if (ec) ec.clear();
    return {IoStatus::would_block, 0};
  }
  ec = errno_code(err);
  return {IoStatus::error, 0};
}

IoResult Socket::read_nonblock_or_throw(std::span<char> buffer, ssize_t got) {
  std::error_code ec;
  const IoResult result = read_nonblock_rest(buffer, got, ec);
  if (result.error()) throw_errno("read", target_of(peer_or_empty(), fd()), ec.value());
  return result;
}

IoResult Socket::write_nonblock_or_throw(std::string_view bytes) {
  std::error_code ec;
  const IoResult result = write_nonblock_rest(bytes, ec);
  if (result.error()) throw_errno("write", target_of(peer_or_empty(), fd()), ec.value());
  return result;
}

void Socket::close_read() {
  shutdown(SHUT_RD);
}
void Socket::close_write() {
  shutdown(SHUT_WR);
}

void Socket::shutdown(int how) {
  if (::shutdown(fd(), how) == 0) return;
  int err = errno;
  // ENOTCONN on a socket that was connected means the peer already reset or closed it:
  // what shutdown wanted (no more traffic that way) is already true. On a socket that
  // never connected it is a caller's mistake and is reported.
  if (err == ENOTCONN && !peer_or_empty().is_unspecified_family()) return;
  const char* operation = how == SHUT_RD   ? "close_read"
                          : how == SHUT_WR ? "close_write"
                                           : "shutdown";
  throw_errno(operation, target_of(peer_or_empty(), fd()), err);
}

Address Socket::local_address() const {
  Address address;
  socklen_t size = Address::capacity();
  if (::getsockname(fd(), address.data(), &size) != 0) {
    throw_errno("getsockname", fd_target(fd()), errno);
  }
  address.resize(size);
  return address;
}

Address Socket::remote_address() const {
  Address address;
  socklen_t size = Address::capacity();
  if (::getpeername(fd(), address.data(), &size) != 0) {
    throw_errno("getpeername", fd_target(fd()), errno);
  }
  address.resize(size);
  return address;
}

Address Socket::peer_or_empty() const noexcept {
  return peer_of(fd());
}

void Socket::set_nonblocking(bool on) {
  if (int err = set_nonblocking_flag(fd(), on); err != 0)
    throw_errno("fcntl", fd_target(fd()), err);
}

bool Socket::is_nonblocking() const {
  bool on = false;
  if (int err = nonblocking_flag(fd(), on); err != 0) throw_errno("fcntl", fd_target(fd()), err);
  return on;
}

void Socket::set_option_raw(int level, int name, const void* value, socklen_t size) {
  if (::setsockopt(fd(), level, name, value, size) != 0) {
    throw_errno("setsockopt", option::name_of(level, name), errno);
  }
}

void Socket::get_option_raw(int level, int name, void* value, socklen_t size) const {
  socklen_t got = size;
  if (::getsockopt(fd(), level, name, value, &got) != 0) {
    throw_errno("getsockopt", option::name_of(level, name), errno);
  }
}

void enable_keepalive(Socket& socket, const KeepAliveSettings& settings) {
  socket.set(option::KeepAlive{true});
  if (settings.idle) socket.set(option::KeepIdle{*settings.idle});
  if (settings.interval) socket.set(option::KeepInterval{*settings.interval});
  if (settings.count) socket.set(option::KeepCount{*settings.count});
}

}  // namespace sockit
