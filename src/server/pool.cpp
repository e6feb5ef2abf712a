// pool: N threads taking accepted connections from a bounded queue (the book's "Thread
// pool"). The queue is the back-pressure: when it is full the client is told (the service's
// "server full" line) and closed, never left hanging in a queue nobody will reach.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "../quiet_thread.hpp"
#include "accept_loop.hpp"
#include "blocking_connection.hpp"
#include "runtime.hpp"
#include "thread_links.hpp"

namespace sockit::server::detail {
namespace {

class ConnectionQueue {
 public:
  explicit ConnectionQueue(std::size_t capacity) : capacity_(capacity) {}

  // False when full: the caller turns the client away.
  bool push(Admitted& connection) {
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(connection));
    }
    // Notified after unlocking, so the woken worker does not block at once on the mutex.
    ready_.notify_one();
    return true;
  }

  // Blocks until a connection is queued; nullopt once closed and empty.
  std::optional<Admitted> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    Admitted connection = std::move(queue_.front());
    queue_.pop_front();
    return connection;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  // Past the drain deadline: whoever is still waiting in the queue is closed unserved.
  void discard() {
    std::lock_guard lock(mutex_);
    queue_.clear();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Admitted> queue_;
  bool closed_ = false;
};

// What each worker is serving, so the runner can cut connections still open at the drain
// deadline.
struct WorkerState {
  std::mutex mutex;
  Socket* current = nullptr;
  bool finished = false;
};

void work(Runtime& rt, ConnectionQueue& queue, WorkerState& state, MetricShard* counts) {
  const ThreadShardScope counting(counts);
  while (auto connection = queue.pop()) {
    {
      std::lock_guard lock(state.mutex);
      state.current = &connection->socket;
    }
    serve_connection(rt, connection->socket, connection->peer, connection->accepted);
    std::lock_guard lock(state.mutex);
    state.current = nullptr;
    connection->socket.close();
  }
  std::lock_guard lock(state.mutex);
  state.finished = true;
}

}  // namespace

void run_pool(Runtime& rt) {
  unsigned workers = default_workers(rt.options);
  std::size_t capacity = rt.options.queue_size != 0 ? rt.options.queue_size : 4 * workers;
  ConnectionQueue queue(capacity);
  std::vector<WorkerState> states(workers);
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) {
    MetricShard* counts = new_shard(rt, std::to_string(i));
    threads.push_back(sockit::detail::quiet_thread(
        [&rt, &queue, &state = states[i], counts] { work(rt, queue, state, counts); }));
  }
  rt.log.debug("pool of " + std::to_string(workers) + " threads, queue of " +
               std::to_string(capacity));

  const ThreadShardScope counting(new_shard(rt, "accept"));
  ThreadLinks links(rt);
  AcceptLoop acceptor(rt);
  while (auto admitted = acceptor.next()) {
    if (!queue.push(*admitted)) {
      turn_away(rt, admitted->socket, admitted->peer, rt.service.full_message(),
                "pool queue full (" + std::to_string(capacity) + ")");
    }
  }

  // Queued connections are still served (in drain mode: what they already sent is
  // answered); then every worker returns.
  queue.close();
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
  queue.discard();
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
}

}  // namespace sockit::server::detail
