// The load generator behind `sockit bench`: N connections driven from one epoll loop in
// ping-pong (optionally pipelined), churn (connect, one message, close) or idle (connect,
// one message, hold) mode. Every echoed byte is checked against what was sent; latencies go
// to a log-linear histogram that never allocates per sample.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sockit/address.hpp"

namespace sockit::cli::bench {

enum class LoadMode { pingpong, churn, idle };
std::string_view to_string(LoadMode mode) noexcept;

// HDR-style buckets: exact below 128 ns, then 64 sub-buckets per power of two (about 1.6%
// relative precision) up to the full 64-bit range, in a fixed array.
class LatencyHistogram {
 public:
  void record(std::uint64_t nanoseconds) noexcept;
  void merge(const LatencyHistogram& other) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  // The value below which `quantile` (0..1) of the samples fall, in ns; 0 when empty.
  std::uint64_t percentile(double quantile) const noexcept;

  static std::size_t bucket_of(std::uint64_t value) noexcept;
  static std::uint64_t bucket_low(std::size_t bucket) noexcept;

 private:
  static constexpr std::size_t kBuckets = 59 * 64;
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

struct ErrorCounts {
  std::uint64_t connect = 0;   // refused, unreachable, failed handshake
  std::uint64_t reset = 0;     // ECONNRESET/EPIPE while reading or writing
  std::uint64_t eof = 0;       // the server closed before echoing everything
  std::uint64_t mismatch = 0;  // an echoed byte differed from the one sent
  std::uint64_t timeout = 0;   // no progress for LoadOptions::timeout
  std::uint64_t other = 0;
  std::uint64_t total() const noexcept {
    return connect + reset + eof + mismatch + timeout + other;
  }
};

struct LoadOptions {
  Address server;
  LoadMode mode = LoadMode::pingpong;
  std::size_t conns = 50;
  std::size_t size = 64;     // bytes per message, the final one a newline
  std::size_t pipeline = 1;  // messages in flight per connection (ping-pong)
  std::chrono::milliseconds duration{5000};
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds timeout{5000};  // a connection with no progress this long fails
  // Churn on loopback: bind each client socket to one of 127.0.0.2 .. 127.0.0.(1+sources)
  // so TIME_WAIT does not exhaust the ephemeral ports of one address. 0: no binding.
  unsigned sources = 0;
  // Idle mode: called once every connection is open and has echoed one message.
  std::function<void()> on_idle_ready;
};

struct LoadResult {
  std::uint64_t messages = 0;        // measured period: echoes (ping-pong), connections (churn)
  std::uint64_t bytes = 0;           // echoed bytes verified in the measured period
  std::uint64_t verified_total = 0;  // echoed bytes verified over the whole run
  double seconds = 0;                // length of the measured period
  std::size_t held = 0;              // idle mode: connections open and verified
  LatencyHistogram latency;          // round trip (ping-pong), connect to echo (churn)
  ErrorCounts errors;                // over the whole run, warm-up included

  double rate() const noexcept { return seconds > 0 ? static_cast<double>(messages) / seconds : 0; }
  double mib_per_second() const noexcept {
    return seconds > 0 ? static_cast<double>(bytes) / seconds / (1024.0 * 1024.0) : 0;
  }
};

// Runs the load; throws sockit::Error or CliError only for local failures (no descriptors,
// no memory). Failures of the server are counted in LoadResult::errors.
LoadResult run_load(const LoadOptions& options);

}  // namespace sockit::cli::bench
