// Poller: epoll for event loops and many descriptors. Descriptors are registered with an
// Interest and a token of the caller's choosing; wait() reports the tokens that are ready.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sockit/deadline.hpp"
#include "sockit/file_descriptor.hpp"

namespace sockit {

// What a Poller watches for: one or both of these, combined with |.
enum class Interest : std::uint32_t {
  readable = EPOLLIN | EPOLLRDHUP,
  writable = EPOLLOUT,
};

constexpr Interest operator|(Interest a, Interest b) noexcept {
  return static_cast<Interest>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
// The epoll event bits an Interest stands for.
constexpr std::uint32_t epoll_events(Interest interest) noexcept {
  return static_cast<std::uint32_t>(interest);
}

// What a Poller reports for one descriptor.
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

// epoll, level-triggered unless EPOLLET is given. Move-only: it owns the epoll descriptor.
class Poller {
 public:
  Poller();  // epoll_create1(EPOLL_CLOEXEC)

  void add(int fd, Interest interest, std::uint64_t token) {
    add(fd, epoll_events(interest), token);
  }
  void modify(int fd, Interest interest, std::uint64_t token) {
    modify(fd, epoll_events(interest), token);
  }
  // The same with raw epoll event bits, for flags beyond Interest (EPOLLET, EPOLLEXCLUSIVE).
  void add(int fd, std::uint32_t events, std::uint64_t token);
  void modify(int fd, std::uint32_t events, std::uint64_t token);
  void remove(int fd) noexcept;  // ignores descriptors that are not registered

  // Waits until events or the deadline; fills `events`, returns how many (0 on timeout).
  // EINTR returns 0.
  std::size_t wait(std::span<PollEvent> events, Deadline deadline = {});
  // Same with an explicit timeout in ms (-1 = forever), for event loops computing timers.
  std::size_t wait(std::span<PollEvent> events, int timeout_ms);

  int fd() const noexcept { return fd_.get(); }

 private:
  FileDescriptor fd_;
  std::vector<epoll_event> scratch_;
};

}  // namespace sockit
