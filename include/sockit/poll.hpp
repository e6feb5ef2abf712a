// Readiness. select(): Ruby's IO.select over a few sockets, built on poll(2) so there is
// no FD_SETSIZE limit; wait_readable/wait_writable for one descriptor. Poller: the epoll
// wrapper the reactor is built on.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
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

// What a Poller watches for, and what it reports.
enum Interest : std::uint32_t {
  readable = EPOLLIN | EPOLLRDHUP,
  writable = EPOLLOUT,
};

struct PollEvent {
  std::uint64_t token = 0;   // what was registered with the descriptor
  std::uint32_t events = 0;  // EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP
  bool is_readable() const noexcept {
    return (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0;
  }
  bool is_writable() const noexcept { return (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0; }
  bool is_error() const noexcept { return (events & EPOLLERR) != 0; }
  bool is_hangup() const noexcept { return (events & EPOLLHUP) != 0; }
};

// epoll, level-triggered unless `edge` is asked for. Move-only RAII owner of the epoll fd.
class Poller {
 public:
  Poller();  // epoll_create1(EPOLL_CLOEXEC)
  Poller(Poller&&) noexcept;
  Poller& operator=(Poller&&) noexcept;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  ~Poller();

  void add(int fd, std::uint32_t interest, std::uint64_t token);
  void modify(int fd, std::uint32_t interest, std::uint64_t token);
  void remove(int fd) noexcept;  // ignores descriptors that are not registered

  // Waits until events or the deadline; fills `events`, returns how many (0 on timeout).
  // EINTR returns 0.
  std::size_t wait(std::span<PollEvent> events, Deadline deadline = {});
  // Same with an explicit timeout in ms (-1 = forever), for event loops computing timers.
  std::size_t wait(std::span<PollEvent> events, int timeout_ms);

  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  std::vector<epoll_event> scratch_;
};

}  // namespace sockit
