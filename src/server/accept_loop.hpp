// Internal: the accept side shared by the blocking architectures. Waits on the listener
// and the stop signal together (and, for pool workers, a wake-up descriptor), applies the
// connection gate (turning refused clients away with the service's "server full" line), and backs
// off for 100 ms when the process runs out of descriptors instead of spinning on a listener that
// stays readable.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "runtime.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

struct Admitted {
  Socket socket;
  Address peer;
  ConnectionGate::Ticket ticket;  // holds the connection's slot until destroyed
};

struct AcceptLoopOptions {
  // Another descriptor to wait on (an eventfd in semaphore mode): when it fires, next()
  // takes one count from it and returns nullopt, so its owner can look at what it signals.
  int wake_fd = -1;
  // Whether next() closes the listener when it sees the stop request. A runner with
  // several loops on one listener in one process (pool) shuts it down and closes it itself,
  // once no loop can still be using the descriptor.
  bool close_listener_on_stop = true;
  // Wait in an epoll set with the listener (and wake_fd) registered EPOLLEXCLUSIVE: of
  // several loops waiting on it, the kernel wakes the first registered one that is
  // waiting, instead of all of them. Pool's threads use it. Otherwise the loop waits in
  // poll(2), which prefork's processes measured cheaper with (bench/profiling.md, round 4).
  bool exclusive = false;
};

class AcceptLoop {
 public:
  explicit AcceptLoop(Runtime& rt, AcceptLoopOptions options = {});
  ~AcceptLoop();
  AcceptLoop(const AcceptLoop&) = delete;
  AcceptLoop& operator=(const AcceptLoop&) = delete;

  // The next admitted connection, or nullopt once stop has been requested (or the wake
  // descriptor fired). While waiting, `tick` (when given) runs about every `tick_every`
  // (reaping children, joining threads).
  std::optional<Admitted> next(
      const std::function<void()>& tick = {},
      std::chrono::milliseconds tick_every = std::chrono::milliseconds(200));

 private:
  struct Readiness {
    bool stop = false;
    bool listener = false;
    bool woken = false;
  };
  Readiness wait_for(int timeout_ms);
  void wait_failed(const char* call);
  std::optional<Accepted> accept_one();
  std::optional<Admitted> stopping();

  Runtime& rt_;
  AcceptLoopOptions options_;
  int epoll_fd_ = -1;
  bool out_of_descriptors_ = false;
};

// Tells a client it cannot be served (`message`, best effort, never blocking) and closes.
void turn_away(Runtime& rt, Socket& socket, const Address& peer, std::string_view message,
               std::string_view reason);

// How many workers an architecture runs when options.workers is 0.
unsigned default_workers(const ServerOptions& options);

}  // namespace sockit::server::detail
