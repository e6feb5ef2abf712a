// What a running server has done, counted as it goes and read from any thread: connections
// accepted, refused and closed (each by reason), bytes and messages each way, TLS handshakes.
// Every thread or process that serves (a reactor, a pool or prefork worker, the accepting
// thread) counts into its own counters, written by it alone with no locked instruction, and
// a read sums them; fork and prefork keep theirs in memory the processes share.
//   sockit::server::ServerMetrics m = server.metrics();
//   std::printf("%llu open\n", static_cast<unsigned long long>(m.open));
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::server {

// What a worker counts. Monotonic, from the server's start.
enum class Counter : std::uint8_t {
  accepted,             // connections admitted
  refused_full,         // turned away: the server's connection limit
  refused_per_address,  // turned away: the per-address limit
  closed_eof,           // closed after the peer's EOF
  closed_reset,         // closed by a reset (or a broken pipe) from the peer
  closed_idle,          // closed by the idle timeout
  closed_error,         // closed by another I/O error or a failed session callback
  closed_server,        // closed by the server: the session ended it, a drain, a slow reader
  bytes_in,             // bytes read from clients
  bytes_out,            // bytes the kernel took for clients
  // What the protocol frames: lines of line services, WebSocket messages, HTTP requests.
  // Echo without a line limit or a rate passes bytes through unscanned: a read is one.
  messages_in,
  messages_out,           // writes by sessions and sends through their Peer handles
  messages_rate_limited,  // messages refused by the per-connection rate limit
  tls_handshakes,         // TLS handshakes completed
  tls_failures,           // TLS handshakes failed
};
inline constexpr std::size_t kCounterCount = 15;

// The Prometheus-style name of a counter's family and its label, e.g. closed_idle:
// {"connections_closed", "reason", "idle"}; the label is empty for counters without one.
struct CounterName {
  std::string_view family;
  std::string_view label;
  std::string_view value;
};
CounterName counter_name(Counter counter) noexcept;

struct CounterValues {
  std::array<std::uint64_t, kCounterCount> values{};
  std::uint64_t operator[](Counter c) const noexcept { return values[static_cast<std::size_t>(c)]; }
  std::uint64_t& operator[](Counter c) noexcept { return values[static_cast<std::size_t>(c)]; }
  std::uint64_t closed() const noexcept;  // all reasons
  CounterValues& operator+=(const CounterValues& other) noexcept;
};

// One worker's counters: "0", "1"... for reactors and pool or prefork workers, "accept" for
// the thread that accepts for the thread, pool and fork architectures, "connections" for
// the threads or processes those give each connection.
struct WorkerMetrics {
  std::string worker;
  CounterValues counts;
};

struct ServerMetrics {
  std::string service;                 // "echo", "chat", "http"...
  std::string architecture;            // "reactor"...
  CounterValues total;                 // over all workers
  std::uint64_t open = 0;              // connections open now: accepted and not yet closed
  std::vector<WorkerMetrics> workers;  // in the order they started
};

}  // namespace sockit::server
