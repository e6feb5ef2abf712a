// The protocol side of a server, written once and run by every architecture. A Session is
// sans-I/O: it is handed the bytes that arrived and writes its answers to an Output; it
// never touches a socket. Blocking architectures call it from a read loop, the reactor
// from readiness events. A Service makes one Session per connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sockit/address.hpp"
#include "sockit/server/metrics.hpp"

namespace sockit::server {

class Session;

// A thread-safe handle to one connection's output, for services with shared state (a chat
// room): any thread may send through it, the connection's own thread or reactor does the
// writing. Sending to a connection that has gone is a no-op.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void send(std::string bytes) = 0;
  virtual void close() = 0;  // close after what was sent so far is flushed
};

class Output;

// Names one timer of one connection; never 0.
using TimerId = std::uint64_t;
// What runs back on a connection's own thread or loop, with its Output, once off-loop work
// has finished.
using Continuation = std::function<void(Output&)>;
// Runs on the server's worker pool; returns what to do back on the connection.
using OffLoopWork = std::function<Continuation()>;

// Where an outbound connection goes.
struct OutboundRequest {
  std::string host;  // a name or an address; every address it resolves to is tried in turn
  std::string port;  // a number or a service name
  // For resolving and connecting together, over every address.
  std::chrono::milliseconds timeout{10'000};
};

// Where a session's answers go, and what it may ask of its connection (timers, off-loop
// work, outbound connections). Handed to every callback; a session may keep it and use it
// later, but only on the connection's own thread or loop and only until its on_close runs.
class Output {
 public:
  // Queues bytes for the peer, in order. Never blocks the caller's thread.
  virtual void write(std::string_view bytes) = 0;
  // Close the connection once everything written so far has been flushed.
  virtual void close() = 0;
  virtual bool closing() const noexcept = 0;
  // Half-close: send our EOF (FIN; over TLS, close_notify) once everything written so far
  // has been flushed, and keep reading until the peer's EOF. Later writes are dropped.
  virtual void close_write() = 0;
  // A handle others can send through, for services with shared state.
  virtual std::shared_ptr<Peer> peer() = 0;

  // Flow control, for sessions that move bytes from one connection to another (a proxy).
  // Bytes written but not yet taken by the kernel.
  virtual std::size_t queued() const noexcept = 0;
  // false: on_data is not called until reading is turned back on; input waits in the kernel,
  // so a peer that sends faster than it is read from is slowed by TCP itself.
  virtual void set_reading(bool on) = 0;

  // Sends up to `length` bytes of the open file `fd` from `offset` with sendfile(2), after
  // everything written so far, without copying them through user space. Returns the bytes
  // the kernel took now: fewer than asked (even 0) when the socket is full, and then
  // on_drain follows once it can take more (meanwhile queued() counts the wait as one
  // byte); until then the session writes nothing else, which would go ahead of the file's
  // rest. nullopt where it does not apply (TLS, io_uring, output still queued, a file
  // sendfile cannot read): the session then writes the bytes itself.
  virtual std::optional<std::size_t> send_file(int fd, std::uint64_t offset, std::size_t length) {
    (void)fd;
    (void)offset;
    (void)length;
    return std::nullopt;
  }

  // A one-shot timer: after `after`, the session's on_timer(id, out) runs on the
  // connection's own thread or loop. Ids are not reused within a connection.
  virtual TimerId start_timer(std::chrono::milliseconds after) = 0;
  // Stops a timer; false when it has already fired, was cancelled, or is unknown.
  virtual bool cancel_timer(TimerId id) noexcept = 0;

  // Runs `work` on the server's bounded worker pool, then the Continuation it returns on the
  // connection's own thread or loop. Returns false, and runs nothing, when the pool's queue
  // is full: the session should say the server is busy. If the connection closes first, the
  // continuation is destroyed without running. An exception from `work` is rethrown on the
  // connection's thread, where it ends the connection like one from on_data.
  virtual bool run_off_loop(OffLoopWork work) = 0;

  // Opens a client connection driven by `session`, on this connection's own thread or loop:
  // resolves request.host, tries each address in turn, all within request.timeout. Then the
  // session's on_open runs with the new connection's own Output, or on_connect_failed with
  // the reason; never an exception. The outbound connection lives until it ends itself or
  // this connection closes.
  virtual void connect(OutboundRequest request, std::unique_ptr<Session> session) = 0;

