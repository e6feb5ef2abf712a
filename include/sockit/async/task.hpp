// sockit::Task<T>: the coroutine type of sockit's async layer. A Task is lazy (its body runs
// when it is awaited or started by a TaskScope or a CoroutineService), move-only, and hands
// its result or its exception to whoever awaits it, resuming that awaiter by symmetric
// transfer so chains of awaits never grow the stack.
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace sockit {

template <class T = void>
class Task;

namespace detail {

// Told when a task started without an awaiter (Task::start) has finished. Returns the
// coroutine to run next (std::noop_coroutine() for none). It must not destroy the finished
// task's frame: the frame is still being suspended; free it later.
class TaskHook {
 public:
  virtual std::coroutine_handle<> task_finished(std::exception_ptr error) noexcept = 0;

 protected:
  ~TaskHook() = default;
};

class PromiseBase {
 public:
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      PromiseBase& promise = self.promise();
      if (promise.hook_ != nullptr) return promise.hook_->task_finished(std::move(promise.error_));
      return promise.continuation_;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> awaiter) noexcept { continuation_ = awaiter; }
  void set_hook(TaskHook& hook) noexcept { hook_ = &hook; }

 protected:
  void rethrow_if_failed() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  TaskHook* hook_ = nullptr;
  std::exception_ptr error_;
};

template <class T>
class Promise final : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
  static_assert(!std::is_reference_v<T>, "a Task returns a value, not a reference");

 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(Handle handle) noexcept : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  // Destroys the frame: a task destroyed unstarted never runs; one destroyed while
  // suspended unwinds its locals (its awaiters unhook themselves).
  ~Task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(handle_); }
  bool done() const noexcept { return handle_ && handle_.done(); }

  class Awaiter {
   public:
    explicit Awaiter(Handle handle) noexcept : handle_(handle) {}
    bool await_ready() const noexcept { return handle_.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
      handle_.promise().set_continuation(awaiter);
      return handle_;
    }
    T await_resume() { return handle_.promise().take(); }

   private:
    Handle handle_;
  };

  // Runs the task to its end, then resumes the awaiter with its result or its exception.
  Awaiter operator co_await() const noexcept {
    assert(handle_ && "awaiting an empty Task");
    return Awaiter{handle_};
  }

  // For schedulers (TaskScope, CoroutineService): runs the task now, with no awaiter, and
  // tells `hook` when it has finished. The frame lives until this Task is destroyed.
  void start(detail::TaskHook& hook) {
    assert(handle_ && !handle_.done());
    handle_.promise().set_hook(hook);
    handle_.resume();
  }

 private:
  void reset() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  Handle handle_;
};

namespace detail {

template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}

inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}

}  // namespace detail

}  // namespace sockit
