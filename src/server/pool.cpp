// pool: N threads serving connections, with a bounded queue for when all of them are busy
// (the book's "Thread pool"). Idle workers accept from the listener themselves, each in
// its own epoll set with the listener registered EPOLLEXCLUSIVE, so one wakes per client and
// no connection is handed between threads. The runner's thread registers last: the kernel
// wakes the first of those sets with a waiting thread, so it is woken only when every worker
// is busy, and then accepts into the queue. A client that finds the queue full is told (the
// service's "server full" line) and closed, never left hanging in a backlog nobody will
// reach. A worker that finishes takes from the queue before it accepts again.
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "accept_loop.hpp"
#include "blocking_connection.hpp"
#include "runtime.hpp"
#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

// What the workers and the runner's thread share: the queue, how many workers are waiting
// for work, and the eventfd (semaphore mode) that wakes one of them for a queued client.
class Overflow {
 public:
  explicit Overflow(std::size_t capacity)
      : capacity_(capacity), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE)) {
    if (wake_fd_ < 0) throw_errno("eventfd", "pool", errno);
  }
  ~Overflow() { ::close(wake_fd_); }
  Overflow(const Overflow&) = delete;
  Overflow& operator=(const Overflow&) = delete;

  int wake_fd() const noexcept { return wake_fd_; }

  // A worker looking for work: a queued connection, or nullopt after counting itself idle
  // (it then waits on the listener and the wake-up descriptor).
  std::optional<Admitted> take_or_idle() {
    std::lock_guard lock(mutex_);
    if (!queue_.empty()) {
      Admitted connection = std::move(queue_.front());
      queue_.pop_front();
      return connection;
    }
    ++idle_;
    return std::nullopt;
  }

  // A worker done waiting, with or without a client.
  void busy() {
    std::lock_guard lock(mutex_);
    --idle_;
  }

  // After the stop request: the next queued connection, waiting for the runner's thread to
  // stop queueing; nullopt once it has and the queue is empty.
  std::optional<Admitted> take_until_closed() {
    std::unique_lock lock(mutex_);
    closed_changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    Admitted connection = std::move(queue_.front());
    queue_.pop_front();
    return connection;
  }

  // The runner's thread has stopped accepting: nothing more will be queued.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    closed_changed_.notify_all();
  }

  // The runner's thread, with a client accepted while the workers were busy: queued (and
  // an idle worker woken if one has appeared meanwhile), or false when the queue is full.
  bool push(Admitted& connection) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(connection));
      wake = idle_ > 0;
    }
    if (wake) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
    }
    return true;
  }

  // Past the drain deadline: whoever is still waiting in the queue is closed unserved.
  void discard() {
    std::lock_guard lock(mutex_);
    queue_.clear();
  }

 private:
  std::size_t capacity_;
  int wake_fd_;
  std::mutex mutex_;
  std::condition_variable closed_changed_;
  std::deque<Admitted> queue_;
  unsigned idle_ = 0;
  bool closed_ = false;
};

// What each worker is serving, so the runner can cut connections still open at the drain
// deadline.
struct WorkerState {
  std::mutex mutex;
  Socket* current = nullptr;
  bool finished = false;
};

void serve(Runtime& rt, WorkerState& state, Admitted& connection) {
  {
    std::lock_guard lock(state.mutex);
    state.current = &connection.socket;
  }
  serve_connection(rt, connection.socket, connection.peer);
  std::lock_guard lock(state.mutex);
  state.current = nullptr;
  connection.socket.close();
}

// Queued connections first, then the listener. After the stop request the queue is still
// emptied (in drain mode: what those clients already sent is answered), then the worker
// returns.
void work(Runtime& rt, Overflow& overflow, AcceptLoop& acceptor, WorkerState& state) {
  for (;;) {
    if (auto queued = overflow.take_or_idle()) {
      serve(rt, state, *queued);
      continue;
    }
    std::optional<Admitted> accepted;
    if (!rt.stop.requested()) accepted = acceptor.next();  // nullopt: stop, or woken
    overflow.busy();
    if (accepted) {
      serve(rt, state, *accepted);
    } else if (rt.stop.requested()) {
      break;
    }
  }
  while (auto queued = overflow.take_until_closed())
    serve(rt, state, *queued);
  std::lock_guard lock(state.mutex);
  state.finished = true;
}

}  // namespace

void run_pool(Runtime& rt) {
  const unsigned workers = default_workers(rt.options);
  const std::size_t capacity = rt.options.queue_size != 0 ? rt.options.queue_size : 4 * workers;
  Overflow overflow(capacity);
  // Every loop is made here, so a failure (no descriptor for its epoll) stops the start-up
  // with its error instead of ending a worker thread.
  const AcceptLoopOptions worker_loop{overflow.wake_fd(), false, true};
  std::vector<std::unique_ptr<AcceptLoop>> loops;
  for (unsigned i = 0; i < workers; ++i)
    loops.push_back(std::make_unique<AcceptLoop>(rt, worker_loop));
  // Registered after the workers' loops, so the kernel wakes it only when none is waiting.
  AcceptLoop acceptor(rt, AcceptLoopOptions{-1, false, true});

  std::vector<WorkerState> states(workers);
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) {
    threads.emplace_back([&rt, &overflow, &loop = *loops[i], &state = states[i]] {
      work(rt, overflow, loop, state);
    });
  }
  rt.log.debug("pool of " + std::to_string(workers) + " threads, queue of " +
               std::to_string(capacity));

  while (auto admitted = acceptor.next()) {
    if (!overflow.push(*admitted)) {
      turn_away(rt, admitted->socket, admitted->peer, rt.service.full_message(),
                "pool queue full (" + std::to_string(capacity) + ")");
    }
  }
  overflow.close();

  // Stop accepting: shut the listener down for every loop at once (clients arriving from
  // now on are refused by the kernel); it is closed once no loop can be using it.
  ::shutdown(rt.listener.fd(), SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + rt.options.drain_timeout;
  auto all_finished = [&] {
    for (auto& state : states) {
      std::lock_guard lock(state.mutex);
      if (!state.finished) return false;
    }
    return true;
  };
  while (!all_finished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  overflow.discard();
  for (auto& state : states) {
    std::lock_guard lock(state.mutex);
    if (state.current != nullptr) {
      try {
        state.current->shutdown();
      } catch (const std::exception&) {
      }
    }
  }
  for (auto& thread : threads)
    thread.join();
  rt.listener.close();
}

}  // namespace sockit::server::detail
