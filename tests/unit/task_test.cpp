// Task and TaskScope: results and exceptions reach the awaiter, awaits nest without growing
// the stack, frames are destroyed unstarted or while suspended with their locals unwound,
// and a scope joins, reports the first failure and destroys what it still holds.
#include "sockit/async/task.hpp"

#include <gtest/gtest.h>

#include <coroutine>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sockit/async/task_scope.hpp"

namespace sockit {
namespace {

// A one-shot event a test sets by hand; its awaiter unhooks itself when its frame goes.
class Event {
 public:
  class Awaiter {
   public:
    explicit Awaiter(Event& event) noexcept : event_(&event) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    ~Awaiter() {
      if (waiting_ && event_->waiter_ == waiting_) event_->waiter_ = {};
    }
    bool await_ready() const noexcept { return event_->set_; }
    void await_suspend(std::coroutine_handle<> awaiting) noexcept {
      waiting_ = awaiting;
      event_->waiter_ = awaiting;
    }
    void await_resume() const noexcept {}

   private:
    Event* event_;
    std::coroutine_handle<> waiting_;
  };

  Awaiter operator co_await() noexcept { return Awaiter{*this}; }
  void set() {
    set_ = true;
    if (auto waiter = std::exchange(waiter_, {})) waiter.resume();
  }
  bool awaited() const noexcept { return static_cast<bool>(waiter_); }

