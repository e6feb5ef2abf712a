// Per-address back-off for failed logins (see sockit/auth/login_throttle.hpp).
#include "sockit/auth/login_throttle.hpp"

#include <algorithm>
#include <iterator>

namespace sockit::auth {

bool LoginThrottle::allowed(std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(std::string(address));
  return it == records_.end() || now >= it->second.blocked_until;
}

std::chrono::milliseconds LoginThrottle::failed(std::string_view address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(std::string(address));
  if (it == records_.end()) {
    if (records_.size() >= options_.max_addresses) evict(now);
    it = records_.emplace(std::string(address), Record{}).first;
  } else if (now - it->second.last_failure > options_.forget_after) {
    it->second = Record{};
  }
  Record& record = it->second;
  ++record.failures;
  record.last_failure = now;
  if (record.failures <= options_.free_failures) return std::chrono::milliseconds(0);
  // 1, 2, 4... times first_delay; the shift is capped so it cannot overflow.
  unsigned doublings = std::min(record.failures - options_.free_failures - 1, 20U);
  std::chrono::milliseconds grown(options_.first_delay.count() *
                                  (std::chrono::milliseconds::rep{1} << doublings));
  auto delay = std::min(grown, options_.max_delay);
  record.blocked_until = now + delay;
  return delay;
}

void LoginThrottle::succeeded(std::string_view address) {
  std::lock_guard lock(mutex_);
  records_.erase(std::string(address));
}

std::size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

// Forgets quiet addresses; if all are recent (many sources at once), the oldest failure.
void LoginThrottle::evict(Clock::time_point now) {
  for (auto it = records_.begin(); it != records_.end();) {
    bool quiet =
        now - it->second.last_failure > options_.forget_after && now >= it->second.blocked_until;
    it = quiet ? records_.erase(it) : std::next(it);
  }
  if (records_.size() < options_.max_addresses) return;
  auto oldest = std::min_element(
      records_.begin(), records_.end(),
      [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
  if (oldest != records_.end()) records_.erase(oldest);
}

}  // namespace sockit::auth
