// Internal: the thread-safe way into one blocking connection's thread. Other sessions send
// bytes through it (it is the Peer of the accepted connection), and worker threads post
// tasks home through it (off-loop continuations, finished outbound connects). An eventfd
// wakes the connection's poll; once the connection has gone, everything sent is dropped.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::server::detail {

class ConnectionPeer final : public Peer {
 public:
  // Runs on the connection's own thread, taken from the queue by its read loop.
  using Task = std::function<void()>;

  ConnectionPeer();
  ~ConnectionPeer() override;
  ConnectionPeer(const ConnectionPeer&) = delete;
  ConnectionPeer& operator=(const ConnectionPeer&) = delete;

  void send(std::string bytes) override;
  void close() override;
  // Queues `task` for the connection's thread; false (and `task` left to its caller, to be
  // destroyed there) when the connection has gone.
  bool post(Task& task);

  int wake_fd() const noexcept { return wake_fd_; }

  // On the connection's thread: appends what others sent to `bytes`, moves the posted tasks
  // to `tasks`; true when a close was asked for.
  bool take(std::string& bytes, std::vector<Task>& tasks);
  // The connection is over: drop what is queued, refuse what comes.
  void detach() noexcept;

 private:
  void wake() noexcept;

  int wake_fd_;
  std::mutex mutex_;
  std::string queued_;
  std::vector<Task> tasks_;
  bool close_requested_ = false;
  bool gone_ = false;
};

}  // namespace sockit::server::detail