 private:
  bool set_ = false;
  std::coroutine_handle<> waiter_;
};

// Counts its own destruction, to see a frame's locals unwound.
struct Tracker {
  explicit Tracker(int& destroyed) noexcept : count(&destroyed) {}
  Tracker(Tracker&& other) noexcept : count(std::exchange(other.count, nullptr)) {}
  Tracker(const Tracker&) = delete;
  ~Tracker() {
    if (count != nullptr) ++*count;
  }
  int* count;
};

Task<int> answer() {
  co_return 42;
}

Task<void> store_answer(int& into) {
  into = co_await answer();
}

TEST(Task, HandsItsResultToTheAwaiter) {
  int got = 0;
  TaskScope scope;
  scope.spawn(store_answer(got));
  EXPECT_EQ(got, 42);
  EXPECT_EQ(scope.running(), 0U);
}

Task<std::string> fail_with(std::string message) {
  throw std::runtime_error(message);
  co_return "unreachable";
}

Task<void> catch_into(std::string& caught) {
  try {
    (void)co_await fail_with("boom");
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
}

TEST(Task, HandsItsExceptionToTheAwaiter) {
  std::string caught;
  TaskScope scope;
  scope.spawn(catch_into(caught));
  EXPECT_EQ(caught, "boom");
}

Task<int> wait_then(Event& event, int value) {
  co_await event;
  co_return value;
}

Task<int> middle(Event& event) {
  int inner = co_await wait_then(event, 20);
  co_return inner + 1;
}

Task<void> outer(Event& event, std::vector<int>& seen) {
  seen.push_back(0);
  seen.push_back(co_await middle(event));
  seen.push_back(co_await middle(event));  // the event is set: no suspension this time
}

TEST(Task, NestedAwaitsResumeOutwardAfterASuspension) {
  Event event;
  std::vector<int> seen;
  TaskScope scope;
  scope.spawn(outer(event, seen));
  EXPECT_EQ(seen, std::vector<int>{0});
  EXPECT_TRUE(event.awaited());
  event.set();
  EXPECT_EQ(seen, (std::vector<int>{0, 21, 21}));
  EXPECT_EQ(scope.running(), 0U);
}

Task<int> one() {
  co_return 1;
}

Task<void> many_awaits(int count, int& sum) {
  for (int i = 0; i < count; ++i)
    sum += co_await one();
}

TEST(Task, ManyAwaitsOfTasksThatFinishAtOnce) {
  // Each completion resumes its awaiter by symmetric transfer. An optimised build turns
  // that into a tail call; an unoptimised (sanitizer) build may not, so the count stays
  // modest here.
  int sum = 0;
  TaskScope scope;
  scope.spawn(many_awaits(10'000, sum));
  EXPECT_EQ(sum, 10'000);
}

Task<void> never_started(Tracker tracker, bool& ran) {
  ran = true;
  (void)tracker;
  co_return;
}

TEST(Task, DestroyedUnstartedNeverRunsAndFreesItsFrame) {
  int destroyed = 0;
  bool ran = false;
  {
    Task<void> task = never_started(Tracker(destroyed), ran);
    EXPECT_TRUE(task.valid());
    EXPECT_FALSE(task.done());
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(destroyed, 1);  // the parameter's copy in the frame
}

Task<void> hold_then_wait(int& destroyed, Event& event, bool& finished) {
  Tracker local(destroyed);
  co_await wait_then(event, 1);
  finished = true;
}

TEST(Task, DestroyedWhileSuspendedUnwindsItsLocalsAndItsAwaits) {
  int destroyed = 0;
  bool finished = false;
  Event event;
  {
    TaskScope scope;
    scope.spawn(hold_then_wait(destroyed, event, finished));
    EXPECT_TRUE(event.awaited());
  }
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(event.awaited());  // the nested frame's awaiter unhooked itself
  event.set();                    // resumes nothing (ASan would see a dangling frame)
  EXPECT_FALSE(finished);
}

Task<void> child(Event& event, int id, std::vector<int>& order) {
  co_await event;
  order.push_back(id);
}

Task<void> parent(std::vector<Event>& events, std::vector<int>& order, bool& joined) {
  TaskScope scope;
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    scope.spawn(child(events[static_cast<std::size_t>(i)], i, order));
  }
  co_await scope.join();
  joined = true;
}

TEST(TaskScope, JoinWaitsForEveryChildWhateverOrderTheyFinishIn) {
  std::vector<Event> events(3);
  std::vector<int> order;
  bool joined = false;
  TaskScope top;
  top.spawn(parent(events, order, joined));
  EXPECT_EQ(top.running(), 1U);
  events[2].set();
  events[0].set();
  EXPECT_FALSE(joined);
  events[1].set();
  EXPECT_TRUE(joined);
  EXPECT_EQ(order, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(top.running(), 0U);
}

Task<void> quick(int& count) {
  ++count;
  co_return;
}

Task<void> join_finished(int& count, bool& joined) {
  TaskScope scope;
  co_await scope.join();  // nothing to wait for
  scope.spawn(quick(count));
  scope.spawn(quick(count));
  EXPECT_EQ(scope.running(), 0U);
  co_await scope.join();
  joined = true;
}

TEST(TaskScope, JoinDoesNotWaitWhenEveryChildHasFinished) {
  int count = 0;
  bool joined = false;
  TaskScope top;
  top.spawn(join_finished(count, joined));
  EXPECT_EQ(count, 2);
  EXPECT_TRUE(joined);
}

Task<void> throw_after(Event& event, std::string message) {
  co_await event;
  throw std::runtime_error(message);
}

Task<void> join_failures(Event& first, Event& second, Event& quiet, std::string& caught) {
  std::vector<int> order;
  TaskScope scope;
  scope.spawn(throw_after(first, "first"));
  scope.spawn(throw_after(second, "second"));
  scope.spawn(child(quiet, 9, order));
  try {
    co_await scope.join();
  } catch (const std::runtime_error& e) {
    caught = e.what();
  }
}

TEST(TaskScope, JoinWaitsForAllThenRethrowsTheFirstFailure) {
  Event first, second, quiet;
  std::string caught;
  TaskScope top;
  top.spawn(join_failures(first, second, quiet, caught));
  second.set();  // fails first in time
  first.set();
  EXPECT_EQ(caught, "");  // a sibling still runs: join waits
  quiet.set();
  EXPECT_EQ(caught, "second");
}

TEST(TaskScope, DestroyedWithChildrenPendingDestroysTheirFrames) {
  int destroyed = 0;
  bool finished = false;
  std::vector<Event> events(3);
  {
    TaskScope scope;
    for (auto& event : events)
      scope.spawn(hold_then_wait(destroyed, event, finished));
    EXPECT_EQ(scope.running(), 3U);
  }
  EXPECT_EQ(destroyed, 3);
  for (auto& event : events) {
    EXPECT_FALSE(event.awaited());
    event.set();
  }
  EXPECT_FALSE(finished);
}

Task<void> scope_owner(Event& hold, int& destroyed, bool& finished) {
  TaskScope scope;
  scope.spawn(hold_then_wait(destroyed, hold, finished));
  co_await scope.join();
}

TEST(TaskScope, ANestedScopeGoesWithTheFrameThatOwnsIt) {
  int destroyed = 0;
  bool finished = false;
  Event hold;
  {
    TaskScope top;
    top.spawn(scope_owner(hold, destroyed, finished));
  }
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(hold.awaited());
}

}  // namespace
}  // namespace sockit
