// The reactor: one thread, one epoll set, many non-blocking connections, each driven through
// its Session by readiness events. `reactor` runs one EventLoop; `hybrid` runs one per core,
// each on its own SO_REUSEPORT listener. Internal to the server layer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

#include "runtime.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

// Tuning knobs; the defaults are what `sockit serve` uses.
struct LoopSettings {
  // Back-pressure: past high_water bytes of unsent output a connection is no longer read
  // from, until its queue drains below low_water. Its memory stays bounded by roughly
  // high_water plus the answer to one read.
  std::size_t high_water = 1024 * 1024;
  std::size_t low_water = 256 * 1024;
  // Output that others push through Peer cannot be paused at the source: a connection whose
  // queue passes this is closed as too slow.
  std::size_t max_queued = 16 * 1024 * 1024;
  // One shared read buffer per loop; large reads keep syscalls per byte low.
  std::size_t read_buffer = 64 * 1024;
  // When accept fails for lack of descriptors, the listener rests this long.
  std::chrono::milliseconds accept_pause{100};
  // After a server-side close with unread input, how long to wait for the peer's EOF.
  std::chrono::milliseconds linger{2000};
};

// Counters a test or a benchmark can read from another thread.
struct LoopStats {
  std::size_t connections = 0;        // open now
  std::size_t accepted = 0;           // since start
  std::size_t queued_bytes = 0;       // output waiting in per-connection queues now
  std::size_t peak_queued_bytes = 0;  // largest single-connection queue seen
  std::size_t read_pauses = 0;        // times back-pressure stopped reading a connection
  std::size_t accept_pauses = 0;      // times the listener rested for lack of descriptors
};

// How a loop uses the listener it is given.
enum class ListenerUse {
  // This loop alone accepts on it, and closes it as soon as stop is requested (clients then
  // get "connection refused" rather than hanging in the backlog).
  exclusive,
  // Several loops accept on it (woken one at a time, EPOLLEXCLUSIVE); each only stops
  // watching it at stop, and its owner closes it once every loop has returned.
  shared,
};

// Accepted TCP sockets inherit TCP_NODELAY from their listener on Linux: setting it once
// here spares a setsockopt per connection. Small replies must not wait for Nagle.
void prepare_listener(Socket& listener, const Address& local) noexcept;

class EventLoop {
 public:
  // `listener` is bound, listening and non-blocking.
  EventLoop(Runtime& runtime, Socket& listener, ListenerUse use, LoopSettings settings = {});
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Serves until runtime.stop is requested, then drains: returns when every connection
  // has closed or options.drain_timeout has passed. Call from one thread only.
  void run();
  LoopStats stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::server::detail
