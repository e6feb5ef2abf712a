// The server's bounded pool of threads for blocking work that must not run on a connection's
// thread or loop (password hashing, name resolution, file reads). Jobs wait in one bounded
// queue; a full queue refuses new jobs rather than growing. Internal to the server layer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sockit::server::detail {

class WorkerPool {
 public:
  using Job = std::function<void()>;

  // `threads` 0: one per core. `capacity` 0: 64 jobs per thread. No thread starts until the
  // first job, so a process that forks its workers before any job starts its own threads.
  WorkerPool(unsigned threads, std::size_t capacity);
  // Finishes the jobs already queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false, with `job` untouched, when the queue is full or the pool stopped.
  // Thread-safe. A job must not throw (its exceptions are swallowed).
  bool try_submit(Job& job);
  // Stops taking jobs and waits for the queued ones to finish. Idempotent.
  void shutdown() noexcept;

  unsigned threads() const noexcept { return threads_; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct State;
  void start_locked();
  static void work(State& state) noexcept;

  const unsigned threads_;
  const std::size_t capacity_;
  // Replaced, never destroyed, in a child process that inherited a started pool: its
  // threads do not exist there, so its state cannot be joined or reused.
  State* state_;
  std::mutex start_mutex_;
};

}  // namespace sockit::server::detail
