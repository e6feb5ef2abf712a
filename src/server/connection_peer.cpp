// The way into a blocking connection's thread (see connection_peer.hpp).
#include "connection_peer.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {

ConnectionPeer::ConnectionPeer(OutputBudget& budget)
    : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), budget_(budget) {
  if (wake_fd_ < 0) throw_errno("eventfd", "peer", errno);
}

ConnectionPeer::~ConnectionPeer() {
  ::close(wake_fd_);
}

void ConnectionPeer::send(std::string bytes) {
  std::lock_guard lock(mutex_);
  if (gone_ || too_slow_) return;
  const std::size_t queued = held_.load(std::memory_order_relaxed) + queued_.size() + bytes.size();
  // Against the server's bound as a whole: the connection weighs its share once it has
  // taken these (see OutputBudget::too_slow).
  if (budget_.too_slow(queued, 1)) {
    too_slow_ = true;  // the connection closes once it has seen this
  } else {
    budget_.add(bytes.size());
    queued_ += bytes;
    ++sends_;
  }
  wake();
}

void ConnectionPeer::close() {
  std::lock_guard lock(mutex_);
  if (gone_) return;
  close_requested_ = true;
  wake();
}

bool ConnectionPeer::post(Task& task) {
  std::lock_guard lock(mutex_);
  if (gone_) return false;
  tasks_.push_back(std::move(task));
  wake();
  return true;
}

ConnectionPeer::Taken ConnectionPeer::take(std::string& bytes, std::vector<Task>& tasks) {
  std::uint64_t counter = 0;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &counter, sizeof counter);
  std::lock_guard lock(mutex_);
  // The connection counts these itself from now on.
  budget_.remove(queued_.size());
  bytes += queued_;
  queued_.clear();
  const std::uint64_t sends = std::exchange(sends_, 0);
  if (!tasks_.empty()) {
    if (tasks.empty()) {
      tasks.swap(tasks_);
    } else {
      for (auto& task : tasks_)
        tasks.push_back(std::move(task));
      tasks_.clear();
    }
  }
  return {close_requested_, too_slow_, sends};
}

void ConnectionPeer::detach() noexcept {
  std::vector<Task> dropped;  // destroyed outside the lock: they may hold anything
  std::lock_guard lock(mutex_);
  gone_ = true;
  budget_.remove(queued_.size());
  queued_.clear();
  sends_ = 0;
  dropped.swap(tasks_);
}

void ConnectionPeer::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

}  // namespace sockit::server::detail
