// Internal: the accept side shared by the blocking architectures. Waits on the listener
// and the stop signal together, applies the connection gate (turning refused clients away
// with the service's "server full" line), and backs off for 100 ms when the process runs
// out of descriptors instead of spinning on a listener that stays readable.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "runtime.hpp"
#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

struct Admitted {
  Socket socket;
  Address peer;
  ConnectionGate::Ticket ticket;  // holds the connection's slot until destroyed
  Clock::time_point accepted;     // when
};

class AcceptLoop {
 public:
  explicit AcceptLoop(Runtime& rt) : rt_(rt) {}

  // The next admitted connection, or nullopt once stop has been requested and the
  // connections waiting in the backlog then have been handed out. While waiting,
  // `tick` (when given) runs about every `tick_every` (reaping children, joining threads).
  std::optional<Admitted> next(
      const std::function<void()>& tick = {},
      std::chrono::milliseconds tick_every = std::chrono::milliseconds(200));

 private:
  std::optional<Accepted> accept_one();
  std::optional<Admitted> take_backlog();

  Runtime& rt_;
  bool out_of_descriptors_ = false;
  std::optional<std::chrono::steady_clock::time_point> backlog_until_;
  int backlog_taken_ = 0;
};

// Tells a client it cannot be served (`message`, best effort, never blocking) and closes;
// counted as `counted` in the calling thread's shard.
void turn_away(Runtime& rt, Socket& socket, const Address& peer, std::string_view message,
               std::string_view reason, Counter counted = Counter::refused_full);

// How many workers an architecture runs when options.workers is 0.
unsigned default_workers(const ServerOptions& options);

}  // namespace sockit::server::detail
