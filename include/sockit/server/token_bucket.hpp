// A token bucket: the request-rate limit of a connection (the seeds' RateLimitedServer,
// without its sliding-window list). `rate` tokens per second refill a bucket holding up to
// `burst`; each request takes one, and a request finding the bucket empty is over the rate.
#pragma once

#include <algorithm>
#include <chrono>

namespace sockit::server {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0 disables the limit. burst defaults to one second's worth (at least 1).
  explicit TokenBucket(double rate, double burst = 0, Clock::time_point now = Clock::now())
      : rate_(rate), burst_(burst > 0 ? burst : std::max(1.0, rate)), tokens_(burst_), last_(now) {}

  bool enabled() const noexcept { return rate_ > 0; }

  // Takes a token if there is one; false when over the rate.
  bool try_take(Clock::time_point now = Clock::now()) noexcept {
    if (!enabled()) return true;
    if (now > last_) {
      std::chrono::duration<double> elapsed = now - last_;
      tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace sockit::server
