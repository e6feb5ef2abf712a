// LineSession: a Session base for line protocols (echo, chat, command servers). It splits
// the byte stream into lines ("\n" or "\r\n", terminator stripped) and enforces the
// connection's limits before the protocol sees a line: a line over limits.max_line gets
// "Error: line too long (max N bytes)" and the connection is closed; lines over
// limits.rate_per_second get "Rate limit exceeded" and are dropped, the connection survives;
// a line not finished within limits.line_timeout of its first byte gets
// "Error: line not finished within N ms" and the connection is closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "sockit/framing.hpp"
#include "sockit/server/session.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::server {

// The answer to a line over the limit: "Error: line too long (max N bytes)\n".
std::string line_too_long_message(std::size_t max_line);
// The answer to a line not finished in time: "Error: line not finished within N ms\n".
std::string line_timeout_message(std::chrono::milliseconds line_timeout);

class LineSession : public Session {
 public:
  explicit LineSession(const SessionLimits& limits);

  void on_data(std::string_view bytes, Output& out) final;
  // A last line without its newline is still delivered, then the connection closes once
  // the answers are flushed.
  void on_eof(Output& out) override;
  // The line deadline's timer. A subclass with timers of its own overrides this and passes
  // the ids it did not start on to LineSession::on_timer.
  void on_timer(TimerId id, Output& out) override;

 protected:
  // One complete line, without its terminator. Valid only during the call.
  virtual void on_line(std::string_view line, Output& out) = 0;

 private:
  void deliver(std::string_view line, Output& out);
  void take(std::string_view bytes, Output& out);
  // After some input: a line left unfinished has the line timeout from its first byte.
  void time_line(bool delivered, Output& out);

  LineCodec codec_;
  TokenBucket bucket_;
  std::chrono::milliseconds line_timeout_;
  TimerId line_timer_ = 0;  // 0: no unfinished line
  std::size_t lines_ = 0;   // lines delivered so far
};

}  // namespace sockit::server
