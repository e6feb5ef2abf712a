// Internal: the service's links (Service::links, ServiceLink) on the blocking architectures
// (thread, pool). Each link has a thread of its own that dials it, serves it with the loop
// of a blocking connection (serve_link), and dials it again after each failure or end with
// backoff (100 ms doubling to 2 s, back to 100 ms once connected), until the server stops.
// As on the event loops, an outage is logged once, as an error, when it begins, and once,
// as info, when the link is back.
#pragma once

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "runtime.hpp"

namespace sockit::server::detail {

class ThreadLinks {
 public:
  // Starts a thread for each link of rt.service.
  explicit ThreadLinks(Runtime& rt);
  // Requests the stop (if a runner that failed has not) and joins them: each ends at once.
  ~ThreadLinks();
  ThreadLinks(const ThreadLinks&) = delete;
  ThreadLinks& operator=(const ThreadLinks&) = delete;

  static constexpr std::chrono::milliseconds kFirstBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{2000};

 private:
  void keep(ServiceLink& link) noexcept;

  Runtime& rt_;
  std::vector<std::shared_ptr<ServiceLink>> links_;
  std::vector<std::thread> threads_;
};

}  // namespace sockit::server::detail
