// The reactor's event loop: one thread, one backend (epoll), many non-blocking connections,
// each driven through its Session by readiness events. `reactor` runs one EventLoop;
// `hybrid` runs one per core, each on its own SO_REUSEPORT listener. Internal to the
// server layer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "acceptor.hpp"
#include "loop_connection.hpp"
#include "loop_links.hpp"
#include "loop_shared.hpp"
#include "mailbox.hpp"
#include "runtime.hpp"
#include "sockit/poller.hpp"
#include "sockit/socket.hpp"

namespace sockit::server::detail {

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
  // From any thread.
  LoopStats stats() const noexcept { return shared_.counters.snapshot(); }

 private:
  SOCKIT_HOT void dispatch(const PollEvent& event);
  // The loop on io_uring (event_loop_uring.cpp): the same phases, fed by completions.
  void run_uring();
  void dispatch(const UringCompletion& done, bool& stop);
  // What every turn ends with, on either backend.
  SOCKIT_HOT void end_turn();
  bool running() const noexcept {
    return !shared_.draining || (shared_.live > 0 && shared_.now < drain_deadline_);
  }
  void finish();
  void unwatch_stop();
  void prefetch_slot(std::uint64_t token) const noexcept;
  void prefetch_session(std::uint64_t token) const noexcept;
  void begin_drain();
  void drain_late_arrivals();
  // Once per iteration: inlined like the per-message path.
  SOCKIT_HOT void deliver_mail();
  SOCKIT_HOT void expire_timers();
  SOCKIT_HOT int next_timeout_ms() const noexcept;
  void settle_others();
  void report_refused(RefusedDial& refused) noexcept;
  void close_all() noexcept;

  LoopShared shared_;
  Acceptor acceptor_;
  LoopLinks links_{shared_};
  std::vector<std::shared_ptr<PeerImpl>> mail_batch_;
  std::vector<Delivery> deliveries_;
  bool stop_watched_ = false;
  Clock::time_point drain_deadline_{};
};

}  // namespace sockit::server::detail
