// sockit::TaskScope: structured concurrency for Tasks. spawn() starts a child at once, on
// the caller's thread, and the child runs until its first suspension; `co_await join()`
// waits until every child has finished. Nothing a scope started outlives it: destroying a
// scope destroys the frames of the children still suspended, and their awaiters unhook.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <list>
#include <utility>

#include "sockit/async/task.hpp"

namespace sockit {

// Exceptions: a child's exception does not stop its siblings; join() waits for all of them,
// then rethrows the first exception a child ended with (the later ones are dropped). To stop
// the siblings early, end what they wait on (closing a connection makes every pending await
// on it throw operation_canceled) or destroy the scope.
// Rules: a scope is used on one thread; it must outlive a join() awaiting it; it must not be
// destroyed from inside one of its own children. A finished child's frame is freed at the
// next spawn(), at the end of join(), or with the scope.
class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope() {
    // Children are destroyed newest first, so a child that borrowed from an older one
    // (which cannot be enforced, but is the natural order of use) goes first.
    while (!children_.empty())
      children_.pop_back();
  }

  // Starts `task` now; it runs until it first suspends, then spawn() returns.
  void spawn(Task<void> task) {
    reap();
    Child& child = children_.emplace_back(*this, std::move(task));
    ++running_;
    child.task.start(child);
  }

  // Children started and not yet finished.
  std::size_t running() const noexcept { return running_; }

  class JoinAwaiter {
   public:
    explicit JoinAwaiter(TaskScope& scope) noexcept : scope_(&scope) {}
    JoinAwaiter(const JoinAwaiter&) = delete;
    JoinAwaiter& operator=(const JoinAwaiter&) = delete;
    ~JoinAwaiter() {
      if (suspended_ && scope_->joiner_ == waiting_) scope_->joiner_ = {};
    }
    bool await_ready() const noexcept { return scope_->running_ == 0; }
    void await_suspend(std::coroutine_handle<> awaiter) noexcept {
      suspended_ = true;
      waiting_ = awaiter;
      scope_->joiner_ = awaiter;
    }
    // Rethrows the first exception a child ended with since the last join.
    void await_resume() {
      suspended_ = false;
      scope_->reap();
      if (scope_->first_error_)
        std::rethrow_exception(std::exchange(scope_->first_error_, nullptr));
    }

   private:
    TaskScope* scope_;
    std::coroutine_handle<> waiting_;
    bool suspended_ = false;
  };

  // Waits until no child is running. One join at a time.
  [[nodiscard]] JoinAwaiter join() noexcept { return JoinAwaiter{*this}; }

 private:
  struct Child final : detail::TaskHook {
    Child(TaskScope& owner, Task<void> body) noexcept : scope(&owner), task(std::move(body)) {}
    std::coroutine_handle<> task_finished(std::exception_ptr error) noexcept override {
      return scope->finished(*this, std::move(error));
    }
    TaskScope* scope;
    Task<void> task;
    bool finished = false;
  };

  std::coroutine_handle<> finished(Child& child, std::exception_ptr error) noexcept {
    child.finished = true;
    --running_;
    if (error && !first_error_) first_error_ = std::move(error);
    if (running_ == 0 && joiner_) return std::exchange(joiner_, {});
    return std::noop_coroutine();
  }

  void reap() noexcept {
    children_.remove_if([](const Child& child) { return child.finished; });
  }

  std::list<Child> children_;  // a list: each child's address is its hook
  std::size_t running_ = 0;
  std::exception_ptr first_error_;
  std::coroutine_handle<> joiner_;
};

}  // namespace sockit
