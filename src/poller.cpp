// The epoll Poller. EINTR returns "no events" rather than an error, so a loop can check
// its flags.
#include "sockit/poller.hpp"

#include <cerrno>
#include <string>

#include "sockit/error.hpp"

namespace sockit {
namespace {

std::string fd_target(int fd) {
  return "fd " + std::to_string(fd);
}

}  // namespace

Poller::Poller() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!fd_) throw_errno("epoll_create1", {}, errno);
}

void Poller::add(int fd, std::uint32_t interest, std::uint64_t token) {
  epoll_event event{};
  event.events = interest;
  event.data.u64 = token;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    throw_errno("epoll_ctl add", fd_target(fd), errno);
  }
}

void Poller::modify(int fd, std::uint32_t interest, std::uint64_t token) {
  epoll_event event{};
  event.events = interest;
  event.data.u64 = token;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    throw_errno("epoll_ctl modify", fd_target(fd), errno);
  }
}

void Poller::remove(int fd) noexcept {
  // ENOENT (never added) and EBADF (already closed, which removed it) are both fine.
  epoll_event unused{};
  ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, &unused);
}

std::size_t Poller::wait(std::span<PollEvent> events, Deadline deadline) {
  return wait(events, deadline.poll_timeout_ms());
}

std::size_t Poller::wait(std::span<PollEvent> events, int timeout_ms) {
  if (events.empty()) {
    throw_error(errc::invalid_argument, "epoll_wait", fd_target(fd()), "no room for events");
  }
  // Grows only: a loop waiting with the same span allocates once.
  if (scratch_.size() < events.size()) scratch_.resize(events.size());
  int max = events.size() > 1'000'000 ? 1'000'000 : static_cast<int>(events.size());
  int n = ::epoll_wait(fd(), scratch_.data(), max, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_errno("epoll_wait", fd_target(fd()), errno);
  }
  for (int i = 0; i < n; ++i) {
    events[static_cast<std::size_t>(i)] = PollEvent{scratch_[static_cast<std::size_t>(i)].data.u64,
                                                    scratch_[static_cast<std::size_t>(i)].events};
  }
  return static_cast<std::size_t>(n);
}

}  // namespace sockit
