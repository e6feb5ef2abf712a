// Slows down password guessing: failed logins are counted per client address, and past a
// few free failures each further one opens a back-off window (doubling, capped) during
// which that address's login attempts are refused unchecked. Thread-safe; bounded memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sockit::auth {

struct ThrottleOptions {
  unsigned free_failures = 3;  // failures before any back-off
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{60'000};
  std::chrono::milliseconds forget_after{15 * 60'000};  // a quiet address starts over
  std::size_t max_addresses = 10'000;  // tracked at once; the stalest are dropped first
};

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(ThrottleOptions options = {}) : options_(options) {}

  // False while `address` is in a back-off window.
  bool allowed(std::string_view address, Clock::time_point now);
  // Records a failed login; returns the back-off now in force (0 while failures are free).
  std::chrono::milliseconds failed(std::string_view address, Clock::time_point now);
  // A successful login clears the address's record.
  void succeeded(std::string_view address);
  std::size_t tracked() const;

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point last_failure{};
    Clock::time_point blocked_until{};
  };
  void evict(Clock::time_point now);

  ThrottleOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
};

}  // namespace sockit::auth
