// Deadlines for blocking calls: a point on the steady clock, or "never".
// Every blocking read/write/connect in sockit takes one; a duration converts implicitly,
// so `stream.read_line(1024, 5s)` reads "within five seconds from now".
#pragma once

#include <chrono>
#include <optional>

namespace sockit {

using Clock = std::chrono::steady_clock;

class Deadline {
 public:
  // Never expires.
  constexpr Deadline() noexcept = default;
  // Expires `timeout` from now (implicit on purpose: pass `5s` where a Deadline is wanted).
  template <class Rep, class Period>
  Deadline(std::chrono::duration<Rep, Period> timeout)  // NOLINT(google-explicit-constructor)
      : at_(Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout)) {}

  static constexpr Deadline never() noexcept { return {}; }
  static Deadline at(Clock::time_point when) noexcept {
    Deadline d;
    d.at_ = when;
    return d;
  }

  bool is_never() const noexcept { return !at_.has_value(); }
  bool expired() const noexcept { return at_ && Clock::now() >= *at_; }
  std::optional<Clock::time_point> time_point() const noexcept { return at_; }

  // Time left, clamped at zero; nullopt when it never expires.
  std::optional<std::chrono::milliseconds> remaining() const noexcept {
    if (!at_) return std::nullopt;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*at_ - Clock::now());
    return left.count() < 0 ? std::chrono::milliseconds{0} : left;
  }

  // The timeout argument for poll(2)/epoll_wait(2): -1 for never, else ms left (>= 0).
  int poll_timeout_ms() const noexcept {
    auto left = remaining();
    if (!left) return -1;
    return left->count() > 2'000'000'000 ? 2'000'000'000 : static_cast<int>(left->count());
  }

 private:
  std::optional<Clock::time_point> at_;
};

}  // namespace sockit
