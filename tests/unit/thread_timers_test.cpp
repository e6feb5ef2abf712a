// ThreadTimers, the timers of one blocking connection: due order, cancelling (also of a
// whole channel) and unique ids.
#include "../../src/server/thread_timers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;

std::vector<TimerId> pop_all(ThreadTimers& timers, Clock::time_point now) {
  std::vector<TimerId> fired;
  while (auto due = timers.pop_due(now))
    fired.push_back(due->id);
  return fired;
}

TEST(ThreadTimers, PopsInDueOrderThenInStartOrder) {
  ThreadTimers timers;
  TimerId late = timers.start(1, 300ms);
  TimerId early = timers.start(1, 100ms);
  TimerId same_a = timers.start(2, 200ms);
  TimerId same_b = timers.start(2, 200ms);
  EXPECT_TRUE(pop_all(timers, Clock::now()).empty());
  auto later = Clock::now() + 1s;
  auto fired = pop_all(timers, later);
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[0], early);
  EXPECT_EQ(fired[3], late);
  EXPECT_LT(same_a, same_b);
  EXPECT_TRUE(timers.empty());
}

TEST(ThreadTimers, CancelOnceAndNeverAfterFiring) {
  ThreadTimers timers;
  TimerId a = timers.start(1, 0ms);
  TimerId b = timers.start(1, 50ms);
  EXPECT_TRUE(timers.cancel(b));
  EXPECT_FALSE(timers.cancel(b));
  EXPECT_FALSE(timers.cancel(12345));
  auto due = timers.pop_due(Clock::now() + 1s);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->id, a);
  EXPECT_EQ(due->channel, 1u);
  EXPECT_FALSE(timers.cancel(a));
  EXPECT_FALSE(timers.pop_due(Clock::now() + 1s).has_value());
  EXPECT_FALSE(timers.next_due().has_value());
}

TEST(ThreadTimers, ChannelCancelLeavesOtherChannels) {
  ThreadTimers timers;
  timers.start(2, 10ms);
  TimerId kept = timers.start(1, 20ms);
  timers.start(2, 30ms);
  timers.cancel_channel(2);
  auto fired = pop_all(timers, Clock::now() + 1s);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], kept);
}

TEST(ThreadTimers, IdsAreNeverReusedAcrossManyStartsAndCancels) {
  ThreadTimers timers;
  TimerId previous = 0;
  for (int i = 0; i < 100'000; ++i) {
    TimerId id = timers.start(1, 1h);
    EXPECT_GT(id, previous);
    previous = id;
    EXPECT_TRUE(timers.cancel(id));
  }
  EXPECT_TRUE(timers.empty());
  auto next = timers.next_due();
  EXPECT_FALSE(next.has_value());
}

}  // namespace
}  // namespace sockit::server::detail
