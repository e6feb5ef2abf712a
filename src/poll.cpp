// Readiness: poll(2) for one descriptor or a few sockets (no FD_SETSIZE limit). EINTR
// never surfaces as an error: poll retries with the time left.
#include "sockit/poll.hpp"

#include <poll.h>

#include <cerrno>
#include <string>

#include "sockit/error.hpp"

namespace sockit {
namespace {

std::string fd_target(int fd) {
  return "fd " + std::to_string(fd);
}

bool wait_for(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    int n = ::poll(&entry, 1, deadline.poll_timeout_ms());
    if (n > 0) {
      if ((entry.revents & POLLNVAL) != 0) throw_errno("poll", fd_target(fd), EBADF);
      return true;  // ready, or POLLERR/POLLHUP where the next call will not block
    }
    if (n == 0) {
      if (deadline.expired()) return false;
      continue;  // timeout clamped by poll_timeout_ms(); the deadline is further away
    }
    if (errno != EINTR) throw_errno("poll", fd_target(fd), errno);
  }
}

void add_once(std::vector<Socket*>& list, Socket* socket) {
  for (Socket* s : list) {
    if (s == socket) return;
  }
  list.push_back(socket);
}

}  // namespace

bool wait_readable(int fd, Deadline deadline) {
  return wait_for(fd, POLLIN, deadline);
}
bool wait_readable(const Socket& socket, Deadline deadline) {
  return wait_for(socket.fd(), POLLIN, deadline);
}
bool wait_writable(int fd, Deadline deadline) {
  return wait_for(fd, POLLOUT, deadline);
}
bool wait_writable(const Socket& socket, Deadline deadline) {
  return wait_for(socket.fd(), POLLOUT, deadline);
}

SelectResult select(std::span<Socket* const> read, std::span<Socket* const> write,
                    Deadline deadline) {
  // One pollfd per entry (a socket in both sets gets two), so entry i maps back to its
  // set by position. Null pointers and closed sockets get fd -1, which poll ignores.
  std::vector<pollfd> entries;
  entries.reserve(read.size() + write.size());
  for (Socket* s : read)
    entries.push_back({s != nullptr ? s->fd() : -1, POLLIN, 0});
  for (Socket* s : write)
    entries.push_back({s != nullptr ? s->fd() : -1, POLLOUT, 0});

  SelectResult result;
  for (;;) {
    int n = ::poll(entries.data(), entries.size(), deadline.poll_timeout_ms());
    if (n > 0) break;
    if (n == 0) {
      if (deadline.expired()) return result;
      continue;
    }
    if (errno != EINTR) throw_errno("poll", {}, errno);
  }

  for (std::size_t i = 0; i < entries.size(); ++i) {
    short revents = entries[i].revents;
    if (revents == 0) continue;
    bool in_read_set = i < read.size();
    Socket* socket = in_read_set ? read[i] : write[i - read.size()];
    // As select(2) does: a read on a hung-up or failed socket returns at once (EOF or the
    // error), so it counts as readable; a write on a failed one as writable.
    if (in_read_set && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      add_once(result.readable, socket);
    }
    if (!in_read_set && (revents & (POLLOUT | POLLERR)) != 0) add_once(result.writable, socket);
    if ((revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) add_once(result.errored, socket);
  }
  return result;
}

}  // namespace sockit
