// An event loop's listener: accepting connections, admitting them through the connection
// gate and opening their sessions, and resting the listener while descriptors run out.
#pragma once

#include <cstdint>

#include "loop_shared.hpp"
#include "sockit/address.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// How a loop uses the listener it is given.
enum class ListenerUse {
  // This loop alone accepts on it, and closes it once stop is requested and the connections
  // already in its backlog are taken in (clients arriving later get "connection refused"
  // rather than hanging in a backlog nobody reads).
  exclusive,
  // Several loops accept on it (woken one at a time, EPOLLEXCLUSIVE); each only stops
  // watching it at stop, and its owner closes it once every loop has returned.
  shared,
};

// Accepted TCP sockets inherit TCP_NODELAY from their listener on Linux: setting it once
// here spares a setsockopt per connection. Small replies must not wait for Nagle.
void prepare_listener(Socket& listener, const Address& local) noexcept;

class Acceptor {
 public:
  // `listener` is bound, listening and non-blocking.
  Acceptor(LoopShared& loop, Socket& listener, ListenerUse use) noexcept;

  // Starts watching the listener, if it is open.
  void start();
  // The listener is readable: accepts what is waiting, a bounded number at a time.
  void on_ready();
  // io_uring: the multishot accept produced a connection, or an error (acceptor_uring.cpp).
  void on_accepted(const UringCompletion& done);
  // The last on_ready stopped at its bound with connections still waiting. The loop then
  // accepts again once per iteration instead of waiting for the listener's next report:
  // level-triggered epoll reports it once per pass over every ready descriptor, so with
  // thousands of busy connections a backlog would drain a batch per full pass.
  bool backlogged() const noexcept { return backlogged_; }
  // The loop is stopping: takes in the connections waiting in the backlog, then no more.
  void stop();
  // Resting for lack of descriptors, until resume_at().
  bool paused() const noexcept { return paused_; }
  Clock::time_point resume_at() const noexcept { return resume_at_; }
  // Listens again once the rest is over.
  void expire_timer() {
    if (paused_ && loop_.now >= resume_at_) resume();
  }

 private:
  void admit(Socket accepted, Address peer);
  void take_backlog();
  void pause(int err);
  void resume();
  // Starts or stops taking connections from the listener, on the loop's backend.
  void listen();
  void unlisten() noexcept;
  std::uint32_t interest() const noexcept {
    return use_ == ListenerUse::shared ? LoopBackend::kSharedListener : LoopBackend::kSignalled;
  }

  LoopShared& loop_;
  Socket& listener_;
  const ListenerUse use_;
  const Address local_;
  const bool local_is_wildcard_;
  bool listening_ = false;
  bool paused_ = false;
  bool shortage_logged_ = false;
  bool backlogged_ = false;
  Clock::time_point resume_at_{};
};

}  // namespace sockit::server::detail
