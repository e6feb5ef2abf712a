// Unix domain sockets: servers that replace only provably dead socket files, clients, socket pairs,
// descriptor passing (SCM_RIGHTS) and peer credentials (SO_PEERCRED).
#include "sockit/unix.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/poll.hpp"

namespace sockit {
namespace {

// Room for a few descriptors: a peer may send more than one, and the extras must be received (and
// closed) rather than leaked in a truncated control message.
constexpr std::size_t kMaxDescriptors = 8;

std::string peer_text(const Socket& socket) {
  return socket.peer_or_empty().to_string();
}

int bind_errno(const Socket& socket, const Address& address) noexcept {
  return ::bind(socket.fd(), address.data(), address.size()) == 0 ? 0 : errno;
}

// Called after bind gave EADDRINUSE on a path. Removes the file when it is a socket that refuses
// connections (its server is gone) and returns true, so bind can be retried. A live socket gives
// false. Anything that is not a socket is never touched: Error.
bool remove_if_stale(const Address& address, int type) {
  const std::string path = address.path();
  struct stat before {};
  if (::lstat(path.c_str(), &before) != 0) return errno == ENOENT;  // gone meanwhile: retry
  if (!S_ISSOCK(before.st_mode)) {
    throw Error(errno_code(EADDRINUSE), "bind", address.to_string(),
                "Address already in use (the existing file is not a socket; it "
                "was left "
                "alone)");
  }
  Socket probe(AF_UNIX, type);
  probe.set_nonblocking(true);  // a live server with a full backlog must not block us
  if (::connect(probe.fd(), address.data(), address.size()) == 0) return false;
  // Only a refusal proves nobody listens; EAGAIN (full backlog), EPROTOTYPE (a socket of another
  // type) and the rest leave the file alone.
  if (errno != ECONNREFUSED) return false;
  struct stat now {};
  if (::lstat(path.c_str(), &now) != 0) return errno == ENOENT;
  if (now.st_dev != before.st_dev || now.st_ino != before.st_ino) return false;  // replaced
  return ::unlink(path.c_str()) == 0 || errno == ENOENT;
}

}  // namespace

UnixSocket::UnixSocket(int type) : Socket(AF_UNIX, type) {}

UnixSocket UnixSocket::connect(std::string_view path, Deadline deadline, int type) {
  return connect(Address::unix_path(path), deadline, type);
}

UnixSocket UnixSocket::connect(const Address& address, Deadline deadline, int type) {
  UnixSocket socket(type);
  static_cast<Socket&>(socket).connect(address, deadline);
  return socket;
}

void UnixSocket::send_fd(int fd_to_send, std::string_view data) {
  if (data.empty()) data = std::string_view("\0", 1);  // the descriptor needs a carrier byte
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd_to_send, sizeof(int));

  ssize_t sent = 0;
  for (;;) {
    sent = ::sendmsg(fd(), &message, MSG_NOSIGNAL);
    if (sent >= 0) break;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable(*this)) continue;
    throw_errno("sendmsg", peer_text(*this), errno);
  }
  // The descriptor travelled with the first byte; a stream may take the rest separately.
  for (auto done = static_cast<std::size_t>(sent); done < data.size();) {
    done += send(data.substr(done));
  }
}

FileDescriptor UnixSocket::recv_fd(Deadline deadline) {
  return recv_fd_with_data(1, deadline).fd;
}

