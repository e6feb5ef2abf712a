// Socket: the RAII owner of one socket descriptor. Errors name the address the call
// concerns: bind/connect the address given, listen/accept the local address, send/recv/
// read/write/shutdown the peer, anything else "fd N".
#include "sockit/socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

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

// Errors after which accept should just try again (accept(2), "Error handling").
bool is_transient_accept_error(int err) noexcept {
  switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case EINTR:
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

}  // namespace

Socket::Socket(int family, int type, int protocol)
    : fd_(::socket(family, type | SOCK_CLOEXEC, protocol)) {
  if (fd_ < 0) throw_errno("socket", {}, errno);
}

Socket Socket::adopt(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    throw_errno("adopt", fd_target(fd), errno);
  }
  Socket socket(fd);
  // Remember a connected peer now, so later error messages can still name it after the
  // connection is reset (getpeername then fails with ENOTCONN).
  sockaddr_storage storage{};
  socklen_t size = sizeof storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &size) == 0) {
    socket.peer_ = Address(reinterpret_cast<const sockaddr*>(&storage), size);
  }
  return socket;
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), peer_(std::exchange(other.peer_, Address{})) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    peer_ = std::exchange(other.peer_, Address{});
  }
  return *this;
}

Socket::~Socket() {
  close();
}

int Socket::release() noexcept {
  peer_ = Address{};
  return std::exchange(fd_, -1);
}

void Socket::close() noexcept {
  if (fd_ >= 0) {
    // Never retried on EINTR: Linux has released the descriptor either way.
    ::close(fd_);
    fd_ = -1;
  }
  peer_ = Address{};
}

int Socket::family() const {
  sockaddr_storage storage{};
  socklen_t size = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &size) != 0) {
    throw_errno("getsockname", fd_target(fd_), errno);
  }
  return storage.ss_family;
}

int Socket::type() const {
  return get<option::SocketType>().value;
}

void Socket::bind(const Address& address) {
  if (::bind(fd_, address.data(), address.size()) != 0) {
    throw_errno("bind", address.to_string(), errno);
  }
}

void Socket::listen(int backlog) {
  if (::listen(fd_, backlog) != 0) throw_errno("listen", local_target(fd_), errno);
}

Accepted Socket::accept(Deadline deadline) {
  for (;;) {
    // Polling first bounds the wait. A blocking listener shared by several acceptors can
    // still block in accept4 after another one took the connection: make such a
    // listener non-blocking (EAGAIN below then polls again).
    if (!deadline.is_never()) {
      int ready = poll_one(fd_, POLLIN, deadline);
      if (ready < 0) throw_errno("accept", local_target(fd_), -ready);
      if (ready == 0) throw_errno("accept", local_target(fd_), ETIMEDOUT);
    }
    Address peer;
    socklen_t size = Address::capacity();
    int fd = ::accept4(fd_, peer.data(), &size, SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.resize(size);
      Socket socket(fd);
      socket.peer_ = peer;
      return Accepted{std::move(socket), peer};
    }
    int err = errno;
    if (is_transient_accept_error(err)) continue;
    if (is_would_block(err)) {
      // A non-blocking listener: wait here so accept() keeps its blocking meaning.
      int ready = poll_one(fd_, POLLIN, deadline);
      if (ready < 0) throw_errno("accept", local_target(fd_), -ready);
      if (ready == 0) throw_errno("accept", local_target(fd_), ETIMEDOUT);
      continue;
    }
    throw_errno("accept", local_target(fd_), err);
  }
}

std::optional<Accepted> Socket::accept_nonblock() {
  // Like Ruby's accept_nonblock, this leaves the listener in non-blocking mode: accept4
  // has no per-call "don't wait" flag, and polling first would race with other acceptors.
  if (int err = set_nonblocking_flag(fd_, true); err != 0) {
    throw_errno("accept", local_target(fd_), err);
  }
  Address peer;
  socklen_t size = Address::capacity();
  int fd = ::accept4(fd_, peer.data(), &size, SOCK_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (is_would_block(err) || is_transient_accept_error(err)) return std::nullopt;
    // EMFILE, ENFILE, ENOBUFS, ENOMEM and programming errors: the caller must act.
    throw_errno("accept", local_target(fd_), err);
  }
  peer.resize(size);
  Socket socket(fd);
  socket.peer_ = peer;
  return Accepted{std::move(socket), peer};
}

void Socket::connect(const Address& address, Deadline deadline) {
  std::error_code ec;
  connect(address, deadline, ec);
  if (ec) throw Error(ec, "connect", address.to_string());
}

void Socket::connect(const Address& address, Deadline deadline, std::error_code& ec) noexcept {
  ec.clear();
  bool was_nonblocking = false;
  if (int err = nonblocking_flag(fd_, was_nonblocking); err != 0) {
    ec = errno_code(err);
    return;
  }
  // With a deadline the connect runs non-blocking and is bounded by poll.
  bool switched = !deadline.is_never() && !was_nonblocking;
  if (switched) {
    if (int err = set_nonblocking_flag(fd_, true); err != 0) {
      ec = errno_code(err);
      return;
    }
  }
  int err = 0;
  for (;;) {
    if (::connect(fd_, address.data(), address.size()) == 0) break;
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
      int ready = poll_one(fd_, POLLOUT, deadline);
      if (ready < 0) {
        err = -ready;
      } else if (ready == 0) {
        err = ETIMEDOUT;
      } else {
        err = pending_error(fd_);
      }
    }
    break;
  }
  if (switched) set_nonblocking_flag(fd_, false);
  if (err != 0) {
    ec = errno_code(err);
    return;
  }
  peer_ = address;
}

