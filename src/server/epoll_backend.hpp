// The event loop's I/O backend: watch descriptors under tokens, wait, report what is ready.
// That is all that differs between readiness backends; the loop's phases, connection state,
// timers and drain do not depend on it. The loop holds one as a concrete member (no virtual
// call per event): another backend is another class with these members.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sockit/poller.hpp"

namespace sockit::server::detail {

class EpollBackend {
 public:
  // What a connection asks to be told about, and the events reported for it.
  static constexpr std::uint32_t kReadable = epoll_events(Interest::readable);
  static constexpr std::uint32_t kWritable = EPOLLOUT;
  static constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
  static constexpr std::uint32_t kWriteEvents = EPOLLOUT | EPOLLERR | EPOLLHUP;
  static constexpr std::uint32_t kFailureEvents = EPOLLERR | EPOLLHUP;
  // A descriptor that only signals: a listener of one loop, an eventfd.
  static constexpr std::uint32_t kSignalled = EPOLLIN;
  // A listener several loops accept on wakes one of them per connection.
  static constexpr std::uint32_t kSharedListener = EPOLLIN | EPOLLEXCLUSIVE;

  // Throw Error when the kernel refuses.
  void watch(int fd, std::uint32_t interest, std::uint64_t token) {
    poller_.add(fd, interest, token);
  }
  void change(int fd, std::uint32_t interest, std::uint64_t token) {
    poller_.modify(fd, interest, token);
  }
  // Closing a descriptor also unwatches it; this is for those that stay open.
  void unwatch(int fd) noexcept { poller_.remove(fd); }

  // Waits up to timeout_ms (-1: no limit); the events are valid until the next wait.
  std::span<const PollEvent> wait(int timeout_ms) {
    return {events_.data(), poller_.wait(events_, timeout_ms)};
  }

 private:
  static constexpr std::size_t kMaxEvents = 256;
  Poller poller_;
  std::array<PollEvent, kMaxEvents> events_{};
};

}  // namespace sockit::server::detail
