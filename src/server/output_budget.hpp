// Internal: the bounds on output that waits for slow peers, shared by every connection of
// one server process. A connection's queue (what its session, or others through its Peer,
// wrote and the kernel has not taken yet) may hold ServerOptions::max_output_per_connection
// bytes; all queues together ServerOptions::max_output bytes, past which a connection whose
// queue holds more than its share (the bound over the connections open, and more than
// kSmallQueue) is closed. A peer that reads holds a message or two and keeps its place; a
// member that cannot keep up is dropped, on every architecture alike. Thread-safe;
// process-local (fork and prefork workers each hold a whole budget, as each holds its own
// memory).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

namespace sockit::server::detail {

class OutputBudget {
 public:
  // Past the server-wide bound, a queue this small is always spared.
  static constexpr std::size_t kSmallQueue = 64 * 1024;

  // 0: no bound of that kind.
  OutputBudget(std::size_t per_connection, std::size_t total) noexcept
      : per_connection_(per_connection), total_(total) {}
  OutputBudget(const OutputBudget&) = delete;
  OutputBudget& operator=(const OutputBudget&) = delete;

  void add(std::size_t n) noexcept { used_.fetch_add(n, std::memory_order_relaxed); }
  void remove(std::size_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }
  // Bytes queued by every connection of this process now.
  std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }

  // Whether a connection whose queue holds `queued` bytes, one of `connections` open, is
  // too slow to keep. Past the server's bound some queue is always over its share, so
  // dropping those brings the total back.
  bool too_slow(std::size_t queued, std::size_t connections) const noexcept {
    if (per_connection_ != 0 && queued > per_connection_) return true;
    if (total_ == 0 || queued <= kSmallQueue || used() <= total_) return false;
    return queued > total_ / std::max<std::size_t>(connections, 1);
  }
  // The log line for closing one: "closing WHO: N bytes of output unread (client too slow)".
  std::string closing_line(std::string_view who, std::size_t queued) const;

 private:
  const std::size_t per_connection_;
  const std::size_t total_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace sockit::server::detail
