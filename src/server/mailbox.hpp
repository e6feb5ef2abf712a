// How sessions reach a connection of an event loop from any thread: the Peer handle and
// the loop's mailbox, a queue of peers with mail plus an eventfd that wakes the loop. The
// mailbox also brings home the continuations of off-loop work. It is shared by the loop,
// its Peers and the jobs in flight, so any of them that outlives its loop still has a valid
// (closed-for-business) mailbox.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sockit/file_descriptor.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server::detail {

class PeerImpl;

// What finished off-loop work sends home to one connection, by slot and generation.
struct Delivery {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  Continuation run;
  // The loop's own continuation (a resolved name): run outside the session's callbacks.
  bool internal = false;
};

class Mailbox {
 public:
  // Opens the eventfd; throws Error when it cannot.
  static std::shared_ptr<Mailbox> open();
  explicit Mailbox(FileDescriptor wake_fd) noexcept : wake_fd_(std::move(wake_fd)) {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Readable when mail was posted from another thread.
  int fd() const noexcept { return wake_fd_.get(); }
  // Called by the loop's thread before it serves: its own posts need no wake-up.
  void set_owner(std::thread::id owner);
  // Polled by the loop without the lock once per iteration.
  bool has_mail() const noexcept { return has_ready_.load(std::memory_order_acquire); }
  // Consumes the eventfd's count after it woke the loop.
  void clear_wake() noexcept;
  // Moves every peer with mail into `batch`, its mail into the peer's loop-side copy, and
  // every delivery into `deliveries` (both empty before).
  void take(std::vector<std::shared_ptr<PeerImpl>>& batch, std::vector<Delivery>& deliveries);
  // From any thread; dropped (destroyed here, unrun) once the loop has returned.
  void deliver(Delivery delivery);
  // Empties the loop-side copies after delivery, keeping small ones' storage.
  static void recycle(std::vector<std::shared_ptr<PeerImpl>>& batch) noexcept;
  // The connection behind `peer` is gone: later posts are dropped.
  void forget(PeerImpl& peer) noexcept;
  // The loop has returned: every later post is dropped.
  void shut() noexcept;

 private:
  friend class PeerImpl;
  void signal() noexcept;  // wakes the loop

  const FileDescriptor wake_fd_;
  std::mutex mutex_;
  // Guarded by mutex_:
  std::vector<std::shared_ptr<PeerImpl>> ready_;
  std::vector<Delivery> deliveries_;
  std::thread::id owner_;
  bool open_ = true;
  bool wake_pending_ = false;  // an eventfd write is on its way
  // Set under the mutex, read by the loop without it.
  std::atomic<bool> has_ready_{false};
};

// Addresses one connection by slot and generation, so mail for a connection that has
// closed (and whose slot may serve another by now) is dropped.
class PeerImpl final : public Peer, public std::enable_shared_from_this<PeerImpl> {
 public:
  PeerImpl(std::shared_ptr<Mailbox> box, std::uint32_t slot_, std::uint32_t generation_)
      : slot(slot_), generation(generation_), box_(std::move(box)) {}

  void send(std::string bytes) override { post(std::move(bytes), false); }
  void close() override { post({}, true); }

  const std::uint32_t slot;
  const std::uint32_t generation;
  // The loop thread's copy of what was taken from the inbox.
  std::string taken;
  std::uint64_t taken_sends = 0;  // how many send() calls it came from
  bool take_close = false;

 private:
  friend class Mailbox;
  void post(std::string bytes, bool close_after);

  std::shared_ptr<Mailbox> box_;
  // Guarded by box_->mutex_:
  std::string inbox_;
  std::uint64_t inbox_sends_ = 0;
  bool close_asked_ = false;
  bool queued_ = false;
  bool gone_ = false;
};

}  // namespace sockit::server::detail
