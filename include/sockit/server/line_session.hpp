// LineSession: a Session base for line protocols (echo, chat, command servers). It splits
// the byte stream into lines ("\n" or "\r\n", terminator stripped) and enforces the
// connection's limits before the protocol sees a line: a line over limits.max_line gets
// "Error: line too long (max N bytes)" and the connection is closed; lines over
// limits.rate_per_second get "Rate limit exceeded" and are dropped, the connection survives.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sockit/framing.hpp"
#include "sockit/server/session.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::server {

// The answer to a line over the limit: "Error: line too long (max N bytes)\n".
std::string line_too_long_message(std::size_t max_line);

class LineSession : public Session {
 public:
  explicit LineSession(const SessionLimits& limits);

  void on_data(std::string_view bytes, Output& out) final;
  // A last line without its newline is still delivered, then the connection closes once
  // the answers are flushed.
  void on_eof(Output& out) override;

 protected:
  // One complete line, without its terminator. Valid only during the call.
  virtual void on_line(std::string_view line, Output& out) = 0;

 private:
  void deliver(std::string_view line, Output& out);

  LineCodec codec_;
  TokenBucket bucket_;
};

}  // namespace sockit::server
