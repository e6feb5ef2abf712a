// Internal: the one-shot timers of one blocking connection (all its channels), a min-heap
// on the connection's own thread. The read loop's poll waits no longer than next_due(), then
// pops what is due. Cancelled timers stay in the heap until they come due or the heap is
// mostly dead, so cancel is cheap and memory stays bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sockit/deadline.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server::detail {

class ThreadTimers {
 public:
  struct Due {
    TimerId id;
    std::uint64_t channel;
  };

  // Ids count up from 1 and are never reused within this object.
  TimerId start(std::uint64_t channel, std::chrono::milliseconds after);
  bool cancel(TimerId id) noexcept;
  // Forgets every timer of a channel that has closed.
  void cancel_channel(std::uint64_t channel) noexcept;

  bool empty() const noexcept { return live_.empty(); }
  // When the earliest live timer is due; nullopt when none is.
  std::optional<Clock::time_point> next_due() noexcept;
  // Removes and returns the earliest timer due at `now`, if any.
  std::optional<Due> pop_due(Clock::time_point now) noexcept;

 private:
  struct Entry {
    Clock::time_point due;
    TimerId id;
  };
  void drop_dead_top() noexcept;
  void compact() noexcept;

  std::vector<Entry> heap_;
  std::unordered_map<TimerId, std::uint64_t> live_;  // id -> channel
  TimerId last_ = 0;
};

}  // namespace sockit::server::detail
