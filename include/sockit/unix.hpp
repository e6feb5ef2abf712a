// Unix domain sockets (Ruby: UNIXServer, UNIXSocket, UNIXSocket.pair, send_io/recv_io):
// servers on a path or an abstract name, clients, socket pairs, passing file descriptors
// over SCM_RIGHTS and reading the peer's credentials (SO_PEERCRED).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sockit/address.hpp"
#include "sockit/deadline.hpp"
#include "sockit/file_descriptor.hpp"
#include "sockit/socket.hpp"

namespace sockit {

// Who is on the other end of a Unix socket, as the kernel saw it at connect time.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A descriptor received together with the bytes that carried it.
struct ReceivedDescriptor {
  FileDescriptor fd;
  std::string data;
};

class UnixSocket : public Socket {
 public:
  UnixSocket() noexcept = default;
  // An unconnected AF_UNIX socket (SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET).
  explicit UnixSocket(int type);
  explicit UnixSocket(Socket&& socket) noexcept : Socket(std::move(socket)) {}

  // Connects to a socket file. Throws Error("connect", path, ...), e.g. ENOENT, ECONNREFUSED.
  [[nodiscard]] static UnixSocket connect(std::string_view path, Deadline deadline = {},
                                          int type = SOCK_STREAM);
  // A path or abstract address (Address::unix_abstract).
  [[nodiscard]] static UnixSocket connect(const Address& address, Deadline deadline = {},
                                          int type = SOCK_STREAM);

  // Sends `fd` (SCM_RIGHTS) with `data` (at least one byte must travel with it; the
  // default is a single NUL). The caller keeps its own copy of fd open.
  void send_fd(int fd, std::string_view data = std::string_view("\0", 1));
  // Receives one descriptor (close-on-exec set), reading at most one byte of data.
  // Throws Error("recvmsg", ...) with errc::connection_closed at end of stream, or
  // errc::not_found when a message arrives without a descriptor.
  FileDescriptor recv_fd(Deadline deadline = {});
  // The same, also returning up to max_data bytes that came with it.
  ReceivedDescriptor recv_fd_with_data(std::size_t max_data, Deadline deadline = {});

  // SO_PEERCRED. Throws Error("getsockopt SO_PEERCRED", ...).
  PeerCredentials peer_credentials() const;
};

struct UnixAccepted {
  UnixSocket socket;
  Address peer;  // usually unnamed for clients: prints as an empty path
};

struct UnixServerOptions {
  int backlog = SOMAXCONN;
  int type = SOCK_STREAM;  // SOCK_STREAM or SOCK_SEQPACKET
  // Remove the socket file when the server is destroyed, but only from the process that
  // created it and only when the path is still the file it created.
  bool unlink_on_close = true;
};

// A listening Unix socket. A socket file left behind by a dead server is replaced (it is
// removed only when it is a socket AND connecting to it is refused); a live socket gives
// "bind /path: Address already in use"; anything that is not a socket is never removed.
// (Finding a server alive takes a connect, which that server accepts as a connection
// closed at once, as with every such check.)
class UnixServer : public Socket {
 public:
  UnixServer() noexcept = default;
  explicit UnixServer(std::string_view path, const UnixServerOptions& options = {});
  // A path or an abstract name (Address::unix_abstract("name")).
  explicit UnixServer(const Address& address, const UnixServerOptions& options = {});

  UnixServer(UnixServer&& other) noexcept;
  UnixServer& operator=(UnixServer&& other) noexcept;
  UnixServer(const UnixServer&) = delete;
  UnixServer& operator=(const UnixServer&) = delete;
  ~UnixServer();

  const Address& address() const noexcept { return address_; }
  std::string path() const { return address_.path(); }

  UnixAccepted accept(Deadline deadline = {});
  std::optional<UnixAccepted> accept_nonblock();

  // Leaves the socket file in place when this object closes: another process serves the
  // same socket now (it inherited it across a restart).
  void keep_file() noexcept { owns_file_ = false; }

 private:
  void unlink_if_ours() noexcept;

  Address address_;
  // Identity of the socket file this object created, for unlink_on_close.
  bool owns_file_ = false;
  pid_t creator_pid_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

// A connected pair (Ruby: UNIXSocket.pair / Socket.socketpair).
std::pair<UnixSocket, UnixSocket> unix_socketpair(int type = SOCK_STREAM);

}  // namespace sockit