ConnectStatus Socket::connect_nonblock(const Address& address) {
  if (int err = set_nonblocking_flag(fd_, true); err != 0) {
    throw_errno("connect", address.to_string(), err);
  }
  // The intended peer, for messages of the writes that follow.
  peer_ = address;
  if (::connect(fd_, address.data(), address.size()) == 0) return ConnectStatus::connected;
  switch (int err = errno) {
    case EINPROGRESS:
    case EALREADY:
    case EINTR:  // the connect continues asynchronously
      return ConnectStatus::in_progress;
    case EISCONN:
      return ConnectStatus::connected;
    default:
      peer_ = Address{};
      throw_errno("connect", address.to_string(), err);
  }
}

std::error_code Socket::finish_connect() noexcept {
  int err = pending_error(fd_);
  return err == 0 ? std::error_code{} : errno_code(err);
}

std::size_t Socket::send(std::string_view bytes, int flags) {
  for (;;) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), flags | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (is_would_block(err) && (flags & MSG_DONTWAIT) == 0) {
      bool nonblocking = false;
      if (nonblocking_flag(fd_, nonblocking) == 0 && nonblocking) {
        // A non-blocking descriptor: keep the promise of a blocking send.
        int ready = poll_one(fd_, POLLOUT, Deadline{});
        if (ready < 0) throw_errno("send", target_of(peer_or_empty(), fd_), -ready);
        continue;
      }
      err = ETIMEDOUT;  // blocking descriptor: SO_SNDTIMEO expired
    }
    throw_errno("send", target_of(peer_or_empty(), fd_), err);
  }
}

std::size_t Socket::recv(std::span<char> buffer, int flags) {
  for (;;) {
    ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), flags);
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    // MSG_OOB with no urgent data pending gives EINVAL/EAGAIN; only plain reads wait.
    if (is_would_block(err) && (flags & (MSG_DONTWAIT | MSG_OOB)) == 0) {
      bool nonblocking = false;
      if (nonblocking_flag(fd_, nonblocking) == 0 && nonblocking) {
        int ready = poll_one(fd_, POLLIN, Deadline{});
        if (ready < 0) throw_errno("recv", target_of(peer_or_empty(), fd_), -ready);
        continue;
      }
      err = ETIMEDOUT;  // blocking descriptor: SO_RCVTIMEO expired
    }
    throw_errno("recv", target_of(peer_or_empty(), fd_), err);
  }
}

IoResult Socket::read_nonblock_rest(std::span<char> buffer, ssize_t got) {
  if (got == 0) return {buffer.empty() ? IoStatus::ok : IoStatus::eof, 0};
  const int err = errno;
  if (err == EINTR) return read_nonblock(buffer);
  if (is_would_block(err)) return {IoStatus::would_block, 0};
  throw_errno("read", target_of(peer_or_empty(), fd_), err);
}

IoResult Socket::write_nonblock_rest(std::string_view bytes) {
  const int err = errno;
  if (err == EINTR) return write_nonblock(bytes);
  if (is_would_block(err)) return {IoStatus::would_block, 0};
  throw_errno("write", target_of(peer_or_empty(), fd_), err);
}

void Socket::close_read() {
  shutdown(SHUT_RD);
}
void Socket::close_write() {
  shutdown(SHUT_WR);
}

void Socket::shutdown(int how) {
  if (::shutdown(fd_, how) == 0) return;
  int err = errno;
  // ENOTCONN on a socket that was connected means the peer already reset or closed it:
  // what shutdown wanted (no more traffic that way) is already true. On a socket that
  // never connected it is a caller's mistake and is reported.
  if (err == ENOTCONN && !peer_.is_unspecified_family()) return;
  const char* operation = how == SHUT_RD   ? "close_read"
                          : how == SHUT_WR ? "close_write"
                                           : "shutdown";
  throw_errno(operation, target_of(peer_or_empty(), fd_), err);
}

Address Socket::local_address() const {
  Address address;
  socklen_t size = Address::capacity();
  if (::getsockname(fd_, address.data(), &size) != 0) {
    throw_errno("getsockname", fd_target(fd_), errno);
  }
  address.resize(size);
  return address;
}

Address Socket::remote_address() const {
  Address address;
  socklen_t size = Address::capacity();
  if (::getpeername(fd_, address.data(), &size) != 0) {
    throw_errno("getpeername", fd_target(fd_), errno);
  }
  address.resize(size);
  return address;
}

Address Socket::peer_or_empty() const noexcept {
  if (!peer_.is_unspecified_family()) return peer_;
  try {
    Address address;
    socklen_t size = Address::capacity();
    if (::getpeername(fd_, address.data(), &size) != 0) return {};
    address.resize(size);
    return address;
  } catch (...) {
    return {};
  }
}

void Socket::set_nonblocking(bool on) {
  if (int err = set_nonblocking_flag(fd_, on); err != 0) throw_errno("fcntl", fd_target(fd_), err);
}

bool Socket::is_nonblocking() const {
  bool on = false;
  if (int err = nonblocking_flag(fd_, on); err != 0) throw_errno("fcntl", fd_target(fd_), err);
  return on;
}

void Socket::set_option_raw(int level, int name, const void* value, socklen_t size) {
  if (::setsockopt(fd_, level, name, value, size) != 0) {
    throw_errno("setsockopt", option::name_of(level, name), errno);
  }
}

void Socket::get_option_raw(int level, int name, void* value, socklen_t size) const {
  socklen_t got = size;
  if (::getsockopt(fd_, level, name, value, &got) != 0) {
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
