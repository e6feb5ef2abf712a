// The protocol side of a server, written once and run by every architecture. A Session is
// sans-I/O: it is handed the bytes that arrived and writes its answers to an Output; it
// never touches a socket. Blocking architectures call it from a read loop, the reactor
// from readiness events. A Service makes one Session per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sockit/address.hpp"

namespace sockit::server {

// A thread-safe handle to one connection's output, for services with shared state (a chat
// room): any thread may send through it, the connection's own thread or reactor does the
// writing. Sending to a connection that has gone is a no-op.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void send(std::string bytes) = 0;
  virtual void close() = 0;  // close after what was sent so far is flushed
};

// Where a session's answers go. Valid only during the callback it was passed to.
class Output {
 public:
  // Queues bytes for the peer, in order. Never blocks the caller's thread.
  virtual void write(std::string_view bytes) = 0;
  // Close the connection once everything written so far has been flushed.
  virtual void close() = 0;
  virtual bool closing() const noexcept = 0;
  // A handle others can send through, for services with shared state.
  virtual std::shared_ptr<Peer> peer() = 0;

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
  // The connection is gone (peer closed, reset, timed out, or the server is stopping).
  virtual void on_close() {}
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
  // Services whose clients talk to each other (a chat room) need several connections served
  // at once; the serial architecture, which holds one connection at a time, refuses them.
  virtual bool needs_concurrency() const { return false; }
  // Sent to a client turned away because the server is at its connection limit.
  virtual std::string_view full_message() const { return "Server full, try again later\n"; }
  virtual std::unique_ptr<Session> open(const ConnectionInfo& connection) = 0;
};

}  // namespace sockit::server
