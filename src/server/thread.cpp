// thread: a thread per connection (the book's "Thread per connection"). No thread is
// detached: finished ones are joined as the accept loop goes, and on stop every one is
// joined within the drain deadline (connections still open at the deadline are shut down
// under their thread's feet, which makes its read loop return).
#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "../quiet_thread.hpp"
#include "accept_loop.hpp"
#include "blocking_connection.hpp"
#include "runtime.hpp"
#include "thread_links.hpp"

namespace sockit::server::detail {
namespace {

struct ConnectionThread {
  explicit ConnectionThread(Admitted admitted) : connection(std::move(admitted)) {}
  Admitted connection;
  std::thread thread;
  std::mutex mutex;  // guards the socket between its thread (close) and the runner (shutdown)
  std::atomic<bool> done{false};

  void serve(Runtime& rt) {
    {
      // A shard of the "connections" label no other thread holds now, given back after.
      MetricShard* counts = rt.metrics != nullptr ? &rt.metrics->borrow("connections") : nullptr;
      const ThreadShardScope counting(counts);
      serve_connection(rt, connection.socket, connection.peer, connection.accepted);
      if (counts != nullptr) rt.metrics->give_back(*counts);
    }
    std::lock_guard lock(mutex);
    connection.socket.close();
    connection.ticket = {};
    done.store(true, std::memory_order_release);
  }

  void cut() {
    std::lock_guard lock(mutex);
    if (!done.load(std::memory_order_acquire) && connection.socket.is_open()) {
      try {
        connection.socket.shutdown();
      } catch (const std::exception&) {
      }
    }
  }
};

using Threads = std::list<std::unique_ptr<ConnectionThread>>;

void join_finished(Threads& threads) {
  for (auto it = threads.begin(); it != threads.end();) {
    if ((*it)->done.load(std::memory_order_acquire)) {
      (*it)->thread.join();
      it = threads.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

void run_thread(Runtime& rt) {
  const ThreadShardScope counting(new_shard(rt, "accept"));
  ThreadLinks links(rt);
  Threads threads;
  AcceptLoop acceptor(rt);
  while (auto admitted = acceptor.next([&] { join_finished(threads); })) {
    auto entry = std::make_unique<ConnectionThread>(std::move(*admitted));
    ConnectionThread* raw = entry.get();
    try {
      raw->thread = sockit::detail::quiet_thread([&rt, raw] { raw->serve(rt); });
    } catch (const std::system_error& e) {
      turn_away(rt, raw->connection.socket, raw->connection.peer, rt.service.full_message(),
                std::string("cannot start a thread: ") + e.what());
      continue;
    }
    threads.push_back(std::move(entry));
  }

  // Draining: each connection thread has seen the stop and finishes by itself within the
  // drain deadline; the cut is the backstop for a blocking handler that does not return.
  if (!threads.empty()) {
    rt.log.info("draining " + std::to_string(threads.size()) + " connection(s)");
  }
  auto deadline = std::chrono::steady_clock::now() + rt.options.drain_timeout;
  while (!threads.empty() && std::chrono::steady_clock::now() < deadline) {
    join_finished(threads);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& entry : threads)
    entry->cut();
  for (auto& entry : threads)
    entry->thread.join();
}

}  // namespace sockit::server::detail
