// Internal: the thread-safe way into one blocking connection's thread. Other sessions send
// bytes through it (it is the Peer of the accepted connection), and worker threads post
// tasks home through it (off-loop continuations, finished outbound connects). An eventfd
// wakes the connection's poll; once the connection has gone, everything sent is dropped.
// What waits here counts against the server's output bounds, with what the connection
// itself holds: past them, what is sent is dropped and the connection told to close.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "output_budget.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server::detail {

class ConnectionPeer final : public Peer {
 public:
  // Runs on the connection's own thread, taken from the queue by its read loop.
  using Task = std::function<void()>;

  explicit ConnectionPeer(OutputBudget& budget);
  ~ConnectionPeer() override;
  ConnectionPeer(const ConnectionPeer&) = delete;
  ConnectionPeer& operator=(const ConnectionPeer&) = delete;

  void send(std::string bytes) override;
  void close() override;
  // Queues `task` for the connection's thread; false (and `task` left to its caller, to be
  // destroyed there) when the connection has gone.
  bool post(Task& task);

  int wake_fd() const noexcept { return wake_fd_; }

  struct Taken {
    bool close = false;       // a close was asked for
    bool too_slow = false;    // what was sent passed the output bounds, and was dropped
    std::uint64_t sends = 0;  // how many send() calls the bytes came from
  };
  // On the connection's thread: appends what others sent to `bytes`, moves the posted tasks
  // to `tasks`.
  Taken take(std::string& bytes, std::vector<Task>& tasks);
  // On the connection's thread: how much output the connection itself holds now, counted
  // with what waits here against the per-connection bound.
  void holding(std::size_t bytes) noexcept { held_.store(bytes, std::memory_order_relaxed); }
  // The connection is over: drop what is queued, refuse what comes.
  void detach() noexcept;

 private:
  void wake() noexcept;

  int wake_fd_;
  OutputBudget& budget_;
  std::atomic<std::size_t> held_{0};
  std::mutex mutex_;
  std::string queued_;
  std::uint64_t sends_ = 0;  // in queued_
  std::vector<Task> tasks_;
  bool close_requested_ = false;
  bool too_slow_ = false;
  bool gone_ = false;
};

}  // namespace sockit::server::detail
