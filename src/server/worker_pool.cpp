// The server's worker pool (see worker_pool.hpp).
#include "worker_pool.hpp"

#include <unistd.h>

#include <utility>

#include "../quiet_thread.hpp"

namespace sockit::server::detail {

struct WorkerPool::State {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Job> jobs;
  std::vector<std::thread> threads;
  pid_t owner = 0;  // the process whose threads these are; 0 until started
  bool stopping = false;
};

namespace {
unsigned default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}
}  // namespace

WorkerPool::WorkerPool(unsigned threads, std::size_t capacity)
    : threads_(threads == 0 ? default_threads() : threads),
      capacity_(capacity == 0 ? 64 * std::size_t{threads_} : capacity),
      state_(new State) {}

WorkerPool::~WorkerPool() {
  shutdown();
  // A state inherited across fork has threads only in the parent: leave it.
  if (state_->owner == 0 || state_->owner == ::getpid()) delete state_;
}

void WorkerPool::start_locked() {
  const pid_t self = ::getpid();
  if (state_->owner == self) return;
  if (state_->owner != 0) state_ = new State;  // forked after the parent started it
  state_->owner = self;
  state_->threads.reserve(threads_);
  for (unsigned i = 0; i < threads_; ++i) {
    State& s = *state_;
    state_->threads.push_back(sockit::detail::quiet_thread([&s] { work(s); }));
  }
}

bool WorkerPool::try_submit(Job& job) {
  {
    std::lock_guard start(start_mutex_);
    if (state_->owner != ::getpid()) {
      if (state_->owner == 0 && state_->stopping) return false;
      start_locked();
    }
  }
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping || s.jobs.size() >= capacity_) return false;
    s.jobs.push_back(std::move(job));
  }
  s.ready.notify_one();
  return true;
}

void WorkerPool::shutdown() noexcept {
  std::lock_guard start(start_mutex_);
  State& s = *state_;
  if (s.owner != 0 && s.owner != ::getpid()) return;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping) return;
    s.stopping = true;
  }
  s.ready.notify_all();
  for (auto& t : s.threads)
    t.join();
  s.threads.clear();
}

void WorkerPool::work(State& s) noexcept {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(s.mutex);
      s.ready.wait(lock, [&] { return s.stopping || !s.jobs.empty(); });
      if (s.jobs.empty()) return;  // stopping, and nothing left
      job = std::move(s.jobs.front());
      s.jobs.pop_front();
    }
    try {
      job();
    } catch (...) {
    }
  }
}

}  // namespace sockit::server::detail
