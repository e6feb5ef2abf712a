// Internal: one worker's counters (sockit/server/metrics.hpp), and the shard the calling
// thread counts into. A shard has one writer (its thread, or its prefork worker), which
// adds with a plain load and store: no locked instruction on the per-message path. The
// shard fork gives all its connection processes takes atomic adds instead.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "sockit/server/metrics.hpp"

namespace sockit::server::detail {

class alignas(64) MetricShard {
 public:
  explicit MetricShard(bool many_writers = false) noexcept : many_writers_(many_writers) {}
  MetricShard(const MetricShard&) = delete;
  MetricShard& operator=(const MetricShard&) = delete;

  void add(Counter counter, std::uint64_t n = 1) noexcept {
    std::atomic<std::uint64_t>& c = counts_[static_cast<std::size_t>(counter)];
    if (many_writers_) {
      c.fetch_add(n, std::memory_order_relaxed);
    } else {
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
  }
  CounterValues read() const noexcept {
    CounterValues v;
    for (std::size_t i = 0; i < kCounterCount; ++i)
      v.values[i] = counts_[i].load(std::memory_order_relaxed);
    return v;
  }

 private:
  std::atomic<std::uint64_t> counts_[kCounterCount] = {};
  bool many_writers_;
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "counters shared between processes must be lock-free atomics");

// How a connection ended by an I/O failure counts: the peer's reset (or a pipe it broke),
// or another error.
inline Counter failure_kind(const std::error_code& error) noexcept {
  return error == std::errc::connection_reset || error == std::errc::broken_pipe
             ? Counter::closed_reset
             : Counter::closed_error;
}

// The calling thread's shard: what the blocking architectures count into, set by the
// runner for each thread (and child process) it starts. Counts of a thread without one
// go to a shard nobody reads.
MetricShard& thread_shard() noexcept;
void set_thread_shard(MetricShard* shard) noexcept;

}  // namespace sockit::server::detail