ReceivedDescriptor UnixSocket::recv_fd_with_data(std::size_t max_data, Deadline deadline) {
  std::string data(max_data == 0 ? 1 : max_data, '\0');
  iovec iov{data.data(), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxDescriptors)] = {};
  msghdr message{};
  ssize_t received = 0;
  for (;;) {
    message = msghdr{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    received = ::recvmsg(fd(), &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (received >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("recvmsg", peer_text(*this), errno);
    if (!wait_readable(*this, deadline)) throw_error(errc::timed_out, "recvmsg", peer_text(*this));
  }

  // Take ownership of everything that arrived before deciding anything, so no path leaks.
  std::vector<FileDescriptor> descriptors;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received_fd = -1;
      std::memcpy(&received_fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      descriptors.emplace_back(received_fd);
    }
  }
  if ((message.msg_flags & MSG_CTRUNC) != 0) {
    throw_error(errc::datagram_truncated, "recvmsg", peer_text(*this),
                "too many file descriptors in one message (control data truncated)");
  }
  if (descriptors.empty()) {
    if (received == 0) throw_error(errc::connection_closed, "recvmsg", peer_text(*this));
    throw_error(errc::not_found, "recvmsg", peer_text(*this), "message carried no file descriptor");
  }
  data.resize(static_cast<std::size_t>(received));
  return {std::move(descriptors.front()), std::move(data)};
}

PeerCredentials UnixSocket::peer_credentials() const {
  ucred credentials{};
  get_option_raw(SOL_SOCKET, SO_PEERCRED, &credentials, sizeof credentials);
  return {credentials.pid, credentials.uid, credentials.gid};
}

UnixServer::UnixServer(std::string_view path, const UnixServerOptions& options)
    : UnixServer(Address::unix_path(path), options) {}

UnixServer::UnixServer(const Address& address, const UnixServerOptions& options)
    : address_(address) {
  if (!address.is_unix()) {
    throw_error(errc::invalid_argument, "bind", address.to_string(), "not a Unix socket address");
  }
  Socket socket(AF_UNIX, options.type);
  int err = bind_errno(socket, address);
  if (err == EADDRINUSE && !address.is_abstract() && remove_if_stale(address, options.type)) {
    err = bind_errno(socket, address);
  }
  if (err != 0) throw_errno("bind", address.to_string(), err);
  socket.listen(options.backlog);

  if (options.unlink_on_close && !address.is_abstract()) {
    struct stat created {};
    if (::lstat(address.path().c_str(), &created) == 0) {
      owns_file_ = true;
      creator_pid_ = ::getpid();
      device_ = created.st_dev;
      inode_ = created.st_ino;
    }
  }
  static_cast<Socket&>(*this) = std::move(socket);
}

UnixServer::UnixServer(UnixServer&& other) noexcept
    : Socket(std::move(other)),
      address_(other.address_),
      owns_file_(std::exchange(other.owns_file_, false)),
      creator_pid_(other.creator_pid_),
      device_(other.device_),
      inode_(other.inode_) {}

UnixServer& UnixServer::operator=(UnixServer&& other) noexcept {
  if (this != &other) {
    unlink_if_ours();
    Socket::operator=(std::move(other));
    address_ = other.address_;
    owns_file_ = std::exchange(other.owns_file_, false);
    creator_pid_ = other.creator_pid_;
    device_ = other.device_;
    inode_ = other.inode_;
  }
  return *this;
}

UnixServer::~UnixServer() {
  unlink_if_ours();
}

void UnixServer::unlink_if_ours() noexcept {
  if (!owns_file_) return;
  owns_file_ = false;
  // A forked child (prefork worker) shares the socket but must not remove the file.
  if (::getpid() != creator_pid_) return;
  try {
    const std::string path = address_.path();
    struct stat now {};
    if (::lstat(path.c_str(), &now) == 0 && now.st_dev == device_ && now.st_ino == inode_) {
      ::unlink(path.c_str());
    }
  } catch (...) {
    // Building the path string can only fail on allocation; leaving the file is harmless.
  }
}

UnixAccepted UnixServer::accept(Deadline deadline) {
  Accepted accepted = Socket::accept(deadline);
  return {UnixSocket(std::move(accepted.socket)), accepted.peer};
}

std::optional<UnixAccepted> UnixServer::accept_nonblock() {
  auto accepted = Socket::accept_nonblock();
  if (!accepted) return std::nullopt;
  return UnixAccepted{UnixSocket(std::move(accepted->socket)), accepted->peer};
}

std::pair<UnixSocket, UnixSocket> unix_socketpair(int type) {
  int ends[2] = {-1, -1};
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, ends) != 0) {
    throw_errno("socketpair", "", errno);
  }
  // Owned from here on, so a failing adopt cannot leak either end.
  FileDescriptor first_end(ends[0]);
  FileDescriptor second_end(ends[1]);
  Socket first = Socket::adopt(first_end.get());
  first_end.release();
  Socket second = Socket::adopt(second_end.get());
  second_end.release();
  return {UnixSocket(std::move(first)), UnixSocket(std::move(second))};
}

}  // namespace sockit
