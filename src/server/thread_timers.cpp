// The timers of one blocking connection (see thread_timers.hpp).
#include "thread_timers.hpp"

#include <algorithm>

namespace sockit::server::detail {
namespace {

// std::push_heap keeps the largest on top: order by "later" to keep the earliest there.
struct Later {
  template <class E>
  bool operator()(const E& a, const E& b) const noexcept {
    return a.due > b.due || (a.due == b.due && a.id > b.id);
  }
};

}  // namespace

TimerId ThreadTimers::start(std::uint64_t channel, std::chrono::milliseconds after) {
  if (after.count() < 0) after = std::chrono::milliseconds{0};
  const TimerId id = ++last_;
  heap_.push_back({Clock::now() + after, id});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  live_.emplace(id, channel);
  return id;
}

bool ThreadTimers::cancel(TimerId id) noexcept {
  if (live_.erase(id) == 0) return false;
  // A session that starts and cancels a timer per message must not grow the heap forever.
  if (heap_.size() > 64 && heap_.size() > 4 * live_.size()) compact();
  return true;
}

void ThreadTimers::cancel_channel(std::uint64_t channel) noexcept {
  std::erase_if(live_, [channel](const auto& entry) { return entry.second == channel; });
  if (live_.empty()) heap_.clear();
}

std::optional<Clock::time_point> ThreadTimers::next_due() noexcept {
  drop_dead_top();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

std::optional<ThreadTimers::Due> ThreadTimers::pop_due(Clock::time_point now) noexcept {
  drop_dead_top();
  if (heap_.empty() || heap_.front().due > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  const TimerId id = heap_.back().id;
  heap_.pop_back();
  auto it = live_.find(id);
  Due due{id, it->second};
  live_.erase(it);
  return due;
}

void ThreadTimers::drop_dead_top() noexcept {
  while (!heap_.empty() && !live_.contains(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
}

void ThreadTimers::compact() noexcept {
  std::erase_if(heap_, [this](const Entry& e) { return !live_.contains(e.id); });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

}  // namespace sockit::server::detail
