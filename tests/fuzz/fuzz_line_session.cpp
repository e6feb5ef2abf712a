// A LineSession (the base of the echo, chat and command sessions) fed a client's bytes in
// fuzzer-chosen pieces, with a line limit and a rate limit: the lines it delivers, the
// "Rate limit exceeded" and "line too long" answers, and the close, are those the whole
// input calls for; a partial line over the limit closes the connection as soon as it
// arrives, so the session never holds more than max_line bytes of one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/server/line_session.hpp"

namespace {

using sockit::fuzz::RecordingOutput;
using sockit::server::LineSession;
using sockit::server::Output;
using sockit::server::SessionLimits;

class Recorder final : public LineSession {
 public:
  using LineSession::LineSession;
  void on_line(std::string_view line, Output& out) override {
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    out.write("<");
    out.write(line);
    out.write(">\n");
  }
};

// Follows the bytes as they arrive: whether a line over max_line has shown up yet.
class Limit {
 public:
  explicit Limit(std::size_t max_line) : max_line_(max_line) {}
  void see(std::string_view bytes) {
    for (const char c : bytes) {
      if (c == '\n') {
        if (line_ - (cr_last_ ? 1 : 0) > max_line_) over_ = true;
        line_ = 0;
        cr_last_ = false;
      } else {
        ++line_;
        cr_last_ = c == '\r';
      }
    }
    if (line_ - (cr_last_ ? 1 : 0) > max_line_) over_ = true;
  }
  bool over() const noexcept { return over_; }

 private:
  std::size_t max_line_;
  std::size_t line_ = 0;
  bool cr_last_ = false;
  bool over_ = false;
};

// What the session must write for the whole input, then EOF.
std::string expected(std::string_view input, const SessionLimits& limits) {
  std::string out;
  bool token = true;  // the rates used allow one line, then none
  auto deliver = [&](std::string_view line) {
    if (limits.rate_per_second > 0 && !token) {
      out += "Rate limit exceeded\n";
      return;
    }
    token = limits.rate_per_second == 0 || limits.rate_per_second > 1e6;
    out.append("<").append(line).append(">\n");
  };
  for (;;) {
    const std::size_t newline = input.find('\n');
    std::string_view line = input.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits.max_line) {
      return out + sockit::server::line_too_long_message(limits.max_line);
    }
    if (newline == std::string_view::npos) {
      if (!input.empty()) deliver(line);
      return out;
    }
    deliver(line);
    input.remove_prefix(newline + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  SessionLimits limits;
  limits.max_line = 1 + input.choice % 61;
  // No limit, one line and then none (a rate so low no token comes back within a run), or
  // a rate so high the bucket never empties: a run's timing cannot change what happens.
  static constexpr double rates[] = {0, 1e-9, 1e9, 0};
  limits.rate_per_second = rates[(input.choice >> 6) & 3];

  Recorder session(limits);
  RecordingOutput out;
  session.on_open(out);
  Limit limit(limits.max_line);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    if (out.closed) break;
    session.on_data(piece, out);
    limit.see(piece);
    FUZZ_CHECK(out.closed == limit.over());
  }
  if (!out.closed) session.on_eof(out);
  FUZZ_CHECK(out.closed && out.writes_after_close == 0);
  session.on_close();
  FUZZ_CHECK(out.written == expected(input.message, limits));
  return 0;
}