  // Counts, for the server's metrics (sockit/server/metrics.hpp), what only the protocol
  // sees: the messages its framing took in (Counter::messages_in: lines, WebSocket messages,
  // HTTP requests), those the rate limit refused, TLS handshakes done and failed. Bytes,
  // connections and writes the server counts by itself.
  virtual void tally(Counter counter, std::uint64_t n = 1) noexcept {
    (void)counter;
    (void)n;
  }

 protected:
  ~Output() = default;
};

// Per-connection limits the server passes to each session (from ServerOptions).
// What a line service holds for one line when SessionLimits::max_line is 0.
inline constexpr std::size_t default_max_line = 64 * 1024;

struct SessionLimits {
  // The longest line, in bytes, excluding its terminator. 0: the service's default (line
  // services: default_max_line; echo, which holds no line, then has no limit).
  std::size_t max_line = 0;
  double rate_per_second = 0;  // requests per second per connection; 0 = no limit
  // A line begun must be finished (its "\n" received) within this time, or the client gets
  // line_timeout_message and the connection closes: a client dripping a byte now and then
  // never goes idle, and would hold its connection for ever. Line services and echo; 0: no
  // limit.
  std::chrono::milliseconds line_timeout{30'000};
};

struct ConnectionInfo {
  Address peer;
  Address local;
  SessionLimits limits;
};

class Session {
 public:
  virtual ~Session() = default;
  // Connection accepted: greet, or write-and-close (daytime).
  virtual void on_open(Output& out) { (void)out; }
  // Bytes arrived (any split: a line may come in pieces, several lines in one piece).
  virtual void on_data(std::string_view bytes, Output& out) = 0;
  // The peer half-closed (sent EOF). Default: close once output is flushed.
  virtual void on_eof(Output& out) { out.close(); }
  // A timer started through Output::start_timer has fired.
  virtual void on_timer(TimerId id, Output& out) {
    (void)id;
    (void)out;
  }
  // Output that had to wait for the peer has all been sent (queued() fell to 0). The
  // blocking architectures and io_uring hold writes before sending them; there, 16 KiB or
  // more queued counts as waiting, so a session that stops writing while queued() is at a
  // mark of 16 KiB or more always hears on_drain and resumes.
  virtual void on_drain(Output& out) { (void)out; }
  // An outbound connection could not be opened: refused, unreachable, unresolvable or out
  // of time. on_close follows.
  virtual void on_connect_failed(const std::error_code& error, std::string_view reason) {
    (void)error;
    (void)reason;
  }
  // The connection is gone (peer closed, reset, timed out, or the server is stopping).
  virtual void on_close() {}
};

// A connection the server keeps open for its service rather than for a client (a chat
// room's links to Redis). The event-loop architectures dial it on their first loop when
// they start, serve it like any outbound connection (no idle timeout), and dial it again
// with backoff (100 ms doubling to 2 s) whenever it fails or ends, until the server stops.
// thread and pool do the same on a thread per link, which serves it with the loop of a
// blocking connection. An outage is logged once when it begins and once when it ends.
class ServiceLink {
 public:
  virtual ~ServiceLink() = default;
  // What the link is, for the log ("chat room redis://127.0.0.1:6379/lobby, subscriber").
  virtual std::string describe() const = 0;
  virtual OutboundRequest target() const = 0;
  // A session for the next connection; it hears on_open or on_connect_failed, then on_close.
  virtual std::unique_ptr<Session> open() = 0;
};

// A protocol: its name, its defaults, and a factory of sessions. open() may be called
// from several threads at once.
class Service {
 public:
  virtual ~Service() = default;
  virtual std::string_view name() const = 0;
  virtual std::uint16_t default_port() const = 0;
  // Services whose sessions share memory (a chat room) say so; architectures that run
  // sessions in separate processes (fork, prefork) refuse them at start-up.
  virtual bool needs_shared_state() const { return false; }
  // What state the connections of one process share that no other process sees (a login
  // back-off), or "" for none. On the architectures that serve in separate processes (fork,
  // prefork) the server says at start-up that this state is per process there.
  virtual std::string_view per_process_state() const { return {}; }
  // Services whose clients talk to each other (a chat room) need several connections served
  // at once; the serial architecture, which holds one connection at a time, refuses them.
  virtual bool needs_concurrency() const { return false; }
  // Sent to a client turned away because the server is at its connection limit.
  virtual std::string_view full_message() const { return "Server full, try again later\n"; }
  // The connections the server keeps open for the service (see ServiceLink). The event-loop
  // architectures, thread and pool keep them; the others refuse a service that has any.
  virtual std::vector<std::shared_ptr<ServiceLink>> links() const { return {}; }
  virtual std::unique_ptr<Session> open(const ConnectionInfo& connection) = 0;
};

}  // namespace sockit::server
