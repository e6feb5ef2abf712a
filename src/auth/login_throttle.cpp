// Per-address back-off for failed logins (see sockit/auth/login_throttle.hpp).
#include "sockit/auth/login_throttle.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>

namespace sockit::auth {

std::string throttle_key(const Address& peer) {
  const Address plain = peer.unmap_v4();
  if (!plain.is_ipv6()) return plain.is_ip() ? plain.ip() : plain.to_string();
  sockaddr_in6 ip6{};
  std::memcpy(&ip6, plain.data(), sizeof ip6);
  in6_addr prefix{};
  std::memcpy(prefix.s6_addr, ip6.sin6_addr.s6_addr, 8);  // the network's half
  std::array<char, INET6_ADDRSTRLEN> text{};
  ::inet_ntop(AF_INET6, &prefix, text.data(), text.size());
  return std::string(text.data()) + "/64";
}

bool LoginThrottle::may_begin(const Record& record, Clock::time_point now) const {
  if (now < record.blocked_until) return false;
  // Attempts in flight count as failures: past the free ones, one at a time.
  return record.in_flight == 0 || record.failures + record.in_flight < options_.free_failures;
}

bool LoginThrottle::quiet(const Record& record, Clock::time_point now) const {
  return record.in_flight == 0 && now >= record.blocked_until &&
         now - record.last_attempt > options_.forget_after;
}

bool LoginThrottle::begin(std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = find_or_add(address, now);
  if (it == records_.end()) return false;
  Record& record = it->second;
  if (!may_begin(record, now)) return false;
  ++record.in_flight;
  record.last_attempt = now;
  return true;
}

std::chrono::milliseconds LoginThrottle::failed(std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = find_or_add(address, now);
  if (it == records_.end()) return std::chrono::milliseconds(0);
  Record& record = it->second;
  if (record.in_flight > 0) --record.in_flight;
  ++record.failures;
  record.last_attempt = now;
  if (record.failures <= options_.free_failures) return std::chrono::milliseconds(0);
  // 1, 2, 4... times first_delay; the shift is capped so it cannot overflow.
  unsigned doublings = std::min(record.failures - options_.free_failures - 1, 20U);
  std::chrono::milliseconds grown(options_.first_delay.count() *
                                  (std::chrono::milliseconds::rep{1} << doublings));
  auto delay = std::min(grown, options_.max_delay);
  record.blocked_until = std::max(record.blocked_until, now + delay);
  return delay;
}

void LoginThrottle::succeeded(std::string_view address) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(std::string(address));
  if (it == records_.end()) return;
  Record& record = it->second;
  if (record.in_flight <= 1) {
    records_.erase(it);
    return;
  }
  // Other attempts of this address are still being checked: they keep their places.
  --record.in_flight;
  record.failures = 0;
  record.blocked_until = {};
}

void LoginThrottle::abandoned(std::string_view address) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(std::string(address));
  if (it == records_.end() || it->second.in_flight == 0) return;
  --it->second.in_flight;
  if (it->second.in_flight == 0 && it->second.failures == 0) records_.erase(it);
}

bool LoginThrottle::allowed(std::string_view address, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(std::string(address));
  return it == records_.end() || quiet(it->second, now) || may_begin(it->second, now);
}

std::size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

std::unordered_map<std::string, LoginThrottle::Record>::iterator LoginThrottle::find_or_add(
    std::string_view address, Clock::time_point now) {
  auto it = records_.find(std::string(address));
  if (it != records_.end()) {
    if (quiet(it->second, now)) it->second = Record{};  // a quiet address starts over
    return it;
  }
  if (records_.size() >= options_.max_addresses && !make_room(now)) return records_.end();
  return records_.emplace(std::string(address), Record{}).first;
}

// Forgets quiet addresses; if none is, the stalest one neither in a back-off nor checking
// a password. An address in a back-off is never dropped: that would end its back-off.
bool LoginThrottle::make_room(Clock::time_point now) {
  for (auto it = records_.begin(); it != records_.end();) {
    it = quiet(it->second, now) ? records_.erase(it) : std::next(it);
  }
  if (records_.size() < options_.max_addresses) return true;
  auto stalest = records_.end();
  for (auto it = records_.begin(); it != records_.end(); ++it) {
    const Record& record = it->second;
    if (record.in_flight != 0 || now < record.blocked_until) continue;
    if (stalest == records_.end() || record.last_attempt < stalest->second.last_attempt) {
      stalest = it;
    }
  }
  if (stalest == records_.end()) return false;
  records_.erase(stalest);
  return true;
}

}  // namespace sockit::auth
