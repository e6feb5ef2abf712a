// Socket: the one move-only RAII owner of a socket file descriptor (Ruby: Socket,
// BasicSocket). Blocking calls handle EINTR; the *_nonblock forms report "would block" as
// a value, never an exception (Ruby's `exception: false`); sends never raise SIGPIPE.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/options.hpp"

namespace sockit {

// The outcome of a non-blocking read or write.
enum class IoStatus {
  ok,           // `bytes` were transferred (> 0)
  would_block,  // nothing now; wait for readiness and try again
  eof,          // reads only: the peer closed its sending side
};

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;

  bool ok() const noexcept { return status == IoStatus::ok; }
  bool would_block() const noexcept { return status == IoStatus::would_block; }
  bool eof() const noexcept { return status == IoStatus::eof; }
};

class Socket;

// What accept gives: the connected socket and who is on the other end.
struct Accepted;

// The outcome of a non-blocking connect.
enum class ConnectStatus {
  connected,    // done at once (typical for Unix sockets and loopback)
  in_progress,  // wait_writable, then finish_connect()
};

class Socket {
 public:
  // No descriptor.
  Socket() noexcept = default;
  // socket(2) with SOCK_CLOEXEC. Throws Error("socket", ...).
  Socket(int family, int type, int protocol = 0);
  // Takes ownership of an existing descriptor (sets close-on-exec on it).
  static Socket adopt(int fd);

  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return is_open(); }
  // Gives up ownership; the caller must close the returned descriptor.
  int release() noexcept;
  // Closes now (idempotent). A close error is not reportable in any useful way: ignored.
  void close() noexcept;

  int family() const;  // from getsockname
  int type() const;    // SO_TYPE

  void bind(const Address& address);
  void listen(int backlog = SOMAXCONN);
  // Blocks until a connection arrives (or the deadline passes: Error timed_out).
  Accepted accept(Deadline deadline = {});
  // nullopt when no connection is waiting. Transient errors (ECONNABORTED, EPROTO...)
  // also give nullopt; EMFILE/ENFILE/ENOBUFS/ENOMEM throw, so servers can back off.
  // Like Ruby's, it leaves the listener in non-blocking mode (accept() still blocks).
  std::optional<Accepted> accept_nonblock();

  // Blocking connect, bounded by the deadline. Throws Error("connect", address, ...);
  // timed_out reads "connect 10.0.0.1:80: Connection timed out". After a timeout the
  // attempt may still be pending in the kernel: close the socket rather than reuse it.
  void connect(const Address& address, Deadline deadline = {});
  // Non-throwing form, for when failure is an expected outcome.
  void connect(const Address& address, Deadline deadline, std::error_code& ec) noexcept;
  // Starts a connect without waiting (the socket is switched to non-blocking mode).
  // Throws on immediate failure (e.g. ECONNREFUSED on Unix sockets).
  ConnectStatus connect_nonblock(const Address& address);
  // After writability: the result of an in-progress connect (from SO_ERROR).
  std::error_code finish_connect() noexcept;

  // Blocking send/recv with flags (MSG_PEEK, MSG_OOB...). MSG_NOSIGNAL is always added.
  // recv returns 0 at end of stream. Throw Error("send"/"recv", remote address, ...).
  std::size_t send(std::string_view bytes, int flags = 0);
  std::size_t recv(std::span<char> buffer, int flags = 0);

  // Non-blocking forms (MSG_DONTWAIT; the descriptor's mode is left alone). The common
  // case is inline, so an event loop calls recv/send itself: after a system call the CPU's
  // return-address predictor holds the kernel's calls, and every function a result is
  // returned through costs a mispredicted return.
  IoResult read_nonblock(std::span<char> buffer) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n > 0) return {IoStatus::ok, static_cast<std::size_t>(n)};
    return read_nonblock_rest(buffer, n);
  }
  IoResult write_nonblock(std::string_view bytes) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::ok, static_cast<std::size_t>(n)};
    return write_nonblock_rest(bytes);
  }

  // shutdown(2): close_read = SHUT_RD, close_write = SHUT_WR (sends EOF to the peer).
  // ENOTCONN is ignored on a socket that was connected (the peer already reset it: the
  // goal is met) and thrown on one that never was (a caller's mistake).
  void close_read();
  void close_write();
  void shutdown(int how = SHUT_RDWR);

  Address local_address() const;
  Address remote_address() const;
  // remote_address() when connected, else an empty Address; never throws. For messages.
  Address peer_or_empty() const noexcept;

  void set_nonblocking(bool on);
  bool is_nonblocking() const;

  template <class Option>
  void set(const Option& option) {
    auto native = option.to_native();
    set_option_raw(Option::level, Option::name, &native, sizeof native);
  }
  template <class Option>
  Option get() const {
    typename Option::native_type native{};
    get_option_raw(Option::level, Option::name, &native, sizeof native);
    return Option::from_native(native);
  }
  // Raw setsockopt/getsockopt; errors read "setsockopt SO_REUSEPORT: Protocol not available".
  void set_option_raw(int level, int name, const void* value, socklen_t size);
  void get_option_raw(int level, int name, void* value, socklen_t size) const;

 protected:
  explicit Socket(int fd) noexcept : fd_(fd) {}

 private:
  // End of stream, would-block, EINTR (retried) and errors (thrown) of the forms above.
  IoResult read_nonblock_rest(std::span<char> buffer, ssize_t got);
  IoResult write_nonblock_rest(std::string_view bytes);

  int fd_ = -1;
  // The peer given to connect or returned by accept (empty when unknown), so error
  // messages can still name it after a reset, when getpeername fails with ENOTCONN.
  Address peer_;
};

struct Accepted {
  Socket socket;
  Address peer;
};

// Convenience for TCP keep-alive: turns SO_KEEPALIVE on and sets the timings given.
struct KeepAliveSettings {
  std::optional<std::chrono::seconds> idle;
  std::optional<std::chrono::seconds> interval;
  std::optional<int> count;
};
void enable_keepalive(Socket& socket, const KeepAliveSettings& settings = {});

}  // namespace sockit
