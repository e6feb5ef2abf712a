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

#include "sockit/address.hpp"

namespace sockit::auth {

struct ThrottleOptions {
  unsigned free_failures = 3;  // failures before any back-off
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{60'000};
  std::chrono::milliseconds forget_after{15 * 60'000};  // a quiet address starts over
  // Tracked at once. When full, quiet addresses go first, then the stalest one neither in
  // a back-off nor checking a password; when every one is, new addresses are refused.
  std::size_t max_addresses = 10'000;
};

// What the throttle counts a client by: an IPv4 address as it is; an IPv6 address by its
// /64 (one subscriber's usual share, which one attacker holds whole); a v4-mapped IPv6
// address as its IPv4 address; any other peer (a Unix socket) as printed.
std::string throttle_key(const Address& peer);

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginThrottle(ThrottleOptions options = {}) : options_(options) {}

  // Starts a login attempt from `address`. False, and nothing recorded, while the address
  // is in a back-off window, while its attempts in flight already use what it may try now,
  // or while the table is full of addresses that may not be dropped. A true is ended by
  // exactly one of failed(), succeeded() or abandoned(); until then the attempt counts as
  // a failure, so parallel connections from one address get no more guesses than one.
  bool begin(std::string_view address, Clock::time_point now);
  // Ends an attempt as failed (or records a failure without one); returns the back-off
  // now in force (0 while failures are free).
  std::chrono::milliseconds failed(std::string_view address, Clock::time_point now);
  // Ends an attempt as successful: the address's failures are cleared.
  void succeeded(std::string_view address);
  // Ends an attempt that was never checked (the server was busy): no failure.
  void abandoned(std::string_view address);

  // Whether begin() would start an attempt now (a query; records nothing).
  bool allowed(std::string_view address, Clock::time_point now) const;
  std::size_t tracked() const;

 private:
  struct Record {
    unsigned failures = 0;
    unsigned in_flight = 0;  // attempts begun and not yet ended
    Clock::time_point last_attempt{};
    Clock::time_point blocked_until{};
  };
  bool may_begin(const Record& record, Clock::time_point now) const;
  bool quiet(const Record& record, Clock::time_point now) const;
  // Finds the record of `address`, making one if there is room; end() if there is none.
  std::unordered_map<std::string, Record>::iterator find_or_add(std::string_view address,
                                                                Clock::time_point now);
  bool make_room(Clock::time_point now);

  ThrottleOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
};

}  // namespace sockit::auth
