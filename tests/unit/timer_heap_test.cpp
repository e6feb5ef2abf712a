// The event loop's timer heap: deadline order (start order among equal deadlines), cancel
// by id and by owner, ids never reused, and slots recycled without growth.
#include "../../src/server/timer_heap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace sockit::server::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Owner {
  std::uint32_t timers = TimerHeap<Owner>::kNone;
};

using Heap = TimerHeap<Owner>;

std::vector<Heap::Id> drain(Heap& heap, Clock::time_point now) {
  std::vector<Heap::Id> fired;
  Heap::Due due;
  while (heap.pop_due(now, due))
    fired.push_back(due.id);
  return fired;
}

TEST(TimerHeap, FiresInDeadlineOrderThenStartOrder) {
  Heap heap;
  Owner owner;
  const auto t0 = Clock::now();
  const Heap::Id late = heap.start(owner, t0 + 30ms);
  const Heap::Id early = heap.start(owner, t0 + 10ms);
  const Heap::Id tie_first = heap.start(owner, t0 + 20ms);
  const Heap::Id tie_second = heap.start(owner, t0 + 20ms);
  EXPECT_EQ(heap.next_deadline(), t0 + 10ms);
  EXPECT_TRUE(drain(heap, t0 + 5ms).empty());
  EXPECT_EQ(drain(heap, t0 + 20ms), (std::vector<Heap::Id>{early, tie_first, tie_second}));
  EXPECT_EQ(drain(heap, t0 + 1s), std::vector<Heap::Id>{late});
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(owner.timers, Heap::kNone);
}

TEST(TimerHeap, CancelByIdOnlyForItsOwnerAndOnlyOnce) {
  Heap heap;
  Owner a;
  Owner b;
  const auto t0 = Clock::now();
  const Heap::Id id = heap.start(a, t0 + 10ms);
  EXPECT_NE(id, 0U);
  EXPECT_FALSE(heap.cancel(b, id));
  EXPECT_TRUE(heap.cancel(a, id));
  EXPECT_FALSE(heap.cancel(a, id));
  EXPECT_FALSE(heap.cancel(a, 0));
  EXPECT_FALSE(heap.cancel(a, 12345));
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, IdsAreNotReusedWhenSlotsAre) {
  Heap heap;
  Owner owner;
  const auto t0 = Clock::now();
  const Heap::Id first = heap.start(owner, t0);
  ASSERT_EQ(drain(heap, t0).size(), 1U);
  const Heap::Id second = heap.start(owner, t0);
  EXPECT_NE(first, second);
  EXPECT_EQ(first & 0xffffffffu, second & 0xffffffffu);  // the same slot, recycled
  EXPECT_FALSE(heap.cancel(owner, first));
  EXPECT_TRUE(heap.cancel(owner, second));
}

TEST(TimerHeap, CancelAllTakesOnlyThatOwnersTimers) {
  Heap heap;
  Owner a;
  Owner b;
  const auto t0 = Clock::now();
  std::vector<Heap::Id> kept;
  for (int i = 0; i < 100; ++i) {
    heap.start(a, t0 + std::chrono::milliseconds(i));
    kept.push_back(heap.start(b, t0 + std::chrono::milliseconds(100 - i)));
  }
  heap.cancel_all(a);
  EXPECT_EQ(a.timers, Heap::kNone);
  EXPECT_EQ(heap.size(), 100U);
  std::vector<Heap::Id> fired = drain(heap, t0 + 1s);
  std::reverse(kept.begin(), kept.end());
  EXPECT_EQ(fired, kept);
}

// Random starts and cancels against a sorted model: the heap's order survives removal
// from the middle.
TEST(TimerHeap, MatchesASortedModelUnderRandomCancels) {
  Heap heap;
  Owner owner;
  const auto t0 = Clock::now();
  std::mt19937 random(7);
  struct Entry {
    Clock::time_point when;
    int order;
    Heap::Id id;
  };
  std::vector<Entry> model;
  for (int i = 0; i < 5000; ++i) {
    const auto when = t0 + std::chrono::milliseconds(random() % 1000);
    model.push_back({when, i, heap.start(owner, when)});
    if (random() % 3 == 0) {
      const std::size_t victim = random() % model.size();
      ASSERT_TRUE(heap.cancel(owner, model[victim].id));
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(victim));
    }
  }
  std::sort(model.begin(), model.end(), [](const Entry& x, const Entry& y) {
    return x.when < y.when || (x.when == y.when && x.order < y.order);
  });
  std::vector<Heap::Id> expected;
  for (const Entry& e : model)
    expected.push_back(e.id);
  EXPECT_EQ(drain(heap, t0 + 1s), expected);
}

TEST(TimerHeap, SteadyStartAndCancelKeepsItsSlots) {
  Heap heap;
  Owner owner;
  const auto t0 = Clock::now();
  for (int i = 0; i < 10'000; ++i) {
    const Heap::Id id = heap.start(owner, t0 + 1h);
    ASSERT_TRUE(heap.cancel(owner, id));
  }
  // One slot served every start: the slot number part of every id is 0.
  const Heap::Id last = heap.start(owner, t0);
  EXPECT_EQ(last & 0xffffffffu, 0U);
  EXPECT_EQ(last >> 32, 10'001U);
}

}  // namespace
}  // namespace sockit::server::detail
