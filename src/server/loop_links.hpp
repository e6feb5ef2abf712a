// The service's links (Service::links, ServiceLink) on the event loop that keeps them: each
// is an outbound connection of the loop that no client opened. Dialed when the loop starts,
// dialed again after each failure or end with backoff (100 ms doubling to 2 s, back to
// 100 ms once connected), never while the server stops. An outage is logged once, as an
// error, when it begins, and once, as info, when the link is back.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loop_shared.hpp"

namespace sockit::server::detail {

class LoopLinks {
 public:
  explicit LoopLinks(LoopShared& shared) : loop_(shared) {}
  LoopLinks(const LoopLinks&) = delete;
  LoopLinks& operator=(const LoopLinks&) = delete;

  // On the loop's thread, as it starts: dials every link of the service.
  void start();
  // Dials the links whose backoff has passed.
  void expire();
  // When the next of them is due, if any waits.
  std::optional<Clock::time_point> next_redial() const noexcept;

  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{2000};

 private:
  struct Link {
    std::shared_ptr<ServiceLink> link;
    std::string name;  // link->describe()
    std::chrono::milliseconds backoff = kFirstBackoff;
    std::optional<Clock::time_point> redial_at;
    bool down = false;  // in an outage, already logged
    std::string reason;
  };
  class LinkSession;

  void dial(Link& link) noexcept;
  void opened(Link& link) noexcept;
  void ended(Link& link) noexcept;

  LoopShared& loop_;
  std::vector<std::unique_ptr<Link>> links_;  // their sessions hold their addresses
};

}  // namespace sockit::server::detail
