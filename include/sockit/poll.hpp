// Readiness of a few sockets. select(): Ruby's IO.select, built on poll(2) so there is no
// FD_SETSIZE limit; wait_readable/wait_writable for one descriptor. For many descriptors
// and event loops, see Poller (poller.hpp).
#pragma once

#include <span>
#include <vector>

#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"

namespace sockit {

// true when readable (or at EOF/error, where a read will not block) before the deadline.
bool wait_readable(int fd, Deadline deadline = {});
bool wait_readable(const Socket& socket, Deadline deadline = {});
bool wait_writable(int fd, Deadline deadline = {});
bool wait_writable(const Socket& socket, Deadline deadline = {});

// The sockets of each set that are ready, as the same pointers that were passed in.
struct SelectResult {
  std::vector<Socket*> readable;
  std::vector<Socket*> writable;
  std::vector<Socket*> errored;  // POLLERR/POLLHUP/POLLNVAL on a socket of either set
  bool timed_out() const noexcept {
    return readable.empty() && writable.empty() && errored.empty();
  }
};

// Ruby: IO.select(read, write, nil, timeout). Empty result when the deadline passes.
SelectResult select(std::span<Socket* const> read, std::span<Socket* const> write,
                    Deadline deadline = {});

}  // namespace sockit
