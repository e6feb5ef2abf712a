// Socket: a move-only socket descriptor and the calls on it (Ruby: Socket, BasicSocket).
// Blocking calls handle EINTR; the *_nonblock forms report "would block" as a value (Ruby's
// `exception: false`), and their error_code& overloads report failures as values too;
// sends never raise SIGPIPE.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/file_descriptor.hpp"
#include "sockit/options.hpp"

namespace sockit {

// The outcome of a non-blocking read or write.
enum class IoStatus {
  ok,           // `bytes` were transferred (> 0)
  would_block,  // nothing now; wait for readiness and try again
  eof,          // reads only: the peer closed its sending side
  error,        // the error_code& forms only: `ec` says what failed
};

struct IoResult {
  IoStatus status = IoStatus::ok;
  std::size_t bytes = 0;

  bool ok() const noexcept { return status == IoStatus::ok; }
  bool would_block() const noexcept { return status == IoStatus::would_block; }
  bool eof() const noexcept { return status == IoStatus::eof; }
  bool error() const noexcept { return status == IoStatus::error; }
};

class Socket;

// What accept gives: the connected socket and who is on the other end.
struct Accepted;

// Whether a socket's descriptor is in blocking or non-blocking mode (O_NONBLOCK).
enum class SocketMode { blocking, nonblocking };

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
  // Takes ownership of a descriptor made close-on-exec already (by accept4 or io_uring's
  // accept with SOCK_CLOEXEC): no system call.
  static Socket own(int fd) noexcept { return Socket(fd); }

  int fd() const noexcept { return fd_.get(); }
  bool is_open() const noexcept { return fd_.is_open(); }
  explicit operator bool() const noexcept { return is_open(); }
  // Gives up ownership; the caller must close the returned descriptor.
  int release() noexcept { return fd_.release(); }
  // Closes now (idempotent). A close error is not reportable in any useful way: ignored.
  void close() noexcept { fd_.close(); }

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
  // Non-throwing form, for a listener already in non-blocking mode (it is not switched:
  // on a blocking listener this waits). Errors that cost only the connection being
  // accepted (ECONNABORTED, EPERM...; see accept(2)) are passed over. nullopt with `ec`
  // clear when no connection is waiting; nullopt with `ec` set on any other error, e.g.
  // out of descriptors (is_out_of_descriptors(ec)). The accepted socket is close-on-exec
  // and in the mode asked for.
  std::optional<Accepted> accept_nonblock(std::error_code& ec,
                                          SocketMode mode = SocketMode::blocking) noexcept;

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

  // Non-blocking forms (MSG_DONTWAIT; the descriptor's mode is left alone). They throw
  // Error("read"/"write", remote address, ...) on a failure other than "would block".
  IoResult read_nonblock(std::span<char> buffer) {
    const ssize_t n = receive_now(buffer);
    if (n > 0) return {IoStatus::ok, static_cast<std::size_t>(n)};
    return read_nonblock_or_throw(buffer, n);
  }
  IoResult write_nonblock(std::string_view bytes) {
    const ssize_t n = send_now(bytes);
    if (n >= 0) return {IoStatus::ok, static_cast<std::size_t>(n)};
    return write_nonblock_or_throw(bytes);
  }
  // Non-throwing forms: a failure (reset, EPIPE...) gives IoStatus::error with `ec` set;
  // any other status leaves `ec` clear.
  IoResult read_nonblock(std::span<char> buffer, std::error_code& ec) noexcept {
    const ssize_t n = receive_now(buffer);
    if (n > 0) {
      if (ec) ec.clear();
      return {IoStatus::ok, static_cast<std::size_t>(n)};
    }
    return read_nonblock_rest(buffer, n, ec);
  }
  IoResult write_nonblock(std::string_view bytes, std::error_code& ec) noexcept {
    const ssize_t n = send_now(bytes);
    if (n >= 0) {
      if (ec) ec.clear();
      return {IoStatus::ok, static_cast<std::size_t>(n)};
    }
    return write_nonblock_rest(bytes, ec);
  }

  // shutdown(2): close_read = SHUT_RD, close_write = SHUT_WR (sends EOF to the peer).
  // ENOTCONN is ignored on a socket that was connected (the peer already reset it: the
  // goal is met) and thrown on one that never was (a caller's mistake).
  void close_read();
  void close_write();
  void shutdown(int how = SHUT_RDWR);

  Address local_address() const;
  Address remote_address() const;
  // remote_address() when connected, else an empty Address; never throws. For messages:
  // it still names the peer of a TCP connection that was reset.
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
  ssize_t receive_now(std::span<char> buffer) noexcept {
    return ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  }
  ssize_t send_now(std::string_view bytes) noexcept {
    return ::send(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  // End of stream, would-block, EINTR (retried) and errors of the forms above.
  IoResult read_nonblock_rest(std::span<char> buffer, ssize_t got, std::error_code& ec) noexcept;
  IoResult write_nonblock_rest(std::string_view bytes, std::error_code& ec) noexcept;
  IoResult read_nonblock_or_throw(std::span<char> buffer, ssize_t got);
  IoResult write_nonblock_or_throw(std::string_view bytes);

  FileDescriptor fd_;
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
