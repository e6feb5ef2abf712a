// LineSession: line framing and the per-line limits (see sockit/server/line_session.hpp).
#include "sockit/server/line_session.hpp"

#include <string>

namespace sockit::server {

LineSession::LineSession(const SessionLimits& limits)
    : codec_(LineCodecOptions{limits.max_line != 0 ? limits.max_line : default_max_line, false}),
      bucket_(limits.rate_per_second),
      line_timeout_(limits.line_timeout) {}

void LineSession::on_data(std::string_view bytes, Output& out) {
  if (out.closing()) return;
  const std::size_t before = lines_;
  take(bytes, out);
  // Counted once per read, not per line: the lines of one read cost one call.
  if (lines_ != before) out.tally(Counter::messages_in, lines_ - before);
  if (line_timeout_.count() > 0 && !out.closing()) time_line(lines_ != before, out);
}

// Restarted only when a line was finished: the bytes of one line, however many reads they
// come in, share one deadline.
void LineSession::time_line(bool delivered, Output& out) {
  if (codec_.buffered() == 0) {
    if (line_timer_ != 0) out.cancel_timer(line_timer_);
    line_timer_ = 0;
    return;
  }
  if (line_timer_ != 0) {
    if (!delivered) return;
    out.cancel_timer(line_timer_);
  }
  line_timer_ = out.start_timer(line_timeout_);
}

void LineSession::on_timer(TimerId id, Output& out) {
  if (id != line_timer_ || line_timer_ == 0) return;
  line_timer_ = 0;
  if (out.closing()) return;
  out.write(line_timeout_message(line_timeout_));
  out.close();
}

void LineSession::take(std::string_view bytes, Output& out) {
  // With nothing buffered, whole lines are handed over straight from the caller's buffer:
  // only a trailing partial line (or one over the limit, for the codec to reject) is
  // copied, so ping-pong traffic costs no allocation per message.
  if (codec_.buffered() == 0) {
    for (std::size_t newline; (newline = bytes.find('\n')) != std::string_view::npos;) {
      std::size_t length = newline;
      if (length > 0 && bytes[length - 1] == '\r') --length;
      if (length > codec_.max_line()) break;
      deliver(bytes.substr(0, length), out);
      bytes.remove_prefix(newline + 1);
      if (out.closing()) return;
    }
    if (bytes.empty()) return;
  }
  codec_.feed(bytes);
  for (;;) {
    DecodeResult result = codec_.next();
    if (result.is_frame()) {
      deliver(result.frame, out);
      if (out.closing()) return;
      continue;
    }
    if (result.is_error()) {
      out.write(line_too_long_message(codec_.max_line()));
      out.close();
    }
    break;
  }
  // Idle connections should not keep a read buffer around.
  if (codec_.buffered() == 0) codec_.release_memory();
}

std::string line_too_long_message(std::size_t max_line) {
  return "Error: line too long (max " + std::to_string(max_line) + " bytes)\n";
}

std::string line_timeout_message(std::chrono::milliseconds line_timeout) {
  // Appended, not added: "literal" + std::string trips a false warning in g++ 12 at -O3.
  std::string message = "Error: line not finished within ";
  message += std::to_string(line_timeout.count());
  message += " ms\n";
  return message;
}

void LineSession::on_eof(Output& out) {
  if (!out.closing() && codec_.buffered() > 0) {
    std::string last(codec_.pending());
    codec_.reset();
    if (!last.empty() && last.back() == '\r') last.pop_back();
    out.tally(Counter::messages_in);
    deliver(last, out);
  }
  out.close();
}

void LineSession::deliver(std::string_view line, Output& out) {
  ++lines_;
  if (!bucket_.try_take()) {
    out.tally(Counter::messages_rate_limited);
    out.write("Rate limit exceeded\n");
    return;
  }
  on_line(line, out);
}

}  // namespace sockit::server
